// Intake benchmark: `npm run bench -- intake`.
//
// Full intake (HTTP POST /api/v1/reports -> stored inbound message + job -> worker -> pipeline
// -> report on a routed ticket) against a bare baseline measured in the same run on the same
// database: the same inbound_messages, tickets and reports rows written with plain single-row
// INSERTs at the same concurrency. Then a paced open-loop run for HTTP latency under steady load.
//
// Settings (environment): BENCH_N (2000), BENCH_ROUNDS (3: full + bare rounds, the median is
// reported), BENCH_CONCURRENCY (32), BENCH_RATE (500 req/s),
// BENCH_SECONDS (5), BENCH_SEED (1022), BENCH_STATEMENTS (set: list the statements per report),
// BENCH_DATABASE_URL or DATABASE_URL (the server for the throwaway database; default
// 127.0.0.1:5432), and the app's own DB_POOL_MAX, WORKER_CONCURRENCY and WORKER_BATCH_SIZE.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker as Thread } from 'node:worker_threads';
import { serve, type ServerType } from '@hono/node-server';
import { sql } from 'kysely';
import pg from 'pg';
import { loadConfig } from '../src/config.ts';
import { newCode } from '../src/core/tickets/codes.ts';
import { connect, type DbHandle } from '../src/db/connect.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import type { Db } from '../src/db/schema.ts';
import { seedReferenceData } from '../src/city/seed.ts';
import { createLogger } from '../src/log.ts';
import { metrics } from '../src/metrics.ts';
import { createRuntime, type Runtime } from '../src/runtime.ts';
import { openBenchDatabase, type BenchDatabase } from './support/bench-db.ts';
import { reportBodies } from './support/report-bodies.ts';
import { cpuMeter, type CpuSpent } from './support/cpu.ts';
import { intEnv, runBenchmark, runGuard } from './support/env.ts';


const N = intEnv('BENCH_N', 2000, 1, 100_000);
const CONCURRENCY = intEnv('BENCH_CONCURRENCY', 32, 1, 1000);
const RATE = intEnv('BENCH_RATE', 500, 1, 5000);
const SECONDS = intEnv('BENCH_SECONDS', 5, 1, 60);
const SEED = intEnv('BENCH_SEED', 1022, 0, 2 ** 31);
const ROUNDS = intEnv('BENCH_ROUNDS', 3, 1, 15);
const WARMUP = Math.min(64, N);
const HTTP_TIMEOUT_MS = 10_000;
const TARGET_RATIO = 0.5;
const TARGET_P99_MS = 50;
/** Hard stop for the whole run, whatever happens. */
const WATCHDOG_MS = 15 * 60_000;

interface LoadResult {
  startedAt: number;
  finishedAt: number;
  latency: Float64Array;
  status: Uint16Array;
  skipped: number;
  /** Requests that got no answer, by error code. */
  failures: Record<string, number>;
}

/** The load generator thread (bench/support/http-load.mjs). */
class LoadClient {
  readonly #thread: Thread;
  readonly ready: Promise<void>;

  constructor(url: string) {
    this.#thread = new Thread(new URL('./support/http-load.mjs', import.meta.url), { workerData: { url, timeoutMs: HTTP_TIMEOUT_MS } });
    this.ready = new Promise((resolve, reject) => {
      this.#thread.once('message', () => resolve());
      this.#thread.once('error', reject);
    });
  }

  run(job: { mode: 'closed'; bodies: string[]; concurrency: number } | { mode: 'open'; bodies: string[]; rate: number; maxInFlight: number }): Promise<LoadResult> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.#thread.once('error', onError);
      this.#thread.once('message', (r: LoadResult) => {
        this.#thread.off('error', onError);
        resolve(r);
      });
      this.#thread.postMessage(job);
    });
  }

  async close(): Promise<void> {
    await this.#thread.terminate();
  }
}

/**
 * Statements sent to PostgreSQL by this process (pg clients other than `ignored`). Every
 * statement is a round trip over the loopback, the unit of cost the two paths are compared in.
 */
