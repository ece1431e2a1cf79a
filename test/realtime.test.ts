import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import type { DomainEvent } from '../src/core/events.ts';
import { appendEvents } from '../src/core/tickets/event-log.ts';
import { addNote, dispatchTicket, updateTicket } from '../src/core/tickets/workflow.ts';
import { upsertUser } from '../src/core/staff/users.ts';
import { connect } from '../src/db/connect.ts';
import { createLogger } from '../src/log.ts';
import { attachRealtime, type Realtime } from '../src/realtime/server.ts';
import { REPLAY_LIMIT } from '../src/realtime/replay.ts';
import type { IncomingCall, PresenceMessage, ResyncMessage, SessionEndedMessage, SignalMessage, TicketEventMessage, WatchReply } from '../src/wire/realtime.ts';
import { createRuntime, type Runtime } from '../src/runtime.ts';
import { startServer } from '../src/server.ts';
import { PLACES, reportBody } from './support/factories.ts';
import { TEST_DB } from './support/db.ts';
import { testRuntime } from './support/runtime.ts';

// The realtime layer over real sockets: a real HTTP server on a free port, real sign-ins, and
// socket.io-client over WebSocket. On PostgreSQL the server uses the Postgres adapter (as in
// production), and a second process-in-miniature (another runtime on the same database) checks
// that an event published in one process reaches a client of the other.

const log = createLogger('silent');
const BEN_THANH = PLACES.benThanh.code;
const SAI_GON = PLACES.saiGon.code;
const PW = 'matkhau-realtime-1';

let rt: Runtime;
let server: ServerType;
let realtime: Realtime;
let base: string;
const cookies: Record<string, string> = {};
const sockets: ClientSocket[] = [];

function listen(runtime: Runtime): Promise<{ server: ServerType; base: string }> {
  return new Promise((resolve) => {
    const s = serve({ fetch: runtime.app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve({ server: s, base: `http://127.0.0.1:${info.port}` }));
  });
}

async function login(url: string, username: string): Promise<string> {
  const res = await fetch(`${url}/login`, {
    method: 'POST',
    headers: { accept: 'application/json', 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PW }),
  });
  expect(res.status).toBe(200);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('phananh_session='));
  expect(cookie).toBeDefined();
  return cookie!.split(';')[0]!;
}

/** A connected client socket that records every `ticket.event` it receives. */
interface Client {
  socket: ClientSocket;
  events: TicketEventMessage[];
  presence: PresenceMessage[];
}

function connectAs(cookie: string | undefined, url = base, headers: Record<string, string> = {}): Promise<Client> {
  const socket = ioClient(url, {
    transports: ['websocket'], reconnection: false, forceNew: true,
    extraHeaders: { ...(cookie ? { cookie } : {}), ...headers },
  });
  sockets.push(socket);
  const client: Client = { socket, events: [], presence: [] };
  socket.on('ticket.event', (e: TicketEventMessage) => client.events.push(e));
  socket.on('ticket.presence', (p: PresenceMessage) => client.presence.push(p));
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(client));
    socket.once('connect_error', (err) => reject(err));
  });
}

