import type { Db, DbOrTx } from '../../db/schema.ts';
import type { Attachment } from '../../wire/staff-api.ts';
import { AppError } from '../errors.ts';
import type { DomainEvent } from '../events.ts';
import { appendEvents } from './event-log.ts';
import { staffText } from '../staff/staff-text.ts';
import { queueOutbound, type Notices } from './outbound.ts';
import { assertCan } from '../staff/authorize.ts';
import { actorName, can, TRANSITIONS, type Actor } from '../staff/policy.ts';
import { isPriority, STATUS_EVENT, type Priority } from './statuses.ts';

export { OUTBOUND_JOB } from './outbound.ts';

/** A status a ticket can be moved to. */
export type TargetStatus = keyof typeof TRANSITIONS;

type TicketRow = Awaited<ReturnType<typeof lockTicket>>;

async function lockTicket(db: DbOrTx, ticketId: number) {
  const t = await db.selectFrom('tickets').selectAll().where('id', '=', ticketId).forUpdate().executeTakeFirst();
  if (!t) throw new AppError('ticket_not_found', 404, `ticket ${ticketId} not found`, 'Không tìm thấy hồ sơ.');
  return t;
}

/** Hook for code that must follow every status change (SLA timers); set at wiring time. */
export type StatusHook = (tx: DbOrTx, ticketId: number) => Promise<DomainEvent[] | void>;

/** What a reporter is sent when their report has been handled (the city's wording; `result`: the ward's note). */
export type ResolvedNotice = (reportCode: string, result: string | undefined) => string;

const PLAIN_NOTICE: ResolvedNotice = (code, result) => `Phản ánh ${code} của bạn đã được xử lý xong.${result ? ` Kết quả: ${result}` : ''}`;

/** What a status change may carry: the actor's words (a reason, or the result), photos, data for the event. */
export interface StatusOptions {
  /** The notice sent to every reporter when the ticket is resolved (default: a plain one). */
  notice?: ResolvedNotice;
  note?: string;
  data?: Record<string, unknown>;
  attachments?: Attachment[];
  onStatus?: StatusHook;
}

/** Refuses a change the ticket's status, unit or the actor's role does not allow; changes nothing. */
const checkTransition = (t: TicketRow, actor: Actor, to: TargetStatus) => assertCan(actor, TRANSITIONS[to].action, t);

/** The words a status change carries: the result of a resolution (required), else a reason. */
const statusNote = (to: string, note: string | undefined) => (to === 'resolved' ? staffText('result', note, true) : staffText('reason', note));

/**
 * Writes a status change already checked (`checkTransition`) on the locked ticket: its row, the
 * notifications of a resolution, the SLA hook, then the event (last, see `appendEvents`).
 */
async function applyStatus(tx: DbOrTx, t: TicketRow, actor: Actor, to: TargetStatus, note: string | undefined, opts: StatusOptions): Promise<DomainEvent[]> {
  const now = new Date();
  await tx.updateTable('tickets').set({
    status: to, updated_at: now,
    ...(to === 'acknowledged' ? { acknowledged_at: now } : {}),
    ...(to === 'resolved' ? { resolved_at: now } : {}),
    ...(to === 'closed' || to === 'rejected' ? { closed_at: now } : {}),
    ...(to === 'resolved' || to === 'closed' || to === 'rejected' ? { claimed_by: null, claimed_at: null } : {}),
  }).where('id', '=', t.id).execute();
  if (to === 'resolved') await queueNotifications(tx, t.id, actor, (code) => (opts.notice ?? PLAIN_NOTICE)(code, note));
  const more = opts.onStatus ? await opts.onStatus(tx, t.id) : undefined;
  const published = await appendEvents(tx, [{
    ticketId: t.id, type: STATUS_EVENT[to], actor: actorName(actor), reason: note ?? null, public: to !== 'triaged',
    data: { from: t.status, to, ...(opts.attachments?.length ? { attachments: opts.attachments } : {}), ...opts.data },
  }]);
  return [...(more ?? []), ...published];
}

