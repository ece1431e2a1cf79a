import { sql, type Kysely } from 'kysely';
import { PREFIXED_MAX } from './0018_ticket_search.ts';
import * as m0029 from './0029_search_refresh_bounded.ts';

// Frozen: once landed, never edit this file; add a new numbered migration instead.
// The search documents (0018, 0027, 0029) partitioned by their ticket's month of receipt (UTC),
// so that a search reads the newest months first and stops once it has the newest matches it
// ranks (src/search/postgres-engine.ts), each month with an index a twelfth of a year's.
// Until now a search asked one GIN index for the matches of the last months (a lexeme per month
// in every tsvector, 0027) and, when those were fewer than it ranks, for all of them again; both
// lookups read the words' whole posting lists, and the second read every match in the heap to
// keep the newest: 7,719 heap reads and 37 ms for one search at 1,000,000 tickets whose last
// months held 758 matches; 2,051 reads and 5.5 ms month by month (bench/search.ts).
//   ticket_search           partitioned by range of received_at; primary key (ticket_id,
//                           received_at) (a partitioned table's keys include its partition key)
//   ticket_search_yYYYYmMM  one per month, [first day, first day of the next) in UTC
//   ticket_search_earlier   everything before the first month, ticket_search_later everything
//                           from the month after the last: no ticket is ever refused for want of
//                           a partition (a replay of old reports, a clock far ahead)
//   ticket_search_ranges    each partition's [lo, hi), the catch-alls' with -infinity/infinity:
//                           the walk a search takes, newest first
// ticket_search_partition(since, upto) adds the months from since's to upto's that are missing,
// moving the catch-alls' rows into them (ticket_search_split remakes either catch-all); the
// leader runs it every few hours for the months ahead, `search reindex` back to the oldest ticket
// (src/search/partitions.ts).
// The month lexemes of 0027 are left out of the documents: the partitions hold the same.
// A ticket whose received_at changes (an earlier report moved onto it) is a document in another
// month: the refresh deletes the old one in the same statement as it writes the new.

/** A timestamptz's month, its first instant in UTC, as SQL. */
const monthOf = (ts: string) => `date_trunc('month', ${ts}, 'UTC')`;
/** The first instant of the month after the month starting at `m`, in UTC, as SQL. */
const nextMonth = (m: string) => `((${m}) at time zone 'UTC' + interval '1 month') at time zone 'UTC'`;
/**
 * A timestamptz as a literal that reads back the same under any DateStyle and TimeZone (`%L` of a
 * timestamptz prints the session's zone abbreviation, and "IST" reads back as Israel's), as SQL.
 */
const utcText = (ts: string) => `to_char((${ts}) at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS"+00"')`;

/**
 * Remakes one catch-all partition (`catchall`, bounds `bounds`) with the month partitions from
 * `from_month` up to `to_month` (UTC month starts) beside it, their ranges listed, and moves the
 * documents it held into whichever partition now takes them. The caller has moved the catch-all's
 * own range first (ranges are unique at both ends).
 */
const SPLIT = sql.raw(`
  create or replace function ticket_search_split(catchall text, bounds text, from_month timestamptz, to_month timestamptz) returns integer language plpgsql as $$
  declare
    m timestamptz := from_month;
    added integer := 0;
  begin
    execute format('alter table ticket_search detach partition %I', catchall);
    execute format('alter table %I rename to %I', catchall, catchall || '_moving');
    while m < to_month loop
      execute format('create table %I partition of ticket_search for values from (%L) to (%L) with (fillfactor = 80)',
        'ticket_search_' || to_char(m at time zone 'UTC', '"y"YYYY"m"MM'), ${utcText('m')}, ${utcText(nextMonth('m'))});
      insert into ticket_search_ranges (lo, hi) values (m, ${nextMonth('m')});
      m := ${nextMonth('m')};
      added := added + 1;
    end loop;
    execute format('create table %I partition of ticket_search for values %s with (fillfactor = 80)', catchall, bounds);
    execute format('insert into ticket_search select * from %I', catchall || '_moving');
    execute format('drop table %I', catchall || '_moving');
    return added;
  end $$`);

