import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config.ts';
import { replyToCitizens } from '../../src/core/tickets/workflow.ts';
import { upsertUser } from '../../src/core/staff/users.ts';
import { resolveChannels } from '../../src/intake/channels.ts';
import type { Runtime } from '../../src/runtime.ts';
import { PNG_1PX } from '../../test/support/factories.ts';
import { testRuntime } from '../../test/support/runtime.ts';
import { waitFor } from '../../test/support/wait.ts';
import { readWebhook, type WebhookEvent } from './events.ts';
import { startFakeGraph, type FakeGraph, type GraphCall } from '../../test/support/fake-graph.ts';
import { permanentFailure } from './graph.ts';
import { facebook } from './index.ts';
import type { ChannelContext, OutboundMessage } from '../../src/intake/channel-kit.ts';
import type { FacebookSettings } from './settings.ts';
import { MESSENGER_THREAD_MINUTES, parseComment, parseMessage } from './parse.ts';
import { messageParts, messagingTypeFor } from './send.ts';
import { signatureOf, verifySignature } from './signature.ts';
import { publicNotice } from './wording.ts';

// The fanpage end to end: Meta's webhooks (raw payloads shaped as Meta documents them, in
// fixtures/, signed here with node:crypto over the exact bytes sent) become reports; answers go
// out through a fake Graph API on loopback that records every request; attachments are fetched
// from it (its origin is the configured, trusted one) and from nowhere else.

const PAGE = '104857600123456';
/** The fixtures' sender, message and comment: each test swaps in its own. */
const FIXTURE = {
  psid: '7012345678901234',
  mid: 'm_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu7I3rBN0P',
  commenter: '24681357913579246',
  comment: '987654321098765_1122334455667788',
  imageUrl: 'https://scontent.xx.fbcdn.net/v/t1.15752-9/471234567_1234567890123456_n.jpg?_nc_cat=105&ccb=1-7&_nc_sid=fc17b8&oh=03_Q7cD1QHmZx&oe=67A1B2C3',
} as const;
const SECRET = 'phananh-fb-app-secret-1022';
const VERIFY = 'phananh-verify-token-1022';
const TOKEN = 'EAAGtestPageAccessToken0123456789abcdef';
const PUBLIC_URL = 'https://1022.example.vn';
const HOUR = 3_600_000;

const ADMIN = { id: 0, username: 'fb-admin', role: 'admin' as const, areaCodes: [] as string[] };

const fixtureText = (name: string) => readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8');
const fixture = (name: string) => JSON.parse(fixtureText(name)) as Record<string, unknown>;

/** A fixture's text with its ids (and anything else) replaced, exactly as it will be sent. */
function body(name: string, swap: Record<string, string> = {}): string {
  let text = fixtureText(name);
  for (const [from, to] of Object.entries(swap)) text = text.split(from).join(to);
  return text;
}

