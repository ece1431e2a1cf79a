// A resident's answer to a resolution (issue 16, residents 4): within REOPEN_WINDOW_DAYS of it,
// the holder of a report's code confirms the problem is fixed or says it is not, which reopens
// the ticket (REOPEN_TRANSITION) with the reason and photos; the engine reopens it the same way
// when a reporter writes "vẫn chưa sửa" on any channel (`reopenTicket`, from process-report.ts).
// One answer per report per resolution: a second confirmation changes nothing, and an answer
// after the other one is refused. A confirmation does not close the ticket: other reporters of
// the same ticket may still say it is not fixed, and closing stays an agent's act.
import { sql } from 'kysely';
import type { Db, DbOrTx } from '../../db/schema.ts';
import type { Attachment } from '../../wire/staff-api.ts';
import { AppError } from '../errors.ts';
import type { DomainEvent } from '../events.ts';
import { onStatusChanged } from '../sla/sla.ts';
import { REOPEN_TRANSITION } from '../staff/policy.ts';
import { canonicalCode } from './codes.ts';
import { appendEvents, type NewEvent } from './event-log.ts';
import { REOPEN_WINDOW_DAYS } from './statuses.ts';

/** How a resident answers a resolution. */
export type FeedbackAnswer = 'confirmed' | 'reopened';

/** The event each answer writes. */
export const FEEDBACK_EVENT: Record<FeedbackAnswer, string> = { confirmed: 'ticket.confirmed', reopened: REOPEN_TRANSITION.event };

/** What a resident may send with "not fixed": a reason (required) and a few photos. */
export const FEEDBACK_LIMITS = { reasonMax: 2000, photosMax: 3 } as const;

const DAY_MS = 86_400_000;

/** The end of the window in which a resolution at `resolvedAt` may be answered. */
export const feedbackUntil = (resolvedAt: Date): Date => new Date(resolvedAt.getTime() + REOPEN_WINDOW_DAYS * DAY_MS);

/** What decides whether a report's holder may answer now. */
export interface FeedbackState {
  /** The ticket's status. */
  status: string;
  /** Its latest resolution. */
  resolvedAt: Date | null;
  /** This report's answer to that resolution, if it gave one. */
  answered: FeedbackAnswer | null;
}

/** Why an answer is refused, as the error a resident gets; `noop`: already given, nothing to do. */
export type FeedbackRefusal = 'noop' | AppError;

/**
 * Whether `answer` may be given now (null), is already given (`noop`), or is refused (the error:
 * stable code, Vietnamese message). Pure.
 */
export function feedbackRefusal(state: FeedbackState, answer: FeedbackAnswer, now: Date): FeedbackRefusal | null {
  if (state.answered === answer && answer === 'confirmed') return 'noop';
  if (state.answered === 'reopened') {
    return new AppError('ticket_already_reopened', 409, 'this report already said the problem is not fixed; the ticket is being handled again',
      'Bạn đã báo sự việc chưa được khắc phục; hồ sơ đang được xử lý lại.');
  }
  if (state.answered === 'confirmed') {
    return new AppError('ticket_already_confirmed', 409, 'this report already confirmed this resolution',
      'Bạn đã xác nhận sự việc đã được khắc phục cho lần xử lý này. Nếu sự việc tái diễn, vui lòng gửi phản ánh mới.');
  }
  if (state.status !== 'resolved' || state.resolvedAt === null) {
    return new AppError('ticket_not_resolved', 409, 'the ticket is not resolved', 'Hồ sơ chưa được xử lý xong nên chưa thể xác nhận hay báo chưa khắc phục.');
  }
  if (now.getTime() > feedbackUntil(state.resolvedAt).getTime()) {
    return new AppError('reopen_window_closed', 409, `more than ${REOPEN_WINDOW_DAYS} days since the resolution`,
      `Đã quá ${REOPEN_WINDOW_DAYS} ngày kể từ khi xử lý xong; nếu sự việc vẫn còn, vui lòng gửi phản ánh mới.`);
  }
  return null;
}

/** The answer a report gave to the latest resolution among a ticket's events (oldest first). Pure. */
export function answerSince(events: readonly { type: string; data: unknown }[], reportCode: string): FeedbackAnswer | null {
  let answer: FeedbackAnswer | null = null;
  for (const e of events) {
    if (e.type === 'ticket.resolved') answer = null;
    else if ((e.data as { report?: unknown } | null)?.report === reportCode) {
      if (e.type === FEEDBACK_EVENT.confirmed) answer = 'confirmed';
      else if (e.type === FEEDBACK_EVENT.reopened) answer = 'reopened';
    }
  }
  return answer;
}

/** Who reopened: the report, its channel and citizen, and the path it came by. */
export interface Reopener {
  report: string;
  channel: string;
  citizenId: number | null;
  /** `tracking_page` (the code's holder, on the page or the app), or `message` (the engine read a follow-up). */
  via: 'tracking_page' | 'message';
}

/** A citizen's name in the audit log (`ticket_events.actor`). */
const citizenActor = (citizenId: number | null) => (citizenId === null ? 'citizen' : `citizen:${citizenId}`);

