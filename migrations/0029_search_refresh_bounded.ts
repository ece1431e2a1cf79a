import { sql, type Kysely } from 'kysely';
import { PREFIXED_MAX } from './0018_ticket_search.ts';

// Frozen: once landed, never edit this file; add a new numbered migration instead.
// A report joining a ticket costs the same whether the ticket has 1 report or 500 (issue 17,
// bench/storm.ts). Until now every report inserted rebuilt its ticket's whole search document
// (ticket_search_refresh, migrations 0018 and 0027): the first 50 reports read for the body, the
// channels of ALL its reports, the tsvector with every word prefix, the GIN-indexed row rewritten,
// the words inserted again. Measured on the local server with track_functions = 'all', a report
// on a 500-report ticket spent 24-27 ms in that trigger against 4.6-5.0 ms on a one-report ticket.
// A document depends on a ticket's reports only through its first REPORTS_IN_BODY reports (by
// received_at, id) and the set of their channels, so:
//   - a report inserted with at least REPORTS_IN_BODY reports of its ticket before it cannot change
//     the body: its ticket's document is not rebuilt; a channel the document lacks is added to
//     `channels` (kept sorted and distinct, as the rebuild makes it) and nothing else is written;
//     counting the reports before it reads at most REPORTS_IN_BODY entries of the index below;
//   - reports (ticket_id, received_at, id) replaces reports (ticket_id): the same lookups by
//     ticket, and that count, and the body's first reports, read in order instead of sorted;
//   - the rebuild computes the body once (it was planned as five copies of the same subquery,
//     each reading every report of the ticket), is plpgsql (its plans are kept per connection; as
//     an SQL function it was planned on each call, about 2 ms, even for no ticket: every ticket
//     update paid that, twice per grouped report), returns at once for no ticket, and does not
//     rewrite a document that would come out the same (no new row version, no GIN entries).
// Every other path is as before: a report moved, edited or deleted, a ticket's text changed, and
// `npx phananh search reindex` rebuild the whole document.

/** The reports of a ticket whose codes, addresses and words make its search document (0018). */
export const REPORTS_IN_BODY = 50;

/** The rebuild of 0027, written once: the CTEs are materialised so each expression is computed once. */
const REFRESH = sql`
  create or replace function ticket_search_refresh(ids integer[]) returns void language plpgsql as $$
  begin
    if coalesce(cardinality(ids), 0) = 0 then return; end if;
    with b as materialized (
      select t.id, left(concat_ws(' ', t.code, t.title, t.address, c.name, a.name, (
          select string_agg(concat_ws(' ', r.code, r.address, r.text), ' ' order by r.received_at, r.id)
          from (select r0.code, r0.address, r0.text, r0.received_at, r0.id from reports r0
                where r0.ticket_id = t.id order by r0.received_at, r0.id limit ${sql.lit(REPORTS_IN_BODY)}) r)), 8000) as body,
        t.status, t.merged_into is not null as merged, coalesce(t.dispatched_area, t.area_code) as unit,
        t.area_code, t.category_code, t.received_at,
        array(select distinct r1.channel from reports r1 where r1.ticket_id = t.id order by 1) as channels
      from tickets t
      left join categories c on c.code = t.category_code
      left join areas a on a.code = t.area_code
      where t.id = any(ids)),
    f as materialized (select b.*, translate(unaccent(lower(b.body)), 'đ', 'd') as folded from b),
    d as materialized (select f.*, to_tsvector('simple', f.folded) as words from f),
    written as (
      insert into ticket_search as s (ticket_id, body, folded, tsv, updated_at, status, merged, unit, area_code, category_code, received_at, channels)
      select d.id, d.body, d.folded, d.words || to_tsvector('simple', d.body) || array_to_tsvector(array(
          select distinct left(w, n) from unnest(tsvector_to_array(d.words)) as w
          cross join generate_series(1, length(w) - 1) as n
          where length(w) <= ${sql.lit(PREFIXED_MAX)} and w ~ '^[a-z0-9]+$'))
          || array_to_tsvector(array[chr(1) || 'r' || to_char(d.received_at at time zone 'UTC', 'YYYYMM')]),
        now(), d.status, d.merged, d.unit, d.area_code, d.category_code, d.received_at, d.channels
      from d
      on conflict (ticket_id) do update
        set body = excluded.body, folded = excluded.folded, tsv = excluded.tsv, updated_at = excluded.updated_at,
          status = excluded.status, merged = excluded.merged, unit = excluded.unit, area_code = excluded.area_code,
          category_code = excluded.category_code, received_at = excluded.received_at, channels = excluded.channels
        where (s.body, s.folded, s.tsv, s.status, s.merged, s.unit, s.area_code, s.category_code, s.received_at, s.channels)
          is distinct from (excluded.body, excluded.folded, excluded.tsv, excluded.status, excluded.merged, excluded.unit,
            excluded.area_code, excluded.category_code, excluded.received_at, excluded.channels))
    insert into search_words (word)
    select distinct w from d cross join unnest(tsvector_to_array(d.words)) as w
    where length(w) between 3 and 20 and w ~ '^[a-z]+$'
    on conflict do nothing;
  end $$`;