/** X-Hub-Signature-256 as Meta computes it, independently of signature.ts. */
const sign = (raw: string | Buffer, secret = SECRET) => `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;

let seq = 0;
/** A fresh sender, message and comment id for one test. */
function ids() {
  seq++;
  const n = String(seq).padStart(6, '0');
  return {
    psid: `70123456789${n.slice(1)}`,
    mid: `m_test${n}_${'Q'.repeat(80)}`,
    commenter: `2468135791357${n.slice(2)}`,
    comment: `987654321098765_11223344556${n}`,
  };
}

describe('the signature', () => {
  it('matches fixed vectors computed with openssl (printf %s BODY | openssl dgst -sha256 -hmac SECRET)', () => {
    // An empty batch, and a message whose Vietnamese is escaped as Meta escapes it (\uXXXX):
    // what is signed is those bytes, so the check must run on the raw body, never on JSON re-serialised.
    const empty = '{"object":"page","entry":[{"id":"104857600123456","time":1735700000456,"messaging":[]}]}';
    const escaped = '{"object":"page","entry":[{"id":"104857600123456","time":1735700000456,"messaging":[{"sender":{"id":"7012345678901234"},"recipient":{"id":"104857600123456"},"timestamp":1735700000123,"message":{"mid":"m_vector-1","text":"Ng\\u1eadp n\\u01b0\\u1edbc"}}]}]}';
    expect(signatureOf('phananh-fb-app-secret-1022', empty)).toBe('429eafda027e9c0493f63d82b76cff3e48ee1c5a9560d5c123bed9688301322e');
    expect(signatureOf('phananh-fb-app-secret-1022', escaped)).toBe('61bbd7e813eb20a8401e31e297ea1fc3176e225861765716eb24b2236e445b16');
    const bytes = Buffer.from(escaped, 'utf8');
    expect(verifySignature(SECRET, bytes, 'sha256=61bbd7e813eb20a8401e31e297ea1fc3176e225861765716eb24b2236e445b16')).toBe(true);
    expect(verifySignature(SECRET, bytes, 'sha256=61BBD7E813EB20A8401E31E297EA1FC3176E225861765716EB24B2236E445B16')).toBe(true);
    // The same message re-serialised (unescaped) is other bytes: not what Meta signed.
    expect(verifySignature(SECRET, Buffer.from(JSON.stringify(JSON.parse(escaped))), 'sha256=61bbd7e813eb20a8401e31e297ea1fc3176e225861765716eb24b2236e445b16')).toBe(false);
    expect(verifySignature('another-app-secret-0000', bytes, 'sha256=61bbd7e813eb20a8401e31e297ea1fc3176e225861765716eb24b2236e445b16')).toBe(false);
    for (const bad of [undefined, '', 'sha256=', 'sha1=61bbd7e813eb20a8401e31e297ea1fc3176e2258', `sha256=${'0'.repeat(64)}`, `sha256=${'g'.repeat(64)}`, `sha256=61bbd7e8${'x'.repeat(300)}`]) {
      expect(verifySignature(SECRET, bytes, bad)).toBe(false);
    }
  });
});

describe('reading a webhook body', () => {
  const types = (events: WebhookEvent[]) => events.map((e) => (e.type === 'ignored' ? `ignored:${e.why}` : e.type));

  it('finds every event of a batched body, and ignores what is not a report by name', () => {
    expect(types(readWebhook(fixture('batched')))).toEqual(['message', 'message', 'message', 'ignored:reaction', 'comment']);
    expect(types(readWebhook(fixture('unknown-events')))).toEqual([
      'ignored:standby', 'ignored:reaction', 'ignored:feed_reaction', 'ignored:field_mention',
    ]);
    expect(types(readWebhook(fixture('message-echo')))).toEqual(['ignored:echo']);
    expect(readWebhook(fixture('message-edit'))).toEqual([{
      type: 'message_change', pageId: PAGE, psid: FIXTURE.psid, mid: FIXTURE.mid, change: 'edited', text: 'Nước ngập sâu trước chợ Bến Thành (đã rút lúc 9 giờ)',
    }]);
    expect(types(readWebhook(fixture('delivery')))).toEqual(['delivery']);
    expect(types(readWebhook(fixture('read')))).toEqual(['read']);
    expect(readWebhook(fixture('postback-get-started'))).toEqual([{
      type: 'postback', pageId: PAGE, psid: FIXTURE.psid, payload: 'GET_STARTED', timestamp: 1735700500123,
      referral: { ref: 'ngap-nuoc-ben-thanh', source: 'shortlink', type: 'open_thread' },
    }]);
    expect(types(readWebhook({ object: 'instagram', entry: [] }))).toEqual(['ignored:object_instagram']);
    // Another Page the app is subscribed to, when FB_PAGE_ID names ours.
    expect(types(readWebhook(fixture('message-text'), '999999999999'))).toEqual(['ignored:other_page']);
  });

  it('bounds what a stranger sends: ids by shape and length, the number of events', () => {
    const one = (message: Record<string, unknown>, sender: string = FIXTURE.psid) =>
      readWebhook({ object: 'page', entry: [{ id: PAGE, messaging: [{ sender: { id: sender }, recipient: { id: PAGE }, timestamp: 1, message }] }] })[0];
    expect(one({ mid: 'm_ok', text: 'x' })).toMatchObject({ type: 'message' });
    expect(one({ mid: `m_${'a'.repeat(300)}`, text: 'x' })).toEqual({ type: 'ignored', why: 'invalid_mid' });
    expect(one({ mid: 'm_<script>', text: 'x' })).toEqual({ type: 'ignored', why: 'invalid_mid' });
    expect(one({ mid: 'm_ok', text: 'x' }, '12ab')).toEqual({ type: 'ignored', why: 'invalid_sender' });
    expect(one({ mid: 'm_ok', text: 'x' }, '9'.repeat(70))).toEqual({ type: 'ignored', why: 'invalid_sender' });
    expect(one({ mid: 'm_ok', text: 'x' }, PAGE)).toEqual({ type: 'ignored', why: 'own_message' });
    const many = { object: 'page', entry: [{ id: PAGE, messaging: Array.from({ length: 1001 }, () => ({})) }] };
    expect(() => readWebhook(many)).toThrow(/more than 1000 events/);
    expect(() => readWebhook({ object: 'page', entry: {} })).toThrow(/entry must be an array/);
    expect(() => readWebhook({ object: 'page', entry: [{ id: PAGE, messaging: 'x' }] })).toThrow(/entry.messaging must be an array/);
    // A comment's id is <digits>_<digits>; anything else is not one.
    const comment = (value: Record<string, unknown>) => readWebhook({ object: 'page', entry: [{ id: PAGE, changes: [{ field: 'feed', value }] }] })[0];
    const value = (fixture('comment-add').entry as any)[0].changes[0].value;
    expect(comment(value)).toMatchObject({ type: 'comment', verb: 'add', commentId: FIXTURE.comment, fromId: FIXTURE.commenter, parentId: null, createdTime: 1735700890 });
    expect(comment({ ...value, parent_id: '987654321098765_1000000000000001' })).toMatchObject({ parentId: '987654321098765_1000000000000001' });
    expect(comment({ ...value, created_time: 1735700890123 })).toMatchObject({ createdTime: 1735700890 });
    expect(comment({ ...value, comment_id: '1_2_3' })).toEqual({ type: 'ignored', why: 'invalid_comment_id' });
    expect(comment({ ...value, from: { id: PAGE, name: 'Trang 1022' } })).toEqual({ type: 'ignored', why: 'own_comment' });
    expect(comment({ ...value, verb: 'explode' })).toEqual({ type: 'ignored', why: 'comment_explode' });
  });
});

describe('parsing a stored event', () => {
  const item = (name: string) => ((fixture(name).entry as any)[0].messaging[0]) as Record<string, unknown>;

  it('reads words, quick replies, photos, places and comments; a sticker alone is no report', () => {
    expect(parseMessage(item('message-text'))).toMatchObject({
      text: 'Nước ngập sâu trước chợ Bến Thành, phường Bến Thành, xe chết máy hàng loạt',
      citizen: { facebook_id: FIXTURE.psid }, media: [], thread: { key: FIXTURE.psid, withinMinutes: MESSENGER_THREAD_MINUTES },
    });
    expect(parseMessage(item('message-quick-reply'))?.text).toBe('Đèn đường hỏng');
    expect(parseMessage(item('message-image'))).toMatchObject({ text: 'Ảnh gửi qua Messenger', media: [{ url: FIXTURE.imageUrl }] });
    expect(parseMessage(item('message-location'))).toMatchObject({ text: 'Vị trí gửi qua Messenger', lat: 10.7725, lng: 106.698 });
    const sticker = { ...item('message-image'), message: { mid: 'm_x', attachments: [{ type: 'image', payload: { url: 'https://scontent.xx.fbcdn.net/s.png', sticker_id: 369239263222822 } }] } };
    expect(parseMessage(sticker)).toBeNull();
    const far = { ...item('message-location'), message: { mid: 'm_x', attachments: [{ type: 'location', payload: { coordinates: { lat: 95, long: 10 } } }] } };
    expect(parseMessage(far)).toBeNull();
    // Text beyond the report limit is cut before it is cleaned; control characters go.
    const long = parseMessage({ ...item('message-text'), message: { mid: 'm_x', text: `a\u0000b${'c'.repeat(20_000)}` } });
    expect(long?.text.length).toBe(4999);
    expect(long?.text.startsWith('ab')).toBe(true);
    const change = (fixture('comment-add').entry as any)[0].changes[0];
    expect(parseComment(change)).toEqual({
      text: 'Cống thoát nước trước nhà số 15 Lê Thánh Tôn, phường Sài Gòn bị tắc, nước bẩn tràn lên vỉa hè mấy hôm nay',
      citizen: { facebook_id: FIXTURE.commenter, name: 'Trần Thị Bích Ngọc' }, attachments: [], media: [],
    });
    expect(parseComment({ ...change, value: { ...change.value, message: '', photo: 'https://scontent.xx.fbcdn.net/p.jpg' } }))
      .toMatchObject({ text: 'Ảnh bình luận trên Trang Facebook', media: [{ url: 'https://scontent.xx.fbcdn.net/p.jpg' }] });
  });
});

describe('Messenger windows and Graph errors', () => {
  const now = new Date('2025-06-01T12:00:00Z');
  const ago = (ms: number) => new Date(now.getTime() - ms);
  it.each([
    ['received', 1 * HOUR, { messaging_type: 'RESPONSE' }],
    ['reply', 23 * HOUR, { messaging_type: 'RESPONSE' }],
    ['reply', 30 * HOUR, { messaging_type: 'MESSAGE_TAG', tag: 'HUMAN_AGENT' }],
    ['private_reply', 6 * 24 * HOUR, { messaging_type: 'MESSAGE_TAG', tag: 'HUMAN_AGENT' }],
    ['received', 30 * HOUR, 'refused'],
    ['dispatched', 25 * HOUR, 'refused'],
    ['resolved', 3 * 24 * HOUR, 'refused'],
    ['reply', 8 * 24 * HOUR, 'refused'],
  ] as const)('%s %d ms after the last message', (kind, age, want) => {
    const got = messagingTypeFor(kind, ago(age), now);
    if (want === 'refused') expect(got).toHaveProperty('refused');
    else expect(got).toEqual(want);
  });

  it('words notices under a comment for the public: the code and the unit, never the ward\'s result', () => {
    const resolved = publicNotice('resolved', 'PA-7K3M9Q2X', 'Phản ánh PA-7K3M9Q2X đã xử lý xong. Kết quả: đã nhắc nhở hộ ông Nguyễn Văn A, số 12 Lê Lợi.', 'Tổng đài 1022', PUBLIC_URL);
    expect(resolved).toBe(`Phản ánh PA-7K3M9Q2X đã được xử lý xong. Xem kết quả tại ${PUBLIC_URL}/track/PA-7K3M9Q2X. Cảm ơn bạn đã phản ánh.`);
    expect(publicNotice('received', 'PA-7K3M9Q2X', 'x', 'Tổng đài 1022', undefined)).toMatch(/^Tổng đài 1022 đã tiếp nhận phản ánh của bạn, mã PA-7K3M9Q2X\./);
    expect(publicNotice('dispatched', 'PA-7K3M9Q2X', 'Phản ánh PA-7K3M9Q2X đã được chuyển Phường Bến Thành xử lý.', 'Tổng đài 1022', undefined))
      .toBe('Phản ánh PA-7K3M9Q2X đã được chuyển Phường Bến Thành xử lý.');
    expect(publicNotice('reply', 'PA-7K3M9Q2X', 'Cảm ơn bạn.', 'Tổng đài 1022', undefined)).toBe('Cảm ơn bạn.');
  });

  it('refuses a message to someone who never wrote, and splits long answers into Messenger-sized parts', () => {
    expect(messagingTypeFor('reply', null, now)).toHaveProperty('refused');
    const long = `${'Kết quả xử lý: '.repeat(200)}😀${'x'.repeat(1990)}`;
    const parts = messageParts(long);
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.every((p) => p.length <= 2000)).toBe(true);
    expect(parts.join(' ').replace(/\s+/g, '')).toBe(long.replace(/\s+/g, ''));
    expect(messageParts('Ngắn')).toEqual(['Ngắn']);
  });

  it.each([
    [{ code: 551, error_subcode: 1545041 }, 'recipient_unreachable'],
    [{ code: 200, error_subcode: 1545041 }, 'recipient_unreachable'],
    [{ code: 10, error_subcode: 2018278 }, 'recipient_unreachable'],
    [{ code: 100, error_subcode: 2018001 }, 'recipient_invalid'],
    [{ code: 10900 }, 'recipient_unreachable'],
    [{ code: 100, error_subcode: 33 }, 'recipient_unreachable'],
    [{ code: 190 }, null], // the token: the operator's to fix, retried
    [{ code: 613 }, null], // rate limited: retried
    [{ code: 2 }, null], // temporary: retried
    [{ code: 10 }, null], // a permission the app lacks: retried while it is fixed
  ])('Graph error %o -> %s', (e, want) => {
    expect(permanentFailure(e)?.code ?? null).toBe(want);
  });
});

describe('a long answer by Messenger', () => {
  it('goes in parts, and a retry after a failure sends only the parts that did not go', async () => {
    const graph = await startFakeGraph();
    try {
      const kept: { key: string; kind: string; data: Record<string, unknown>; at: Date }[] = [];
      // The kit's context, as far as `send` uses it: settings, wording, notes.
      const ctx = {
        settings: { FB_APP_SECRET: SECRET, FB_VERIFY_TOKEN: VERIFY, FB_PAGE_ACCESS_TOKEN: TOKEN, FB_GRAPH_URL: graph.graphUrl },
        config: { PUBLIC_URL }, city: { hotline: 'Tổng đài 1022' },
        notes: async (_channel: string, key: string) => kept.filter((n) => n.key === key),
        note: async (_channel: string, key: string, kind: string, data: Record<string, unknown>) => { kept.push({ key, kind, data, at: new Date() }); },
      } as unknown as ChannelContext<FacebookSettings>;
      const m: OutboundMessage = {
        id: 7, channel: 'facebook', endpoint: PAGE, kind: 'resolved', ticketCode: 'TK-7K3M9Q2X', reportCode: 'PA-7K3M9Q2X',
        body: ['A', 'B', 'C'].map((x) => x.repeat(1500)).join('\n'), contact: { facebook_id: '7012345678909999' }, lastInboundAt: new Date(), attempt: 1,
        source: { externalId: 'm_parts', payload: {} },
      };
      graph.failNext(500, undefined, 1, 1); // the second part fails
      await expect(facebook.send!(m, ctx)).rejects.toThrow(/answered 500/);
      const result = await facebook.send!({ ...m, attempt: 2 }, ctx);
      const texts = graph.calls.map((c) => String((c.body.message as { text: string }).text));
      expect(texts.map((t) => `${t[0]}${t.length}`)).toEqual(['A1500', 'B1500', 'B1500', 'C1500']);
      const sent = kept.filter((n) => n.kind === 'sent');
      expect(sent.map((n) => n.data.part)).toEqual([0, 1, 2]);
      expect(result).toEqual({ providerId: sent[2]!.data.mid, to: '7012345678909999' });
    } finally {
      await graph.close();
    }
  });
});

describe('settings', () => {
  it('is off without its keys, on with the three, and stops the start when one is missing or wrong', () => {
    expect(resolveChannels([facebook as never], {})).toEqual([]);
    const on = resolveChannels([facebook as never], { FB_APP_SECRET: SECRET, FB_VERIFY_TOKEN: VERIFY, FB_PAGE_ACCESS_TOKEN: TOKEN });
    expect(on[0]!.settings).toMatchObject({ FB_GRAPH_URL: 'https://graph.facebook.com/v21.0' });
    expect(() => resolveChannels([facebook as never], { FB_APP_SECRET: SECRET, FB_VERIFY_TOKEN: VERIFY })).toThrow(ConfigError);
    expect(() => resolveChannels([facebook as never], { FB_APP_SECRET: SECRET, FB_VERIFY_TOKEN: VERIFY, FB_PAGE_ACCESS_TOKEN: TOKEN, FB_PAGE_ID: 'my-page' }))
      .toThrow(/channel facebook: FB_PAGE_ID/);
    expect(() => resolveChannels([facebook as never], { FB_APP_SECRET: SECRET, FB_VERIFY_TOKEN: VERIFY, FB_PAGE_ACCESS_TOKEN: TOKEN, FB_GRAPH_URL: 'file:///etc/passwd' }))
      .toThrow(/FB_GRAPH_URL/);
  });
});

describe('the Facebook channel', () => {
  let rt: Runtime;
  let graph: FakeGraph;
  let other: http.Server;
  let otherHits = 0;
  let otherUrl: string;
  const db = () => rt.handle.db;

  const post = (raw: string, headers: Record<string, string | null> = {}) => {
    const h: Record<string, string> = { 'content-type': 'application/json' };
    const all = { 'x-hub-signature-256': sign(raw), ...headers };
    for (const [k, v] of Object.entries(all)) if (v !== null) h[k] = v;
    return rt.app.request('/channels/facebook/webhook', { method: 'POST', headers: h, body: raw });
  };
  const inboundCount = async () => Number((await db().selectFrom('inbound_messages').select(db().fn.countAll<number>().as('n'))
    .where('channel', '=', 'facebook').executeTakeFirstOrThrow()).n);
  const reportOf = (externalId: string) => db().selectFrom('inbound_messages').innerJoin('reports', 'reports.id', 'inbound_messages.report_id')
    .select(['reports.id', 'reports.code', 'reports.text', 'reports.ticket_id', 'reports.attachments', 'reports.lat', 'reports.lng', 'reports.citizen_id', 'reports.endpoint', 'reports.channel'])
    .where('inbound_messages.channel', '=', 'facebook').where('inbound_messages.external_id', '=', externalId).executeTakeFirstOrThrow();
  const outbound = (reportId: number) => db().selectFrom('outbound_messages').selectAll().where('report_id', '=', reportId).orderBy('id').execute();
  const sendsTo = (psid: string) => graph.calls.filter((c) => c.path.endsWith('/me/messages') && (c.body.recipient as { id?: string })?.id === psid);
  const identity = async (citizenId: number) =>
    (await db().selectFrom('citizen_identities').select(['kind', 'value']).where('citizen_id', '=', citizenId).execute());
  /** A message from `psid` saying `text`, as Meta sends it. */
  const message = (psid: string, mid: string, text: string) =>
    body('message-text', { [FIXTURE.psid]: psid, [FIXTURE.mid]: mid, 'Nước ngập sâu trước chợ Bến Thành, phường Bến Thành, xe chết máy hàng loạt': text });
  /** Files one message and waits until its report and acknowledgement are done. */
  async function report(text: string) {
    const id = ids();
    expect((await post(message(id.psid, id.mid, text))).status).toBe(200);
    await rt.worker.idle();
    await waitFor('the acknowledgement', async () => sendsTo(id.psid).length > 0);
    return { ...id, report: await reportOf(id.mid) };
  }

  beforeAll(async () => {
    graph = await startFakeGraph();
    other = http.createServer((_req, res) => { otherHits++; res.writeHead(200, { 'content-type': 'image/png' }).end(PNG_1PX); });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    rt = await testRuntime({
      FB_APP_SECRET: SECRET, FB_VERIFY_TOKEN: VERIFY, FB_PAGE_ACCESS_TOKEN: TOKEN, FB_GRAPH_URL: graph.graphUrl, FB_PAGE_ID: PAGE, PUBLIC_URL,
    });
    await upsertUser(db(), { username: 'fb-admin', password: 'password-1', role: 'admin' });
    ADMIN.id = (await db().selectFrom('users').select('id').where('username', '=', 'fb-admin').executeTakeFirstOrThrow()).id;
  });
  afterAll(async () => {
    await rt?.close();
    await graph?.close();
    await new Promise((r) => other?.close(r));
  });
  beforeEach(() => {
    graph.calls.length = 0;
  });

  it('answers Meta\'s verification with the challenge for our token only', async () => {
    const verify = (q: Record<string, string>) => rt.app.request(`/channels/facebook/webhook?${new URLSearchParams(q)}`);
    const ok = await verify({ 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY, 'hub.challenge': '1158201444' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await ok.text()).toBe('1158201444');
    for (const q of [
      { 'hub.mode': 'subscribe', 'hub.verify_token': 'wrong-token-1022', 'hub.challenge': '1' } as Record<string, string>,
      { 'hub.mode': 'subscribe', 'hub.verify_token': `${VERIFY}x`, 'hub.challenge': '1' },
      { 'hub.mode': 'unsubscribe', 'hub.verify_token': VERIFY, 'hub.challenge': '1' },
      { 'hub.challenge': '1' },
    ]) {
      const res = await verify(q);
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ error: { code: 'facebook_verify_token_invalid' } });
    }
    expect((await verify({ 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY, 'hub.challenge': '<script>' })).status).toBe(400);
  });

  it('refuses a missing or wrong signature (403, nothing stored), an oversize body (413) and a body that is not JSON (400)', async () => {
    const before = await inboundCount();
    const id = ids();
    const raw = message(id.psid, id.mid, 'Karaoke ồn ào sau 23 giờ tại hẻm 12 Lý Tự Trọng');
    for (const headers of [
      { 'x-hub-signature-256': null },
      { 'x-hub-signature-256': sign(raw, 'not-our-app-secret-000') },
      { 'x-hub-signature-256': sign(`${raw} `) },
      { 'x-hub-signature-256': sign(raw).replace('sha256=', 'sha1=') },
      { 'x-hub-signature-256': 'sha256=xyz' },
    ]) {
      const res = await post(raw, headers);
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ error: { code: 'facebook_signature_invalid' } });
    }
    const big = JSON.stringify({ object: 'page', entry: [], padding: 'x'.repeat(1024 * 1024) });
    const tooLarge = await post(big);
    expect(tooLarge.status).toBe(413);
    expect(await tooLarge.json()).toMatchObject({ error: { code: 'payload_too_large' } });
    const declared = await post(big, { 'content-length': String(Buffer.byteLength(big)) });
    expect(declared.status).toBe(413);
    const notJson = await post('{"object":"page","entry":[');
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ error: { code: 'invalid_json' } });
    const notObject = await post('[1,2,3]');
    expect(notObject.status).toBe(400);
    const badShape = await post('{"object":"page","entry":{"id":"1"}}');
    expect(badShape.status).toBe(400);
    expect(await badShape.json()).toMatchObject({ error: { code: 'facebook_payload_invalid' } });
    expect(await inboundCount()).toBe(before);
  });

  it('ignores events that are not reports (echoes, reactions, standby, other feed items) and answers 200', async () => {
    const before = await inboundCount();
    for (const name of ['unknown-events', 'message-echo']) {
      const res = await post(body(name));
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('EVENT_RECEIVED');
    }
    expect((await post('{"object":"instagram","entry":[]}')).status).toBe(200);
    await rt.worker.idle();
    expect(await inboundCount()).toBe(before);
  });

  it('turns a message into a report on a ticket, once per mid, and acknowledges it by Messenger within the window', async () => {
    const id = ids();
    const raw = message(id.psid, id.mid, 'Nước ngập sâu trước chợ Bến Thành, phường Bến Thành, xe chết máy hàng loạt');
    const first = await post(raw);
    expect(first.status).toBe(200);
    expect(await first.text()).toBe('EVENT_RECEIVED');
    // Stored before the answer: the row is there already.
    const stored = await db().selectFrom('inbound_messages').select(['endpoint', 'payload']).where('external_id', '=', id.mid).execute();
    expect(stored).toHaveLength(1);
    expect(stored[0]!.endpoint).toBe(PAGE);
    expect(stored[0]!.payload).toEqual((JSON.parse(raw).entry)[0].messaging[0]);
    // Meta redelivers what it thinks was lost: the same mid, nothing new.
    expect((await post(raw)).status).toBe(200);
    await rt.worker.idle();
    expect(await db().selectFrom('inbound_messages').select('id').where('external_id', '=', id.mid).execute()).toHaveLength(1);
    const r = await reportOf(id.mid);
    expect(r).toMatchObject({ channel: 'facebook', endpoint: PAGE, text: expect.stringContaining('Bến Thành') });
    const ticket = await db().selectFrom('tickets').select(['area_code', 'report_count']).where('id', '=', r.ticket_id).executeTakeFirstOrThrow();
    expect(ticket.area_code).toBe('26743');
    expect(await identity(r.citizen_id!)).toEqual([{ kind: 'facebook', value: id.psid }]);
    const ack = await waitFor('the acknowledgement', async () => sendsTo(id.psid)[0]);
    expect(ack.path).toBe('/v21.0/me/messages');
    expect(ack.body).toMatchObject({ recipient: { id: id.psid }, messaging_type: 'RESPONSE', message: { text: expect.stringContaining(r.code) } });
    expect(ack.body).not.toHaveProperty('tag');
    expect(ack.query.access_token).toBe(TOKEN);
    expect(ack.query.appsecret_proof).toBe(createHmac('sha256', SECRET).update(TOKEN).digest('hex'));
    const out = await outbound(r.id);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ kind: 'received', status: 'sent', to_address: id.psid, delivery_status: 'queued', provider_id: expect.stringMatching(/^m_fake/) });
  });

  it('continues a report with the sender\'s next message within the window (one report, both texts, one acknowledgement)', async () => {
    const a = await report('Đèn đường hỏng, tối om cả đoạn đường');
    const mid2 = `${a.mid}b`;
    expect((await post(message(a.psid, mid2, 'ở trước số 120 Nguyễn Thị Minh Khai, phường Bàn Cờ'))).status).toBe(200);
    await rt.worker.idle();
    const second = await reportOf(mid2);
    expect(second.id).toBe(a.report.id);
    expect(second.text).toContain('Đèn đường hỏng');
    expect(second.text).toContain('120 Nguyễn Thị Minh Khai');
    expect((await outbound(a.report.id)).filter((m) => m.kind === 'received')).toHaveLength(1);
    // Later than the window, the same sender reports something new.
    await sql`update inbound_messages set received_at = received_at - make_interval(mins => ${MESSENGER_THREAD_MINUTES + 5}) where external_id in (${a.mid}, ${mid2})`.execute(db());
    const mid3 = `${a.mid}c`;
    await post(message(a.psid, mid3, 'Rác thải chất đống đầu hẻm 42 Lê Lợi'));
    await rt.worker.idle();
    expect((await reportOf(mid3)).id).not.toBe(a.report.id);
  });

  it('notes an edited or unsent message beside its report, and files nothing new', async () => {
    const a = await report('Nước ngập sâu trước chợ Bến Thành, xe chết máy');
    const before = await inboundCount();
    expect((await post(body('message-edit', { [FIXTURE.psid]: a.psid, [FIXTURE.mid]: a.mid }))).status).toBe(200);
    const unsent = { object: 'page', entry: [{ id: PAGE, time: 1, messaging: [{ sender: { id: a.psid }, recipient: { id: PAGE }, timestamp: 2, message: { mid: a.mid, is_deleted: true } }] }] };
    expect((await post(JSON.stringify(unsent))).status).toBe(200);
    await rt.worker.idle();
    expect(await inboundCount()).toBe(before);
    const notes = await db().selectFrom('channel_events').select(['kind', 'data']).where('external_id', '=', a.mid).orderBy('id').execute();
    expect(notes).toEqual([
      { kind: 'message_edited', data: { text: 'Nước ngập sâu trước chợ Bến Thành (đã rút lúc 9 giờ)' } },
      { kind: 'message_unsent', data: {} },
    ]);
  });

  it('stores every event of a batched body, in the order written, whatever order they came in', async () => {
    const res = await post(body('batched'));
    expect(res.status).toBe(200);
    await rt.worker.idle();
    const first = await reportOf('m_batch-first-message-of-the-first-sender-00000000000000000000000000000000000000000000001');
    const second = await reportOf('m_batch-second-message-of-the-first-sender-0000000000000000000000000000000000000000000002');
    expect(second.id).toBe(first.id);
    expect(first.text).toMatch(/^Rác thải chất đống bốc mùi hôi thối\s+ở trước số 42/);
    const other = await reportOf('m_batch-only-message-of-the-second-sender-000000000000000000000000000000000000000000000003');
    expect(other.id).not.toBe(first.id);
    const comment = await reportOf('comment:987654321098765_5566778899001122');
    expect(comment.text).toContain('Karaoke');
  });

  it('fetches a photo from the configured Graph origin into the report, and nothing from another address', async () => {
    graph.serve('/media/photo-1.png', PNG_1PX, 'image/png');
    const id = ids();
    const hits = otherHits;
    const withPhoto = body('message-image', { [FIXTURE.psid]: id.psid, [FIXTURE.mid]: id.mid, [FIXTURE.imageUrl]: `${graph.origin}/media/photo-1.png` });
    expect((await post(withPhoto)).status).toBe(200);
    await rt.worker.idle();
    const r = await reportOf(id.mid);
    expect(r.text).toBe('Ảnh gửi qua Messenger');
    expect(r.attachments).toHaveLength(1);
    expect(r.attachments[0]).toMatchObject({ content_type: 'image/png', size: PNG_1PX.byteLength });
    expect(graph.fileHits).toContain('/media/photo-1.png');
    // Another loopback server, and a cloud metadata address: refused before any request.
    const id2 = ids();
    const elsewhere = body('message-image', { [FIXTURE.psid]: id2.psid, [FIXTURE.mid]: id2.mid, [FIXTURE.imageUrl]: `${otherUrl}/steal.png` });
    expect((await post(elsewhere)).status).toBe(200);
    const id3 = ids();
    const metadata = body('message-image', { [FIXTURE.psid]: id3.psid, [FIXTURE.mid]: id3.mid, [FIXTURE.imageUrl]: 'https://169.254.169.254/latest/meta-data/' });
    expect((await post(metadata)).status).toBe(200);
    await rt.worker.idle();
    for (const mid of [id2.mid, id3.mid]) {
      const refused = await reportOf(mid);
      expect(refused.attachments).toEqual([]);
      const events = await db().selectFrom('channel_events').select('kind').where('external_id', '=', `report:${refused.id}`).execute();
      expect(events.map((e) => e.kind)).toEqual(['media_refused']);
    }
    expect(otherHits).toBe(hits);
  });

  it('places a report by a shared location, and takes a quick reply\'s words', async () => {
    const id = ids();
    await post(body('message-location', { [FIXTURE.psid]: id.psid, [FIXTURE.mid]: id.mid }));
    const id2 = ids();
    await post(body('message-quick-reply', { [FIXTURE.psid]: id2.psid, [FIXTURE.mid]: id2.mid }));
    await rt.worker.idle();
    const r = await reportOf(id.mid);
    expect(r).toMatchObject({ lat: 10.7725, lng: 106.698, text: 'Vị trí gửi qua Messenger' });
    const ticket = await db().selectFrom('tickets').select('area_code').where('id', '=', r.ticket_id).executeTakeFirstOrThrow();
    expect(ticket.area_code).toBe('26743');
    expect((await reportOf(id2.mid)).text).toBe('Đèn đường hỏng');
  });

  it('records delivery and read receipts on what was sent, never moving a message back', async () => {
    const a = await report('Cống bị tắc, nước bẩn tràn lên vỉa hè đường Pasteur');
    const [ack] = await outbound(a.report.id);
    const swap = { [FIXTURE.psid]: a.psid, [FIXTURE.mid]: ack!.provider_id!, '1735700700000': String(Date.now() + 1000), '1735700800000': String(Date.now() + 2000) };
    expect((await post(body('read', swap))).status).toBe(200);
    let row = (await outbound(a.report.id))[0]!;
    expect(row.delivery_status).toBe('read');
    expect(row.delivered_at).not.toBeNull();
    expect((await post(body('delivery', swap))).status).toBe(200); // late: must not move it back
    row = (await outbound(a.report.id))[0]!;
    expect(row.delivery_status).toBe('read');
    // A receipt for a message someone sent from the Page inbox (not ours) is not kept waiting.
    const foreign = body('delivery', { [FIXTURE.psid]: a.psid, [FIXTURE.mid]: 'm_sent-by-a-person-in-the-page-inbox' });
    expect((await post(foreign)).status).toBe(200);
    const pending = await db().selectFrom('channel_events').select('id').where('kind', '=', 'delivery_pending').where('channel', '=', 'facebook').execute();
    expect(pending).toEqual([]);
  });

  it('greets "Get Started" once with how to report, files no report, and credits the m.me link to the next message', async () => {
    const id = ids();
    const before = await inboundCount();
    const raw = body('postback-get-started', { [FIXTURE.psid]: id.psid });
    expect((await post(raw)).status).toBe(200);
    const hello = await waitFor('the greeting', async () => sendsTo(id.psid)[0]);
    expect(hello.body).toMatchObject({ messaging_type: 'RESPONSE', message: { text: expect.stringContaining('Tổng đài 1022') } });
    expect((hello.body.message as { text: string }).text).toContain(`${PUBLIC_URL}/track`);
    expect((await post(raw)).status).toBe(200); // resent by Meta: not greeted twice
    await rt.worker.idle();
    expect(sendsTo(id.psid)).toHaveLength(1);
    expect(await inboundCount()).toBe(before);
    // A later m.me link, then the person's message: the ref is kept beside that message.
    expect((await post(body('referral', { [FIXTURE.psid]: id.psid }))).status).toBe(200);
    await post(message(id.psid, id.mid, 'Lấn chiếm vỉa hè trước số 30 Lý Tự Trọng'));
    const notes = await db().selectFrom('channel_events').select(['kind', 'data']).where('channel', '=', 'facebook').where('external_id', '=', id.mid).execute();
    expect(notes).toEqual([{ kind: 'referral', data: { ref: 'poster-phuong-ben-thanh', source: 'shortlink', type: 'open_thread' } }]);
    // Taken once: the next message carries none.
    await post(message(id.psid, `${id.mid}2`, 'thêm: xe máy đậu kín lối đi'));
    expect(await db().selectFrom('channel_events').select('id').where('external_id', '=', `${id.mid}2`).execute()).toEqual([]);
  });

  it('sends an agent\'s answer after 24 hours tagged HUMAN_AGENT, and marks it undeliverable after 7 days', async () => {
    const a = await report('Cây xanh ngã đè lên dây điện trên đường Hai Bà Trưng');
    await sql`update inbound_messages set received_at = now() - interval '30 hours' where external_id = ${a.mid}`.execute(db());
    await replyToCitizens(db(), a.report.ticket_id, ADMIN, 'Đội cây xanh sẽ xử lý trong sáng nay.', { reportId: a.report.id });
    await rt.worker.idle();
    const late = await waitFor('the tagged reply', async () => sendsTo(a.psid).find((c) => (c.body.message as { text: string }).text.startsWith('Đội cây xanh')));
    expect(late.body).toMatchObject({ recipient: { id: a.psid }, messaging_type: 'MESSAGE_TAG', tag: 'HUMAN_AGENT' });
    await sql`update inbound_messages set received_at = now() - interval '8 days' where external_id = ${a.mid}`.execute(db());
    const before = graph.calls.length;
    await replyToCitizens(db(), a.report.ticket_id, ADMIN, 'Bạn còn cần hỗ trợ không?', { reportId: a.report.id });
    await rt.worker.idle();
    expect(graph.calls.length).toBe(before);
    const out = (await outbound(a.report.id)).at(-1)!;
    expect(out).toMatchObject({ kind: 'reply', status: 'undeliverable', error: expect.stringContaining('recipient_unreachable') });
    const failed = await db().selectFrom('ticket_events').select('data').where('ticket_id', '=', a.report.ticket_id).where('type', '=', 'outbound.failed').execute();
    expect(failed.at(-1)!.data).toMatchObject({ channel: 'facebook', kind: 'reply', error: 'recipient_unreachable', retrying: false, message: expect.stringContaining('Messenger') });
  });

  it('gives up on a person who blocked the Page, and retries while Graph is down', async () => {
    const a = await report('Ổ gà lớn giữa đường Điện Biên Phủ');
    graph.failNext(400, { code: 551, error_subcode: 1545041, message: 'This person isn\'t available right now.' });
    await replyToCitizens(db(), a.report.ticket_id, ADMIN, 'Phường đã ghi nhận.', { reportId: a.report.id });
    await rt.worker.idle();
    expect((await outbound(a.report.id)).at(-1)).toMatchObject({ status: 'undeliverable', error: expect.stringContaining('551') });
    graph.failNext(500);
    await replyToCitizens(db(), a.report.ticket_id, ADMIN, 'Đội thi công sẽ vá đường tối nay.', { reportId: a.report.id });
    await rt.worker.idle();
    const queued = (await outbound(a.report.id)).at(-1)!;
    expect(queued.status).not.toBe('sent');
    expect(queued.error).toContain('500');
    expect(queued.error).not.toContain(TOKEN);
    await sql`update jobs set run_at = now() where kind = 'outbound.send' and done_at is null and failed_at is null`.execute(db());
    rt.worker.wake();
    await rt.worker.idle();
    await waitFor('the retry', async () => (await outbound(a.report.id)).at(-1)!.status === 'sent');
  });

  it('files a comment as a report of the commenter, notes its edit, ignores the Page\'s own, and acknowledges it publicly without personal data', async () => {
    const id = ids();
    const swap = { [FIXTURE.commenter]: id.commenter, [FIXTURE.comment]: id.comment };
    const raw = body('comment-add', swap);
    expect((await post(raw)).status).toBe(200);
    expect((await post(raw)).status).toBe(200); // redelivered
    const edit = body('comment-edit', swap);
    expect((await post(edit)).status).toBe(200);
    const own = body('comment-add', { [FIXTURE.commenter]: PAGE, [FIXTURE.comment]: `${id.comment}9` });
    expect((await post(own)).status).toBe(200);
    await rt.worker.idle();
    expect(await db().selectFrom('inbound_messages').select('id').where('external_id', 'like', `comment:${id.comment}%`).execute()).toHaveLength(1);
    const r = await reportOf(`comment:${id.comment}`);
    expect(r.text).toContain('Cống thoát nước trước nhà số 15 Lê Thánh Tôn');
    expect(await identity(r.citizen_id!)).toEqual([{ kind: 'facebook', value: id.commenter }]);
    const citizen = await db().selectFrom('citizens').selectAll().where('id', '=', r.citizen_id!).executeTakeFirstOrThrow();
    expect(citizen).toMatchObject({ display_name: 'Trần Thị Bích Ngọc' });
    const noted = await db().selectFrom('channel_events').select(['kind', 'data']).where('external_id', '=', `comment:${id.comment}`).execute();
    expect(noted).toEqual([{ kind: 'comment_edited', data: { message: expect.stringContaining('nước đã rút bớt'), created_time: 1735700890 } }]);
    const ack = await waitFor('the public acknowledgement', async () => graph.calls.find((c) => c.path === `/v21.0/${id.comment}/comments`));
    const text = (ack.body as { message: string }).message;
    expect(text).toContain(r.code);
    expect(text).not.toContain('Ngọc');
    expect(text).not.toContain('Lê Thánh Tôn');
    expect(ack.query.access_token).toBe(TOKEN);
    expect((await outbound(r.id))[0]).toMatchObject({ kind: 'received', status: 'sent', to_address: `comment:${id.comment}` });
    // A reply in that comment's thread is answered in the thread (Facebook threads are one level deep).
    const reply = ids();
    await post(body('comment-add', {
      [FIXTURE.commenter]: reply.commenter, [FIXTURE.comment]: reply.comment, '"parent_id": "104857600123456_987654321098765"': `"parent_id": "${id.comment}"`,
      'Cống thoát nước trước nhà số 15 Lê Thánh Tôn, phường Sài Gòn bị tắc': 'Nhà tôi ở số 21 cũng bị ngập vì cống tắc',
    }));
    await rt.worker.idle();
    const replyCode = (await reportOf(`comment:${reply.comment}`)).code;
    await waitFor('the acknowledgement in the thread', async () =>
      graph.calls.find((c) => c.path === `/v21.0/${id.comment}/comments` && String(c.body.message).includes(replyCode)));
    expect(graph.calls.some((c) => c.path === `/v21.0/${reply.comment}/comments`)).toBe(false);
  });

  it('answers a comment in public under it, or once in private by Messenger', async () => {
    const id = ids();
    const now = String(Math.floor(Date.now() / 1000));
    await post(body('comment-add', { [FIXTURE.commenter]: id.commenter, [FIXTURE.comment]: id.comment, 1735700890: now, 'Cống thoát nước trước nhà số 15 Lê Thánh Tôn': 'Vỉa hè trước số 88 Đồng Khởi' }));
    await rt.worker.idle();
    const r = await reportOf(`comment:${id.comment}`);
    const onComment = (c: GraphCall) => c.path === `/v21.0/${id.comment}/comments`;
    await waitFor('the acknowledgement', async () => graph.calls.some(onComment));
    await replyToCitizens(db(), r.ticket_id, ADMIN, 'Cảm ơn bạn, phường Sài Gòn đã nhận thông tin.', { reportId: r.id });
    await rt.worker.idle();
    const publicReply = await waitFor('the public reply', async () => graph.calls.filter(onComment).find((c) => String(c.body.message).startsWith('Cảm ơn bạn')));
    expect(publicReply.body).toEqual({ message: 'Cảm ơn bạn, phường Sài Gòn đã nhận thông tin.' });
    await replyToCitizens(db(), r.ticket_id, ADMIN, 'Chào bạn, vui lòng cho biết số điện thoại để cán bộ liên hệ.', { reportId: r.id, private: true });
    await rt.worker.idle();
    const privateReply = await waitFor('the private reply', async () => graph.calls.find((c) => c.path === '/v21.0/me/messages' && (c.body.recipient as { comment_id?: string }).comment_id === id.comment));
    expect(privateReply.body).toEqual({ recipient: { comment_id: id.comment }, message: { text: 'Chào bạn, vui lòng cho biết số điện thoại để cán bộ liên hệ.' } });
    const sent = (await outbound(r.id)).at(-1)!;
    expect(sent).toMatchObject({ kind: 'private_reply', status: 'sent', to_address: expect.stringMatching(/^\d+$/) });
    // Facebook allows one private reply per comment.
    const calls = graph.calls.length;
    await replyToCitizens(db(), r.ticket_id, ADMIN, 'Nhắn lần hai.', { reportId: r.id, private: true });
    await rt.worker.idle();
    expect(graph.calls.length).toBe(calls);
    expect((await outbound(r.id)).at(-1)).toMatchObject({ kind: 'private_reply', status: 'undeliverable' });
  });
});
