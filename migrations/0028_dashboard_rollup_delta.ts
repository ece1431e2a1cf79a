import { sql, type Kysely, type RawBuilder } from 'kysely';

// Frozen: once landed, never edit this file; add a new numbered migration instead.
// The dashboard rollup's writers no longer share a row (issue 17; migration 0026 kept
// dashboard_rollup by upserts in every ticket-writing transaction, so each day's and month's city
// row was a hot row: writers queued on it until commit, and two transactions writing tickets of
// two days in opposite orders could deadlock).
//
// Now the triggers only append: each statement's summed contributions (the same keys and sums as
// 0026's, old rows -1 and new rows +1) go into dashboard_rollup_delta, a table with no unique key
// that nobody updates, so a ticket writer takes no lock another writer waits for.
// dashboard_rollup_compact() folds the deltas into dashboard_rollup and deletes them in one
// statement of one transaction (`delete ... returning` feeding the upsert), so a reader's snapshot
// sees each delta exactly once: still in the delta table, or already in the rollup. Compactions
// run one at a time (a transaction-level advisory lock), run by the leader's job every few
// seconds (src/core/dashboard/rollup.ts). Readers sum dashboard_rollup and the deltas not yet
// compacted for the keys they read.
//
// dashboard_rollup_rebuild() takes the compaction's lock, then locks the delta table against
// writers (EXCLUSIVE: a writer in flight is waited for, a new one waits) and the rollup, clears
// both and recomputes from the tickets table: nothing lost or counted twice.
//
// The down migration folds the pending deltas in first, then points the triggers back at 0026's
// functions (left in place, unchanged) and restores 0026's rebuild.

/** dashboard_rollup_compact()'s lock (transaction-level), also taken by a rebuild. */
const COMPACT_LOCK = 1022_0028;

/** 0026's contribution of each ticket under each of its keys, with `sign`, for rows of `source`; copied so that this file stays as it landed. */
function contributions(source: RawBuilder<unknown>, sign: number): RawBuilder<unknown> {
  return sql`
    select g.grain, case when g.grain = 'm' then date_trunc('month', c.day)::date else c.day end as day, k.dim, k.code,
      ${sql.lit(sign)} as volume, ${sql.lit(sign)} * c.handled as handled, ${sql.lit(sign)} * c.within as within,
      ${sql.lit(sign)} * c.reopened as reopened, c.bucket, ${sql.lit(sign)} as n
    from (
      select ((t.received_at at time zone 'UTC') + interval '7 hours')::date as day,
        coalesce(t.dispatched_area, t.area_code, '') as unit, coalesce(t.department_code, '') as dept, coalesce(t.category_code, '') as cat,
        (m.minutes is not null)::int as handled, coalesce(m.minutes <= 120, false)::int as within,
        exists (select 1 from ticket_events e where e.ticket_id = t.id and e.type = 'ticket.reopened')::int as reopened,
        dashboard_bucket(m.minutes) as bucket
      from ${source} t
      cross join lateral (select case when t.status in ('resolved', 'closed', 'rejected')
        then extract(epoch from (coalesce(t.resolved_at, t.closed_at) - t.received_at)) / 60.0 end as minutes) m
      where t.merged_into is null) c
    cross join (values ('d'), ('m')) as g(grain)
    cross join lateral (values ('unit', c.unit), ('dept', c.dept), ('cat', c.cat), ('city', '')) as k(dim, code)`;
}

/** Contributions (rows of contributions()) summed per key, keys whose sums are all zero left out. */
function summed(deltas: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`
    select grain, day, dim, code, volume, handled, within, reopened, hist from (
      select grain, day, dim, code, sum(volume)::int as volume, sum(handled)::int as handled, sum(within)::int as within,
        sum(reopened)::int as reopened, dashboard_hist_from(array_agg(bucket), array_agg(n::integer)) as hist
      from (
        select grain, day, dim, code, sum(volume) as volume, sum(handled) as handled, sum(within) as within, sum(reopened) as reopened,
          bucket, sum(n) filter (where bucket is not null) as n
        from (${deltas}) d group by grain, day, dim, code, bucket) b
      group by grain, day, dim, code) s
    where volume <> 0 or handled <> 0 or within <> 0 or reopened <> 0 or cardinality(hist) > 0`;
}

/** Appends summed contributions to the delta table: an insert, no key, no lock shared with another writer. */
function append(deltas: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`insert into dashboard_rollup_delta (grain, day, dim, code, volume, handled, within, reopened, hist) ${summed(deltas)}`;
}

