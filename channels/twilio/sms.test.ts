import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import twilio from 'twilio';
import { changeStatus, replyToCitizens } from '../../src/core/tickets/workflow.ts';
import { upsertUser } from '../../src/core/staff/users.ts';
import type { Runtime } from '../../src/runtime.ts';
import { PNG_1PX } from '../../test/support/factories.ts';
import { sidOf, startFakeTwilio, TWILIO, twilioEnv, twilioRequest, twilioSignature, type FakeTwilio } from '../../test/support/fake-twilio.ts';
import { signIn, staffClient, testRuntime } from '../../test/support/runtime.ts';
import { waitFor } from '../../test/support/wait.ts';
import { keyword } from './sms.ts';
import { smsSegments } from './segments.ts';

// SMS to the hotline number, end to end: Twilio's webhook (signed as Twilio signs) becomes a
// report, the acknowledgement with its code goes back through Twilio's REST API (a fake on
// loopback that records it), delivery callbacks update it, STOP is honoured before any send.

const ADMIN = { id: 0, username: 'sms-admin', role: 'admin' as const, areaCodes: [] as string[] };

describe('the signature vector', () => {
  it('matches an independently computed HMAC-SHA1, and the twilio package agrees', () => {
    // Computed once with node:crypto (test/support/fake-twilio.ts) and written down here.
    const params = { AccountSid: TWILIO.sid, Body: 'Ngập nước', From: '+84903123456', MessageSid: `SM${'b'.repeat(32)}`, To: TWILIO.number };
    const url = 'https://1022.example.vn/channels/twilio/sms';
    expect(twilioSignature(TWILIO.token, url, params)).toBe('NP4dHIa5KDIAqLC6lTPbxbRbXDE=');
    expect(twilio.validateRequest(TWILIO.token, 'NP4dHIa5KDIAqLC6lTPbxbRbXDE=', url, params)).toBe(true);
  });
});

describe('opt-out keywords', () => {
  it.each([
    ['STOP', 'stop'], ['stop', 'stop'], ['HUY', 'stop'], ['Hủy', 'stop'], ['TU CHOI', 'stop'], ['Từ chối', 'stop'], ['huỷ.', 'stop'],
    ['START', 'start'], ['BAT DAU', 'start'], ['Bắt đầu', 'start'],
    ['Stop xả rác trước nhà tôi', null], ['Ngập nước', null],
  ])('%s -> %s', (text, want) => expect(keyword(text)).toBe(want));
});

describe('segments', () => {
  it('counts GSM-7 and UCS-2 as carriers do', () => {
    expect(smsSegments('a'.repeat(160))).toMatchObject({ encoding: 'GSM-7', segments: 1 });
    expect(smsSegments('a'.repeat(161)).segments).toBe(2);
    expect(smsSegments('{'.repeat(80))).toMatchObject({ encoding: 'GSM-7', units: 160, segments: 1 });
    expect(smsSegments('ngập'.repeat(17) + 'ab')).toMatchObject({ encoding: 'UCS-2', units: 70, segments: 1 });
    expect(smsSegments('ngập'.repeat(18)).segments).toBe(2);
    expect(smsSegments('ả'.repeat(135)).segments).toBe(3);
  });
});

