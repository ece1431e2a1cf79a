import { sql, type Kysely } from 'kysely';

// Frozen: once landed, never edit this file; add a new numbered migration instead.
// Ticket search (src/search/postgres-engine.ts): one search document per ticket, kept by
// triggers in the transaction that writes the ticket or its reports, so a search never misses a
// committed ticket and no code path can forget to index. Statement-level triggers with
// transition tables: the intake batch (100 reports in one INSERT) refreshes its tickets once.
//   body    what is searched, as written: codes, title, address, category and unit names, the
//           reports' codes, addresses and words (the 50 first reports; capped at 8,000 characters)
//   folded  body in lower case without diacritics (unaccent, and đ -> d, which some unaccent
//           rule files miss): "ngap nuoc" finds "Ngập nước"
//   tsv     'simple' tokens of folded and of body: unaccented words match, accented words
//           matching as typed rank first (there is no Vietnamese dictionary in PostgreSQL);
//           and every prefix of 2+ letters of each folded word (up to PREFIXED_MAX letters), so
//           that a search by word prefix looks up exact lexemes: GIN reads a prefix query
//           (`nguyen:*`) as the whole posting list of every matching word, which took most of
//           a search's time at 1,000,000 tickets (bench/search.ts)
// search_words: the folded words (3 to 20 letters) of every document, with a GIN trigram index,
// for typos: a word no document has ("cannh") is replaced by the most similar known words
// ("canh", "cann") and the full-text search runs again. A trigram index on whole documents was
// measured first: common Vietnamese syllables share trigrams with most documents, and every
// search that fell back to it rechecked a large share of the table (seconds at 20,000 tickets).

