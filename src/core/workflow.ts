import type { Attachment, Db, DbOrTx } from '../db/schema.ts';
import { AppError } from './errors.ts';
import type { DomainEvent } from './events.ts';
import { appendEvents, type NewEvent } from './tickets.ts';
import { enqueue } from '../db/jobs.ts';
import type { Role } from './users.ts';
import { canAccessArea } from './sessions.ts';

/** Who acts: a signed-in user (the session user satisfies this). */
export interface Actor {
  id: number;
  username: string;
  role: Role;
  areaCodes: string[];
}

/** Job that sends one queued reply or notification through its channel. */
export const OUTBOUND_JOB = 'outbound.send';

const who = (a: Actor) => `user:${a.username}`;

/** Allowed status changes, and who may make them. */
const TRANSITIONS: Record<string, { from: string[]; roles: Role[] }> = {
  triaged: { from: ['new'], roles: ['agent', 'supervisor', 'admin'] },
  dispatched: { from: ['new', 'triaged', 'dispatched'], roles: ['agent', 'supervisor', 'admin'] },
  acknowledged: { from: ['dispatched'], roles: ['ward_officer', 'supervisor', 'admin'] },
  in_progress: { from: ['acknowledged', 'dispatched'], roles: ['ward_officer', 'supervisor', 'admin'] },
  resolved: { from: ['dispatched', 'acknowledged', 'in_progress'], roles: ['ward_officer', 'supervisor', 'admin'] },
  closed: { from: ['resolved'], roles: ['agent', 'supervisor', 'admin'] },
  rejected: { from: ['new', 'triaged', 'dispatched'], roles: ['agent', 'supervisor', 'admin'] },
};

export const STATUS_EVENT: Record<string, string> = {
  triaged: 'ticket.triaged', dispatched: 'ticket.dispatched', acknowledged: 'ticket.acknowledged',
  in_progress: 'ticket.started', resolved: 'ticket.resolved', closed: 'ticket.closed', rejected: 'ticket.rejected',
};

async function lockTicket(db: DbOrTx, ticketId: number) {
  const t = await db.selectFrom('tickets').selectAll().where('id', '=', ticketId).forUpdate().executeTakeFirst();
  if (!t) throw new AppError('ticket_not_found', 404, `ticket ${ticketId} not found`, 'Không tìm thấy hồ sơ.');
  return t;
}

function assertArea(actor: Actor, areaCode: string | null) {
  if (!canAccessArea(actor, areaCode)) {
    throw new AppError('ticket_forbidden', 403, 'this ticket is outside your units', 'Hồ sơ này không thuộc địa bàn của bạn.');
  }
}

/** Hook for code that must follow every status change (SLA timers); set at wiring time. */
export type StatusHook = (tx: DbOrTx, ticketId: number) => Promise<DomainEvent[] | void>;

/**
 * Moves a ticket to a new status if the current status and the actor's role allow it,
 * stamping the time and appending the event; returns the events to publish after commit.
 */
export async function changeStatus(
  db: Db, ticketId: number, actor: Actor, to: keyof typeof TRANSITIONS,
  opts: { note?: string; data?: Record<string, unknown>; attachments?: Attachment[]; onStatus?: StatusHook } = {},
): Promise<DomainEvent[]> {
  return db.transaction().execute(async (tx) => {
    const t = await lockTicket(tx, ticketId);
    assertArea(actor, t.dispatched_area ?? t.area_code);
    const rule = TRANSITIONS[to]!;
    if (!rule.roles.includes(actor.role)) throw new AppError('forbidden', 403, `role ${actor.role} cannot set ${to}`, 'Bạn không có quyền thực hiện thao tác này.');
    if (!rule.from.includes(t.status)) {
      throw new AppError('ticket_status_invalid', 409, `cannot go from ${t.status} to ${to}`, `Không thể chuyển hồ sơ từ trạng thái hiện tại sang "${to}".`, { from: t.status, to });
    }
    const now = new Date();
    await tx.updateTable('tickets').set({
      status: to, updated_at: now,
      ...(to === 'acknowledged' ? { acknowledged_at: now } : {}),
      ...(to === 'resolved' ? { resolved_at: now } : {}),
      ...(to === 'closed' || to === 'rejected' ? { closed_at: now } : {}),
      ...(to === 'resolved' || to === 'closed' || to === 'rejected' ? { claimed_by: null, claimed_at: null } : {}),
    }).where('id', '=', ticketId).execute();
    const events: NewEvent[] = [{
      ticketId, type: STATUS_EVENT[to]!, actor: who(actor), reason: opts.note ?? null, public: to !== 'triaged',
      data: { from: t.status, to, ...(opts.attachments?.length ? { attachments: opts.attachments } : {}), ...opts.data },
    }];
    if (to === 'resolved') await queueNotifications(tx, ticketId, actor, opts.note);
    const published = await appendEvents(tx, events);
    const more = opts.onStatus ? await opts.onStatus(tx, ticketId) : undefined;
    return [...published, ...(more ?? [])];
  });
}

