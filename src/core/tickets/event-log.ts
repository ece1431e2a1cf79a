import { sql, type RawBuilder } from 'kysely';
import { TICKET_PLACE_KEYS_MAX } from '../engine/text.ts';
import { jsonParam } from '../../db/records.ts';
import type { DbOrTx } from '../../db/schema.ts';
import type { DomainEvent } from '../events.ts';

export interface NewEvent {
  ticketId: number;
  type: string;
  actor: string;
  reason?: string | null;
  data?: Record<string, unknown>;
  public?: boolean;
}

/** `unitOf` (core/staff/policy.ts) of the row of table `tickets` (or its alias), in a query. */
export const unitSql = (table = 'tickets') => sql<string | null>`coalesce(${sql.ref(`${table}.dispatched_area`)}, ${sql.ref(`${table}.area_code`)})`;

/**
 * Held from the moment a transaction writes its events until it commits. Event ids come from a
 * sequence, which hands them out before commit: without it, two transactions could commit out
 * of id order, and a client resuming after the higher id (a `lastSeq`) would never see the
 * lower one. Under it, ids are given in commit order.
 */
const EVENT_ORDER_LOCK = 1022_0002;

/**
 * Appends events to the ticket's audit log and returns them as domain events (to publish after
 * commit). Call it last in the transaction: it serialises event writers until they commit.
 */
export async function appendEvents(db: DbOrTx, events: NewEvent[]): Promise<DomainEvent[]> {
  if (events.length === 0) return [];
  await sql`select pg_advisory_xact_lock(${EVENT_ORDER_LOCK})`.execute(db);
  // Insert and read the tickets' codes in one statement: one round trip less per report. The
  // rows go as one JSON value (see insertRecords), inserted in order, so their ids follow it.
  const rows = (await sql<{ id: number; ticket_id: number; type: string; actor: string; data: unknown; created_at: Date; code: string; unit: string | null }>`
    with e as (
      insert into ticket_events (ticket_id, type, actor, reason, data, public)
      select x.ticket_id, x.type, x.actor, x.reason, x.data, x.public
      from jsonb_to_recordset(cast(${jsonParam(events.map((e) => ({
        ticket_id: e.ticketId, type: e.type, actor: e.actor, reason: e.reason ?? null, data: e.data ?? {}, public: e.public ?? false,
      })))} as jsonb)) as x(ticket_id integer, type text, actor text, reason text, data jsonb, public boolean)
      returning id, ticket_id, type, actor, data, created_at)
    select e.id, e.ticket_id, e.type, e.actor, e.data, e.created_at, tickets.code, ${unitSql()} as unit
    from e join tickets on tickets.id = e.ticket_id
    order by e.id`.execute(db)).rows;
  return rows.map((r) => ({
    seq: Number(r.id), type: r.type, ticketId: r.ticket_id, ticketCode: r.code,
    areaCode: r.unit, actor: r.actor, data: r.data as Record<string, unknown>, at: r.created_at,
  }));
}

/**
 * `mergeKeys` in SQL: the place keys of jsonb array `a` (null counts as none), then those of
 * `b` it lacks, at most TICKET_PLACE_KEYS_MAX, first named first.
 */
export function mergedKeysSql(a: RawBuilder<unknown>, b: RawBuilder<unknown>): RawBuilder<string[]> {
  return sql`(select coalesce(jsonb_agg(k order by o), '[]'::jsonb) from (
    select k, min(o) as o from (
      select k, o from jsonb_array_elements_text(coalesce(${a}, '[]'::jsonb)) with ordinality as x(k, o)
      union all
      select k, 1000000 + o from jsonb_array_elements_text(coalesce(${b}, '[]'::jsonb)) with ordinality as y(k, o)) u
    group by k order by min(o) limit ${sql.lit(TICKET_PLACE_KEYS_MAX)}) m)`;
}

/** Recounts a ticket's reports and distinct reporters after a report joins or leaves. */
export async function recountTicket(db: DbOrTx, ticketId: number): Promise<void> {
  await recountTickets(db, [ticketId]);
}

/** A report that has just joined an existing ticket, for `countJoinedReports`. */
export interface JoinedReport { ticketId: number; reportId: number; citizenId: number | null }

/**
 * What `recountTickets` would find after `joined` were inserted onto their (existing) tickets,
 * from the counts the tickets hold: `report_count` grows by their number, `reporter_count` by
 * their reporters with no other report on the ticket (an anonymous report is a reporter of its
 * own, as there). It reads a reporter's reports on the ticket through (citizen_id, ticket_id),
 * not every report of the ticket: a report joins a 500-report ticket at the cost of joining a
 * one-report one (issue 17, bench/storm.ts). Adding to the row also counts what a concurrent batch
 * committed while this one waited for the row, which a recount's snapshot would miss.
 */
export async function countJoinedReports(db: DbOrTx, joined: JoinedReport[]): Promise<void> {
  if (joined.length === 0) return;
  const ids = joined.map((j) => j.reportId);
  await sql`
    update tickets set report_count = tickets.report_count + v.reports, reporter_count = tickets.reporter_count + v.reporters,
      updated_at = ${new Date()}
    from (
      select j.ticket_id, count(*)::int as reports,
        count(distinct coalesce(j.citizen_id, -j.report_id)) filter (where j.citizen_id is null or not exists (
          select 1 from reports r where r.citizen_id = j.citizen_id and r.ticket_id = j.ticket_id and r.id <> all(${ids}::int[])))::int as reporters
      from jsonb_to_recordset(cast(${jsonParam(joined.map((j) => ({ ticket_id: j.ticketId, report_id: j.reportId, citizen_id: j.citizenId })))} as jsonb))
        as j(ticket_id int, report_id int, citizen_id int)
      group by j.ticket_id) v
    where tickets.id = v.ticket_id`.execute(db);
}

/** `recountTicket` for several tickets in one statement. */
export async function recountTickets(db: DbOrTx, ticketIds: number[]): Promise<void> {
  if (ticketIds.length === 0) return;
  await db.updateTable('tickets')
    .set({
      report_count: sql`(select count(*) from reports where reports.ticket_id = tickets.id)`,
      reporter_count: sql`(select count(distinct coalesce(citizen_id, -id)) from reports where reports.ticket_id = tickets.id)`,
      updated_at: new Date(),
    })
    .where('id', 'in', ticketIds)
    .execute();
}
