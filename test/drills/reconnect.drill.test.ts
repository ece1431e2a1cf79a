import { rmSync } from 'node:fs';
import { io as ioClient, type Socket as ClientSocket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertUser } from '../../src/core/staff/users.ts';
import { createLogger } from '../../src/log.ts';
import type { ResyncMessage, TicketEventMessage } from '../../src/wire/realtime.ts';
import { startServer, type Server } from '../../src/server.ts';
import { PLACES, reportBody } from '../support/factories.ts';
import type { PgInstance } from './pg-instance.ts';
import { drillConfig, drillDatabase, recordDrill, RUN_DRILLS, sleep, within } from './support.ts';

// Drill 2: a console client and a ward officer's client lose their connection for 10 s while
// 20 reports arrive (half in the officer's ward). Each client resumes as the console does
// (web/lib/realtime.ts): socket.io's auth carries the last seq it saw, and the server replays
// what was missed. The console must get every event of the 20 reports, once each, in order;
// the ward client exactly its ward's.

const PW = 'matkhau-drill-2';
const WARD = PLACES.benThanh.code;
const REPORTS = 20;
const AWAY_MS = 10_000;

/** A client that remembers the last seq it saw and sends it on every (re)connect. */
interface ResumingClient {
  socket: ClientSocket;
  events: TicketEventMessage[];
  resyncs: ResyncMessage[];
  connects: number;
}

function resumingClient(url: string, cookie: string): Promise<ResumingClient> {
  let lastSeq: number | null = null;
  const socket = ioClient(url, {
    transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: { cookie },
    auth: (cb: (data: object) => void) => cb(lastSeq === null ? {} : { lastSeq }),
  });
  const c: ResumingClient = { socket, events: [], resyncs: [], connects: 0 };
  socket.on('ticket.event', (e: TicketEventMessage) => {
    c.events.push(e);
    if (lastSeq === null || e.seq > lastSeq) lastSeq = e.seq;
  });
  socket.on('resync', (m: ResyncMessage) => c.resyncs.push(m));
  socket.on('connect', () => { c.connects++; });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(c));
    socket.once('connect_error', reject);
  });
}

