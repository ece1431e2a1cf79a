import { sql, type Kysely, type RawBuilder } from 'kysely';

// Frozen: once landed, never edit this file; add a new numbered migration instead.
// The dashboard's daily rollup (src/core/dashboard/rollup.ts reads it), so that the figures of a
// period cost a few thousand rows whatever its length, instead of an index range over every
// ticket received in it (a year at 1,000,000 tickets: ~9 s).
//
// dashboard_rollup: one row per grain ('d' a city day, 'm' a city month, `day` its first day),
// dimension ('unit' = coalesce(dispatched_area, area_code), 'dept', 'cat', 'city') and code
// ('' where the ticket has none): tickets received (volume), handled, handled within 120 minutes,
// reopened, and `hist`, a histogram of the handled tickets' minutes from receipt to handled in
// fixed buckets (2-minute buckets below 120 minutes, then buckets 10 % wider each, the last one
// open from about a year): medians and percentiles cannot be summed, histograms can. The month
// grain lets a year read 12 rows per unit instead of 366.
//
// Kept by statement-level triggers in the transaction that writes a ticket or its reopened event
// (as the search documents are, migration 0018): each statement's old rows count -1 and its new
// rows +1 under their keys, summed per key, and only keys that changed are written, in key order
// (so that two transactions lock shared rows in the same order). A status change among open
// statuses changes no key and writes nothing. dashboard_rollup_rebuild() recomputes everything
// from the tickets table (`npx phananh dashboard rebuild`); this migration runs it once.
//
// The definitions are the dashboard's (src/core/dashboard/stats.ts) when this landed: merged
// tickets left out; handled = status resolved, closed or rejected (SLA clock stopped), at
// coalesce(resolved_at, closed_at); within 2 h = handled <= 120 minutes after receipt; reopened =
// at least one `ticket.reopened` event; city days in UTC+7. test/dashboard.test.ts checks that
// the figures read from here equal those computed from the tickets table, and that the bucket
// layout below is the one src/core/dashboard/rollup.ts reads.

/** A ticket's contribution under each of its keys, with `sign`, for rows of `source` (a table or transition table). */
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