/** Tells every reporter of the ticket, on their own channel, that it has been handled. */
async function queueNotifications(tx: DbOrTx, ticketId: number, actor: Actor, note: string | undefined) {
  const reports = await tx.selectFrom('reports').innerJoin('tickets', 'tickets.id', 'reports.ticket_id')
    .select(['reports.id', 'reports.channel', 'reports.code', 'tickets.code as ticket_code'])
    .where('reports.ticket_id', '=', ticketId).execute();
  if (!reports.length) return;
  const rows = await tx.insertInto('outbound_messages').values(reports.map((r) => ({
    ticket_id: ticketId, report_id: r.id, channel: r.channel, kind: 'resolved', created_by: actor.id,
    body: `Phản ánh ${r.code} của bạn đã được xử lý xong.${note ? ` Kết quả: ${note}` : ''} Cảm ơn bạn đã đồng hành cùng thành phố.`,
  }))).returning('id').execute();
  for (const r of rows) await enqueue(tx, OUTBOUND_JOB, { id: r.id }, { key: `outbound:${r.id}` });
}

/** Claims a ticket for an agent; a second agent is told who has it. Two claims at once: one wins. */
export async function claimTicket(db: Db, ticketId: number, actor: Actor): Promise<DomainEvent[]> {
  return db.transaction().execute(async (tx) => {
    const t = await lockTicket(tx, ticketId);
    assertArea(actor, t.area_code);
    if (t.claimed_by !== null && t.claimed_by !== actor.id) {
      const holder = await tx.selectFrom('users').select(['username', 'display_name']).where('id', '=', t.claimed_by).executeTakeFirst();
      throw new AppError('ticket_claimed', 409, `already claimed by ${holder?.username ?? t.claimed_by}`,
        `Hồ sơ đang được ${holder?.display_name ?? 'người khác'} xử lý.`, { by: holder?.username ?? null });
    }
    if (t.claimed_by === actor.id) return [];
    await tx.updateTable('tickets').set({ claimed_by: actor.id, claimed_at: new Date() }).where('id', '=', ticketId).execute();
    return appendEvents(tx, [{ ticketId, type: 'ticket.claimed', actor: who(actor), data: { by: actor.username } }]);
  });
}

/** Releases a claim (the holder, or a supervisor taking it back). */
export async function releaseTicket(db: Db, ticketId: number, actor: Actor): Promise<DomainEvent[]> {
  return db.transaction().execute(async (tx) => {
    const t = await lockTicket(tx, ticketId);
    if (t.claimed_by === null) return [];
    if (t.claimed_by !== actor.id && actor.role !== 'supervisor' && actor.role !== 'admin') {
      throw new AppError('ticket_claimed', 409, 'claimed by someone else', 'Hồ sơ đang được người khác xử lý.');
    }
    await tx.updateTable('tickets').set({ claimed_by: null, claimed_at: null }).where('id', '=', ticketId).execute();
    return appendEvents(tx, [{ ticketId, type: 'ticket.released', actor: who(actor), data: {} }]);
  });
}

export interface TicketChanges {
  category?: string;
  areaCode?: string;
  priority?: 'low' | 'normal' | 'high' | 'urgent';
}

/** An agent corrects category, unit or priority; the first complete triage moves new -> triaged. */
export async function updateTicket(db: Db, ticketId: number, actor: Actor, changes: TicketChanges, onStatus?: StatusHook): Promise<DomainEvent[]> {
  if (actor.role === 'ward_officer') throw new AppError('forbidden', 403, 'ward officers cannot re-triage', 'Bạn không có quyền thực hiện thao tác này.');
  return db.transaction().execute(async (tx) => {
    const t = await lockTicket(tx, ticketId);
    const set: Record<string, unknown> = {};
    const data: Record<string, unknown> = {};
    if (changes.category !== undefined && changes.category !== t.category_code) {
      const c = await tx.selectFrom('categories').select(['code', 'department_code']).where('code', '=', changes.category).executeTakeFirst();
      if (!c) throw new AppError('category_unknown', 422, `unknown category ${changes.category}`, 'Lĩnh vực không hợp lệ.');
      set.category_code = c.code;
      set.department_code = c.department_code;
      data.category = { from: t.category_code, to: c.code };
    }
    if (changes.areaCode !== undefined && changes.areaCode !== t.area_code) {
      const a = await tx.selectFrom('areas').select('code').where('code', '=', changes.areaCode).executeTakeFirst();
      if (!a) throw new AppError('area_unknown', 422, `unknown area ${changes.areaCode}`, 'Địa bàn không hợp lệ.');
      set.area_code = a.code;
      data.area = { from: t.area_code, to: a.code };
    }
    if (changes.priority !== undefined && changes.priority !== t.priority) {
      if (!['low', 'normal', 'high', 'urgent'].includes(changes.priority)) throw new AppError('priority_invalid', 422, 'priority must be low, normal, high or urgent', 'Mức ưu tiên không hợp lệ.');
      set.priority = changes.priority;
      data.priority = { from: t.priority, to: changes.priority };
    }
    if (Object.keys(set).length === 0) return [];
    const category = (set.category_code as string | undefined) ?? t.category_code;
    const area = (set.area_code as string | undefined) ?? t.area_code;
    const triaged = t.status === 'new' && category !== null && area !== null;
    await tx.updateTable('tickets').set({
      ...set, updated_at: new Date(), needs_triage: category === null || area === null,
      ...(triaged ? { status: 'triaged' } : {}),
    }).where('id', '=', ticketId).execute();
    const events = await appendEvents(tx, [
      { ticketId, type: 'ticket.updated', actor: who(actor), data },
      ...(triaged ? [{ ticketId, type: 'ticket.triaged', actor: who(actor), data: { from: 'new', to: 'triaged' } }] : []),
    ]);
    // A new category or priority can move the deadlines; the hook re-plans the timers.
    const more = onStatus ? await onStatus(tx, ticketId) : undefined;
    return [...events, ...(more ?? [])];
  });
}