/** Words up to this long get their prefixes indexed (src/search/postgres-engine.ts reads the same). */
export const PREFIXED_MAX = 20;

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create table ticket_search (
    ticket_id integer primary key references tickets (id) on delete cascade,
    body text not null,
    folded text not null,
    tsv tsvector not null,
    updated_at timestamptz not null default now())`.execute(db);
  await sql`create index ticket_search_tsv on ticket_search using gin (tsv)`.execute(db);
  await sql`create table search_words (word text primary key)`.execute(db);
  await sql`create index search_words_trgm on search_words using gin (word gin_trgm_ops)`.execute(db);

  await sql`create function ticket_search_refresh(ids integer[]) returns void language sql as $$
    insert into ticket_search (ticket_id, body, folded, tsv, updated_at)
    select d.id, d.body, d.folded, to_tsvector('simple', d.folded) || to_tsvector('simple', d.body) || array_to_tsvector(array(
        select distinct left(w, n) from unnest(tsvector_to_array(to_tsvector('simple', d.folded))) as w
        cross join generate_series(2, length(w) - 1) as n
        where length(w) <= ${sql.lit(PREFIXED_MAX)} and w ~ '^[a-z0-9]+$')), now()
    from (
      select b.id, b.body, translate(unaccent(lower(b.body)), 'đ', 'd') as folded
      from (
        select t.id, left(concat_ws(' ', t.code, t.title, t.address, c.name, a.name, (
          select string_agg(concat_ws(' ', r.code, r.address, r.text), ' ' order by r.received_at, r.id)
          from (select r0.code, r0.address, r0.text, r0.received_at, r0.id from reports r0
                where r0.ticket_id = t.id order by r0.received_at, r0.id limit 50) r)), 8000) as body
        from tickets t
        left join categories c on c.code = t.category_code
        left join areas a on a.code = t.area_code
        where t.id = any(ids)) b) d
    on conflict (ticket_id) do update
      set body = excluded.body, folded = excluded.folded, tsv = excluded.tsv, updated_at = excluded.updated_at;
    insert into search_words (word)
    select distinct w from ticket_search s cross join unnest(tsvector_to_array(to_tsvector('simple', s.folded))) as w
    where s.ticket_id = any(ids) and length(w) between 3 and 20 and w ~ '^[a-z]+$'
    on conflict do nothing
  $$`.execute(db);

  // One trigger per event: PostgreSQL allows transition tables only on single-event triggers
  // without column lists, so the update triggers compare old and new rows themselves.
  await sql`create function ticket_search_tickets_inserted() returns trigger language plpgsql as $$
    begin perform ticket_search_refresh(array(select id from new_rows)); return null; end $$`.execute(db);
  await sql`create function ticket_search_tickets_updated() returns trigger language plpgsql as $$
    begin
      perform ticket_search_refresh(array(
        select n.id from new_rows n join old_rows o on o.id = n.id
        where (n.code, n.title, n.address, n.category_code, n.area_code)
          is distinct from (o.code, o.title, o.address, o.category_code, o.area_code)));
      return null;
    end $$`.execute(db);
  await sql`create function ticket_search_reports_inserted() returns trigger language plpgsql as $$
    begin perform ticket_search_refresh(array(select distinct ticket_id from new_rows)); return null; end $$`.execute(db);
  await sql`create function ticket_search_reports_updated() returns trigger language plpgsql as $$
    begin
      perform ticket_search_refresh(array(
        select distinct x.ticket_id from new_rows n join old_rows o on o.id = n.id
        cross join lateral (values (n.ticket_id), (o.ticket_id)) as x(ticket_id)
        where (n.ticket_id, n.code, n.text, n.address, n.received_at)
          is distinct from (o.ticket_id, o.code, o.text, o.address, o.received_at)));
      return null;
    end $$`.execute(db);
  await sql`create function ticket_search_reports_deleted() returns trigger language plpgsql as $$
    begin perform ticket_search_refresh(array(select distinct ticket_id from old_rows)); return null; end $$`.execute(db);

  await sql`create trigger ticket_search_ins after insert on tickets referencing new table as new_rows
    for each statement execute function ticket_search_tickets_inserted()`.execute(db);
  await sql`create trigger ticket_search_upd after update on tickets referencing old table as old_rows new table as new_rows
    for each statement execute function ticket_search_tickets_updated()`.execute(db);
  await sql`create trigger ticket_search_ins after insert on reports referencing new table as new_rows
    for each statement execute function ticket_search_reports_inserted()`.execute(db);
  await sql`create trigger ticket_search_upd after update on reports referencing old table as old_rows new table as new_rows
    for each statement execute function ticket_search_reports_updated()`.execute(db);
  await sql`create trigger ticket_search_del after delete on reports referencing old table as old_rows
    for each statement execute function ticket_search_reports_deleted()`.execute(db);

  // Where the Meilisearch engine has got to in the event log (ticket_events.id, given in
  // commit order): its indexing job resumes from here after a crash or an outage.
  await sql`create table search_cursors (
    engine text primary key,
    last_event_id bigint not null default 0,
    updated_at timestamptz not null default now())`.execute(db);

  // Tickets from before: in batches, so a large database does not build one huge statement.
  for (let after = 0; ;) {
    const ids = (await sql<{ id: number }>`select id from tickets where id > ${after} order by id limit 5000`.execute(db)).rows.map((r) => Number(r.id));
    if (ids.length === 0) break;
    await sql`select ticket_search_refresh(${ids}::integer[])`.execute(db);
    after = ids[ids.length - 1]!;
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table if exists search_cursors`.execute(db);
  await sql`drop trigger if exists ticket_search_ins on tickets`.execute(db);
  await sql`drop trigger if exists ticket_search_upd on tickets`.execute(db);
  await sql`drop trigger if exists ticket_search_ins on reports`.execute(db);
  await sql`drop trigger if exists ticket_search_upd on reports`.execute(db);
  await sql`drop trigger if exists ticket_search_del on reports`.execute(db);
  for (const f of ['tickets_inserted', 'tickets_updated', 'reports_inserted', 'reports_updated', 'reports_deleted']) {
    await sql`drop function if exists ${sql.raw(`ticket_search_${f}`)}()`.execute(db);
  }
  await sql`drop function if exists ticket_search_refresh(integer[])`.execute(db);
  await sql`drop table if exists ticket_search`.execute(db);
  await sql`drop table if exists search_words`.execute(db);
}