/**
 * Reopens a resolved ticket, locked by the caller and checked to be resolved: back to
 * REOPEN_TRANSITION.to, its SLA clock restarted at `at` (sla.ts: when the resident said so), and
 * returns the event to append (the caller appends it last, with its others). Photos are stored already.
 */
export async function reopenTicket(tx: DbOrTx, ticketId: number, reason: string, attachments: Attachment[], by: Reopener, at = new Date()): Promise<NewEvent> {
  await tx.updateTable('tickets').set({
    status: REOPEN_TRANSITION.to, reopened_at: at, reopen_count: sql`reopen_count + 1`, updated_at: new Date(), claimed_by: null, claimed_at: null,
  }).where('id', '=', ticketId).execute();
  await onStatusChanged(tx, ticketId);
  return {
    ticketId, type: REOPEN_TRANSITION.event, actor: citizenActor(by.citizenId), reason, public: true,
    data: {
      from: REOPEN_TRANSITION.from[0], to: REOPEN_TRANSITION.to, report: by.report, channel: by.channel, via: by.via,
      ...(attachments.length ? { attachments } : {}),
    },
  };
}

/** A report's ticket, as an answer needs it. */
async function reportTicket(db: DbOrTx, rawCode: string, lock: boolean) {
  const code = canonicalCode(rawCode);
  if (code && !code.startsWith('PA-')) {
    throw new AppError('report_code_required', 422, 'only the code of a report (PA-...) answers a resolution',
      'Vui lòng dùng mã phản ánh (PA-…) bạn nhận được khi gửi phản ánh.');
  }
  const report = code
    ? await db.selectFrom('reports').select(['id', 'code', 'channel', 'citizen_id', 'ticket_id']).where('code', '=', code).executeTakeFirst()
    : undefined;
  if (!report) {
    // Still in intake (accepted, not yet filed): nothing resolved to answer.
    const inbound = code ? await db.selectFrom('inbound_messages').select('id').where('code', '=', code).executeTakeFirst() : undefined;
    if (inbound) throw new AppError('ticket_not_resolved', 409, 'the report is still being filed', 'Phản ánh đang được tiếp nhận, chưa được xử lý xong.');
    throw new AppError('report_not_found', 404, 'no report with this code', 'Không tìm thấy phản ánh với mã này.');
  }
  let q = db.selectFrom('tickets').select(['id', 'code', 'status', 'resolved_at']).where('id', '=', report.ticket_id);
  if (lock) q = q.forUpdate();
  const ticket = await q.executeTakeFirstOrThrow();
  const events = await db.selectFrom('ticket_events').select(['type', 'data']).where('ticket_id', '=', ticket.id)
    .where('type', 'in', ['ticket.resolved', FEEDBACK_EVENT.confirmed, FEEDBACK_EVENT.reopened]).orderBy('id').execute();
  const state: FeedbackState = { status: ticket.status, resolvedAt: ticket.resolved_at, answered: answerSince(events, report.code) };
  return { report, ticket, state };
}

/** Refuses (throws) an answer that may not be given now; true when it is already given (nothing to do). Writes nothing. */
export async function checkFeedback(db: DbOrTx, code: string, answer: FeedbackAnswer, now = new Date()): Promise<boolean> {
  const { state } = await reportTicket(db, code, false);
  const refused = feedbackRefusal(state, answer, now);
  if (refused instanceof AppError) throw refused;
  return refused === 'noop';
}

export interface FeedbackResult {
  ticketCode: string;
  /** The answer was given before: nothing written. */
  already: boolean;
  /** To publish after commit. */
  events: DomainEvent[];
}

/**
 * Records a resident's answer to a resolution of their report's ticket: a confirmation (event
 * `ticket.confirmed`), or "not fixed" with a reason (required) and photos (stored), which reopens
 * the ticket. One transaction, every check first (`feedbackRefusal`): a refused answer changes
 * nothing; a second confirmation is a no-op.
 */
export async function answerResolution(db: Db, code: string, answer: FeedbackAnswer,
  opts: { reason?: string; attachments?: Attachment[]; now?: Date } = {}): Promise<FeedbackResult> {
  const now = opts.now ?? new Date();
  const reason = opts.reason?.trim();
  if (answer === 'reopened' && !reason) {
    throw new AppError('reopen_reason_missing', 422, 'say what is still wrong', 'Vui lòng cho biết sự việc chưa được khắc phục như thế nào.', { field: 'reason' });
  }
  return db.transaction().execute(async (tx) => {
    const { report, ticket, state } = await reportTicket(tx, code, true);
    const refused = feedbackRefusal(state, answer, now);
    if (refused === 'noop') return { ticketCode: ticket.code, already: true, events: [] };
    if (refused) throw refused;
    const by: Reopener = { report: report.code, channel: report.channel, citizenId: report.citizen_id, via: 'tracking_page' };
    const event: NewEvent = answer === 'reopened'
      ? await reopenTicket(tx, ticket.id, reason!, opts.attachments ?? [], by, now)
      : { ticketId: ticket.id, type: FEEDBACK_EVENT.confirmed, actor: citizenActor(report.citizen_id), public: true, data: { report: report.code, channel: report.channel } };
    return { ticketCode: ticket.code, already: false, events: await appendEvents(tx, [event]) };
  });
}