/** 0026's rows of a ticket's first `ticket.reopened` event (its reopened count only), from the trigger's new_rows. */
const firstReopenings = sql`
  select grain, day, dim, code, 0 as volume, 0 as handled, 0 as within, reopened, null::integer as bucket, 0 as n
  from (${contributions(sql`(select t.* from tickets t where t.id in (
    select n.ticket_id from new_rows n where n.type = 'ticket.reopened' group by n.ticket_id
    having count(*) = (select count(*) from ticket_events e where e.ticket_id = n.ticket_id and e.type = 'ticket.reopened')))`, 1)}) x`;

/** The triggers on tickets and ticket_events, by name, as 0026 created them (same events and transition tables). */
const TRIGGERS = [
  ['dashboard_rollup_ins', sql`after insert on tickets referencing new table as new_rows`, 'tickets'],
  ['dashboard_rollup_upd', sql`after update on tickets referencing old table as old_rows new table as new_rows`, 'tickets'],
  ['dashboard_rollup_del', sql`after delete on tickets referencing old table as old_rows`, 'tickets'],
  ['dashboard_rollup_reopened', sql`after insert on ticket_events referencing new table as new_rows`, 'ticket_events'],
] as const;

/** Points each trigger at the function of the same position in `functions`. */
async function pointTriggers(db: Kysely<unknown>, functions: readonly string[]): Promise<void> {
  for (const [i, [name, when, table]] of TRIGGERS.entries()) {
    await sql`drop trigger if exists ${sql.id(name)} on ${sql.table(table)}`.execute(db);
    await sql`create trigger ${sql.id(name)} ${when} for each statement execute function ${sql.id(functions[i]!)}()`.execute(db);
  }
}

const DELTA_FUNCTIONS = ['dashboard_rollup_delta_inserted', 'dashboard_rollup_delta_updated', 'dashboard_rollup_delta_deleted', 'dashboard_rollup_delta_reopened'];
const ROLLUP_0026_FUNCTIONS = ['dashboard_rollup_tickets_inserted', 'dashboard_rollup_tickets_updated', 'dashboard_rollup_tickets_deleted', 'dashboard_rollup_reopened'];

