// Realtime benchmark: `npm run bench -- realtime`.
//
// 1. Fan-out: one core event published on the event bus (as a core service does after commit)
//    until it reaches each of 200 connected agent sockets; per-socket latency p50/p99 over a
//    series of events, against the same emit to a single socket measured in the same run.
// 2. Ingest to console: POST /api/v1/reports until the report's ticket.created reaches a
//    connected console socket (through intake, the job queue and the pipeline).
// Both on one process (in-memory adapter), then on two behind @socket.io/postgres-adapter: the
// sockets split across them, every event published on A, the console socket on B; baseline for
// the second: a bare NOTIFY -> LISTEN round trip on the same server.
//
// The two "processes" are two runtimes, each with its own HTTP server, socket.io server,
// database pools and adapter, inside this Node process: everything between them goes through
// PostgreSQL as between real processes, but they share one event loop (a conservative setup).
// The clients run in a worker thread (bench/support/realtime-clients.mjs, driven through
// bench/support/realtime-harness.ts).
//
// Runs on a throwaway database `phananh_bench_rt_<random>` on the server of BENCH_DATABASE_URL
// (default postgres://postgres@127.0.0.1:5432; loopback only), dropped at the end.
// Settings: BENCH_RT_SOCKETS (200), BENCH_RT_EVENTS (50), BENCH_RT_REPORTS (100),
// BENCH_RT_RATE (10 reports/s).
import { cpus, loadavg } from 'node:os';
import pg from 'pg';
import type { DomainEvent } from '../src/core/events.ts';
import { connect, type DbHandle } from '../src/db/connect.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { seedReferenceData } from '../src/city/seed.ts';
import { createLogger } from '../src/log.ts';
import { attachRealtime, type Realtime } from '../src/realtime/server.ts';
import { createRuntime } from '../src/runtime.ts';
import { reportBodies } from './support/report-bodies.ts';
import { intEnv, runBenchmark, runGuard } from './support/env.ts';
import {
  benchServer, Clients, DELIVERY_TIMEOUT_MS, epochNow, listen, ms, printTable, signedInAgents, sleep, stats, type IngestResult, type Row, type Stats,
} from './support/realtime-harness.ts';


const SOCKETS = intEnv('BENCH_RT_SOCKETS', 200, 2, 2000);
const EVENTS = intEnv('BENCH_RT_EVENTS', 50, 5, 1000);
const REPORTS = intEnv('BENCH_RT_REPORTS', 100, 5, 2000);
const RATE = intEnv('BENCH_RT_RATE', 10, 1, 200);
const TARGET_FANOUT_P99_MS = 100;
const TARGET_INGEST_P99_MS = 1000;
/** Pause between two events, so that each is measured alone. */
const GAP_MS = 20;
const WATCHDOG_MS = 5 * 60_000;

let benchSeq = 1_000_000_000;
/** A core event as a service publishes it after commit; `data.bench` lets the clients time it. */
function syntheticEvent(id: number): DomainEvent {
  return {
    seq: ++benchSeq, type: 'ticket.note', ticketId: 0, ticketCode: 'TK-BENCH000', areaCode: null, actor: 'user:bench',
    data: { text: 'Đã liên hệ tổ dân phố, chiều nay đội vệ sinh môi trường xuống xử lý.', bench: id, sentAt: epochNow() }, at: new Date(),
  };
}

let nextId = 0;
/** Publishes `count` events one at a time, waiting for each to reach `expected` sockets; latencies per delivery, and deliveries missed. */
async function fanOut(clients: Clients, publish: (e: DomainEvent[]) => void, count: number, expected: number) {
  const all: { group: string; ms: number }[] = [];
  const slowest: number[] = [];
  let missed = 0;
  for (let i = 0; i < count; i++) {
    const id = ++nextId;
    const wait = await clients.arm(id, expected);
    publish([syntheticEvent(id)]);
    const got = await wait();
    all.push(...got);
    missed += expected - got.length;
    if (got.length === expected) slowest.push(Math.max(...got.map((g) => g.ms)));
    await sleep(GAP_MS);
  }
  return { all, slowest, missed, expected: count * expected };
}

/** A bare NOTIFY -> LISTEN round trip on the database the adapter uses: its floor. */
async function notifyBaseline(url: string, count: number): Promise<number[]> {
  const listener = new pg.Client({ connectionString: url });
  const notifier = new pg.Client({ connectionString: url });
  listener.on('error', () => {});
  notifier.on('error', () => {});
  await listener.connect();
  await notifier.connect();
  try {
    await listener.query('listen bench_rt');
    const out: number[] = [];
    for (let i = 0; i < count; i++) {
      const got = new Promise<number>((resolve) => listener.once('notification', (n) => resolve(epochNow() - Number(n.payload))));
      await notifier.query('select pg_notify($1, $2)', ['bench_rt', String(epochNow())]);
      out.push(await Promise.race([got, sleep(DELIVERY_TIMEOUT_MS).then(() => NaN)]));
      await sleep(GAP_MS);
    }
    return out.filter((v) => !Number.isNaN(v));
  } finally {
    await listener.end();
    await notifier.end();
  }
}