const PARTITION = sql.raw(`
  create or replace function ticket_search_partition(since timestamptz, upto timestamptz) returns integer language plpgsql as $$
  declare
    first_month timestamptz;
    after_last timestamptz;
    from_month timestamptz := ${monthOf('since')};
    to_month timestamptz := ${nextMonth(monthOf('upto'))};
    added integer := 0;
  begin
    -- One at a time (the leader's job, a migration, a reindex). Detaching a catch-all locks the
    -- documents: searches and the writes of documents wait until this commits (milliseconds when
    -- the catch-all is empty, as it is every month but after a bulk load or import). The documents
    -- have no foreign key, so that nothing here locks tickets (writers lock tickets, then documents).
    lock table ticket_search_ranges in share row exclusive mode;
    select r.hi into first_month from ticket_search_ranges r where r.lo = '-infinity';
    select r.lo into after_last from ticket_search_ranges r where r.hi = 'infinity';
    if from_month < first_month then
      update ticket_search_ranges r set hi = from_month where r.lo = '-infinity';
      added := added + ticket_search_split('ticket_search_earlier', format('from (minvalue) to (%L)', ${utcText('from_month')}), from_month, first_month);
    end if;
    if to_month > after_last then
      update ticket_search_ranges r set lo = to_month where r.hi = 'infinity';
      added := added + ticket_search_split('ticket_search_later', format('from (%L) to (maxvalue)', ${utcText('to_month')}), after_last, to_month);
    end if;
    return added;
  end $$`);

/** 0029's rebuild, writing into the partitions: no month lexeme, and a document moved when its month changed. */
const REFRESH = sql`
  create or replace function ticket_search_refresh(ids integer[]) returns void language plpgsql as $$
  begin
    if coalesce(cardinality(ids), 0) = 0 then return; end if;
    -- The tickets as committed: a merge that moves a ticket's received time, committing while
    -- this runs, would otherwise leave its document in the old month beside the new one (the
    -- key is (ticket_id, received_at)). Each statement below reads after these locks.
    perform 1 from tickets where id = any(ids) order by id for share;
    -- A ticket received at another time than its document says: the document leaves that month.
    delete from ticket_search s using tickets t
    where t.id = any(ids) and s.ticket_id = t.id and s.received_at <> t.received_at;
    with b as materialized (
      select t.id, left(concat_ws(' ', t.code, t.title, t.address, c.name, a.name, (
          select string_agg(concat_ws(' ', r.code, r.address, r.text), ' ' order by r.received_at, r.id)
          from (select r0.code, r0.address, r0.text, r0.received_at, r0.id from reports r0
                where r0.ticket_id = t.id order by r0.received_at, r0.id limit ${sql.lit(m0029.REPORTS_IN_BODY)}) r)), 8000) as body,
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
          where length(w) <= ${sql.lit(PREFIXED_MAX)} and w ~ '^[a-z0-9]+$')),
        now(), d.status, d.merged, d.unit, d.area_code, d.category_code, d.received_at, d.channels
      from d
      on conflict (ticket_id, received_at) do update
        set body = excluded.body, folded = excluded.folded, tsv = excluded.tsv, updated_at = excluded.updated_at,
          status = excluded.status, merged = excluded.merged, unit = excluded.unit, area_code = excluded.area_code,
          category_code = excluded.category_code, channels = excluded.channels
        where (s.body, s.folded, s.tsv, s.status, s.merged, s.unit, s.area_code, s.category_code, s.channels)
          is distinct from (excluded.body, excluded.folded, excluded.tsv, excluded.status, excluded.merged, excluded.unit,
            excluded.area_code, excluded.category_code, excluded.channels))
    insert into search_words (word)
    select distinct w from d cross join unnest(tsvector_to_array(d.words)) as w
    where length(w) between 3 and 20 and w ~ '^[a-z]+$'
    on conflict do nothing;
  end $$`;