/** Resolves when `check()` returns something, polling; rejects after `ms`. */
async function until<T>(check: () => T | undefined | null | false, ms = 5_000, what = 'condition'): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function postReport(body: Record<string, unknown>, url = base): Promise<string> {
  const res = await fetch(`${url}/api/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(201);
  return ((await res.json()) as { code: string }).code;
}

/** The event that tells which ticket a report landed on (report.received or report.grouped). */
const reportEvent = (c: Client, reportCode: string) =>
  c.events.find((e) => (e.type === 'report.received' || e.type === 'report.grouped') && e.data.report === reportCode);

function emitWithAck(socket: ClientSocket, event: 'ticket.watch' | 'ticket.unwatch', code: string): Promise<WatchReply> {
  return new Promise((resolve) => socket.emit(event, { code }, (r: WatchReply) => resolve(r)));
}

beforeAll(async () => {
  rt = await testRuntime();
  const db = rt.handle.db;
  for (const u of [
    { username: 'rt-agent1', role: 'agent', displayName: 'Trần Thị Một' },
    { username: 'rt-agent2', role: 'agent', displayName: 'Lê Văn Hai' },
    { username: 'rt-super', role: 'supervisor' },
    { username: 'rt-ward', role: 'ward_officer', areaCodes: [BEN_THANH] },
    { username: 'rt-leaver', role: 'ward_officer', areaCodes: [BEN_THANH] },
    { username: 'rt-saigon', role: 'ward_officer', areaCodes: [SAI_GON] },
  ]) await upsertUser(db, { ...u, password: PW });
  ({ server, base } = await listen(rt));
  realtime = await attachRealtime({
    httpServer: server, db, events: rt.events, log, revalidateMs: 100,
    databaseUrl: rt.handle.kind === 'postgres' ? rt.handle.url : undefined,
  });
  for (const name of ['rt-agent1', 'rt-agent2', 'rt-super', 'rt-ward', 'rt-leaver', 'rt-saigon']) cookies[name] = await login(base, name);
}, 120_000);

afterAll(async () => {
  for (const s of sockets) s.disconnect();
  await realtime?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await rt?.close();
});

describe(`realtime (${TEST_DB})`, () => {
  it('pushes a report posted to the API to an agent socket as ticket.created within a second', async () => {
    const agent = await connectAs(cookies['rt-agent1']);
    const t0 = Date.now();
    const code = await postReport(reportBody());
    const received = await until(() => reportEvent(agent, code), 5_000, `report.received of ${code}`);
    const created = await until(() => agent.events.find((e) => e.type === 'ticket.created' && e.ticket === received.ticket), 5_000, 'ticket.created');
    const took = Date.now() - t0;
    expect(took).toBeLessThan(1_000);
    expect(created).toMatchObject({ ticket: expect.stringMatching(/^TK-/), area: BEN_THANH, actor: 'system' });
    expect(created.seq).toBeGreaterThan(0);
    expect(new Date(created.at).toISOString()).toBe(created.at);
    // Each event reaches a socket once, in order.
    const seqs = agent.events.map((e) => e.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
  });

  it('sends a ward officer the events of their ward only', async () => {
    const agent = await connectAs(cookies['rt-super']);
    const ward = await connectAs(cookies['rt-ward']);
    const elsewhere = await postReport(reportBody({ ...PLACES.binhTay, text: 'Rác thải đổ trộm thành đống lớn trên vỉa hè đường Hậu Giang' }));
    const here = await postReport(reportBody({ text: 'Cột đèn đường ngã nghiêng trước chợ Bến Thành, rất nguy hiểm' }));
    const away = await until(() => reportEvent(agent, elsewhere), 5_000, 'the Bình Tây report');
    const mine = await until(() => reportEvent(ward, here), 5_000, 'the Bến Thành report on the ward socket');
    expect(mine.area).toBe(BEN_THANH);
    expect(away.area).not.toBe(BEN_THANH);
    expect(away.area).not.toBeNull();
    // Everything of the Bến Thành ticket arrived; nothing of the other one, however long we wait.
    await until(() => reportEvent(agent, here), 5_000, 'the Bến Thành report on the agent socket');
    await new Promise((r) => setTimeout(r, 300));
    expect(ward.events.some((e) => e.ticket === away.ticket)).toBe(false);
    expect(ward.events.length).toBeGreaterThan(0);
    expect(ward.events.every((e) => e.area === BEN_THANH)).toBe(true);
    expect(agent.events.some((e) => e.ticket === away.ticket)).toBe(true);
  });

  it('never puts a ward event of another area into a ward room, nor an unrouted one', async () => {
    const ward = await connectAs(cookies['rt-ward']);
    const agent = await connectAs(cookies['rt-agent1']);
    const synthetic = (seq: number, areaCode: string | null): DomainEvent => ({
      seq, type: 'ticket.note', ticketId: 1, ticketCode: 'TK-0000000' + seq, areaCode, actor: 'test', data: {}, at: new Date(),
    });
    rt.events.publish([synthetic(1, '26740'), synthetic(2, null), synthetic(3, BEN_THANH)]);
    await until(() => ward.events.find((e) => e.seq === 3), 2_000, 'the Bến Thành event');
    await until(() => agent.events.filter((e) => e.ticket.startsWith('TK-0000000')).length === 3, 2_000, 'all three on the agent');
    expect(ward.events.map((e) => e.seq)).toEqual([3]);
  });

  it('delivers the events of a burst in the order they were published, large ones included', async () => {
    const agent = await connectAs(cookies['rt-agent1']);
    // Over 8000 bytes: on PostgreSQL this one travels through the adapter's attachments table.
    const big = 'Ghi chú rất dài. '.repeat(700);
    const burst: DomainEvent[] = Array.from({ length: 30 }, (_, i) => ({
      seq: 500_000 + i, type: 'ticket.note', ticketId: 1, ticketCode: 'TK-0RDER000', areaCode: BEN_THANH, actor: 'test',
      data: i === 10 ? { text: big } : { i }, at: new Date(),
    }));
    rt.events.publish(burst);
    await until(() => agent.events.filter((e) => e.seq >= 500_000).length === 30, 3_000, 'the burst');
    expect(agent.events.filter((e) => e.seq >= 500_000).map((e) => e.seq)).toEqual(burst.map((e) => e.seq));
    expect(agent.events.find((e) => e.seq === 500_010)?.data.text).toBe(big);
  });

  it('pushes a live signal (an incoming call\'s screen pop) to the agents, never to a ward officer, and keeps none of it', async () => {
    const agent = await connectAs(cookies['rt-agent1']);
    const supervisor = await connectAs(cookies['rt-super']);
    const ward = await connectAs(cookies['rt-ward']);
    const got = (c: Client) => {
      const signals: SignalMessage[] = [];
      c.socket.on('console.signal', (s: SignalMessage) => signals.push(s));
      return signals;
    };
    const [a, s, w] = [got(agent), got(supervisor), got(ward)];
    const call: IncomingCall = {
      call: 'CArealtime01', from: '+84903555123', state: 'ringing', at: new Date().toISOString(),
      citizen: { id: 7, name: 'Nguyễn Thị Hoa', reports: [], openTickets: [{ code: 'TK-CALL0001', status: 'dispatched', title: 'Ngập nước' }] },
    };
    rt.events.signal('call.incoming', { ...call });
    rt.events.signal('call.incoming', { ...call, state: 'ended' });
    await until(() => a.length === 2 && s.length === 2, 3_000, 'both signals on the agent and supervisor sockets');
    expect(a).toEqual([{ type: 'call.incoming', data: call }, { type: 'call.incoming', data: { ...call, state: 'ended' } }]);
    await new Promise((r) => setTimeout(r, 300));
    expect(w).toEqual([]);
    // Not a ticket event: nothing is stored, so a reconnecting console gets no replay of it.
    expect(agent.events.some((e) => e.type === 'call.incoming')).toBe(false);
  });

  it('refuses a handshake without a valid session cookie, or from another site', async () => {
    await expect(connectAs(undefined)).rejects.toMatchObject({ message: 'session_required', data: { code: 'session_required' } });
    await expect(connectAs('phananh_session=' + 'x'.repeat(43))).rejects.toMatchObject({ message: 'session_required' });
    await expect(connectAs(cookies['rt-agent1'], base, { origin: 'https://evil.example' })).rejects.toThrow();
    // The same cookie from this site's own page is fine.
    const ok = await connectAs(cookies['rt-agent1'], base, { origin: base });
    expect(ok.socket.connected).toBe(true);
  });

  it('lists who watches a ticket, and updates the list on unwatch and disconnect', async () => {
    const watcher = await connectAs(cookies['rt-agent1']);
    const code = await postReport(reportBody({ text: 'Karaoke hát xuyên đêm ở hẻm 12 đường Lê Lợi' }));
    const ticket = (await until(() => reportEvent(watcher, code), 5_000, 'the report')).ticket;
    const other = await connectAs(cookies['rt-agent2']);
    expect(await emitWithAck(watcher.socket, 'ticket.watch', ticket)).toEqual({ ok: true, code: ticket });
    expect(await emitWithAck(other.socket, 'ticket.watch', ticket.toLowerCase())).toEqual({ ok: true, code: ticket });
    const both = await until(() => watcher.presence.find((p) => p.code === ticket && p.viewers.length === 2), 3_000, 'two viewers');
    expect(both.viewers).toEqual([
      { username: 'rt-agent1', displayName: 'Trần Thị Một' },
      { username: 'rt-agent2', displayName: 'Lê Văn Hai' },
    ]);
    await until(() => other.presence.find((p) => p.code === ticket && p.viewers.length === 2), 3_000, 'two viewers, seen by the second');

    expect(await emitWithAck(other.socket, 'ticket.unwatch', ticket)).toMatchObject({ ok: true });
    const seen = watcher.presence.length;
    await until(() => watcher.presence.slice(seen).find((p) => p.viewers.length === 1), 3_000, 'one viewer after unwatch');
    expect(await emitWithAck(other.socket, 'ticket.watch', ticket)).toMatchObject({ ok: true });
    await until(() => watcher.presence.at(-1)?.viewers.length === 2, 3_000, 'two again');
    other.socket.disconnect();
    const last = await until(() => { const p = watcher.presence.at(-1); return p?.viewers.length === 1 ? p : null; }, 3_000, 'one after disconnect');
    expect(last.viewers.map((v) => v.username)).toEqual(['rt-agent1']);
  });

  it('refuses to watch bad codes, unknown tickets, and tickets outside a ward officer\'s units', async () => {
    const agent = await connectAs(cookies['rt-agent1']);
    const ward = await connectAs(cookies['rt-ward']);
    const elsewhere = await postReport(reportBody({ ...PLACES.binhTay, text: 'Nắp cống bị mất giữa đường, xe máy dễ sụp' }));
    const ticket = (await until(() => reportEvent(agent, elsewhere), 5_000, 'the report')).ticket;
    expect(await emitWithAck(ward.socket, 'ticket.watch', ticket)).toMatchObject({ ok: false, error: { code: 'ticket_forbidden' } });
    expect(await emitWithAck(ward.socket, 'ticket.watch', 'TK-ZZZZZZZZ')).toMatchObject({ ok: false, error: { code: 'ticket_not_found' } });
    expect(await emitWithAck(ward.socket, 'ticket.watch', 'nonsense')).toMatchObject({ ok: false, error: { code: 'ticket_code_invalid' } });
    expect(ward.presence).toEqual([]);
  });

  it('closes a socket whose session ends (sign-out) or whose units change', async () => {
    const agent = await connectAs(cookies['rt-agent2']);
    const ended = new Promise<SessionEndedMessage>((resolve) => agent.socket.once('session.ended', resolve));
    const gone = new Promise<string>((resolve) => agent.socket.once('disconnect', resolve));
    const out = await fetch(`${base}/logout`, { method: 'POST', headers: { cookie: cookies['rt-agent2']!, accept: 'application/json' } });
    expect(out.status).toBe(200);
    expect(await ended).toEqual({ reason: 'session_expired' });
    expect(await gone).toBe('io server disconnect');

    const leaver = await connectAs(cookies['rt-leaver']);
    const changed = new Promise<SessionEndedMessage>((resolve) => leaver.socket.once('session.ended', resolve));
    await rt.handle.db.updateTable('users').set({ area_codes: JSON.stringify(['26740']) }).where('username', '=', 'rt-leaver').execute();
    expect(await changed).toEqual({ reason: 'session_changed' });
    await until(() => !leaver.socket.connected, 2_000, 'the disconnect');
  });
});

describe('startServer', () => {
  it('serves socket.io on the same port, and stop() returns with sockets still open', async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'phananh-rt-'));
    const config = loadConfig({
      DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', SESSION_SECRET: 'test-secret-0123456789abcdef',
      ...(rt.handle.kind === 'postgres' ? { DATABASE_URL: rt.handle.url } : {}),
    });
    const started = await startServer(config, log, async (r) => {
      await upsertUser(r.handle.db, { username: 'rt-started', password: PW, role: 'agent' });
    });
    try {
      const c = await connectAs(await login(started.url, 'rt-started'), started.url);
      started.runtime.events.publish([{ seq: 99, type: 'ticket.note', ticketId: 1, ticketCode: 'TK-SERVER99', areaCode: null, actor: 't', data: {}, at: new Date() }]);
      await until(() => c.events.find((e) => e.seq === 99), 2_000, 'the event');
    } finally {
      await started.stop();
    }
  }, 120_000);
});

describe.runIf(TEST_DB === 'postgres')('realtime across processes (PostgreSQL adapter)', () => {
  let rtB: Runtime;
  let serverB: ServerType;
  let realtimeB: Realtime;
  let baseB: string;

  beforeAll(async () => {
    const config = loadConfig({ DATA_DIR: mkdtempSync(path.join(tmpdir(), 'phananh-rt-b-')), SESSION_SECRET: 'test-secret-0123456789abcdef' });
    const handle = await connect({ databaseUrl: rt.handle.url, poolMax: 5 });
    // Process B runs no worker: every report is processed, and its events published, on A.
    rtB = await createRuntime(config, { log, handle, skipSetup: true, startWorker: false });
    ({ server: serverB, base: baseB } = await listen(rtB));
    realtimeB = await attachRealtime({ httpServer: serverB, db: rtB.handle.db, events: rtB.events, log, databaseUrl: rt.handle.url });
    // Both know the other (heartbeats), so that presence asks both.
    const count = async (r: Realtime) => r.io.of('/').adapter.serverCount();
    const end = Date.now() + 10_000;
    while ((await count(realtime)) < 2 || (await count(realtimeB)) < 2) {
      if (Date.now() > end) throw new Error('the two processes did not see each other');
      await new Promise((r) => setTimeout(r, 20));
    }
  }, 120_000);

  afterAll(async () => {
    await realtimeB?.close();
    await new Promise<void>((resolve) => (serverB ? serverB.close(() => resolve()) : resolve()));
    await rtB?.close();
  });

  it('has the adapter table', async () => {
    const r = await rt.handle.db.selectFrom('information_schema.columns' as any).select('column_name' as any)
      .where('table_name' as any, '=', 'socket_io_attachments').execute();
    expect(r.map((c: any) => c.column_name).sort()).toEqual(['created_at', 'id', 'payload']);
  });

  it('delivers an event published in process A to a client of process B, once', async () => {
    const onB = await connectAs(cookies['rt-agent1'], baseB);
    const wardOnB = await connectAs(cookies['rt-ward'], baseB);
    const onA = await connectAs(cookies['rt-super'], base);
    const t0 = Date.now();
    const code = await postReport(reportBody({ text: 'Cây xanh gãy đổ chắn ngang đường Lê Thánh Tôn' }), base);
    const received = await until(() => reportEvent(onB, code), 5_000, 'the report on B');
    const created = await until(() => onB.events.find((e) => e.type === 'ticket.created' && e.ticket === received.ticket), 5_000, 'ticket.created on B');
    expect(Date.now() - t0).toBeLessThan(1_000);
    expect(created.area).toBe(BEN_THANH);
    await until(() => reportEvent(wardOnB, code), 5_000, 'the report on the ward socket on B');
    await until(() => reportEvent(onA, code), 5_000, 'the report on A');
    await new Promise((r) => setTimeout(r, 300));
    for (const c of [onA, onB]) {
      const ofTicket = c.events.filter((e) => e.ticket === received.ticket).map((e) => e.seq);
      expect(new Set(ofTicket).size).toBe(ofTicket.length);
    }
    expect(onB.events.filter((e) => e.ticket === received.ticket)).toEqual(onA.events.filter((e) => e.ticket === received.ticket));

    // A synthetic event on A's bus, large enough to travel through the attachments table.
    const big = 'x'.repeat(20_000);
    rt.events.publish([{ seq: 7_000_001, type: 'ticket.note', ticketId: 1, ticketCode: 'TK-BIG00001', areaCode: '26740', actor: 't', data: { big }, at: new Date() }]);
    const got = await until(() => onB.events.find((e) => e.seq === 7_000_001), 3_000, 'the large event on B');
    expect(got.data.big).toBe(big);
    await new Promise((r) => setTimeout(r, 100));
    expect(wardOnB.events.some((e) => e.seq === 7_000_001)).toBe(false);

    // A burst published on A arrives on B in order. (Not so an event over 8000 bytes: the
    // receiving adapter fetches it from the attachments table while later ones go ahead.)
    const burst: DomainEvent[] = Array.from({ length: 20 }, (_, i) => ({
      seq: 7_100_000 + i, type: 'ticket.note', ticketId: 1, ticketCode: 'TK-0RDER001', areaCode: null, actor: 't',
      data: { i }, at: new Date(),
    }));
    rt.events.publish(burst);
    await until(() => onB.events.filter((e) => e.seq >= 7_100_000).length === 20, 3_000, 'the burst on B');
    expect(onB.events.filter((e) => e.seq >= 7_100_000).map((e) => e.seq)).toEqual(burst.map((e) => e.seq));
  });

  it('lists viewers connected to either process', async () => {
    const onA = await connectAs(cookies['rt-agent1'], base);
    const onB = await connectAs(cookies['rt-super'], baseB);
    const code = await postReport(reportBody({ text: 'Vỉa hè bị lấn chiếm để bán hàng trên đường Nam Kỳ Khởi Nghĩa' }), base);
    const ticket = (await until(() => reportEvent(onA, code), 5_000, 'the report')).ticket;
    expect(await emitWithAck(onA.socket, 'ticket.watch', ticket)).toMatchObject({ ok: true });
    expect(await emitWithAck(onB.socket, 'ticket.watch', ticket)).toMatchObject({ ok: true });
    const both = await until(() => onA.presence.find((p) => p.viewers.length === 2), 5_000, 'both viewers on A');
    expect(both.viewers.map((v) => v.username)).toEqual(['rt-agent1', 'rt-super']);
    await until(() => onB.presence.find((p) => p.viewers.length === 2), 5_000, 'both viewers on B');
    onB.socket.disconnect();
    await until(() => onA.presence.at(-1)?.viewers.length === 1, 5_000, 'the viewer on B left');
  });
});

describe(`realtime reconnect with lastSeq (${TEST_DB})`, () => {
  /** A client resuming after `lastSeq`; it records `resync` too, and everything from the first packet. */
  function resumeAs(cookie: string, lastSeq: unknown): Promise<Client & { resyncs: ResyncMessage[] }> {
    const socket = ioClient(base, {
      transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: { cookie }, auth: { lastSeq },
    });
    sockets.push(socket);
    const client = { socket, events: [] as TicketEventMessage[], presence: [] as PresenceMessage[], resyncs: [] as ResyncMessage[] };
    socket.on('ticket.event', (e: TicketEventMessage) => client.events.push(e));
    socket.on('resync', (m: ResyncMessage) => client.resyncs.push(m));
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(client));
      socket.once('connect_error', (err) => reject(err));
    });
  }

  const latestSeq = async () => Number((await rt.handle.db.selectFrom('ticket_events')
    .select((eb) => eb.fn.max('id').as('max')).executeTakeFirstOrThrow()).max ?? 0);

  /** The seqs after `after` in the database, of tickets in `area` when given. */
  async function seqsAfter(after: number, area?: string): Promise<number[]> {
    let q = rt.handle.db.selectFrom('ticket_events').innerJoin('tickets', 'tickets.id', 'ticket_events.ticket_id')
      .select('ticket_events.id').where('ticket_events.id', '>', after);
    if (area) q = q.where('tickets.area_code', '=', area);
    return (await q.orderBy('ticket_events.id').execute()).map((r) => Number(r.id));
  }

  /** Posts reports and waits until `observer` has every event they caused (no new one for 300 ms). */
  async function postAndSettle(observer: Client, bodies: Record<string, unknown>[]): Promise<string[]> {
    const codes: string[] = [];
    for (const b of bodies) codes.push(await postReport(b));
    await until(() => codes.every((c) => reportEvent(observer, c)), 15_000, 'every report on the observer');
    for (let n = -1; n !== observer.events.length;) {
      n = observer.events.length;
      await new Promise((r) => setTimeout(r, 300));
    }
    return codes;
  }

  it('replays to a client that was away every event after lastSeq, in seq order, once each, then goes live', async () => {
    const observer = await connectAs(cookies['rt-super']);
    const away = await connectAs(cookies['rt-agent1']);
    const from = await latestSeq();
    away.socket.disconnect();
    const codes = await postAndSettle(observer, Array.from({ length: 20 }, (_, i) => reportBody({
      text: `Đèn tín hiệu giao thông hỏng ở ngã tư số ${i + 1}, xe cộ ùn tắc kéo dài`,
      ...(i % 2 ? PLACES.binhTay : {}),
    })));
    const missed = observer.events.filter((e) => e.seq > from);
    expect(missed.length).toBeGreaterThanOrEqual(20);

    const back = await resumeAs(cookies['rt-agent1']!, from);
    const expected = await seqsAfter(from);
    await until(() => back.events.length >= expected.length, 5_000, 'the replay');
    await new Promise((r) => setTimeout(r, 200));
    expect(back.resyncs).toEqual([]);
    expect(back.events.map((e) => e.seq)).toEqual(expected);
    // The same messages, shape and all, as the live ones. Live ones go out in commit order,
    // which two jobs running at once can make differ from seq order (seen under load); the
    // replay is in seq order.
    expect(back.events).toEqual([...missed].sort((a, b) => a.seq - b.seq));
    for (const c of codes) expect(reportEvent(back, c)).toBeDefined();

    // Live again: the next event arrives once, after the replayed ones.
    const next = await postReport(reportBody({ text: 'Ống nước vỡ phun mạnh giữa đường Pasteur' }));
    await until(() => reportEvent(back, next), 5_000, 'a live event after the replay');
    const seqs = back.events.map((e) => e.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
  }, 60_000);

  it('replays and goes live without a duplicate or a gap while reports keep arriving', async () => {
    const observer = await connectAs(cookies['rt-super']);
    const from = await latestSeq();
    const posting = (async () => {
      for (let i = 0; i < 10; i++) await postReport(reportBody({ text: `Rác tồn đọng nhiều ngày ở hẻm ${i + 40} đường Lý Tự Trọng` }));
    })();
    await new Promise((r) => setTimeout(r, 100));
    const back = await resumeAs(cookies['rt-agent1']!, from);
    await posting;
    await postAndSettle(observer, []);
    const expected = await seqsAfter(from);
    await until(() => back.events.length >= expected.length, 5_000, 'every event');
    await new Promise((r) => setTimeout(r, 200));
    const seqs = back.events.map((e) => e.seq);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect([...seqs].sort((a, b) => a - b)).toEqual(expected);
  }, 60_000);

  it('replays to a ward officer only the events of their units', async () => {
    const observer = await connectAs(cookies['rt-super']);
    const from = await latestSeq();
    await postAndSettle(observer, [
      reportBody({ text: 'Cột điện nghiêng sắp đổ trước chợ Bến Thành' }),
      reportBody({ ...PLACES.binhTay, text: 'Cống thoát nước bị tắc gây ngập hẻm ở Bình Tây' }),
      reportBody({ text: 'Biển báo giao thông bị gãy trên đường Lê Lợi' }),
    ]);
    const back = await resumeAs(cookies['rt-ward']!, from);
    const mine = await seqsAfter(from, BEN_THANH);
    expect(mine.length).toBeGreaterThan(0);
    expect((await seqsAfter(from)).length).toBeGreaterThan(mine.length);
    await until(() => back.events.length >= mine.length, 5_000, 'the ward replay');
    await new Promise((r) => setTimeout(r, 200));
    expect(back.events.map((e) => e.seq)).toEqual(mine);
    expect(back.events.every((e) => e.area === BEN_THANH)).toBe(true);
  }, 60_000);

  it('replays a dispatched ticket\'s events to the ward it was dispatched to after its located unit changed, and to no other', async () => {
    const observer = await connectAs(cookies['rt-super']);
    const [code] = await postAndSettle(observer, [reportBody({ text: 'Cây xanh gãy cành đè lên mái nhà dân ở Bến Thành', category: 'cay_xanh' })]);
    const ticket = reportEvent(observer, code!)!.ticket;
    const t = await rt.handle.db.selectFrom('tickets').select('id').where('code', '=', ticket).executeTakeFirstOrThrow();
    const staff = { id: 0, username: 'rt-super', role: 'supervisor' as const, areaCodes: [] };
    rt.events.publish(await dispatchTicket(rt.handle.db, t.id, staff, {}));
    rt.events.publish(await updateTicket(rt.handle.db, t.id, staff, { areaCode: SAI_GON }));
    const from = await latestSeq();
    const [note] = await addNote(rt.handle.db, t.id, staff, 'Ghi chú nội bộ: số điện thoại người dân 0903 111 222');
    rt.events.publish([note!]);
    // Live, the note went to the ward in charge; a replay agrees.
    expect(note!.areaCode).toBe(BEN_THANH);
    const inCharge = await resumeAs(cookies['rt-ward']!, from);
    const other = await resumeAs(cookies['rt-saigon']!, from);
    await until(() => inCharge.events.some((e) => e.seq === note!.seq), 5_000, 'the note replayed to Bến Thành');
    await new Promise((r) => setTimeout(r, 200));
    expect(inCharge.events.find((e) => e.seq === note!.seq)).toMatchObject({ type: 'ticket.note', area: BEN_THANH });
    expect(other.events.some((e) => e.ticket === ticket)).toBe(false);
  }, 60_000);

  it('ignores a lastSeq that is not a non-negative integer', async () => {
    for (const bad of [-1, 1.5, 'abc', '0', null]) {
      const c = await resumeAs(cookies['rt-agent1']!, bad);
      await new Promise((r) => setTimeout(r, 100));
      expect(c.events).toEqual([]);
      expect(c.resyncs).toEqual([]);
      c.socket.disconnect();
    }
  });

  it('sends one resync instead of a replay when more than the cap was missed', async () => {
    const from = await latestSeq();
    const t = await rt.handle.db.selectFrom('tickets').select('id').where('area_code', '=', BEN_THANH).executeTakeFirstOrThrow();
    await appendEvents(rt.handle.db, Array.from({ length: REPLAY_LIMIT + 1 }, (_, i) => ({
      ticketId: t.id, type: 'ticket.note', actor: 'test', data: { i },
    })));
    const latest = await latestSeq();
    expect(latest - from).toBe(REPLAY_LIMIT + 1);
    for (const name of ['rt-agent1', 'rt-ward']) {
      const back = await resumeAs(cookies[name]!, from);
      await until(() => back.resyncs.length > 0, 5_000, 'the resync');
      await new Promise((r) => setTimeout(r, 200));
      expect(back.resyncs).toEqual([{ latestSeq: latest }]);
      expect(back.events).toEqual([]);
    }
    // Exactly the cap is still replayed.
    const edge = await resumeAs(cookies['rt-agent1']!, from + 1);
    await until(() => edge.events.length === REPLAY_LIMIT, 5_000, 'a replay of exactly the cap');
    expect(edge.resyncs).toEqual([]);
  }, 60_000);
});
