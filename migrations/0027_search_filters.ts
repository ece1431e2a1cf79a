import { sql, type Kysely } from 'kysely';
import { PREFIXED_MAX } from './0018_ticket_search.ts';

// Frozen: once landed, never edit this file; add a new numbered migration instead.
// The search document carries what a search filters on (src/search/postgres-engine.ts), so that
// the matches of a search can be filtered and cut to the newest few before anything is ranked,
// without looking each one up in `tickets` (at 200,000 tickets a search whose words are common
// matched 1 ticket in 24: the index lookup was 2 ms, the 8,333 primary-key lookups for the
// filters 80 ms, bench/search.ts):
//   status, merged (merged_into is not null), unit (coalesce(dispatched_area, area_code): where
//   the ticket belongs, a ward officer's scope), area_code (located unit), category_code,
//   received_at, and channels (every channel its reports came on, sorted);
// and in its tsvector one lexeme for the month it was received (monthLexeme: chr(1), 'r',
// YYYYMM in UTC; no word of a text or a query can be that), so that a search can first ask the
// GIN index for its matches of the last months only: the index intersects the words' postings
// with the months' before any document is read, and the newest matches of common words are
// found without reading every older match (41,666 heap reads for one search at 1,000,000).
// And the 1-letter prefix of every word too (0018 began at 2 letters): a query word of one
// letter or digit ("thống nhất 2") was a prefix match, which GIN reads as the posting lists of
// every word beginning with it (86 ms for one search at 1,000,000 tickets); now it is one lexeme.
// Kept current in the writing transaction, as the documents are (0018): ticket_search_refresh
// fills them with the text; a ticket update that changes only these columns (a status change, a
// dispatch, a merge) copies them without rebuilding the text, and a report's channel is
// compared like its text. The table gets fillfactor 80 so that such updates stay on the page
// (HOT: no new entries in the GIN index for a status change).

/** Word prefixes from this many letters are lexemes of the documents (0018: 2). */
export const PREFIXED_MIN = 1;

/** The lexeme of a ticket's month of receipt in its document's tsvector (the refresh below writes the same). */
export const monthLexeme = (at: Date) => `\u0001r${at.toISOString().slice(0, 7).replace('-', '')}`;