const sent = { statements: 0, ignored: null as unknown, byKind: null as Map<string, { n: number; ms: number }> | null };
const pgQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const result = (pgQuery as (...a: unknown[]) => unknown).apply(this, args);
  if (this !== sent.ignored) {
    sent.statements++;
    const byKind = sent.byKind;
    if (byKind) {
      const text = typeof args[0] === 'string' ? args[0] : String((args[0] as { text?: string })?.text ?? '?');
      const kind = text.replace(/\s+/g, ' ').trim().slice(0, 70);
      const entry = byKind.get(kind) ?? { n: 0, ms: 0 };
      byKind.set(kind, entry);
      entry.n++;
      const started = performance.now();
      if (result && typeof (result as Promise<unknown>).then === 'function') {
        (result as Promise<unknown>).then(() => { entry.ms += performance.now() - started; }, () => {});
      }
    }
  }
  return result;
} as typeof pgQuery;

const epochNow = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

function latencyStats(r: LoadResult): { ok: number; failed: number; failures: string; p50: number; p99: number; max: number } {
  const ok: number[] = [];
  const failures = new Map<string, number>();
  r.status.forEach((s, i) => {
    if (s === 201) ok.push(r.latency[i] as number);
    else if (!Number.isNaN(r.latency[i])) {
      const k = s === 0 ? `no answer (${Object.entries(r.failures).map(([code, n]) => `${code} ${n}`).join(', ')})` : `HTTP ${s}`;
      failures.set(k, (failures.get(k) ?? 0) + 1);
    }
  });
  ok.sort((a, b) => a - b);
  const failed = [...failures.values()].reduce((a, b) => a + b, 0);
  return {
    ok: ok.length, failed, failures: [...failures].map(([k, v]) => `${v} x ${k}`).join(', '),
    p50: percentile(ok, 50), p99: percentile(ok, 99), max: ok[ok.length - 1] ?? NaN,
  };
}

const ms = (v: number) => `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`;
const s = (v: number) => `${(v / 1000).toFixed(2)} s`;
const per = (v: number) => Math.round(v).toLocaleString('en-US');

/**
 * Polls until `count()` reaches `target`; returns the epoch time it did, or null on timeout.
 * Every 25 ms: a count of the reports is not free, and the probe shares the machine with what
 * it measures (at most 25 ms late on runs of seconds).
 */
async function waitFor(count: () => Promise<number>, target: number | (() => number), timeoutMs: number): Promise<number | null> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if ((await count()) >= (typeof target === 'number' ? target : target())) return epochNow();
    if (Date.now() > until) return null;
    await sleep(25);
  }
}

/** Worker runs (a batch of jobs, or one job) since the last reset: count, mean time, mean jobs each. */
async function jobStats(): Promise<{ runs: number; jobs: number; meanMs: number; meanBatch: number }> {
  const of = async (h: typeof metrics.jobSeconds, name: string) => (await h.get()).values.find((v) => v.metricName === name)?.value ?? 0;
  const seconds = await of(metrics.jobSeconds, 'phananh_job_duration_seconds_sum');
  const runs = await of(metrics.jobSeconds, 'phananh_job_duration_seconds_count');
  const jobs = await of(metrics.jobBatchSize, 'phananh_job_batch_size_sum');
  return { runs, jobs, meanMs: runs ? (seconds / runs) * 1000 : NaN, meanBatch: runs ? jobs / runs : NaN };
}

/**
 * The baseline: for each report of the full run, its inbound message, a ticket and the report
 * written again (new codes) with one autocommitted single-row INSERT each, `CONCURRENCY` lanes
 * sharing the app's pool. Returns the elapsed milliseconds.
 */