export async function up(db: Kysely<unknown>): Promise<void> {
  // No primary key and no unique index: writers never wait on each other's rows here. The index
  // serves readers, which read the deltas of the days (or months) they read.
  await sql`create table dashboard_rollup_delta (
    grain char(1) not null,
    day date not null,
    dim text not null,
    code text not null,
    volume integer not null default 0,
    handled integer not null default 0,
    within integer not null default 0,
    reopened integer not null default 0,
    hist integer[] not null default '{}')`.execute(db);
  await sql`create index dashboard_rollup_delta_day on dashboard_rollup_delta (grain, day)`.execute(db);

  // A histogram without its trailing zero buckets ('{}' when all are zero): sums of +1 and -1
  // deltas leave zeros that a rebuild would not write, so that compacted rows equal rebuilt ones.
  await sql`create function dashboard_hist_trim(h integer[]) returns integer[] language plpgsql immutable as $$
    declare n integer := coalesce(cardinality(h), 0);
    begin
      while n > 0 and h[n] = 0 loop n := n - 1; end loop;
      if n = 0 then return '{}'; end if;
      return h[1:n];
    end $$`.execute(db);
  // 0026's element-wise sum (the step of dashboard_hist_sum, which readers and the compaction run
  // once per row), same results, faster: an empty side (most deltas: tickets not handled) returns
  // the other as it is, and the loop is plpgsql's instead of a SQL function over generate_series.
  // Measured on 64,712 delta rows: a compaction 12.9 s before, 4.5 s after.
  await sql`create or replace function dashboard_hist_add(a integer[], b integer[]) returns integer[] language plpgsql immutable as $$
    declare
      r integer[];
      n integer := greatest(coalesce(cardinality(a), 0), coalesce(cardinality(b), 0));
    begin
      if coalesce(cardinality(b), 0) = 0 then return coalesce(a, '{}'); end if;
      if coalesce(cardinality(a), 0) = 0 then return b; end if;
      r := array_fill(0, array[n]);
      for i in 1 .. n loop r[i] := coalesce(a[i], 0) + coalesce(b[i], 0); end loop;
      return r;
    end $$`.execute(db);

  await sql`create function dashboard_rollup_delta_inserted() returns trigger language plpgsql as $$
    begin ${append(contributions(sql`new_rows`, 1))}; return null; end $$`.execute(db);
  await sql`create function dashboard_rollup_delta_updated() returns trigger language plpgsql as $$
    begin ${append(sql`${contributions(sql`old_rows`, -1)} union all ${contributions(sql`new_rows`, 1)}`)}; return null; end $$`.execute(db);
  await sql`create function dashboard_rollup_delta_deleted() returns trigger language plpgsql as $$
    begin ${append(contributions(sql`old_rows`, -1))}; return null; end $$`.execute(db);
  await sql`create function dashboard_rollup_delta_reopened() returns trigger language plpgsql as $$
    begin ${append(firstReopenings)}; return null; end $$`.execute(db);
  await pointTriggers(db, DELTA_FUNCTIONS);

  // One statement: the rows it deletes are the rows it adds, and a concurrent reader's snapshot
  // sees them on one side only. Keys in order (only compactions and rebuilds write the rollup,
  // one at a time, but the order costs nothing). Returns the delta rows folded.
  await sql`create function dashboard_rollup_compact() returns bigint language plpgsql as $$
    declare folded bigint;
    begin
      perform pg_advisory_xact_lock(${sql.lit(COMPACT_LOCK)});
      with d as (delete from dashboard_rollup_delta returning grain, day, dim, code, volume, handled, within, reopened, hist),
      s as (
        select grain, day, dim, code, sum(volume)::int as volume, sum(handled)::int as handled, sum(within)::int as within,
          sum(reopened)::int as reopened, dashboard_hist_trim(dashboard_hist_sum(hist)) as hist
        from d group by grain, day, dim, code),
      w as (
        insert into dashboard_rollup as r (grain, day, dim, code, volume, handled, within, reopened, hist)
        select grain, day, dim, code, volume, handled, within, reopened, hist from s
        where volume <> 0 or handled <> 0 or within <> 0 or reopened <> 0 or cardinality(hist) > 0
        order by grain, dim, day, code
        on conflict (grain, dim, day, code) do update set
          volume = r.volume + excluded.volume, handled = r.handled + excluded.handled, within = r.within + excluded.within,
          reopened = r.reopened + excluded.reopened, hist = dashboard_hist_trim(dashboard_hist_add(r.hist, excluded.hist))
        returning 1)
      select count(*) into folded from d;
      return folded;
    end $$`.execute(db);

  await sql`create or replace function dashboard_rollup_rebuild() returns bigint language plpgsql as $$
    declare written bigint;
    begin
      perform pg_advisory_xact_lock(${sql.lit(COMPACT_LOCK)});
      lock table dashboard_rollup_delta in exclusive mode;
      lock table dashboard_rollup in exclusive mode;
      delete from dashboard_rollup_delta;
      delete from dashboard_rollup;
      insert into dashboard_rollup (grain, day, dim, code, volume, handled, within, reopened, hist)
        ${summed(contributions(sql`tickets`, 1))} order by grain, dim, day, code;
      get diagnostics written = row_count;
      return written;
    end $$`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  // Nothing written since the last compaction is lost: fold it in, with writers held off until
  // the triggers write the rollup again (this transaction's end). Locks in a rebuild's order.
  await sql`select pg_advisory_xact_lock(${sql.lit(COMPACT_LOCK)})`.execute(db);
  await sql`lock table dashboard_rollup_delta in exclusive mode`.execute(db);
  await sql`select dashboard_rollup_compact()`.execute(db);
  await pointTriggers(db, ROLLUP_0026_FUNCTIONS);
  // 0026's rebuild, as it landed.
  await sql`create or replace function dashboard_rollup_rebuild() returns bigint language plpgsql as $$
    declare written bigint;
    begin
      lock table dashboard_rollup in exclusive mode;
      delete from dashboard_rollup;
      insert into dashboard_rollup as r (grain, day, dim, code, volume, handled, within, reopened, hist)
        ${summed(contributions(sql`tickets`, 1))}
        order by grain, dim, day, code
        on conflict (grain, dim, day, code) do update set
          volume = r.volume + excluded.volume, handled = r.handled + excluded.handled, within = r.within + excluded.within,
          reopened = r.reopened + excluded.reopened, hist = dashboard_hist_add(r.hist, excluded.hist);
      get diagnostics written = row_count;
      return written;
    end $$`.execute(db);
  // 0026's element-wise sum, as it landed.
  await sql`create or replace function dashboard_hist_add(a integer[], b integer[]) returns integer[] language sql immutable as $$
    select coalesce(array_agg(coalesce(a[i], 0) + coalesce(b[i], 0) order by i), '{}')
    from generate_series(1, greatest(coalesce(cardinality(a), 0), coalesce(cardinality(b), 0))) as i
  $$`.execute(db);
  await sql`drop function if exists dashboard_rollup_compact()`.execute(db);
  for (const f of DELTA_FUNCTIONS) await sql`drop function if exists ${sql.id(f)}()`.execute(db);
  await sql`drop function if exists dashboard_hist_trim(integer[])`.execute(db);
  await sql`drop table if exists dashboard_rollup_delta`.execute(db);
}
