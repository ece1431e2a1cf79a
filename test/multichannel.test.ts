import { createHmac } from 'node:crypto';
import { serve, type ServerType } from '@hono/node-server';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.ts';
import { attachRealtime, type Realtime } from '../src/realtime/server.ts';
import { upsertUser } from '../src/core/staff/users.ts';
import type { Runtime } from '../src/runtime.ts';
import type { TicketEventMessage } from '../src/wire/realtime.ts';
import { startFakeGraph, type FakeGraph } from './support/fake-graph.ts';
import { sidOf, startFakeTwilio, TWILIO, twilioEnv, twilioRequest, type FakeTwilio } from './support/fake-twilio.ts';
import { PLACES } from './support/factories.ts';
import { signIn, staffClient, testRuntime } from './support/runtime.ts';
import { waitFor } from './support/wait.ts';

// The promise, end to end: one resident floods the hotline about one flooded market — a
// call, an SMS, a Messenger message and a comment under the fanpage's post — and the city sees
// one ticket, live on the console; once the ward resolves it, the resident hears back on every
// channel they used (the fake Twilio and Graph servers record what phananh sends).

const FB_SECRET = 'multichannel-app-secret-1022';
const PAGE = '104857600123456';
const PSID = '7012345678905555';
const COMMENTER = '24681357913575555';
const PHONE = '+84903777001';
const PW = 'matkhau-multi-1';