/** The columns of a search document, in table order (0018, 0027). */
const COLUMNS = 'ticket_id, body, folded, tsv, updated_at, status, merged, unit, area_code, category_code, received_at, channels';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`alter table ticket_search rename to ticket_search_unpartitioned`.execute(db);
  await sql`alter index ticket_search_pkey rename to ticket_search_unpartitioned_pkey`.execute(db);
  await sql`alter index ticket_search_tsv rename to ticket_search_unpartitioned_tsv`.execute(db);
  await sql`create table ticket_search (
    ticket_id integer not null,
    body text not null,
    folded text not null,
    tsv tsvector not null,
    updated_at timestamptz not null default now(),
    status text not null,
    merged boolean not null,
    unit text,
    area_code text,
    category_code text,
    received_at timestamptz not null,
    channels text[] not null,
    constraint ticket_search_pkey primary key (ticket_id, received_at)
  ) partition by range (received_at)`.execute(db);
  await sql`create table ticket_search_ranges (lo timestamptz primary key, hi timestamptz not null unique)`.execute(db);
  // The catch-alls meet at this month; the months every document is in are then added between them.
  const month = sql.lit((await sql.raw<{ m: string }>(`select ${utcText(monthOf('now()'))} as m`).execute(db)).rows[0]!.m);
  await sql`create table ticket_search_earlier partition of ticket_search for values from (minvalue) to (${month}) with (fillfactor = 80)`.execute(db);
  await sql`create table ticket_search_later partition of ticket_search for values from (${month}) to (maxvalue) with (fillfactor = 80)`.execute(db);
  await sql`insert into ticket_search_ranges (lo, hi) values ('-infinity', ${month}), (${month}, 'infinity')`.execute(db);
  await SPLIT.execute(db);
  await PARTITION.execute(db);
  await sql`select ticket_search_partition(coalesce((select min(received_at) from ticket_search_unpartitioned), now()), now() + interval '2 months')`.execute(db);
  // Copied without the month lexemes, then indexed (one GIN build per month is faster than
  // inserting into them).
  await sql.raw(`insert into ticket_search (${COLUMNS})
    select ${COLUMNS.replace('tsv', `ts_delete(tsv, array[chr(1) || 'r' || to_char(received_at at time zone 'UTC', 'YYYYMM')])`)}
    from ticket_search_unpartitioned`).execute(db);
  await sql`drop table ticket_search_unpartitioned`.execute(db);
  // A deleted ticket's document goes with it (0018's foreign key did it; see the partition
  // function for why there is none).
  await sql`create function ticket_search_tickets_deleted() returns trigger language plpgsql as $$
    begin delete from ticket_search s using old_rows o where s.ticket_id = o.id; return null; end $$`.execute(db);
  await sql`create trigger ticket_search_ticket_del after delete on tickets referencing old table as old_rows
    for each statement execute function ticket_search_tickets_deleted()`.execute(db);
  await sql`create index ticket_search_tsv on ticket_search using gin (tsv)`.execute(db);
  await REFRESH.execute(db);
  // The months' statistics now (searches read them, src/search/postgres-engine.ts), not at
  // autovacuum's next round.
  await sql`analyze ticket_search`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  // One table again, the month lexemes back in its documents, and 0029's functions.
  await sql`alter table ticket_search rename to ticket_search_partitioned`.execute(db);
  await sql`alter index ticket_search_pkey rename to ticket_search_partitioned_pkey`.execute(db);
  await sql`alter index ticket_search_tsv rename to ticket_search_partitioned_tsv`.execute(db);
  await sql`create table ticket_search (
    ticket_id integer primary key references tickets (id) on delete cascade,
    body text not null, folded text not null, tsv tsvector not null, updated_at timestamptz not null default now(),
    status text not null, merged boolean not null, unit text, area_code text, category_code text,
    received_at timestamptz not null, channels text[] not null) with (fillfactor = 80)`.execute(db);
  await sql.raw(`insert into ticket_search (${COLUMNS})
    select ${COLUMNS.replace('tsv', `tsv || array_to_tsvector(array[chr(1) || 'r' || to_char(received_at at time zone 'UTC', 'YYYYMM')])`)}
    from ticket_search_partitioned`).execute(db);
  await sql`create index ticket_search_tsv on ticket_search using gin (tsv)`.execute(db);
  await sql`drop table ticket_search_partitioned`.execute(db);
  await sql`drop table ticket_search_ranges`.execute(db);
  await sql`drop function ticket_search_partition(timestamptz, timestamptz)`.execute(db);
  await sql`drop function ticket_search_split(text, text, timestamptz, timestamptz)`.execute(db);
  await sql`drop trigger ticket_search_ticket_del on tickets`.execute(db);
  await sql`drop function ticket_search_tickets_deleted()`.execute(db);
  // 0029's refresh, as its own up writes it (after its down, which leaves 0027's).
  await m0029.down(db);
  await m0029.up(db);
}
