// Dashboard benchmark: `npm run bench -- dashboard`.
//
// A throwaway PostgreSQL database is filled in bulk (SQL generate_series on the server) with
// BENCH_TICKETS (1,000,000) tickets spread over the last year across the city's units,
// departments and categories, ~3% still open, each with one report (its channel), 2% reopened,
// 3% hotspots; VACUUM ANALYZE, as autovacuum would. Then every query a dashboard refresh and a
// transparency page send (src/core/dashboard) is timed BENCH_N times (median and p99) for each
// period, beside a bare indexed lookup (a ticket by primary key) timed in the same run; the
// figure is the ratio. Period figures come from the rollup of migration 0026 (kept by triggers
// during the load, as in production, through the deltas of 0028, compacted once, timed; then
// rebuilt once, timed); each period is also timed with the exact computation from the tickets
// table (periodStatsExact) for comparison. The plans are checked: no refresh may read the tickets
// table whole (a "Seq Scan on tickets" fails the run), except the exact computation of a period
// that covers the whole table (a year).
//
// Then the write side, on the same database: for BENCH_WRITE_SECONDS, BENCH_WRITERS connections
// each commit transactions of two tickets on two of the last three city days, in random order
// (the shape that deadlocks on 0026's shared rows), first with 0028's deltas, then with the
// schema migrated down to 0026's upserts (and up again): transactions per second, p50/p99 per
// transaction, deadlocks (retried). With the deltas of the first phase still pending (uncompacted,
// as if the compaction job had not run for that long), the period figures are timed again
// (readers add them), and their compaction is timed.
//
// Settings (environment): BENCH_TICKETS (1000000), BENCH_N (15), BENCH_WRITERS (8),
// BENCH_WRITE_SECONDS (10 per phase), BENCH_DATABASE_URL or DATABASE_URL (the server for the
// throwaway database, always created and dropped; default 127.0.0.1:5432).
import { loadavg } from 'node:os';
import { Kysely, Migrator, PostgresDialect, sql, type CompiledQuery } from 'kysely';
import pg from 'pg';
import { seedReferenceData } from '../src/city/seed.ts';
import { parsePeriod, type Period } from '../src/core/dashboard/period.ts';
import { mapTickets, openCounts, periodStats, periodStatsExact } from '../src/core/dashboard/stats.ts';
import { compactRollup, rebuildRollup } from '../src/core/dashboard/rollup.ts';
import { migrations } from '../migrations/index.ts';
import { connect } from '../src/db/connect.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import type { Database, Db } from '../src/db/schema.ts';
import { intEnv, runBenchmark, runGuard } from './support/env.ts';
import { openServerBenchDatabase } from './support/bench-db.ts';

const TICKETS = intEnv('BENCH_TICKETS', 1_000_000, 1000, 5_000_000);
const RUNS = intEnv('BENCH_N', 15, 3, 1000);
const WRITERS = intEnv('BENCH_WRITERS', 8, 1, 64);
const WRITE_SECONDS = intEnv('BENCH_WRITE_SECONDS', 10, 1, 600);
const BATCH = 200_000;
const CHANNELS = ['phone', 'sms', 'web', 'app', 'email', 'facebook'];
const BOX = { minLat: 10.6, maxLat: 10.95, minLng: 106.55, maxLng: 106.85 } as const;