/** A Page webhook body, signed as Meta signs it (HMAC-SHA256 of the exact bytes, node:crypto). */
function fbRequest(body: unknown): RequestInit {
  const raw = JSON.stringify(body);
  return {
    method: 'POST', body: raw,
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${createHmac('sha256', FB_SECRET).update(raw).digest('hex')}` },
  };
}

describe('one resident, four channels, one ticket', () => {
  let rt: Runtime;
  let twilio: FakeTwilio;
  let graph: FakeGraph;
  let server: ServerType;
  let realtime: Realtime;
  let socket: ClientSocket;
  const live: TicketEventMessage[] = [];
  const db = () => rt.handle.db;
  const twilioPost = (path: string, params: Record<string, string>) => rt.app.request(...twilioRequest(path, params));
  const ticketOf = async (externalId: string) => (await db().selectFrom('inbound_messages').innerJoin('reports', 'reports.id', 'inbound_messages.report_id')
    .innerJoin('tickets', 'tickets.id', 'reports.ticket_id').select(['tickets.code', 'reports.code as report', 'reports.channel'])
    .where('inbound_messages.external_id', '=', externalId).executeTakeFirstOrThrow());

  beforeAll(async () => {
    twilio = await startFakeTwilio();
    graph = await startFakeGraph();
    rt = await testRuntime({
      ...twilioEnv(twilio),
      FB_APP_SECRET: FB_SECRET, FB_VERIFY_TOKEN: 'verify-token-1022', FB_PAGE_ACCESS_TOKEN: 'EAAGmultichannelToken0123456789', FB_GRAPH_URL: graph.graphUrl,
    });
    await upsertUser(db(), { username: 'mc-agent', password: PW, role: 'agent' });
    await upsertUser(db(), { username: 'mc-benthanh', password: PW, role: 'ward_officer', areaCodes: [PLACES.benThanh.code] });
    server = await new Promise<ServerType>((resolve) => { const s = serve({ fetch: rt.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s)); });
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    realtime = await attachRealtime({ httpServer: server, db: db(), events: rt.events, log: createLogger('silent'), databaseUrl: rt.handle.kind === 'postgres' ? rt.handle.url : undefined });
    const login = await fetch(`${base}/login`, { method: 'POST', headers: { accept: 'application/json', 'content-type': 'application/json' }, body: JSON.stringify({ username: 'mc-agent', password: PW }) });
    const cookie = login.headers.getSetCookie().find((c) => c.startsWith('phananh_session='))!.split(';')[0]!;
    socket = ioClient(base, { transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: { cookie } });
    socket.on('ticket.event', (e: TicketEventMessage) => live.push(e));
    await new Promise<void>((resolve, reject) => { socket.once('connect', () => resolve()); socket.once('connect_error', reject); });
  }, 120_000);
  afterAll(async () => {
    socket?.disconnect();
    await realtime?.close();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    await rt?.close();
    await twilio?.close();
    await graph?.close();
  });

  it('groups a call, an SMS, a Messenger message and a comment into one ticket, live, and answers on each channel', async () => {
    // 1. The call: the menu, the problem said aloud, the address.
    const call = sidOf('CA');
    await twilioPost('/voice', { CallSid: call, From: PHONE, To: TWILIO.number });
    await twilioPost('/voice/menu?attempt=0', { CallSid: call, From: PHONE, Digits: '1' });
    await twilioPost('/voice/problem', { CallSid: call, From: PHONE, SpeechResult: 'Nước ngập sâu trước chợ Bến Thành, xe máy chết máy' });
    await twilioPost('/voice/address', { CallSid: call, From: PHONE, To: TWILIO.number, SpeechResult: 'chợ Bến Thành phường Bến Thành' });
    await rt.worker.idle();
    const first = await ticketOf(call);

    // 2. An SMS from the same phone, in other words.
    const sms = sidOf('SM');
    await twilioPost('/sms', { MessageSid: sms, From: '0903 777 001', To: TWILIO.number, Body: 'Cho Ben Thanh ngap nuoc qua, xe chet may het', NumMedia: '0' });
    // 3. On Messenger.
    await rt.app.request('/channels/facebook/webhook', fbRequest({
      object: 'page', entry: [{ id: PAGE, time: Date.now(), messaging: [{
        sender: { id: PSID }, recipient: { id: PAGE }, timestamp: Date.now(),
        message: { mid: 'm_multichannel_0001', text: 'Trước chợ Bến Thành nước ngập tới đầu gối, phường Bến Thành' },
      }] }],
    }));
    // 4. Under the fanpage's post.
    await rt.app.request('/channels/facebook/webhook', fbRequest({
      object: 'page', entry: [{ id: PAGE, time: Date.now(), changes: [{ field: 'feed', value: {
        from: { id: COMMENTER, name: 'Nguyễn Văn Dân' }, item: 'comment', verb: 'add', created_time: Math.floor(Date.now() / 1000),
        post_id: `${PAGE}_987654321098765`, comment_id: '987654321098765_5555000011112222', parent_id: `${PAGE}_987654321098765`,
        message: 'Chợ Bến Thành ngập nặng quá, phường Bến Thành xử lý giùm',
      } }] }],
    }));
    await rt.worker.idle();

    const tickets = await Promise.all([call, sms, 'm_multichannel_0001', 'comment:987654321098765_5555000011112222'].map(ticketOf));
    expect(new Set(tickets.map((t) => t.code))).toEqual(new Set([first.code]));
    expect(tickets.map((t) => t.channel)).toEqual(['phone', 'sms', 'facebook', 'facebook']);

    // Live on the console: every report's arrival reached the agent's socket, on that ticket.
    for (const t of tickets) {
      await waitFor(`live event of ${t.report}`, async () => live.find((e) => e.ticket === first.code && e.data.report === t.report));
    }

    // The agent learns on the phone that the Messenger and Facebook accounts are the caller's: one reporter.
    const agent = staffClient(rt, await signIn(rt, 'mc-agent', PW));
    const detail = async () => (await (await agent.get(`/api/console/tickets/${first.code}`)).json()) as {
      ticket: { reporter_count: number }; citizens: { id: number; identities: { kind: string; value: string }[] }[];
    };
    const caller = (await detail()).citizens.find((c) => c.identities.some((i) => i.kind === 'phone' && i.value === PHONE))!;
    for (const id of [PSID, COMMENTER]) {
      const owner = (await detail()).citizens.find((c) => c.identities.some((i) => i.kind === 'facebook' && i.value === id))!;
      const r = await agent.post(`/api/console/citizens/${owner.id}/identities`, { kind: 'phone', value: PHONE, reason: 'Người dân xác nhận qua điện thoại' });
      expect(r.status).toBe(200);
    }
    const after = await detail();
    expect(after.citizens).toHaveLength(1);
    expect(after.citizens[0]!.id).toBe(Math.min(caller.id, ...after.citizens.map((c) => c.id)));
    expect(after.ticket.reporter_count).toBe(1);

    // Dispatched, acknowledged and resolved by the ward.
    twilio.sent.length = 0;
    graph.calls.length = 0;
    expect((await agent.post(`/api/console/tickets/${first.code}/dispatch`, { area: PLACES.benThanh.code })).status).toBe(200);
    const ward = staffClient(rt, await signIn(rt, 'mc-benthanh', PW));
    expect((await ward.post(`/api/ward/tickets/${first.code}/acknowledge`, {})).status).toBe(200);
    const resolved = await ward.raw(`/api/ward/tickets/${first.code}/resolve`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ note: 'Đã hút nước, thông cống trước chợ' }),
    });
    expect(resolved.status).toBe(200);
    await rt.worker.idle();

    // Resolution on every channel: an SMS for the call and one for the SMS, a Messenger message, a reply under the comment.
    const texts = await waitFor('resolution by SMS', async () => {
      const r = twilio.sent.filter((m) => m.to === PHONE && m.body.includes('xử lý xong'));
      return r.length === 2 && r;
    });
    expect(texts.map((m) => m.body).join(' ')).toContain(tickets[0]!.report);
    expect(texts.map((m) => m.body).join(' ')).toContain(tickets[1]!.report);
    const messenger = graph.calls.find((c) => c.path.endsWith('/me/messages') && (c.body.recipient as { id?: string }).id === PSID
      && JSON.stringify(c.body.message).includes('xử lý xong'));
    expect(messenger).toBeDefined();
    const comment = graph.calls.find((c) => c.path.endsWith('/987654321098765_5555000011112222/comments'));
    expect(comment).toBeDefined();
    expect(String(comment!.body.message)).toContain(tickets[3]!.report);
  });
});