const REFRESH_SQL = (withFilters: boolean) => sql`
  create or replace function ticket_search_refresh(ids integer[]) returns void language sql as $$
    insert into ticket_search (ticket_id, body, folded, tsv, updated_at${sql.raw(withFilters ? ', status, merged, unit, area_code, category_code, received_at, channels' : '')})
    select d.id, d.body, d.folded, to_tsvector('simple', d.folded) || to_tsvector('simple', d.body) || array_to_tsvector(array(
        select distinct left(w, n) from unnest(tsvector_to_array(to_tsvector('simple', d.folded))) as w
        cross join generate_series(${sql.raw(withFilters ? '1' : '2')}, length(w) - 1) as n
        where length(w) <= ${sql.lit(PREFIXED_MAX)} and w ~ '^[a-z0-9]+$'))${sql.raw(withFilters ? " || array_to_tsvector(array[chr(1) || 'r' || to_char(d.received_at at time zone 'UTC', 'YYYYMM')])" : '')},
      now()${sql.raw(withFilters ? ', d.status, d.merged, d.unit, d.area_code, d.category_code, d.received_at, d.channels' : '')}
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
      set body = excluded.body, folded = excluded.folded, tsv = excluded.tsv, updated_at = excluded.updated_at${sql.raw(withFilters ? `,
        status = excluded.status, merged = excluded.merged, unit = excluded.unit, area_code = excluded.area_code,
        category_code = excluded.category_code, received_at = excluded.received_at, channels = excluded.channels` : '')};
    insert into search_words (word)
    select distinct w from ticket_search s cross join unnest(tsvector_to_array(to_tsvector('simple', s.folded))) as w
    where s.ticket_id = any(ids) and length(w) between 3 and 20 and w ~ '^[a-z]+$'
    on conflict do nothing
  $$`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table ticket_search
    add column status text, add column merged boolean, add column unit text, add column area_code text,
    add column category_code text, add column received_at timestamptz, add column channels text[]`.execute(db);
  await sql`alter table ticket_search set (fillfactor = 80)`.execute(db);
  await REFRESH_SQL(true).execute(db);

  // A ticket's update: its text changed -> the whole document again (0018); only what a search
  // filters on changed -> those columns copied.
  await sql`create or replace function ticket_search_tickets_updated() returns trigger language plpgsql as $$
    begin
      perform ticket_search_refresh(array(
        select n.id from new_rows n join old_rows o on o.id = n.id
        where (n.code, n.title, n.address, n.category_code, n.area_code, n.received_at)
          is distinct from (o.code, o.title, o.address, o.category_code, o.area_code, o.received_at)));
      update ticket_search s
        set status = n.status, merged = n.merged_into is not null, unit = coalesce(n.dispatched_area, n.area_code)
        from new_rows n join old_rows o on o.id = n.id
        where s.ticket_id = n.id
          and (n.code, n.title, n.address, n.category_code, n.area_code, n.received_at)
            is not distinct from (o.code, o.title, o.address, o.category_code, o.area_code, o.received_at)
          and (n.status, n.merged_into is null, n.dispatched_area)
            is distinct from (o.status, o.merged_into is null, o.dispatched_area);
      return null;
    end $$`.execute(db);
  await sql`create or replace function ticket_search_reports_updated() returns trigger language plpgsql as $$
    begin
      perform ticket_search_refresh(array(
        select distinct x.ticket_id from new_rows n join old_rows o on o.id = n.id
        cross join lateral (values (n.ticket_id), (o.ticket_id)) as x(ticket_id)
        where (n.ticket_id, n.code, n.text, n.address, n.received_at, n.channel)
          is distinct from (o.ticket_id, o.code, o.text, o.address, o.received_at, o.channel)));
      return null;
    end $$`.execute(db);

  // Every document again (the month lexeme is in its tsvector), in batches of tickets, so a
  // large database builds no huge statement (1,000,000 documents: about 7 minutes, bench/search.ts).
  for (let after = 0; ;) {
    const ids = (await sql<{ id: number }>`select id from tickets where id > ${after} order by id limit 5000`.execute(db)).rows.map((r) => Number(r.id));
    if (ids.length === 0) break;
    await sql`select ticket_search_refresh(${ids}::integer[])`.execute(db);
    after = ids[ids.length - 1]!;
  }
  await sql`alter table ticket_search alter column status set not null, alter column merged set not null,
    alter column received_at set not null, alter column channels set not null`.execute(db);
  // No btree on received_at: the planner took it for searches it thought common and walked
  // hundreds of thousands of documents newest first (339 ms for one at 1,000,000 tickets).
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await REFRESH_SQL(false).execute(db);
  await sql`create or replace function ticket_search_tickets_updated() returns trigger language plpgsql as $$
    begin
      perform ticket_search_refresh(array(
        select n.id from new_rows n join old_rows o on o.id = n.id
        where (n.code, n.title, n.address, n.category_code, n.area_code)
          is distinct from (o.code, o.title, o.address, o.category_code, o.area_code)));
      return null;
    end $$`.execute(db);
  await sql`create or replace function ticket_search_reports_updated() returns trigger language plpgsql as $$
    begin
      perform ticket_search_refresh(array(
        select distinct x.ticket_id from new_rows n join old_rows o on o.id = n.id
        cross join lateral (values (n.ticket_id), (o.ticket_id)) as x(ticket_id)
        where (n.ticket_id, n.code, n.text, n.address, n.received_at)
          is distinct from (o.ticket_id, o.code, o.text, o.address, o.received_at)));
      return null;
    end $$`.execute(db);
  await sql`alter table ticket_search reset (fillfactor)`.execute(db);
  await sql`alter table ticket_search drop column status, drop column merged, drop column unit, drop column area_code,
    drop column category_code, drop column received_at, drop column channels`.execute(db);
}