/** Sends the ticket to the ward force of a unit, with instructions; the unit must have an officer. */
export async function dispatchTicket(db: Db, ticketId: number, actor: Actor, opts: { areaCode?: string; instructions?: string; onStatus?: StatusHook }): Promise<DomainEvent[]> {
  const t = await db.selectFrom('tickets').select(['area_code']).where('id', '=', ticketId).executeTakeFirst();
  if (!t) throw new AppError('ticket_not_found', 404, `ticket ${ticketId} not found`, 'Không tìm thấy hồ sơ.');
  const area = opts.areaCode ?? t.area_code;
  if (!area) throw new AppError('dispatch_area_missing', 422, 'the ticket has no unit; set one first', 'Hồ sơ chưa có địa bàn, vui lòng chọn phường/xã trước khi chuyển.');
  const officers = await db.selectFrom('users').select('id').where('role', '=', 'ward_officer').where('disabled', '=', false)
    .where((eb) => eb(eb.fn('jsonb_exists', [eb.ref('area_codes'), eb.val(area)]), '=', true)).limit(1).execute();
  if (officers.length === 0) {
    throw new AppError('dispatch_no_officer', 422, `no ward officer is assigned to area ${area}`, 'Phường/xã này chưa có cán bộ nhận nhiệm vụ trên hệ thống.', { area });
  }
  await db.updateTable('tickets').set({ dispatched_area: area, dispatched_at: new Date(), area_code: area }).where('id', '=', ticketId).execute();
  return changeStatus(db, ticketId, actor, 'dispatched', { note: opts.instructions, data: { area, instructions: opts.instructions ?? null }, onStatus: opts.onStatus });
}

/** An internal note on the ticket (never shown to citizens). */
export async function addNote(db: Db, ticketId: number, actor: Actor, text: string): Promise<DomainEvent[]> {
  const body = text.trim();
  if (!body) throw new AppError('note_empty', 422, 'note text is required', 'Vui lòng nhập nội dung ghi chú.');
  if (body.length > 4000) throw new AppError('note_too_long', 422, 'note is longer than 4000 characters', 'Ghi chú quá dài.');
  return db.transaction().execute(async (tx) => {
    const t = await lockTicket(tx, ticketId);
    assertArea(actor, t.dispatched_area ?? t.area_code);
    return appendEvents(tx, [{ ticketId, type: 'ticket.note', actor: who(actor), data: { text: body } }]);
  });
}

/** Queues an answer to the citizens of the ticket (or one report's citizen) on the channel they used. */
export async function replyToCitizens(db: Db, ticketId: number, actor: Actor, text: string, reportId?: number): Promise<DomainEvent[]> {
  const body = text.trim();
  if (!body) throw new AppError('reply_empty', 422, 'reply text is required', 'Vui lòng nhập nội dung trả lời.');
  if (body.length > 2000) throw new AppError('reply_too_long', 422, 'reply is longer than 2000 characters', 'Nội dung trả lời quá dài.');
  return db.transaction().execute(async (tx) => {
    const t = await lockTicket(tx, ticketId);
    assertArea(actor, t.area_code);
    let q = tx.selectFrom('reports').select(['id', 'channel', 'code']).where('ticket_id', '=', ticketId);
    if (reportId !== undefined) q = q.where('id', '=', reportId);
    const reports = await q.execute();
    if (!reports.length) throw new AppError('report_not_found', 404, 'no such report on this ticket', 'Không tìm thấy phản ánh.');
    const rows = await tx.insertInto('outbound_messages').values(reports.map((r) => ({
      ticket_id: ticketId, report_id: r.id, channel: r.channel, kind: 'reply', body, created_by: actor.id,
    }))).returning('id').execute();
    for (const r of rows) await enqueue(tx, OUTBOUND_JOB, { id: r.id }, { key: `outbound:${r.id}` });
    return appendEvents(tx, [{ ticketId, type: 'ticket.replied', actor: who(actor), public: true, data: { text: body, reports: reports.map((r) => r.code) } }]);
  });
}
