import { sql, type RawBuilder } from 'kysely';
import { TICKET_PLACE_KEYS_MAX } from '../engine/text.ts';
import { jsonParam } from '../../db/records.ts';
import type { DbOrTx } from '../../db/schema.ts';
import type { DomainEvent } from '../events.ts';

export const TICKET_STATUSES = ['new', 'triaged', 'dispatched', 'acknowledged', 'in_progress', 'resolved', 'closed', 'rejected'] as const;
export type TicketStatus = (typeof TICKET_STATUSES)[number];

/** What residents read for each status. */
export const STATUS_VI: Record<string, string> = {
  received: 'Đã tiếp nhận, đang xử lý',
  new: 'Mới tiếp nhận',
  triaged: 'Đã phân loại',
  dispatched: 'Đã chuyển đơn vị xử lý',
  acknowledged: 'Đơn vị đã nhận',
  in_progress: 'Đang xử lý tại hiện trường',
  resolved: 'Đã xử lý xong',
  closed: 'Đã đóng',
  rejected: 'Không thuộc thẩm quyền / từ chối',
};

/** Event types shown on the public tracking page, with their Vietnamese wording. */
export const PUBLIC_EVENT_VI: Record<string, string> = {
  'report.received': 'Đã nhận phản ánh',
  'ticket.created': 'Đã tạo hồ sơ xử lý',
  'report.grouped': 'Gộp với phản ánh cùng sự việc',
  'ticket.routed': 'Đã xác định đơn vị phụ trách',
  'ticket.status_changed': 'Cập nhật trạng thái',
  'ticket.dispatched': 'Đã chuyển đơn vị xử lý',
  'ticket.resolved': 'Đã xử lý xong',
  'ticket.merged': 'Gộp vào hồ sơ cùng sự việc',
  'ticket.acknowledged': 'Đơn vị xử lý đã nhận nhiệm vụ',
  'ticket.started': 'Đang xử lý tại hiện trường',
  'ticket.replied': 'Trả lời từ Tổng đài 1022',
  'ticket.closed': 'Đã đóng hồ sơ',
  'ticket.rejected': 'Không thuộc thẩm quyền xử lý',
};

export interface NewEvent {
  ticketId: number;
  type: string;
  actor: string;
  reason?: string | null;
  data?: Record<string, unknown>;
  public?: boolean;
}

/**
 * The unit a ticket belongs to: the one it was dispatched to, else the one it lies in. Who may
 * read or act on it, which ward room its live events go to, what a reconnecting client is
 * replayed and which tasks a ward officer lists all go by this one rule. A dispatched ticket
 * stays with its ward force until it is dispatched again, whatever its located unit says.
 */
export function unitOf(t: { area_code: string | null; dispatched_area: string | null }): string | null {
  return t.dispatched_area ?? t.area_code;
}

/** `unitOf` of the row of table `tickets` (or its alias) in a query. */
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