/** Adds summed contributions (`deltas`: rows of contributions()) to the rollup, keys in order, unchanged keys skipped. */
function apply(deltas: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`
    insert into dashboard_rollup as r (grain, day, dim, code, volume, handled, within, reopened, hist)
    select grain, day, dim, code, volume, handled, within, reopened, hist from (
      select grain, day, dim, code, sum(volume)::int as volume, sum(handled)::int as handled, sum(within)::int as within,
        sum(reopened)::int as reopened, dashboard_hist_from(array_agg(bucket), array_agg(n::integer)) as hist
      from (
        select grain, day, dim, code, sum(volume) as volume, sum(handled) as handled, sum(within) as within, sum(reopened) as reopened,
          bucket, sum(n) filter (where bucket is not null) as n
        from (${deltas}) d group by grain, day, dim, code, bucket) b
      group by grain, day, dim, code) s
    where volume <> 0 or handled <> 0 or within <> 0 or reopened <> 0 or cardinality(hist) > 0
    order by grain, dim, day, code
    on conflict (grain, dim, day, code) do update set
      volume = r.volume + excluded.volume, handled = r.handled + excluded.handled, within = r.within + excluded.within,
      reopened = r.reopened + excluded.reopened, hist = dashboard_hist_add(r.hist, excluded.hist)`;
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create table dashboard_rollup (
    grain char(1) not null check (grain in ('d', 'm')),
    day date not null,
    dim text not null check (dim in ('unit', 'dept', 'cat', 'city')),
    code text not null,
    volume integer not null default 0,
    handled integer not null default 0,
    within integer not null default 0,
    reopened integer not null default 0,
    hist integer[] not null default '{}',
    primary key (grain, dim, day, code))`.execute(db);

  // The bucket (1-based) of a time to resolve in minutes: 60 buckets of 2 minutes below 120, then
  // bucket 61 + k holds [120 * 1.1^k, 120 * 1.1^(k+1)), the last (149) everything from ~1 year.
  await sql`create function dashboard_bucket(minutes double precision) returns integer language sql immutable as $$
    select case when minutes is null then null
      when minutes < 120 then floor(greatest(minutes, 0) / 2)::integer + 1
      else 61 + least(floor(ln(minutes / 120.0) / ln(1.1))::integer, 88) end
  $$`.execute(db);
  // Element-wise sum of two histograms of any lengths (missing buckets are 0).
  await sql`create function dashboard_hist_add(a integer[], b integer[]) returns integer[] language sql immutable as $$
    select coalesce(array_agg(coalesce(a[i], 0) + coalesce(b[i], 0) order by i), '{}')
    from generate_series(1, greatest(coalesce(cardinality(a), 0), coalesce(cardinality(b), 0))) as i
  $$`.execute(db);
  await sql`create aggregate dashboard_hist_sum(integer[]) (sfunc = dashboard_hist_add, stype = integer[], initcond = '{}')`.execute(db);
  // A histogram from (bucket, count) pairs; null buckets and zero counts ignored.
  await sql`create function dashboard_hist_from(buckets integer[], ns integer[]) returns integer[] language plpgsql immutable as $$
    declare
      h integer[] := '{}';
      i integer;
    begin
      for i in 1 .. coalesce(cardinality(buckets), 0) loop
        if buckets[i] is not null and coalesce(ns[i], 0) <> 0 then
          while cardinality(h) < buckets[i] loop h := h || 0; end loop;
          h[buckets[i]] := h[buckets[i]] + ns[i];
        end if;
      end loop;
      if not exists (select 1 from unnest(h) as x where x <> 0) then return '{}'; end if;
      return h;
    end $$`.execute(db);

  await sql`create function dashboard_rollup_tickets_inserted() returns trigger language plpgsql as $$
    begin ${apply(contributions(sql`new_rows`, 1))}; return null; end $$`.execute(db);
  await sql`create function dashboard_rollup_tickets_updated() returns trigger language plpgsql as $$
    begin ${apply(sql`${contributions(sql`old_rows`, -1)} union all ${contributions(sql`new_rows`, 1)}`)}; return null; end $$`.execute(db);
  await sql`create function dashboard_rollup_tickets_deleted() returns trigger language plpgsql as $$
    begin ${apply(contributions(sql`old_rows`, -1))}; return null; end $$`.execute(db);
  // A ticket's first `ticket.reopened` event adds it to the reopened count of its keys.
  await sql`create function dashboard_rollup_reopened() returns trigger language plpgsql as $$
    begin
      ${apply(sql`
        select grain, day, dim, code, 0 as volume, 0 as handled, 0 as within, reopened, null::integer as bucket, 0 as n
        from (${contributions(sql`(select t.* from tickets t where t.id in (
          select n.ticket_id from new_rows n where n.type = 'ticket.reopened' group by n.ticket_id
          having count(*) = (select count(*) from ticket_events e where e.ticket_id = n.ticket_id and e.type = 'ticket.reopened')))`, 1)}) x`)};
      return null;
    end $$`.execute(db);
  await sql`create trigger dashboard_rollup_ins after insert on tickets referencing new table as new_rows
    for each statement execute function dashboard_rollup_tickets_inserted()`.execute(db);
  await sql`create trigger dashboard_rollup_upd after update on tickets referencing old table as old_rows new table as new_rows
    for each statement execute function dashboard_rollup_tickets_updated()`.execute(db);
  await sql`create trigger dashboard_rollup_del after delete on tickets referencing old table as old_rows
    for each statement execute function dashboard_rollup_tickets_deleted()`.execute(db);
  await sql`create trigger dashboard_rollup_reopened after insert on ticket_events referencing new table as new_rows
    for each statement execute function dashboard_rollup_reopened()`.execute(db);

  // From the tickets table, whole: writers wait for the lock, so no delta is lost or counted twice.
  await sql`create function dashboard_rollup_rebuild() returns bigint language plpgsql as $$
    declare written bigint;
    begin
      lock table dashboard_rollup in exclusive mode;
      delete from dashboard_rollup;
      ${apply(contributions(sql`tickets`, 1))};
      get diagnostics written = row_count;
      return written;
    end $$`.execute(db);
  await sql`select dashboard_rollup_rebuild()`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop trigger if exists dashboard_rollup_reopened on ticket_events`.execute(db);
  await sql`drop trigger if exists dashboard_rollup_del on tickets`.execute(db);
  await sql`drop trigger if exists dashboard_rollup_upd on tickets`.execute(db);
  await sql`drop trigger if exists dashboard_rollup_ins on tickets`.execute(db);
  await sql`drop function if exists dashboard_rollup_rebuild()`.execute(db);
  await sql`drop function if exists dashboard_rollup_reopened()`.execute(db);
  await sql`drop function if exists dashboard_rollup_tickets_deleted()`.execute(db);
  await sql`drop function if exists dashboard_rollup_tickets_updated()`.execute(db);
  await sql`drop function if exists dashboard_rollup_tickets_inserted()`.execute(db);
  await sql`drop function if exists dashboard_hist_from(integer[], integer[])`.execute(db);
  await sql`drop aggregate if exists dashboard_hist_sum(integer[])`.execute(db);
  await sql`drop function if exists dashboard_hist_add(integer[], integer[])`.execute(db);
  await sql`drop function if exists dashboard_bucket(double precision)`.execute(db);
  await sql`drop table if exists dashboard_rollup`.execute(db);
}