async function load(db: Db): Promise<void> {
  await sql`create temporary table bench_unit as select row_number() over (order by code) as i, code from areas`.execute(db);
  await sql`create temporary table bench_cat as select row_number() over (order by code) as i, code, coalesce(department_code, 'ubnd_phuong') as dept from categories`.execute(db);
  // The search documents' triggers (migration 0018) are not what this bench measures, and refreshing
  // 200,000 documents in one statement outlasted the 10-minute statement timeout: off during the
  // load. The rollup's triggers (0026, 0028) stay on: the load keeps the rollup as production would.
  for (const [table, trigger] of [['tickets', 'ticket_search_ins'], ['reports', 'ticket_search_ins']] as const) {
    await sql`alter table ${sql.table(table)} disable trigger ${sql.id(trigger)}`.execute(db);
  }
  const units = Number((await sql<{ n: string }>`select count(*) as n from bench_unit`.execute(db)).rows[0]?.n);
  const cats = Number((await sql<{ n: string }>`select count(*) as n from bench_cat`.execute(db)).rows[0]?.n);
  for (let lo = 1; lo <= TICKETS; lo += BATCH) {
    const hi = Math.min(TICKETS, lo + BATCH - 1);
    const t0 = performance.now();
    // Received over the last 365 days; handled after 10 min to 2 days (lognormal-ish, median ~100 min);
    // the newest ~3% mostly still open.
    await sql`
      insert into tickets (id, code, status, category_code, area_code, department_code, title, lat, lng, received_at,
        resolved_at, closed_at, hotspot_count, dispatched_area)
      select g, 'PA-D' || lpad(g::text, 8, '0'), s.status, c.code, u.code, c.dept, 'Phản ánh ' || g,
        ${BOX.minLat} + ${BOX.maxLat - BOX.minLat} * s.r1, ${BOX.minLng} + ${BOX.maxLng - BOX.minLng} * s.r2, s.received,
        case when s.status in ('resolved', 'closed') then s.received + make_interval(mins => s.mins) end,
        case when s.status in ('closed', 'rejected') then s.received + make_interval(mins => s.mins) end,
        case when s.r3 < 0.03 then 2 + floor(s.r3 * 100)::int else 0 end,
        case when s.status <> 'new' then u.code end
      from (
        select g, r1, r2, r3, received, mins,
          case when received > now() - make_interval(mins => mins) or r4 < 0.01 then (array['new','triaged','dispatched','acknowledged','in_progress'])[1 + floor(r5 * 5)::int]
               when r4 < 0.05 then 'rejected' when r4 < 0.5 then 'closed' else 'resolved' end as status,
          1 + floor(r6 * ${units})::int as ui, 1 + floor(r7 * ${cats})::int as ci
        from (
          select g, random() as r1, random() as r2, random() as r3, random() as r4, random() as r5, random() as r6, random() as r7,
            now() - make_interval(secs => random() * 365 * 86400) as received,
            least(2880, 10 + exp(ln(90) + 1.0 * sqrt(-2 * ln(greatest(random(), 1e-9))) * cos(2 * pi() * random())))::int as mins
          from generate_series(${lo}::int, ${hi}::int) as g offset 0) r
      ) s
      join bench_unit u on u.i = s.ui join bench_cat c on c.i = s.ci`.execute(db);
    await sql`
      insert into inbound_messages (id, channel, external_id, code, payload, received_at, processed_at, attempts, report_id)
      select t.id, (${CHANNELS}::text[])[1 + t.id % ${CHANNELS.length}], 'bench-' || t.id, 'PA-R' || lpad(t.id::text, 8, '0'), '{}'::jsonb, t.received_at, t.received_at, 1, t.id
      from tickets t where t.id between ${lo} and ${hi}`.execute(db);
    await sql`
      insert into reports (id, code, inbound_id, channel, ticket_id, text, text_folded, received_at)
      select t.id, 'PA-R' || lpad(t.id::text, 8, '0'), t.id, (${CHANNELS}::text[])[1 + t.id % ${CHANNELS.length}], t.id, t.title, lower(t.title), t.received_at
      from tickets t where t.id between ${lo} and ${hi}`.execute(db);
    await sql`
      insert into ticket_events (ticket_id, type, actor, data, created_at)
      select t.id, 'ticket.reopened', 'bench', '{}'::jsonb, t.received_at + interval '1 day'
      from tickets t where t.id between ${lo} and ${hi} and t.id % 50 = 0`.execute(db);
    console.log(`  loaded tickets ${lo.toLocaleString('en')}–${hi.toLocaleString('en')} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  for (const t of ['tickets', 'inbound_messages', 'reports']) {
    await sql`select setval(pg_get_serial_sequence(${t}, 'id'), (select max(id) from ${sql.table(t)}))`.execute(db);
  }
  for (const [table, trigger] of [['tickets', 'ticket_search_ins'], ['reports', 'ticket_search_ins']] as const) {
    await sql`alter table ${sql.table(table)} enable trigger ${sql.id(trigger)}`.execute(db);
  }
  for (const t of ['tickets', 'reports', 'ticket_events', 'inbound_messages']) await sql`vacuum analyze ${sql.table(t)}`.execute(db);
}

const quantile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] ?? NaN;

/** Median and p99 (nearest rank: with fewer than 100 runs, the slowest). */
async function time(fn: () => Promise<unknown>, runs = RUNS): Promise<{ median: number; p99: number }> {
  await fn(); // warm
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return { median: quantile(ms, 0.5), p99: quantile(ms, 0.99) };
}

/** Runs `fn` on a logging connection, then EXPLAINs every statement it sent: the plans that read the whole tickets table. */
async function seqScans(url: string, fn: (db: Db) => Promise<unknown>): Promise<string[]> {
  const captured: CompiledQuery[] = [];
  const spy = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 2 }) }),
    log: (e) => { if (e.level === 'query') captured.push(e.query); },
  });
  try {
    await fn(spy);
    const found: string[] = [];
    for (const q of captured.splice(0)) {
      const plan = await spy.executeQuery<{ 'QUERY PLAN': string }>({ ...q, sql: `explain ${q.sql}`, query: q.query });
      const text = plan.rows.map((r) => r['QUERY PLAN']).join('\n');
      if (/Seq Scan on tickets\b/.test(text)) found.push(`${q.sql.replace(/\s+/g, ' ').slice(0, 160)}…\n${text}`);
    }
    return found;
  } finally {
    await spy.destroy();
  }
}

interface WritePhase { tps: number; p50: number; p99: number; deadlocks: number; seconds: number }

/**
 * WRITERS connections, each committing transactions of two tickets on two of the last three city
 * days in random order for WRITE_SECONDS; a deadlocked transaction (PostgreSQL aborts one of a
 * cycle) is counted and run again.
 */
async function writeStorm(url: string, firstId: number): Promise<WritePhase> {
  const pool = new pg.Pool({ connectionString: url, max: WRITERS });
  const ms: number[] = [];
  let deadlocks = 0;
  let next = firstId;
  const unit = (await pool.query<{ code: string }>('select code from areas order by code limit 1')).rows[0]!.code;
  const t0 = performance.now();
  const until = t0 + WRITE_SECONDS * 1000;
  try {
    await Promise.all(Array.from({ length: WRITERS }, async () => {
      const c = await pool.connect();
      try {
        while (performance.now() < until) {
          const days = [0, 1, 2].sort(() => Math.random() - 0.5).slice(0, 2);
          const ids = [next++, next++];
          for (;;) {
            const s0 = performance.now();
            try {
              await c.query('begin');
              for (const [k, d] of days.entries()) {
                await c.query(`insert into tickets (id, code, status, category_code, area_code, department_code, title, received_at)
                  values ($1, $2, 'new', 'ngap_nuoc', $3, 'thoat_nuoc', 'Phản ánh', now() - make_interval(days => $4::int))`, [ids[k], `PA-W${String(ids[k]).padStart(8, '0')}`, unit, d]);
              }
              await c.query('commit');
              ms.push(performance.now() - s0);
              break;
            } catch (err) {
              await c.query('rollback');
              if ((err as { code?: string }).code !== '40P01') throw err;
              deadlocks++;
            }
          }
        }
      } finally {
        c.release();
      }
    }));
  } finally {
    await pool.end();
  }
  const seconds = (performance.now() - t0) / 1000;
  return { tps: ms.length / seconds, p50: quantile(ms, 0.5), p99: quantile(ms, 0.99), deadlocks, seconds };
}

/** The write side with 0028's deltas and with 0026's upserts (migrated down, then up again); false if a phase failed. */
async function writeSide(db: Db, url: string, periods: [string, Period][]): Promise<boolean> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const maxId = async () => Number((await sql<{ n: string }>`select max(id) as n from tickets`.execute(db)).rows[0]?.n);
  console.log(`\nwrite side: ${WRITERS} connections, ${WRITE_SECONDS} s each phase, transactions of 2 tickets on 2 of the last 3 days in random order`);
  const delta = await writeStorm(url, (await maxId()) + 1);
  const pending = (await sql<{ n: string }>`select count(*) as n from dashboard_rollup_delta`.execute(db)).rows[0]?.n;
  console.log(`  pending after it: ${pending} delta rows; period figures read with them:`);
  for (const [name, p] of [periods[0]!, periods[3]!]) {
    const r = await time(() => periodStats(db, p));
    console.log(`  ${`period figures + ranking + trend, ${name}, ${pending} deltas pending`.padEnd(54)} ${r.median.toFixed(1).padStart(10)} ${r.p99.toFixed(1).padStart(9)}`);
  }
  const tc = performance.now();
  const folded = await compactRollup(db);
  console.log(`  compaction: ${folded} delta rows folded in ${(performance.now() - tc).toFixed(0)} ms`);
  const down = await migrator.migrateTo('0027_search_filters');
  if (down.error) throw down.error;
  const upsert = await writeStorm(url, (await maxId()) + 1);
  const up = await migrator.migrateToLatest();
  if (up.error) throw up.error;
  const row = (name: string, w: WritePhase) => console.log(`  ${name.padEnd(40)} ${w.tps.toFixed(0).padStart(8)} tx/s   p50 ${w.p50.toFixed(1).padStart(7)} ms   p99 ${w.p99.toFixed(1).padStart(7)} ms   deadlocks ${String(w.deadlocks).padStart(4)}   (${w.seconds.toFixed(1)} s)`);
  row('0028: deltas appended', delta);
  row('0026: rows upserted (migrated down)', upsert);
  console.log(`  ratio of throughput, deltas to upserts: ${(delta.tps / upsert.tps).toFixed(2)}`);
  // Both phases wrote their tickets in full: the figures must still equal the tickets'.
  const [fast, exact] = await Promise.all([periodStats(db, periods[1]![1]), periodStatsExact(db, periods[1]![1])]);
  const equal = fast.city.volume === exact.city.volume && fast.city.handled === exact.city.handled;
  console.log(`  7 days after both phases, rollup against exact: ${equal ? 'equal' : 'DIFFER'} (${fast.city.volume} / ${exact.city.volume} received)`);
  return equal;
}

await runBenchmark(async () => {
  const guard = runGuard(60 * 60_000);
  const target = await openServerBenchDatabase({ tag: 'dashboard', statementTimeout: '10min' });
  guard.add(() => target.drop());
  console.log(`dashboard benchmark on ${target.label}: ${TICKETS.toLocaleString('en')} tickets, ${RUNS} runs per query\n`);
  const handle = await connect({ databaseUrl: target.url, poolMax: 4 });
  guard.add(() => handle.close());
  const db = handle.db;
  try {
    await migrateToLatest(db);
    await seedReferenceData(db);
    const t0 = performance.now();
    await load(db);
    console.log(`loaded in ${((performance.now() - t0) / 1000).toFixed(0)} s (the rollup kept by its triggers)`);
    const deltas = (await sql<{ n: string }>`select count(*) as n from dashboard_rollup_delta`.execute(db)).rows[0]?.n;
    const tc = performance.now();
    const folded = await compactRollup(db);
    console.log(`compaction of the load's ${deltas} delta rows: ${folded} folded in ${((performance.now() - tc) / 1000).toFixed(1)} s`);
    const kept = (await sql<{ n: string }>`select count(*) as n from dashboard_rollup`.execute(db)).rows[0]?.n;
    const t1 = performance.now();
    const rebuilt = await rebuildRollup(db);
    await sql`vacuum analyze dashboard_rollup`.execute(db);
    console.log(`rollup: ${kept} rows kept by the triggers; \`dashboard rebuild\` wrote ${rebuilt} in ${((performance.now() - t1) / 1000).toFixed(1)} s\n`);

    const ids = Array.from({ length: 64 }, () => 1 + Math.floor(Math.random() * TICKETS));
    let k = 0;
    const bare = await time(() => db.selectFrom('tickets').selectAll().where('id', '=', ids[k++ % ids.length]!).executeTakeFirst(), 200);
    const unit = (await db.selectFrom('areas').select('code').orderBy('code').executeTakeFirstOrThrow()).code;
    const today = new Date();
    const periods: [string, Period][] = [
      ['today', parsePeriod({ period: 'today' }, today)], ['7 days', parsePeriod({ period: '7d' }, today)],
      ['30 days', parsePeriod({ period: '30d' }, today)],
      ['366 days', parsePeriod({ period: 'custom', from: new Date(today.getTime() - 365 * 86_400_000).toISOString().slice(0, 10), to: today.toISOString().slice(0, 10) }, today)],
    ];
    // The third field: the period covers the whole table (a whole-table read is then the plan to expect).
    const rows: [string, (d: Db) => Promise<unknown>, boolean][] = [
      ['open tickets by status/channel/category/unit', (d) => openCounts(d), false],
      ...periods.flatMap(([name, p]): [string, (d: Db) => Promise<unknown>, boolean][] => [
        [`period figures + ranking + trend, ${name}`, (d) => periodStats(d, p), false],
        [`  the same computed exactly from the tickets, ${name}`, (d) => periodStatsExact(d, p), p.days.length > 31],
        [`map (open tickets, hotspots), ${name}`, (d) => mapTickets(d, p), false],
      ]),
      ['transparency page of one unit, 30 days', (d) => periodStats(d, periods[2]![1], { unit }), false],
    ];
    console.log(`bare indexed lookup (ticket by id, 200 runs): median ${bare.median.toFixed(2)} ms, p99 ${bare.p99.toFixed(2)} ms\n`);
    console.log(`${RUNS} runs per query; p99 is the slowest of them`);
    console.log('query'.padEnd(56), 'p50 ms'.padStart(10), 'p99 ms'.padStart(9), 'ratio p50'.padStart(10));
    let failed = false;
    for (const [name, fn, whole] of rows) {
      const r = await time(() => fn(db));
      console.log(name.padEnd(56), r.median.toFixed(1).padStart(10), r.p99.toFixed(1).padStart(9), `${Math.round(r.median / bare.median)}x`.padStart(10));
      const scans = await seqScans(target.url, fn);
      if (whole && scans.length) console.log('  (reads the whole table: the period covers it; the dashboard reads the rollup instead)');
      else {
        for (const s of scans) {
          failed = true;
          console.log(`  FULL SCAN of tickets:\n${s}`);
        }
      }
    }
    // How far the rollup's medians and p90 are from the exact ones over the year (documented bound: 2 min below 2 h, 10 % above).
    const year = periods[3]![1];
    const [fast, exact] = await Promise.all([periodStats(db, year), periodStatsExact(db, year)]);
    const exactUnits = new Map(exact.byUnit.map((u) => [u.code, u]));
    let worst = 0;
    let countsEqual = fast.city.volume === exact.city.volume && fast.city.handledWithin === exact.city.handledWithin;
    for (const u of fast.byUnit) {
      const e = exactUnits.get(u.code);
      if (!e || e.volume !== u.volume || e.handledWithin !== u.handledWithin || e.reopened !== u.reopened) countsEqual = false;
      for (const [a, b] of [[u.medianMinutes, e?.medianMinutes], [u.p90Minutes, e?.p90Minutes]] as const) {
        if (a !== null && b !== null && b !== undefined) worst = Math.max(worst, Math.abs(a - b) / Math.max(b, 1));
      }
    }
    console.log(`\n366 days, rollup against exact: counts ${countsEqual ? 'equal' : 'DIFFER'}; city median ${fast.city.medianMinutes} / ${exact.city.medianMinutes} min, p90 ${fast.city.p90Minutes} / ${exact.city.p90Minutes} min; units' median and p90 at most ${(worst * 100).toFixed(1)} % off`);
    if (!countsEqual) failed = true;
    if (!(await writeSide(db, target.url!, periods))) failed = true;
    console.log(`\nload average (1 min): ${loadavg()[0]?.toFixed(1)}`);
    console.log(failed ? '\nFAILED: a dashboard query reads the whole tickets table' : '\nno dashboard query reads the whole tickets table');
    if (failed) process.exitCode = 1;
  } finally {
    await guard.cleanup();
  }
});