describe('SMS channel (Twilio Messaging)', () => {
  let rt: Runtime;
  let fake: FakeTwilio;
  let other: http.Server;
  let otherHits = 0;
  let otherUrl: string;
  let admin: ReturnType<typeof staffClient>;
  const signals: { type: string; data: Record<string, unknown> }[] = [];
  const ticketCode = async (id: number) => (await db().selectFrom('tickets').select('code').where('id', '=', id).executeTakeFirstOrThrow()).code;
  const db = () => rt.handle.db;
  const send = (path: string, params: Record<string, string>, opts?: Parameters<typeof twilioRequest>[2]) => rt.app.request(...twilioRequest(path, params, opts));
  const sms = (from: string, body: string, more: Record<string, string> = {}) => {
    const sid = sidOf('SM');
    return { sid, res: send('/sms', { MessageSid: sid, From: from, To: TWILIO.number, Body: body, NumMedia: '0', ...more }) };
  };
  const reportOf = (sid: string) => db().selectFrom('inbound_messages').innerJoin('reports', 'reports.id', 'inbound_messages.report_id')
    .select(['reports.id', 'reports.code', 'reports.text', 'reports.ticket_id', 'reports.attachments', 'reports.area_code', 'reports.citizen_id'])
    .where('inbound_messages.external_id', '=', sid).executeTakeFirstOrThrow();

  beforeAll(async () => {
    fake = await startFakeTwilio();
    other = http.createServer((_req, res) => { otherHits++; res.writeHead(200, { 'content-type': 'image/png' }).end(PNG_1PX); });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    rt = await testRuntime(twilioEnv(fake));
    rt.events.onSignal((x) => signals.push(x));
    await upsertUser(db(), { username: 'officer-bc', password: 'password-1', role: 'ward_officer', areaCodes: ['26743'] });
    await upsertUser(db(), { username: 'sms-admin', password: 'password-1', role: 'admin' });
    admin = staffClient(rt, await signIn(rt, 'sms-admin', 'password-1'));
    ADMIN.id = (await db().selectFrom('users').select('id').where('username', '=', 'sms-admin').executeTakeFirstOrThrow()).id;
  });
  afterAll(async () => {
    await rt?.close();
    await fake?.close();
    await new Promise((r) => other?.close(r));
  });
  beforeEach(() => {
    fake.sent.length = 0;
  });

  it('refuses a missing or wrong signature, another account, a wrong body type and an oversize body, storing nothing', async () => {
    const before = await db().selectFrom('inbound_messages').select(db().fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const params = { MessageSid: sidOf('SM'), From: '+84903000001', To: TWILIO.number, Body: 'Ngập nước' };
    for (const res of [
      await send('/sms', params, { signature: null }),
      await send('/sms', params, { token: 'not-the-token-1022' }),
      await send('/sms', params, { signature: 'x'.repeat(300) }),
    ]) {
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ error: { code: 'twilio_signature_invalid' } });
    }
    // Signed with our token, but for another account.
    const [path, init] = twilioRequest('/sms', params);
    const foreign = new URLSearchParams(String(init.body));
    foreign.set('AccountSid', `AC${'c'.repeat(32)}`);
    const all = Object.fromEntries(foreign);
    const res = await rt.app.request(path, { ...init, body: foreign.toString(), headers: { ...(init.headers as Record<string, string>), 'x-twilio-signature': twilioSignature(TWILIO.token, `${TWILIO.publicUrl}${path}`, all) } });
    expect(res.status).toBe(403);
    const json = await rt.app.request(path, { ...init, headers: { ...(init.headers as Record<string, string>), 'content-type': 'application/json' } });
    expect(json.status).toBe(415);
    const big = await send('/sms', { ...params, Body: 'x'.repeat(70_000) });
    expect(big.status).toBe(413);
    // Signed, but not a message: missing or malformed fields.
    const bads: Record<string, string>[] = [{ From: '+84903000001', Body: 'x' }, { MessageSid: 'SM123', From: '+84903000001', Body: 'x' }, { MessageSid: sidOf('SM'), Body: 'x' }];
    for (const bad of bads) {
      const r = await send('/sms', bad);
      expect(r.status).toBe(400);
      expect(await r.json()).toMatchObject({ error: { code: 'twilio_payload_invalid' } });
    }
    expect((await send('/sms/status', { MessageSid: sidOf('SM') })).status).toBe(400);
    const after = await db().selectFrom('inbound_messages').select(db().fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
  });

  it('turns an SMS into a report, once per MessageSid, and acknowledges it by SMS with its code in one segment', async () => {
    const { sid, res } = sms('0903 111 001', 'Nước ngập sâu trước chợ Bến Thành, phường Bến Thành');
    const first = await res;
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toContain('text/xml');
    expect(await first.text()).toContain('<Response');
    // Twilio retries a webhook it timed out on: the same message, nothing new.
    const again = await send('/sms', { MessageSid: sid, From: '0903 111 001', To: TWILIO.number, Body: 'Nước ngập sâu trước chợ Bến Thành, phường Bến Thành', NumMedia: '0' });
    expect(again.status).toBe(200);
    await rt.worker.idle();
    const stored = await db().selectFrom('inbound_messages').select(['id', 'endpoint']).where('channel', '=', 'sms').where('external_id', '=', sid).execute();
    expect(stored).toHaveLength(1);
    expect(stored[0]!.endpoint).toBe(TWILIO.number);
    const report = await reportOf(sid);
    expect(report.area_code).toBe('26743');
    const identity = await db().selectFrom('citizen_identities').select('value').where('citizen_id', '=', report.citizen_id!).where('kind', '=', 'phone').executeTakeFirstOrThrow();
    expect(identity.value).toBe('+84903111001');
    const ack = await waitFor('the acknowledgement', async () => fake.sent.find((m) => m.to === '+84903111001'));
    expect(ack.body).toContain(report.code);
    expect(ack.from).toBe(TWILIO.number);
    expect(smsSegments(ack.body).segments).toBe(1);
    expect(ack.statusCallback).toBe(`${TWILIO.publicUrl}/channels/twilio/sms/status?via=sms`);
    expect(ack.auth).toBe(`Basic ${Buffer.from(`${TWILIO.sid}:${TWILIO.token}`).toString('base64')}`);
    const out = await db().selectFrom('outbound_messages').selectAll().where('report_id', '=', report.id).executeTakeFirstOrThrow();
    expect(out).toMatchObject({ kind: 'received', status: 'sent', provider_id: ack.sid, to_address: '+84903111001', delivery_status: 'queued' });
    // Consoles with the ticket open hear that its messages changed (sent now, delivered later).
    const ticket = await db().selectFrom('tickets').select('code').where('id', '=', report.ticket_id).executeTakeFirstOrThrow();
    expect(signals).toContainEqual({ type: 'outbound.updated', data: { ticket: ticket.code } });
    signals.length = 0;
    await send('/sms/status?via=sms', { MessageSid: ack.sid, MessageStatus: 'delivered' });
    expect(signals).toEqual([{ type: 'outbound.updated', data: { ticket: ticket.code } }]);
  });

  it('continues the report with a second SMS from the same number within minutes (one ticket, one acknowledgement)', async () => {
    const a = sms('0903 111 002', 'Đèn đường hỏng, tối om cả đoạn');
    await a.res;
    await rt.worker.idle();
    const b = sms('0903 111 002', 'ở 120 Nguyễn Thị Minh Khai p Bàn Cờ');
    await b.res;
    await rt.worker.idle();
    const first = await reportOf(a.sid);
    const second = await reportOf(b.sid);
    expect(second.id).toBe(first.id);
    expect(second.text).toContain('Đèn đường hỏng');
    expect(second.text).toContain('120 Nguyễn Thị Minh Khai');
    const events = await db().selectFrom('ticket_events').select('type').where('ticket_id', '=', first.ticket_id).execute();
    expect(events.map((e) => e.type)).toContain('report.continued');
    // The first SMS named no place: the follow-up's address routes the ticket.
    const banCo = await db().selectFrom('areas').select('code').where('name', '=', 'Phường Bàn Cờ').executeTakeFirstOrThrow();
    const ticket = await db().selectFrom('tickets').select(['area_code', 'category_code', 'needs_triage']).where('id', '=', first.ticket_id).executeTakeFirstOrThrow();
    expect(ticket).toMatchObject({ area_code: banCo.code, category_code: expect.any(String) });
    expect(events.map((e) => e.type)).toContain('ticket.routed');
    const acks = await db().selectFrom('outbound_messages').select('id').where('report_id', '=', first.id).where('kind', '=', 'received').execute();
    expect(acks).toHaveLength(1);
    // Half an hour later the same number reports something new: a report of its own.
    await sql`update inbound_messages set received_at = received_at - interval '30 minutes' where external_id in (${a.sid}, ${b.sid})`.execute(db());
    const c = sms('0903 111 002', 'Rác thải chất đống đầu hẻm 42 Lê Lợi');
    await c.res;
    await rt.worker.idle();
    const d = sms('0903 111 002', 'Thêm: rác bốc mùi rất nặng');
    await d.res;
    await rt.worker.idle();
    expect((await reportOf(d.sid)).id).toBe((await reportOf(c.sid)).id);
    expect((await reportOf(c.sid)).id).not.toBe(first.id);
  });

  it('joins messages of one number that arrive together into one report', async () => {
    rt.worker.stop();
    try {
      const a = sms('0903 111 003', 'Cây xanh ngã đè lên dây điện');
      const b = sms('0903 111 003', 'trước số 15 Lê Thánh Tôn, phường Sài Gòn');
      await Promise.all([a.res, b.res]);
      rt.worker.start();
      await rt.worker.idle();
      const ra = await reportOf(a.sid);
      expect((await reportOf(b.sid)).id).toBe(ra.id);
      expect(ra.text).toContain('Lê Thánh Tôn');
      expect(ra.area_code).toBe('26740');
    } finally {
      rt.worker.start();
    }
  });

  it('fetches MMS photos from Twilio (with the account credentials) and nothing from any other host', async () => {
    fake.serve('/2010-04-01/Accounts/media/ME1', PNG_1PX, 'image/png');
    const { sid, res } = sms('0903 111 004', 'Ảnh ổ gà trên đường Hai Bà Trưng', {
      NumMedia: '3',
      MediaUrl0: `${fake.url}/2010-04-01/Accounts/media/ME1`, MediaContentType0: 'image/png',
      MediaUrl1: `${otherUrl}/steal`, MediaContentType1: 'image/png',
      MediaUrl2: 'https://169.254.169.254/latest/meta-data', MediaContentType2: 'image/png',
    });
    await res;
    await rt.worker.idle();
    const report = await reportOf(sid);
    expect(report.attachments).toHaveLength(1);
    expect(report.attachments[0]).toMatchObject({ content_type: 'image/png', size: PNG_1PX.byteLength });
    expect(otherHits).toBe(0);
    const refused = await db().selectFrom('channel_events').select(['kind', 'data']).where('external_id', '=', `report:${report.id}`).execute();
    expect(refused.map((r) => r.kind)).toEqual(['media_refused', 'media_refused']);
  });

  it('records delivery callbacks in order, retries an undelivered message and gives up on an unsubscribed number', async () => {
    const { sid, res } = sms('0903 111 005', 'Karaoke ồn ào sau 22 giờ tại hẻm 51 Cao Thắng');
    await res;
    await rt.worker.idle();
    const ack = await waitFor('ack', async () => fake.sent.find((m) => m.to === '+84903111005'));
    const status = (MessageStatus: string, more: Record<string, string> = {}) => send('/sms/status?via=sms', { MessageSid: ack.sid, MessageStatus, ...more });
    expect((await status('delivered')).status).toBe(204);
    expect((await status('sent')).status).toBe(204); // late: must not move it back
    const report = await reportOf(sid);
    let out = await db().selectFrom('outbound_messages').selectAll().where('report_id', '=', report.id).executeTakeFirstOrThrow();
    expect(out.delivery_status).toBe('delivered');
    expect(out.delivered_at).not.toBeNull();
    // A reply the handset never got (30003: unreachable handset) is tried again.
    await replyToCitizens(db(), report.ticket_id, ADMIN, 'Tổng đài đã chuyển phản ánh của bạn tới công an phường Bàn Cờ.');
    await rt.worker.idle();
    const reply = await waitFor('reply', async () => fake.sent.find((m) => m.body.startsWith('Tổng đài đã chuyển')));
    await send('/sms/status?via=sms', { MessageSid: reply.sid, MessageStatus: 'undelivered', ErrorCode: '30003' });
    out = await db().selectFrom('outbound_messages').selectAll().where('provider_id', '=', reply.sid).executeTakeFirstOrThrow();
    expect(out).toMatchObject({ status: 'retrying', delivery_status: 'undelivered' });
    const failed = await db().selectFrom('ticket_events').select('data').where('ticket_id', '=', report.ticket_id).where('type', '=', 'outbound.failed').executeTakeFirstOrThrow();
    expect(failed.data).toMatchObject({ channel: 'sms', kind: 'reply', retrying: true });
    // The retry is due in a minute: make it due now.
    await sql`update jobs set run_at = now() where kind = 'outbound.send' and key like ${`outbound:${out.id}:%`}`.execute(db());
    rt.worker.wake();
    const again = await waitFor('the retry', async () => fake.sent.filter((m) => m.body.startsWith('Tổng đài đã chuyển')).length === 2 && fake.sent.at(-1));
    expect(again.to).toBe('+84903111005');
    // 21610: the number unsubscribed at the carrier: no more tries. (The callback may come before
    // the send's outcome is written: it is kept and played then.)
    await send('/sms/status?via=sms', { MessageSid: again.sid, MessageStatus: 'failed', ErrorCode: '21610' });
    const id = out.id;
    out = await waitFor('undeliverable', async () => {
      const row = await db().selectFrom('outbound_messages').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
      return row.status === 'undeliverable' && row;
    });
    expect(out.delivery_status).toBe('failed');
  });

  it('honours STOP and HUY before every send, confirms once, and resumes on BẮT ĐẦU', async () => {
    const stop = await sms('0903 111 006', 'HUY').res;
    expect(await stop.text()).toContain('ngừng nhận tin nhắn');
    const twice = await sms('+84903111006', 'stop').res;
    expect(await twice.text()).not.toContain('<Message');
    const { sid, res } = sms('0903 111 006', 'Lấn chiếm vỉa hè trước số 30 Lý Tự Trọng');
    await res;
    await rt.worker.idle();
    const report = await reportOf(sid);
    expect(fake.sent.filter((m) => m.to === '+84903111006')).toHaveLength(0);
    const out = await db().selectFrom('outbound_messages').selectAll().where('report_id', '=', report.id).executeTakeFirstOrThrow();
    expect(out.status).toBe('undeliverable');
    expect(out.error).toContain('recipient_opted_out');
    const start = await sms('0903 111 006', 'Bắt đầu').res;
    expect(await start.text()).toContain('nhận lại tin nhắn');
    // (Later than the report's thread window, so that this is a report of its own.)
    await sql`update inbound_messages set received_at = received_at - interval '1 hour' where external_id = ${sid}`.execute(db());
    const { sid: sid2, res: res2 } = sms('0903 111 006', 'Cống bị tắc, nước bẩn tràn lên vỉa hè đường Pasteur');
    await res2;
    await rt.worker.idle();
    await waitFor('an SMS again', async () => fake.sent.find((m) => m.to === '+84903111006'));
    expect((await reportOf(sid2)).id).toBeGreaterThan(0);
  });

  it('tells an SMS reporter when the ticket is dispatched and when it is resolved, and retries when Twilio is down', async () => {
    const { sid, res } = sms('0903 111 007', 'Ngập nước trước chợ Bến Thành, phường Bến Thành, xe chết máy');
    await res;
    await rt.worker.idle();
    const report = await reportOf(sid);
    fake.sent.length = 0;
    const officer = await db().selectFrom('users').select('id').where('username', '=', 'officer-bc').executeTakeFirstOrThrow();
    const dispatch = await admin.post(`/api/console/tickets/${await ticketCode(report.ticket_id)}/dispatch`, { area: '26743' });
    expect(dispatch.status).toBe(200);
    rt.worker.wake();
    const dispatched = await waitFor('dispatch notice', async () => fake.sent.find((m) => m.to === '+84903111007'));
    expect(dispatched.body).toContain('Phường Bến Thành');
    expect(smsSegments(dispatched.body).segments).toBe(1);
    fake.failNext(0); // Twilio answers 500 once: the job retries
    await changeStatus(db(), report.ticket_id, { id: officer.id, username: 'officer-bc', role: 'ward_officer', areaCodes: ['26743'] }, 'resolved', { note: 'Đã hút nước, thông cống' });
    rt.worker.wake();
    await sql`update jobs set run_at = now() where kind = 'outbound.send' and done_at is null`.execute(db());
    const resolved = await waitFor('resolved notice', async () => {
      await sql`update jobs set run_at = now() where kind = 'outbound.send' and done_at is null`.execute(db());
      rt.worker.wake();
      return fake.sent.find((m) => m.to === '+84903111007' && m.body.includes('xử lý xong'));
    }, 20_000, 200);
    expect(resolved.body).toContain(`${TWILIO.publicUrl}/track/${report.code}`);
    expect(smsSegments(resolved.body).segments).toBe(1);
  });
});