const REPORTS_INSERTED = sql`
  create or replace function ticket_search_reports_inserted() returns trigger language plpgsql as $$
  begin
    -- Rebuilt: tickets where a new report is among the first of its ticket (fewer than
    -- REPORTS_IN_BODY before it, the statement's other new reports included).
    perform ticket_search_refresh(array(
      select distinct n.ticket_id from new_rows n
      where (select count(*) from (
        select from reports r where r.ticket_id = n.ticket_id and (r.received_at, r.id) < (n.received_at, n.id)
        limit ${sql.lit(REPORTS_IN_BODY)}) p) < ${sql.lit(REPORTS_IN_BODY)}));
    -- The others' body cannot have changed: only a channel their document lacks is added (a
    -- rebuilt document already has them all, so it is not written twice).
    update ticket_search s set channels = array(select distinct c from unnest(s.channels || x.channels) as c order by 1)
    from (select n.ticket_id, array_agg(distinct n.channel) as channels from new_rows n group by n.ticket_id) x
    where s.ticket_id = x.ticket_id and not s.channels @> x.channels;
    return null;
  end $$`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index reports_ticket_order on reports (ticket_id, received_at, id)`.execute(db);
  await sql`drop index reports_ticket`.execute(db);
  await REFRESH.execute(db);
  await REPORTS_INSERTED.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  // The definitions of 0027 (refresh) and 0018 (report insert trigger), as they were.
  await sql`
    create or replace function ticket_search_refresh(ids integer[]) returns void language sql as $$
      insert into ticket_search (ticket_id, body, folded, tsv, updated_at, status, merged, unit, area_code, category_code, received_at, channels)
      select d.id, d.body, d.folded, to_tsvector('simple', d.folded) || to_tsvector('simple', d.body) || array_to_tsvector(array(
          select distinct left(w, n) from unnest(tsvector_to_array(to_tsvector('simple', d.folded))) as w
          cross join generate_series(1, length(w) - 1) as n
          where length(w) <= ${sql.lit(PREFIXED_MAX)} and w ~ '^[a-z0-9]+$')) || array_to_tsvector(array[chr(1) || 'r' || to_char(d.received_at at time zone 'UTC', 'YYYYMM')]),
        now(), d.status, d.merged, d.unit, d.area_code, d.category_code, d.received_at, d.channels
      from (
        select b.*, translate(unaccent(lower(b.body)), 'đ', 'd') as folded
        from (
          select t.id, left(concat_ws(' ', t.code, t.title, t.address, c.name, a.name, (
            select string_agg(concat_ws(' ', r.code, r.address, r.text), ' ' order by r.received_at, r.id)
            from (select r0.code, r0.address, r0.text, r0.received_at, r0.id from reports r0
                  where r0.ticket_id = t.id order by r0.received_at, r0.id limit 50) r)), 8000) as body,
            t.status, t.merged_into is not null as merged, coalesce(t.dispatched_area, t.area_code) as unit,
            t.area_code, t.category_code, t.received_at,
            array(select distinct r1.channel from reports r1 where r1.ticket_id = t.id order by 1) as channels
          from tickets t
          left join categories c on c.code = t.category_code
          left join areas a on a.code = t.area_code
          where t.id = any(ids)) b) d
      on conflict (ticket_id) do update
        set body = excluded.body, folded = excluded.folded, tsv = excluded.tsv, updated_at = excluded.updated_at,
          status = excluded.status, merged = excluded.merged, unit = excluded.unit, area_code = excluded.area_code,
          category_code = excluded.category_code, received_at = excluded.received_at, channels = excluded.channels;
      insert into search_words (word)
      select distinct w from ticket_search s cross join unnest(tsvector_to_array(to_tsvector('simple', s.folded))) as w
      where s.ticket_id = any(ids) and length(w) between 3 and 20 and w ~ '^[a-z]+$'
      on conflict do nothing
    $$`.execute(db);
  await sql`create or replace function ticket_search_reports_inserted() returns trigger language plpgsql as $$
    begin perform ticket_search_refresh(array(select distinct ticket_id from new_rows)); return null; end $$`.execute(db);
  await sql`create index reports_ticket on reports (ticket_id)`.execute(db);
  await sql`drop index reports_ticket_order`.execute(db);
}