/**
 * Moves a ticket to a new status if the current status and the actor's role allow it,
 * stamping the time and appending the event; returns the events to publish after commit.
 */
export async function changeStatus(db: Db, ticketId: number, actor: Actor, to: TargetStatus, opts: StatusOptions = {}): Promise<DomainEvent[]> {
  const note = statusNote(to, opts.note);
  return db.transaction().execute(async (tx) => {
    const t = await lockTicket(tx, ticketId);
    checkTransition(t, actor, to);
    return applyStatus(tx, t, actor, to, note, opts);
  });
}

/** Tells every reporter of the ticket, on their own channel, that it has been handled. */
async function queueNotifications(tx: DbOrTx, ticketId: number, actor: Actor, notice: (reportCode: string) => string) {
  const reports = await tx.selectFrom('reports').select(['id', 'channel', 'code']).where('ticket_id', '=', ticketId).execute();
  await queueOutbound(tx, reports.map((r) => ({ ticket_id: ticketId, report_id: r.id, channel: r.channel, kind: 'resolved', created_by: actor.id, body: notice(r.code) })));
}

/** Tells the reporters who came by a channel that writes back that the ticket went to a unit's force. */
async function queueDispatchNotices(tx: DbOrTx, ticketId: number, actor: Actor, area: string, notices: Notices) {
  const reports = (await tx.selectFrom('reports').select(['id', 'channel', 'code']).where('ticket_id', '=', ticketId).execute())
    .filter((r) => notices.sends(r.channel));
  if (!reports.length) return;
  const unit = await tx.selectFrom('areas').select('name').where('code', '=', area).executeTakeFirst();
  await queueOutbound(tx, reports.map((r) => ({
    ticket_id: ticketId, report_id: r.id, channel: r.channel, kind: 'dispatched', created_by: actor.id, body: notices.dispatched(r.code, unit?.name ?? null),
  })));
}

/** Claims a ticket for an agent; a second agent is told who has it. Two claims at once: one wins. */
export async function claimTicket(db: Db, ticketId: number, actor: Actor): Promise<DomainEvent[]> {
  return db.transaction().execute(async (tx) => {
    const t = await lockTicket(tx, ticketId);
    assertCan(actor, 'ticket.claim', t);
    if (t.claimed_by !== null && t.claimed_by !== actor.id) {
      const holder = await tx.selectFrom('users').select(['username', 'display_name']).where('id', '=', t.claimed_by).executeTakeFirst();
      throw new AppError('ticket_claimed', 409, `already claimed by ${holder?.username ?? t.claimed_by}`,
        `Hồ sơ đang được ${holder?.display_name ?? 'người khác'} xử lý.`, { by: holder?.username ?? null });
    }
    if (t.claimed_by === actor.id) return [];
    await tx.updateTable('tickets').set({ claimed_by: actor.id, claimed_at: new Date() }).where('id', '=', ticketId).execute();
    return appendEvents(tx, [{ ticketId, type: 'ticket.claimed', actor: actorName(actor), data: { by: actor.username } }]);
  });
}

/** Releases a claim (the holder, or a supervisor taking it back). */
export async function releaseTicket(db: Db, ticketId: number, actor: Actor): Promise<DomainEvent[]> {
  return db.transaction().execute(async (tx) => {
    const t = await lockTicket(tx, ticketId);
    if (t.claimed_by === null) return [];
    if (t.claimed_by !== actor.id && !can(actor, 'ticket.release_any', t)) {
      throw new AppError('ticket_claimed', 409, 'claimed by someone else', 'Hồ sơ đang được người khác xử lý.');
    }
    await tx.updateTable('tickets').set({ claimed_by: null, claimed_at: null }).where('id', '=', ticketId).execute();
    return appendEvents(tx, [{ ticketId, type: 'ticket.released', actor: actorName(actor), data: {} }]);
  });
}

export interface TicketChanges {
  category?: string;
  areaCode?: string;
  priority?: Priority;
}