async function main(): Promise<void> {
  const guard = runGuard(WATCHDOG_MS);
  const { cleanup, watchdog } = guard;

  const log = createLogger('silent');
  try {
    const { bench, config } = await benchServer(guard, 'rt');

    // Runtime A processes every report (its worker runs); B only serves sockets.
    const open = async (): Promise<DbHandle> => {
      const opened = await connect({ databaseUrl: bench.url, poolMax: config.DB_POOL_MAX });
      let closing: Promise<void> | null = null;
      const handle: DbHandle = { ...opened, close: () => (closing ??= opened.close()) };
      guard.add(() => handle.close());
      return handle;
    };
    const handleA = await open();
    await migrateToLatest(handleA.db);
    await seedReferenceData(handleA.db);
    const runtimeA = await createRuntime(config, { log, handle: handleA, skipSetup: true });
    guard.add(() => runtimeA.close());
    const runtimeB = await createRuntime(config, { log, handle: await open(), skipSetup: true, startWorker: false });
    guard.add(() => runtimeB.close());

    // SOCKETS agents, one of them the console that times ingest, each with a session of their own.
    const db = handleA.db;
    const cookies = await signedInAgents(db, Array.from({ length: SOCKETS }, (_, i) =>
      (i === SOCKETS - 1 ? 'bench-console' : `bench-agent-${String(i).padStart(4, '0')}`)));
    const agentCookies = cookies.slice(0, SOCKETS - 1);
    const consoleCookie = cookies[SOCKETS - 1]!;

    const clients = new Clients();
    guard.add(() => clients.terminate());
    await clients.ready;

    console.log('phananh realtime benchmark');
    console.log(`  database   ${bench.label}`);
    console.log(`  machine    ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(1)} at start (other processes skew the figures)`);
    console.log(`  load       ${SOCKETS} agent sockets, one of them the console timing ingest (WebSocket, own thread); ${EVENTS} events one at a time; ` +
      `${REPORTS} reports at ${RATE}/s`);
    console.log('');

    const rows: Row[] = [['', 'delivered', 'p50', 'p99', 'max', 'target']];
    const verdicts: boolean[] = [];
    const row = (label: string, s: Stats, delivered: string, target?: { p99: number; ok: boolean }) => {
      if (target) verdicts.push(target.ok);
      rows.push([label, delivered, ms(s.p50), ms(s.p99), ms(s.max), target ? `p99 < ${target.p99} ms  ${target.ok ? 'MET' : 'MISSED'}` : '']);
    };
    const ingestRows = (label: string, results: IngestResult[]) => {
      const timed = results.filter((r) => r.ms !== undefined).map((r) => r.ms!);
      const s = stats(timed);
      const created = results.filter((r) => r.status === 'created').length;
      const grouped = results.filter((r) => r.status === 'grouped').length;
      const failed = results.length - timed.length;
      row(label, s, `${timed.length}/${results.length}`, { p99: TARGET_INGEST_P99_MS, ok: failed === 0 && s.p99 < TARGET_INGEST_P99_MS });
      return `${created} new tickets (timed to ticket.created), ${grouped} grouped onto an open ticket (timed to report.grouped)` +
        (failed ? `, ${failed} not delivered or refused` : '');
    };
    const notes: string[] = [];
    const ratios: string[] = [];

    // 1. One process, in-memory adapter.
    {
      const { server, url } = await listen(runtimeA);
      const rt: Realtime = await attachRealtime({ httpServer: server, db, events: runtimeA.events, log });
      guard.add(() => new Promise<void>((resolve) => server.close(() => resolve())));
      guard.add(() => rt.close());
      await clients.connect(url, [consoleCookie], 'console');
      const single = await fanOut(clients, (e) => runtimeA.events.publish(e), EVENTS, 1);
      await clients.connect(url, agentCookies, 'A');
      // Warm-up (JIT, buffers), not counted.
      await fanOut(clients, (e) => runtimeA.events.publish(e), 5, SOCKETS);
      const fan = await fanOut(clients, (e) => runtimeA.events.publish(e), EVENTS, SOCKETS);
      const fanAll = stats(fan.all.map((d) => d.ms));
      const singleStats = stats(single.all.map((d) => d.ms));
      rows.push(['1 process (in-memory adapter)', '', '', '', '', '']);
      row('  emit to 1 socket (baseline)', singleStats, `${single.all.length}/${single.expected}`);
      row(`  fan-out to ${SOCKETS} sockets, per socket`, fanAll, `${fan.all.length}/${fan.expected}`,
        { p99: TARGET_FANOUT_P99_MS, ok: fan.missed === 0 && fanAll.p99 < TARGET_FANOUT_P99_MS });
      row('    until the last socket, per event', stats(fan.slowest), `${fan.slowest.length}/${EVENTS}`);
      await clients.ingest(`${url}/api/v1/reports`, reportBodies(5, 7, 'w'), RATE); // warm-up
      notes.push(`1 process ingest: ${ingestRows('  ingest -> console socket', await clients.ingest(`${url}/api/v1/reports`, reportBodies(REPORTS, 1022, 'a'), RATE))}`);
      ratios.push(`1 process: fan-out p50 / single-socket p50 = ${(fanAll.p50 / singleStats.p50).toFixed(1)}`);
      await clients.closeSockets();
      await rt.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }

    // 2. Two processes behind the PostgreSQL adapter; events published on A.
    {
      const a = await listen(runtimeA);
      const b = await listen(runtimeB);
      guard.add(() => new Promise<void>((resolve) => a.server.close(() => resolve())));
      guard.add(() => new Promise<void>((resolve) => b.server.close(() => resolve())));
      const rtA = await attachRealtime({ httpServer: a.server, db, events: runtimeA.events, log, databaseUrl: bench.url });
      guard.add(() => rtA.close());
      const rtB = await attachRealtime({ httpServer: b.server, db: runtimeB.handle.db, events: runtimeB.events, log, databaseUrl: bench.url });
      guard.add(() => rtB.close());
      const until = Date.now() + 15_000;
      while ((await rtA.io.of('/').adapter.serverCount()) < 2 || (await rtB.io.of('/').adapter.serverCount()) < 2) {
        if (Date.now() > until) throw new Error('the two processes did not see each other within 15 s');
        await sleep(20);
      }
      const notify = stats(await notifyBaseline(bench.url, EVENTS));
      await clients.connect(b.url, [consoleCookie], 'console');
      const single = await fanOut(clients, (e) => runtimeA.events.publish(e), EVENTS, 1);
      // Half on each; the console socket (already on B) is one of B's half.
      const half = Math.floor(SOCKETS / 2);
      await clients.connect(a.url, agentCookies.slice(0, half), 'A');
      await clients.connect(b.url, agentCookies.slice(half), 'B');
      await fanOut(clients, (e) => runtimeA.events.publish(e), 5, SOCKETS);
      const fan = await fanOut(clients, (e) => runtimeA.events.publish(e), EVENTS, SOCKETS);
      const fanAll = stats(fan.all.map((d) => d.ms));
      const singleStats = stats(single.all.map((d) => d.ms));
      rows.push(['2 processes (PostgreSQL adapter), published on A', '', '', '', '', '']);
      row('  NOTIFY -> LISTEN, bare pg (baseline)', notify, `${notify.n}/${EVENTS}`);
      row('  emit on A to 1 socket on B', singleStats, `${single.all.length}/${single.expected}`);
      row(`  fan-out to ${SOCKETS} sockets, per socket`, fanAll, `${fan.all.length}/${fan.expected}`,
        { p99: TARGET_FANOUT_P99_MS, ok: fan.missed === 0 && fanAll.p99 < TARGET_FANOUT_P99_MS });
      row(`    ${half} on A (local)`, stats(fan.all.filter((d) => d.group === 'A').map((d) => d.ms)), '');
      row(`    ${SOCKETS - half} on B (through PostgreSQL)`, stats(fan.all.filter((d) => d.group !== 'A').map((d) => d.ms)), '');
      row('    until the last socket, per event', stats(fan.slowest), `${fan.slowest.length}/${EVENTS}`);
      notes.push(`2 processes ingest: ${ingestRows('  ingest on A -> console socket on B', await clients.ingest(`${a.url}/api/v1/reports`, reportBodies(REPORTS, 1023, 'b'), RATE))}`);
      ratios.push(`2 processes: socket on B p50 / bare NOTIFY p50 = ${(singleStats.p50 / notify.p50).toFixed(1)}; ` +
        `fan-out p50 / single-socket p50 = ${(fanAll.p50 / singleStats.p50).toFixed(1)}`);
      await clients.closeSockets();
      await rtA.close();
      await rtB.close();
      await new Promise<void>((resolve) => a.server.close(() => resolve()));
      await new Promise<void>((resolve) => b.server.close(() => resolve()));
    }

    printTable(rows);
    console.log('');
    for (const r of ratios) console.log(`  ${r}`);
    for (const n of notes) console.log(`  ${n}`);
    console.log('  latency: from just before the publish (or the POST) to the receipt in the client thread');
    if (verdicts.some((ok) => !ok)) process.exitCode = 1;
  } finally {
    await cleanup();
    clearTimeout(watchdog);
  }
}

await runBenchmark(main);