describe.runIf(RUN_DRILLS)('drill: console and ward clients offline for 10 s while reports arrive', () => {
  let pg: PgInstance;
  let server: Server;
  let dataDir: string;
  const clients: ResumingClient[] = [];

  beforeAll(async () => {
    pg = await drillDatabase('drill-reconnect');
    const drill = drillConfig(pg.url);
    dataDir = drill.dataDir;
    const config = drill.config;
    server = await startServer(config, createLogger('silent'), async (rt) => {
      await upsertUser(rt.handle.db, { username: 'drill-agent', password: PW, role: 'agent' });
      await upsertUser(rt.handle.db, { username: 'drill-ward', password: PW, role: 'ward_officer', areaCodes: [WARD] });
    });
  }, 120_000);
  afterAll(async () => {
    for (const c of clients) c.socket.disconnect();
    await server?.stop();
    await pg?.destroy();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  async function login(username: string): Promise<string> {
    const res = await fetch(`${server.url}/login`, {
      method: 'POST', headers: { accept: 'application/json', 'content-type': 'application/json' },
      body: JSON.stringify({ username, password: PW }),
    });
    expect(res.status).toBe(200);
    return res.headers.getSetCookie().find((c) => c.startsWith('phananh_session='))!.split(';')[0]!;
  }

  it('each client gets every event it missed after reconnecting, once each, in order; the ward client only its ward', async () => {
    const db = server.runtime.handle.db;
    const agent = await resumingClient(server.url, await login('drill-agent'));
    const ward = await resumingClient(server.url, await login('drill-ward'));
    clients.push(agent, ward);

    // A first report while both are online, so each has a lastSeq to resume from.
    const warm = await fetch(`${server.url}/api/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(reportBody()) });
    expect(warm.status).toBe(201);
    await within(10_000, 'both clients have seen an event', () => agent.events.length > 0 && ward.events.length > 0);
    await server.runtime.worker.idle();
    await sleep(300);
    const from = Number((await db.selectFrom('ticket_events').select((eb) => eb.fn.max('id').as('max')).executeTakeFirstOrThrow()).max);
    await within(5_000, 'the agent is up to date', () => agent.events.at(-1)?.seq === from);
    const agentBefore = agent.events.length;
    const wardBefore = ward.events.length;

    // Offline for 10 s; 20 reports arrive meanwhile, every other one in the officer's ward.
    agent.socket.disconnect();
    ward.socket.disconnect();
    const wentAway = Date.now();
    const codes: string[] = [];
    for (let i = 0; i < REPORTS; i++) {
      const body = reportBody({
        text: `Đèn đường hỏng số ${i + 1}, cả đoạn đường tối om về đêm`,
        ...(i % 2 ? PLACES.binhTay : {}),
      });
      const res = await fetch(`${server.url}/api/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': `drill2-${i}` }, body: JSON.stringify(body) });
      expect(res.status).toBe(201);
      codes.push(((await res.json()) as { code: string }).code);
      await sleep((AWAY_MS - 1_000) / REPORTS);
    }
    await server.runtime.worker.idle();
    await sleep(Math.max(0, AWAY_MS - (Date.now() - wentAway)));

    // Back: the clients reconnect with the last seq they saw.
    const back = Date.now();
    agent.socket.connect();
    ward.socket.connect();
    const all = (await db.selectFrom('ticket_events').innerJoin('tickets', 'tickets.id', 'ticket_events.ticket_id')
      .select(['ticket_events.id', 'tickets.area_code']).where('ticket_events.id', '>', from).orderBy('ticket_events.id').execute())
      .map((r) => ({ seq: Number(r.id), area: r.area_code }));
    const wantAgent = all.map((e) => e.seq);
    const wantWard = all.filter((e) => e.area === WARD).map((e) => e.seq);
    const gotAgent = () => agent.events.slice(agentBefore).map((e) => e.seq);
    const gotWard = () => ward.events.slice(wardBefore).map((e) => e.seq);
    await within(10_000, 'the replay', () => gotAgent().length >= wantAgent.length && gotWard().length >= wantWard.length).catch(() => 0);
    const caughtUpMs = Date.now() - back;
    await sleep(1_000); // anything late or doubled would arrive now

    const received = new Set(codes.filter((c) => agent.events.some((e) => e.data.report === c)));
    const stored = Number((await db.selectFrom('inbound_messages').select((eb) => eb.fn.countAll().as('n'))
      .where('channel', '=', 'app').where('code', 'in', codes).executeTakeFirstOrThrow()).n);
    const missedAgent = wantAgent.filter((s) => !gotAgent().includes(s)).length;
    const missedWard = wantWard.filter((s) => !gotWard().includes(s)).length;
    const dupes = (seqs: number[]) => seqs.length - new Set(seqs).size;
    const doubled = dupes(gotAgent()) + dupes(gotWard());
    const foreign = ward.events.slice(wardBefore).filter((e) => e.area !== WARD).length;
    const inOrder = (seqs: number[]) => seqs.every((s, i) => i === 0 || s > seqs[i - 1]!);

    recordDrill({
      id: '2-reconnect', drill: 'console + ward client offline 10 s', sent: REPORTS, stored, lost: REPORTS - received.size, doubled,
      eventsMissed: missedAgent + missedWard, failoverSeconds: Math.round(caughtUpMs / 10) / 100,
      notes: `${wantAgent.length} events replayed to the console, ${wantWard.length} to the ward client (${foreign} of another ward); `
        + `${agent.resyncs.length + ward.resyncs.length} resyncs; caught up ${caughtUpMs} ms after reconnecting`,
      ok: missedAgent + missedWard === 0 && doubled === 0 && foreign === 0 && received.size === REPORTS,
    });
    expect(agent.connects).toBe(2);
    expect(ward.connects).toBe(2);
    expect(agent.resyncs).toEqual([]);
    expect(ward.resyncs).toEqual([]);
    expect(received.size).toBe(REPORTS);
    expect(gotAgent()).toEqual(wantAgent);
    expect(gotWard()).toEqual(wantWard);
    expect(wantWard.length).toBeGreaterThan(0);
    expect(wantWard.length).toBeLessThan(wantAgent.length);
    expect(foreign).toBe(0);
    expect(inOrder(agent.events.map((e) => e.seq))).toBe(true);
    expect(inOrder(ward.events.map((e) => e.seq))).toBe(true);
  }, 90_000);
});