async function bareInsert(db: Db, fromReportId: number): Promise<{ elapsedMs: number; reports: number }> {
  // Columns as the schema has them now (other migrations add some): generated ones cannot be
  // written, jsonb ones go back as JSON text.
  const columns = await sql<{ table_name: string; column_name: string; data_type: string; is_generated: string }>`
    select table_name, column_name, data_type, is_generated from information_schema.columns
    where table_schema = current_schema() and table_name in ('inbound_messages', 'tickets', 'reports')`.execute(db);
  const insertable = (table: string, row: Record<string, unknown>): any => {
    const out: Record<string, unknown> = {};
    for (const c of columns.rows) {
      if (c.table_name !== table || c.column_name === 'id' || c.is_generated === 'ALWAYS' || !(c.column_name in row)) continue;
      const v = row[c.column_name];
      out[c.column_name] = (c.data_type === 'jsonb' || c.data_type === 'json') && v !== null ? JSON.stringify(v) : v;
    }
    return out;
  };
  const reports = await db.selectFrom('reports').selectAll().where('id', '>', fromReportId).orderBy('id').execute();
  const inbound = new Map((await db.selectFrom('inbound_messages').selectAll().where('id', 'in', reports.map((r) => r.inbound_id)).execute()).map((r) => [r.id, r]));
  const tickets = new Map((await db.selectFrom('tickets').selectAll().where('id', 'in', [...new Set(reports.map((r) => r.ticket_id))]).execute()).map((r) => [r.id, r]));
  const rows = reports.map((r, i) => {
    const code = newCode('PA');
    return {
      inbound: { ...insertable('inbound_messages', inbound.get(r.inbound_id)!), external_id: `bare-${fromReportId}-${i}`, code, report_id: null },
      ticket: { ...insertable('tickets', tickets.get(r.ticket_id)!), code: newCode('TK') },
      report: { ...insertable('reports', r), code },
    };
  });
  let next = 0;
  const started = performance.now();
  const lane = async () => {
    for (;;) {
      const row = rows[next++];
      if (!row) return;
      const m = await db.insertInto('inbound_messages').values(row.inbound).returning('id').executeTakeFirstOrThrow();
      const t = await db.insertInto('tickets').values(row.ticket).returning('id').executeTakeFirstOrThrow();
      await db.insertInto('reports').values({ ...row.report, inbound_id: m.id, ticket_id: t.id }).execute();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  return { elapsedMs: performance.now() - started, reports: rows.length };
}

async function main(): Promise<void> {
  const guard = runGuard(WATCHDOG_MS);
  const { cleanup, watchdog } = guard;

  try {
    const bench: BenchDatabase = await openBenchDatabase();
    guard.add(() => bench.drop());
    const dataDir = mkdtempSync(path.join(tmpdir(), 'phananh-bench-'));
    guard.add(async () => rmSync(dataDir, { recursive: true, force: true }));

    // Only the app's tuning knobs are taken from the environment: no channel or search service
    // is switched on, so nothing but the loopback is contacted.
    const config = loadConfig({
      DATABASE_URL: bench.url, DATA_DIR: dataDir, SESSION_SECRET: randomBytes(24).toString('hex'), LOG_LEVEL: 'silent',
      HOST: '127.0.0.1', PORT: '0',
      // One load generator on one address files thousands of anonymous reports: the public limits
      // per address (429 after 20 an hour) are not what this measures.
      INTAKE_LIMIT_ANONYMOUS_PER_HOUR: '0', INTAKE_LIMIT_CONTACT_PER_HOUR: '0',
      ...(process.env.DB_POOL_MAX ? { DB_POOL_MAX: process.env.DB_POOL_MAX } : {}),
      ...(process.env.WORKER_CONCURRENCY ? { WORKER_CONCURRENCY: process.env.WORKER_CONCURRENCY } : {}),
      ...(process.env.WORKER_BATCH_SIZE ? { WORKER_BATCH_SIZE: process.env.WORKER_BATCH_SIZE } : {}),
      ...(process.env.WORKER_BATCH_CONCURRENCY ? { WORKER_BATCH_CONCURRENCY: process.env.WORKER_BATCH_CONCURRENCY } : {}),
    });
    const opened: DbHandle = bench.handle ?? (await connect({ databaseUrl: bench.url, poolMax: config.DB_POOL_MAX }));
    // Closed by runtime.close() once the runtime exists, by the cleanup otherwise; never twice.
    let closing: Promise<void> | null = null;
    const handle: DbHandle = { ...opened, close: () => (closing ??= opened.close()) };
    guard.add(() => handle.close());
    await migrateToLatest(handle.db);
    await seedReferenceData(handle.db);

    const runtime: Runtime = await createRuntime(config, { log: createLogger('silent'), handle, skipSetup: true });
    guard.add(() => runtime.close());

    const server = await new Promise<ServerType>((resolve) => {
      const srv = serve({ fetch: runtime.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(srv));
    });
    guard.add(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    const url = `http://127.0.0.1:${port}/api/v1/reports`;

    // Counting on a connection of its own, so polling never waits for (or takes) a pool slot.
    let count: () => Promise<number>;
    if (bench.url) {
      const probe = new pg.Client({ connectionString: bench.url });
      probe.on('error', () => {});
      await probe.connect();
      sent.ignored = probe;
      guard.add(() => probe.end());
      count = async () => Number((await probe.query('select count(*)::int as n from reports')).rows[0].n);
    } else {
      count = async () => Number((await handle.db.selectFrom('reports').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    }

    const client = new LoadClient(url);
    guard.add(() => client.close());
    await client.ready;

    console.log('phananh intake benchmark');
    console.log(`  database     ${bench.label}`);
    console.log(`  app          DB_POOL_MAX=${config.DB_POOL_MAX}, WORKER_CONCURRENCY=${config.WORKER_CONCURRENCY}, WORKER_BATCH_SIZE=${config.WORKER_BATCH_SIZE}, WORKER_BATCH_CONCURRENCY=${config.WORKER_BATCH_CONCURRENCY}, server ${url}`);
    console.log(`  machine      ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(1)} at start (other processes skew the figures)`);
    console.log(`  load         ${N} reports, ${CONCURRENCY} concurrent keep-alive HTTP clients (own thread); then ${RATE} req/s for ${SECONDS} s`);
    console.log('');

    // Warm-up: connections, JIT, caches. Not timed.
    const warm = await client.run({ mode: 'closed', bodies: reportBodies(WARMUP, SEED + 1, 'w'), concurrency: Math.min(CONCURRENCY, WARMUP) });
    if (latencyStats(warm).failed) throw new Error(`warm-up: requests failed (${latencyStats(warm).failures})`);
    if ((await waitFor(count, WARMUP, 60_000)) === null) throw new Error('warm-up reports were not processed within 60 s');
    // 1 and 2, in ROUNDS rounds: full intake, then the bare baseline of the same rows. The
    // machine is shared: a burst of other work can land on either half of one round, so the
    // figure is the median round (by ratio) and every round is printed.
    const measureRound = async (round: number) => {
      // Planner statistics as autovacuum keeps them on a live database (it analyzes a table
      // that grew by a tenth, every minute): the tables here grow from nothing within seconds,
      // faster than autovacuum looks, and without statistics the planner scans a category's
      // tickets instead of using the geo-cell index.
      await sql`analyze`.execute(handle.db);
      const base = await count();
      const baseReportId = (await handle.db.selectFrom('reports').select((eb) => eb.fn.max('id').as('id')).executeTakeFirstOrThrow()).id ?? 0;
      metrics.jobSeconds.reset();
      metrics.jobBatchSize.reset();
      sent.statements = 0;
      if (process.env.BENCH_STATEMENTS) sent.byKind = new Map();

      // 1. Full intake, closed loop, timed from the first request to the last report on a ticket.
      const bodies = reportBodies(N, SEED + 10 * round, `r${round}-`);
      const fullDeadlineMs = 60_000 + N * 50;
      // Until the answers are in, wait for all N; then only for those accepted (a failed request
      // is reported below, it should not make us wait out the deadline).
      let expected = base + N;
      const fullCpu = cpuMeter();
      const [full, doneAt] = await Promise.all([
        client.run({ mode: 'closed', bodies, concurrency: CONCURRENCY }).then((r) => {
          expected = base + latencyStats(r).ok;
          return r;
        }),
        waitFor(count, () => expected, fullDeadlineMs),
      ]);
      const fullHttp = latencyStats(full);
      if (fullHttp.failed) throw new Error(`full intake: ${fullHttp.failed} of ${N} requests did not get 201 (${fullHttp.failures})`);
      if (doneAt === null) throw new Error(`full intake: not every report was processed within ${s(fullDeadlineMs)}`);
      const fullSpent = fullCpu();
      const fullMs = doneAt - full.startedAt;
      const httpMs = full.finishedAt - full.startedAt;
      const fullRate = (N / fullMs) * 1000;
      const fullStatements = sent.statements;
      const fullByKind = sent.byKind;
      sent.byKind = null;
      const jobs = await jobStats();
      const grouped = await handle.db.selectFrom('reports').select((eb) => eb.fn.countAll<number>().as('n'))
        .where('id', '>', baseReportId).where('relation', '!=', 'new').executeTakeFirstOrThrow();
      const routed = await handle.db.selectFrom('reports').innerJoin('tickets', 'tickets.id', 'reports.ticket_id')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('reports.id', '>', baseReportId).where('tickets.department_code', 'is not', null).executeTakeFirstOrThrow();

      // 2. Bare baseline: the same rows, plain INSERTs, same concurrency, same pool.
      const bareCpu = cpuMeter();
      const bare = await bareInsert(handle.db, baseReportId);
      const bareSpent = bareCpu();
      const bareStatements = 3 * bare.reports;
      const bareRate = (bare.reports / bare.elapsedMs) * 1000;
      const ratio = fullRate / bareRate;
      console.log(`  round ${round + 1}/${ROUNDS}: full ${per(fullRate)} reports/s (HTTP answered in ${s(httpMs)}), bare ${per(bareRate)} reports/s, ratio ${ratio.toFixed(2)}; ` +
        `CPU per report: full node ${ms(fullSpent.nodeMs / N)}${fullSpent.postgresMs === null ? '' : ` + PostgreSQL ${ms(fullSpent.postgresMs / N)}`}`);
      return { fullHttp, fullSpent, fullMs, httpMs, fullRate, fullStatements, fullByKind, jobs, grouped, routed, bare, bareSpent, bareStatements, bareRate, ratio };
    };
    const rounds = [];
    for (let round = 0; round < ROUNDS; round++) rounds.push(await measureRound(round));
    const median = [...rounds].sort((a, b) => a.ratio - b.ratio)[Math.floor((rounds.length - 1) / 2)]!;
    const { fullHttp, fullSpent, fullMs, httpMs, fullRate, fullStatements, fullByKind, jobs, grouped, routed, bare, bareSpent, bareStatements, bareRate, ratio } = median;
    console.log('');

    // 3. Paced, open loop: requests leave on schedule whatever the earlier ones are doing.
    metrics.jobSeconds.reset();
    metrics.jobBatchSize.reset();
    const pacedN = RATE * SECONDS;
    const beforePaced = await count();
    const loopDelay = monitorEventLoopDelay({ resolution: 5 });
    loopDelay.enable();
    const paced = await client.run({ mode: 'open', bodies: reportBodies(pacedN, SEED + 2, 'p'), rate: RATE, maxInFlight: 2000 });
    loopDelay.disable();
    const pacedHttp = latencyStats(paced);
    const backlog = beforePaced + pacedHttp.ok - (await count());
    const drainedAt = await waitFor(count, beforePaced + pacedHttp.ok, 120_000);
    const pacedJobs = await jobStats();
    const pacedSpanMs = paced.finishedAt - paced.startedAt;

    const ratioOk = ratio >= TARGET_RATIO;
    const p99Ok = pacedHttp.p99 < TARGET_P99_MS && pacedHttp.failed === 0 && paced.skipped === 0;
    const verdict = (ok: boolean) => (bench.kind === 'pglite' ? 'n/a (PGlite)' : ok ? 'MET' : 'MISSED');
    const rows: [string, string, string, string][] = [
      ['', 'time', 'rate', 'HTTP latency'],
      [`full intake: HTTP -> routed ticket (${N})`, s(fullMs), `${per(fullRate)} reports/s`, `p50 ${ms(fullHttp.p50)}, p99 ${ms(fullHttp.p99)}`],
      ['  of which all HTTP answered', s(httpMs), `${per((N / httpMs) * 1000)} req/s`, ''],
      [`bare INSERT, 3 rows per report (${bare.reports})`, s(bare.elapsedMs), `${per(bareRate)} reports/s`, `(${per(bareRate * 3)} rows/s)`],
    ];
    const w = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c]!.length)));
    for (const r of rows) console.log(`  ${r[0].padEnd(w[0]!)}  ${r[1].padStart(w[1]!)}  ${r[2].padStart(w[2]!)}  ${r[3]}`);
    console.log('');
    console.log(`  ratio full/bare   ${ratio.toFixed(2)} (median of ${ROUNDS} rounds: ${rounds.map((r) => r.ratio.toFixed(2)).join(", ")})   target >= ${TARGET_RATIO}   ${verdict(ratioOk)}`);
    console.log(`  paced ${RATE} req/s   ${paced.status.length - paced.skipped} sent in ${s(pacedSpanMs)}, ${pacedHttp.ok} x 201, ${pacedHttp.failed} failed${pacedHttp.failed ? ` (${pacedHttp.failures})` : ''}, ${paced.skipped} skipped; ` +
      `p50 ${ms(pacedHttp.p50)}, p99 ${ms(pacedHttp.p99)}, max ${ms(pacedHttp.max)}   target p99 < ${TARGET_P99_MS} ms   ${verdict(p99Ok)}`);
    console.log('');
    console.log('  details');
    console.log(`    full run: ${grouped.n} of ${N} reports grouped onto an existing ticket, ${routed.n} on a ticket with a department; ` +
      `${jobs.jobs} jobs in ${jobs.runs} worker runs (batches of ${jobs.meanBatch.toFixed(1)} on average, at most ${config.WORKER_BATCH_SIZE}), ` +
      `mean ${ms(jobs.meanMs)} a run, ${config.WORKER_BATCH_CONCURRENCY} batch(es) at a time`);
    if (bench.kind === 'postgres') {
      console.log(`    statements sent to PostgreSQL per report: full ${(fullStatements / N).toFixed(1)} (HTTP intake + worker, ` +
        `${per((fullStatements / fullMs) * 1000)}/s), bare ${(bareStatements / bare.reports).toFixed(1)} (${per((bareStatements / bare.elapsedMs) * 1000)}/s)`);
    }
    const cpu = (c: CpuSpent, n: number) => `node ${ms(c.nodeMs / n)}` + (c.postgresMs === null ? '' : ` + PostgreSQL ${ms(c.postgresMs / n)}`);
    console.log(`    CPU per report: full ${cpu(fullSpent, N)} (node: HTTP server, load generator thread and worker), bare ${cpu(bareSpent, bare.reports)}`);
    console.log(`    paced run: ${backlog} reports still queued when the last response arrived, ` +
      `${drainedAt === null ? 'not drained within 120 s' : `all processed ${s(drainedAt - paced.finishedAt)} later`}; ` +
      `${pacedJobs.runs} worker runs, batches of ${pacedJobs.meanBatch.toFixed(1)} on average, mean ${ms(pacedJobs.meanMs)} a run; ` +
      'latency counted from each request\'s scheduled send time; ' +
      `the server's event loop was held up p99 ${ms(loopDelay.percentile(99) / 1e6)}, at most ${ms(loopDelay.max / 1e6)}`);
    if (fullByKind) {
      console.log('    statements in the full run, by text (BENCH_STATEMENTS=1): per report, and mean time from sending to the answer');
      for (const [kind, { n, ms: t }] of [...fullByKind].sort((a, b) => b[1].n - a[1].n)) {
        console.log(`      ${(n / N).toFixed(2).padStart(6)}  ${ms(t / n).padStart(8)}  ${kind}`);
      }
    }
    if (drainedAt === null) process.exitCode = 1;
  } finally {
    await cleanup();
    clearTimeout(watchdog);
  }
}

await runBenchmark(main);
