import { jsonParam } from '../../db/records.ts';
import { sql } from 'kysely';
import type { Db, DbOrTx } from '../../db/schema.ts';
import type { Reason } from '../../wire/staff-api.ts';
import { newCode } from './codes.ts';
import { AppError } from '../errors.ts';
import type { DomainEvent } from '../events.ts';
import { cellOf } from '../places/geo.ts';
import { clip, mergeKeys } from '../engine/text.ts';
import { storedKeys, WORDS_REPORTS_MAX } from '../engine/grouping.ts';
import { isOpen } from './statuses.ts';
import { assertCan } from '../staff/authorize.ts';
import { actorName, type Actor } from '../staff/policy.ts';
import { appendEvents, mergedKeysSql, recountTicket } from './event-log.ts';
import { onStatusChanged } from '../sla/sla.ts';
import { staffText } from '../staff/staff-text.ts';

/** A ticket's place keys again from its reports (the first ones, up to the cap), after one left it. */
async function restorePlaceKeys(tx: DbOrTx, ticketId: number): Promise<void> {
  const reports = await tx.selectFrom('reports').select(['address', 'text', 'place_keys']).where('ticket_id', '=', ticketId).orderBy('id').limit(WORDS_REPORTS_MAX * 4).execute();
  const keys = reports.reduce<string[]>((all, r) => mergeKeys(all, storedKeys(r)), []);
  await tx.updateTable('tickets').set({ place_keys: jsonParam(keys) }).where('id', '=', ticketId).execute();
}

/**
 * An agent undoes a grouping: the report leaves its ticket and opens a new one of its own.
 * Both tickets' logs record who did it and why.
 */
export async function moveReportToNewTicket(db: Db, reportId: number, by: Actor, why: string): Promise<{ ticketId: number; ticketCode: string; events: DomainEvent[] }> {
  const reason = staffText('reason', why, true);
  assertCan(by, 'report.move');
  const actor = actorName(by);
  return db.transaction().execute(async (tx) => {
    const report = await tx.selectFrom('reports').selectAll().where('id', '=', reportId).forUpdate().executeTakeFirst();
    if (!report) throw new AppError('report_not_found', 404, `report ${reportId} not found`, 'Không tìm thấy phản ánh.');
    const old = await tx.selectFrom('tickets').selectAll().where('id', '=', report.ticket_id).forUpdate().executeTakeFirstOrThrow();
    if (old.report_count <= 1) throw new AppError('report_alone', 409, 'the report is the only one on its ticket', 'Phản ánh này là phản ánh duy nhất của hồ sơ.');
    const code = newCode('TK');
    const ticket = await tx.insertInto('tickets').values({
      code, status: 'new', category_code: report.category_code ?? old.category_code, area_code: report.area_code ?? old.area_code,
      department_code: old.department_code, title: clip(report.text, 140), lat: report.lat, lng: report.lng, address: report.address,
      needs_triage: true, received_at: report.received_at, last_report_at: report.received_at,
      cell: report.lat !== null && report.lng !== null ? cellOf(report.lat, report.lng) : null,
      triage_due_at: old.triage_due_at, due_at: old.due_at, place_keys: jsonParam(storedKeys(report)),
    }).returning('id').executeTakeFirstOrThrow();
    const reasons = [...(report.reasons as Reason[]), { step: 'agent', code: 'moved_to_new_ticket', message: `${actor}: ${reason}` }];
    await tx.updateTable('reports').set({ ticket_id: ticket.id, relation: 'new', score: 0, reasons: jsonParam(reasons) }).where('id', '=', reportId).execute();
    await recountTicket(tx, old.id);
    await recountTicket(tx, ticket.id);
    await restorePlaceKeys(tx, old.id);
    await onStatusChanged(tx, ticket.id);
    const events = await appendEvents(tx, [
      { ticketId: old.id, type: 'report.moved', actor, reason, data: { report: report.code, to: code } },
      { ticketId: ticket.id, type: 'ticket.created', actor, reason, public: true, data: { report: report.code, split_from: old.code } },
    ]);
    return { ticketId: ticket.id, ticketCode: code, events };
  });
}

/** An agent merges one ticket into another: every report moves, the source closes and points at the target. */
export async function mergeTickets(db: Db, sourceId: number, targetId: number, by: Actor, why: string): Promise<{ events: DomainEvent[] }> {
  const reason = staffText('reason', why, true);
  assertCan(by, 'ticket.merge');
  const actor = actorName(by);
  if (sourceId === targetId) throw new AppError('merge_same_ticket', 422, 'a ticket cannot be merged into itself', 'Không thể gộp hồ sơ vào chính nó.');
  return db.transaction().execute(async (tx) => {
    const rows = await tx.selectFrom('tickets').selectAll().where('id', 'in', [sourceId, targetId]).orderBy('id').forUpdate().execute();
    const source = rows.find((r) => r.id === sourceId);
    const target = rows.find((r) => r.id === targetId);
    if (!source || !target) throw new AppError('ticket_not_found', 404, 'ticket not found', 'Không tìm thấy hồ sơ.');
    if (source.merged_into || target.merged_into) throw new AppError('ticket_already_merged', 409, 'one of the tickets was already merged', 'Hồ sơ đã được gộp trước đó.');
    if (!isOpen(target.status)) {
      throw new AppError('ticket_closed', 409, 'cannot merge into a closed ticket', 'Không thể gộp vào hồ sơ đã đóng.');
    }
    const moved = await tx.updateTable('reports').set({ ticket_id: targetId }).where('ticket_id', '=', sourceId).returning('code').execute();
    await tx.updateTable('tickets').set({ merged_into: targetId, status: 'closed', closed_at: new Date(), updated_at: new Date() }).where('id', '=', sourceId).execute();
    const earliest = source.received_at < target.received_at ? source.received_at : target.received_at;
    await tx.updateTable('tickets').set({ received_at: earliest, place_keys: mergedKeysSql(sql`tickets.place_keys`, sql`${jsonParam(source.place_keys ?? [])}::jsonb`) })
      .where('id', '=', targetId).execute();
    await recountTicket(tx, sourceId);
    await recountTicket(tx, targetId);
    const events = await appendEvents(tx, [
      { ticketId: sourceId, type: 'ticket.merged', actor, reason, public: true, data: { into: target.code, reports: moved.map((m) => m.code) } },
      { ticketId: targetId, type: 'ticket.absorbed', actor, reason, data: { from: source.code, reports: moved.map((m) => m.code) } },
    ]);
    return { events };
  });
}