/**
 * An agent corrects category, unit or priority; the first complete triage moves new -> triaged.
 * The unit is where the ticket lies: a dispatched ticket stays with its ward force (`unitOf`)
 * until it is dispatched again.
 */
export async function updateTicket(db: Db, ticketId: number, actor: Actor, changes: TicketChanges, onStatus?: StatusHook): Promise<DomainEvent[]> {
  assertCan(actor, 'ticket.update');
  return db.transaction().execute(async (tx) => {
    const t = await lockTicket(tx, ticketId);
    assertCan(actor, 'ticket.update', t);
    const set: Record<string, unknown> = {};
    const data: Record<string, unknown> = {};
    if (changes.category !== undefined && changes.category !== t.category_code) {
      const c = await tx.selectFrom('categories').select(['code', 'department_code']).where('code', '=', changes.category).executeTakeFirst();
      if (!c) throw new AppError('category_unknown', 422, 'unknown category', 'Lĩnh vực không hợp lệ.');
      set.category_code = c.code;
      set.department_code = c.department_code;
      data.category = { from: t.category_code, to: c.code };
    }
    if (changes.areaCode !== undefined && changes.areaCode !== t.area_code) {
      const a = await tx.selectFrom('areas').select('code').where('code', '=', changes.areaCode).executeTakeFirst();
      if (!a) throw new AppError('area_unknown', 422, 'unknown area', 'Địa bàn không hợp lệ.');
      set.area_code = a.code;
      data.area = { from: t.area_code, to: a.code };
    }
    if (changes.priority !== undefined && changes.priority !== t.priority) {
      if (!isPriority(changes.priority)) throw new AppError('priority_invalid', 422, 'priority must be low, normal, high or urgent', 'Mức ưu tiên không hợp lệ.');
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
    // A new category or priority can move the deadlines; the hook re-plans the timers.
    const more = onStatus ? await onStatus(tx, ticketId) : undefined;
    const events = await appendEvents(tx, [
      { ticketId, type: 'ticket.updated', actor: actorName(actor), data },
      ...(triaged ? [{ ticketId, type: 'ticket.triaged', actor: actorName(actor), data: { from: 'new', to: 'triaged' } }] : []),
    ]);
    return [...(more ?? []), ...events];
  });
}

/**
 * Sends the ticket to the ward force of a unit, with instructions; the unit must have an
 * officer. One transaction, every check first: a refused dispatch changes nothing.
 */
export async function dispatchTicket(db: Db, ticketId: number, actor: Actor, opts: { areaCode?: string; instructions?: string; onStatus?: StatusHook; notices?: Notices }): Promise<DomainEvent[]> {
  const instructions = staffText('instructions', opts.instructions);
  return db.transaction().execute(async (tx) => {
    const t = await lockTicket(tx, ticketId);
    checkTransition(t, actor, 'dispatched');
    const area = opts.areaCode ?? t.area_code;
    if (!area) throw new AppError('dispatch_area_missing', 422, 'the ticket has no unit; set one first', 'Hồ sơ chưa có địa bàn, vui lòng chọn phường/xã trước khi chuyển.');
    const officers = await tx.selectFrom('users').select('id').where('role', '=', 'ward_officer').where('disabled', '=', false)
      .where((eb) => eb(eb.fn('jsonb_exists', [eb.ref('area_codes'), eb.val(area)]), '=', true)).limit(1).execute();
    if (officers.length === 0) {
      throw new AppError('dispatch_no_officer', 422, `no ward officer is assigned to area ${area}`, 'Phường/xã này chưa có cán bộ nhận nhiệm vụ trên hệ thống.', { area });
    }
    await tx.updateTable('tickets').set({ dispatched_area: area, dispatched_at: new Date(), area_code: area }).where('id', '=', ticketId).execute();
    // Once per ticket: a ticket sent on to another unit does not notify its reporters again.
    if (opts.notices && t.dispatched_at === null) await queueDispatchNotices(tx, ticketId, actor, area, opts.notices);
    return applyStatus(tx, t, actor, 'dispatched', instructions, { data: { area, instructions: instructions ?? null }, onStatus: opts.onStatus });
  });
}

/** An internal note on the ticket (never shown to citizens). */
export async function addNote(db: Db, ticketId: number, actor: Actor, text: string): Promise<DomainEvent[]> {
  const body = staffText('note', text, true);
  return db.transaction().execute(async (tx) => {
    const t = await lockTicket(tx, ticketId);
    assertCan(actor, 'ticket.note', t);
    return appendEvents(tx, [{ ticketId, type: 'ticket.note', actor: actorName(actor), data: { text: body } }]);
  });
}

/** Whom an answer goes to and how (replyToCitizens). */
export interface ReplyOptions {
  /** One report's citizen only (else every reporter of the ticket). */
  reportId?: number | undefined;
  /**
   * Another channel than the report's to send it through (an SMS to the phone of a citizen
   * Messenger can no longer reach), to the contact the citizen is known by there.
   */
  via?: string | undefined;
  /** A private answer (kind 'private_reply': a Facebook comment answered by a private message), to one report. */
  private?: boolean | undefined;
  /** Which channels send messages (a `via` must be one); absent: no `via` is accepted. */
  sends?: ((channel: string) => boolean) | undefined;
}

/**
 * Queues an answer to the citizens of the ticket on the channel each used, or to one report's
 * citizen only. An answer to all of them is public on the ticket's timeline; an answer to one
 * report shows only on that report's own tracking page (`publicStatus`), never on the others'.
 * `via` sends it through another channel than the report's (see ReplyOptions); a private answer
 * goes to one report, on its own channel, and is never public.
 */
export async function replyToCitizens(db: Db, ticketId: number, actor: Actor, text: string, opts: ReplyOptions = {}): Promise<DomainEvent[]> {
  const body = staffText('reply', text, true);
  const { reportId, via } = opts;
  const privately = opts.private === true;
  if (via !== undefined && !opts.sends?.(via)) {
    throw new AppError('reply_channel_invalid', 422, `channel ${via.slice(0, 40)} is not on or does not send messages`,
      'Kênh gửi trả lời không có hoặc chưa được bật.', { field: 'via' });
  }
  if (privately && reportId === undefined) {
    throw new AppError('reply_private_needs_report', 422, 'a private reply goes to one report', 'Trả lời riêng chỉ gửi cho một phản ánh: hãy chọn phản ánh cần trả lời.', { field: 'report' });
  }
  if (privately && via !== undefined) {
    throw new AppError('reply_private_via', 422, 'a private reply goes through the report\'s own channel', 'Trả lời riêng chỉ gửi qua kênh người dân đã dùng.', { field: 'private' });
  }
  return db.transaction().execute(async (tx) => {
    const t = await lockTicket(tx, ticketId);
    assertCan(actor, 'ticket.reply', t);
    let q = tx.selectFrom('reports').select(['id', 'channel', 'code']).where('ticket_id', '=', ticketId);
    if (reportId !== undefined) q = q.where('id', '=', reportId);
    const reports = await q.execute();
    if (!reports.length) throw new AppError('report_not_found', 404, 'no such report on this ticket', 'Không tìm thấy phản ánh.');
    const kind = privately ? 'private_reply' : 'reply';
    await queueOutbound(tx, reports.map((r) => ({ ticket_id: ticketId, report_id: r.id, channel: via ?? r.channel, kind, body, created_by: actor.id })));
    const toOne = reportId !== undefined;
    return appendEvents(tx, [{
      ticketId, type: 'ticket.replied', actor: actorName(actor), public: !toOne && !privately,
      data: {
        text: body, reports: reports.map((r) => r.code), ...(toOne ? { to_report: reports[0]!.code } : {}),
        ...(via !== undefined ? { via } : {}), ...(privately ? { private: true } : {}),
      },
    }]);
  });
}
