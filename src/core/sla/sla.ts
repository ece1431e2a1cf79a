import { sql, type RawBuilder } from 'kysely';
import type { Db, DbOrTx } from '../../db/schema.ts';
import { AppError } from '../errors.ts';
import type { DomainEvent } from '../events.ts';
import { appendEvents } from '../tickets/event-log.ts';
import { enqueueMany } from '../../db/jobs.ts';
import { PRIORITIES, TICKET_STATUSES } from '../tickets/statuses.ts';

// SLA: every target is minutes from receipt (triaged within 15, dispatched within 30,
// acknowledged within 60, resolved within 120 by default). A stage's warning fires at 75% of
// the way from receipt to its deadline, its breach at the deadline, for every stage the ticket
// has not reached yet. Timers are rows in the jobs table (durable, run by the leader only), one
// pending per ticket: it waits for the earliest threshold still to fire. Its check fires what
// is due and enqueues the timer for the next threshold ahead, a chain that ends when nothing is
// ahead (the ticket settled, or past its last deadline); a status, category or priority change
// enqueues the timer for the next threshold of the new state. A timer left from an earlier
// state or deadline just runs a check that fires nothing early. The unique key of sla_alerts
// makes each warning and breach fire once, however often and wherever a check runs.
//
// A resident's reopening (core/tickets/feedback.ts) restarts the clock: from then on every target
// counts from `reopened_at` instead of receipt, and the stages still ahead may warn and breach
// again, as round `reopen_count` of the ticket's alerts (one round per reopening). A reopened
// ticket is due again, not breached by its old clock.

export const SLA_STAGES = ['triage', 'dispatch', 'acknowledge', 'resolve'] as const;
export type SlaStage = (typeof SLA_STAGES)[number];
export type SlaAlertKind = 'warning' | 'breach';
/** Minutes from receipt to each stage. */
export type SlaTargets = Record<SlaStage, number>;
export type SlaDeadlines = Record<SlaStage, Date>;

/** The job kind of an SLA timer; payload `{ ticketId, stage, kind }`. */
export const SLA_CHECK_JOB = 'sla.check';
export const SLA_WARNING_FRACTION = 0.75;
/** Used when no policy row matches (the migration seeds a default row with these values). */
export const DEFAULT_SLA_TARGETS: Readonly<SlaTargets> = { triage: 15, dispatch: 30, acknowledge: 60, resolve: 120 };
const MAX_MINUTES = 60 * 24 * 60; // 60 days

const EVENT_OF: Record<SlaAlertKind, string> = { warning: 'sla.warning', breach: 'sla.breached' };

/** The stage a ticket in this status has still to reach first; null once it is settled. */
export function stageOf(status: string): SlaStage | null {
  switch (status) {
    case 'new': return 'triage';
    case 'triaged': return 'dispatch';
    case 'dispatched': return 'acknowledge';
    case 'acknowledged':
    case 'in_progress': return 'resolve';
    default: return null; // resolved, closed, rejected
  }
}

/** Every stage not reached yet: the pending one and those after it (their clocks run too). */
export function pendingStages(status: string): SlaStage[] {
  const first = stageOf(status);
  return first ? SLA_STAGES.slice(SLA_STAGES.indexOf(first)) : [];
}

/**
 * The targets for a ticket: the most specific policy wins (category and priority, then
 * category, then priority, then the default row), else DEFAULT_SLA_TARGETS.
 */
export async function slaTargets(db: DbOrTx, category: string | null, priority: string | null): Promise<SlaTargets> {
  return pickSlaTargets(await listSlaPolicies(db), category, priority);
}

/** `slaTargets` over policies already read (a batch reads them once). */
export function pickSlaTargets(policies: readonly SlaPolicy[], category: string | null, priority: string | null): SlaTargets {
  let best: SlaPolicy | null = null;
  const rank = (p: SlaPolicy) => (p.category !== null ? 2 : 0) + (p.priority !== null ? 1 : 0);
  for (const p of policies) {
    if ((p.category !== null && p.category !== category) || (p.priority !== null && p.priority !== priority)) continue;
    if (!best || rank(p) > rank(best)) best = p;
  }
  return best ? { ...best.targets } : { ...DEFAULT_SLA_TARGETS };
}

/** The due date of every stage. */
export function slaDeadlines(receivedAt: Date, targets: SlaTargets): SlaDeadlines {
  const at = (minutes: number) => new Date(receivedAt.getTime() + minutes * 60_000);
  return { triage: at(targets.triage), dispatch: at(targets.dispatch), acknowledge: at(targets.acknowledge), resolve: at(targets.resolve) };
}

/** When a stage's warning fires: 75% of the way from receipt to its deadline. */
export function warningTime(receivedAt: Date, dueAt: Date): Date {
  return new Date(receivedAt.getTime() + Math.round((dueAt.getTime() - receivedAt.getTime()) * SLA_WARNING_FRACTION));
}

export interface SlaThreshold {
  stage: SlaStage;
  kind: SlaAlertKind;
  /** When it fires. */
  at: Date;
  /** The stage's deadline. */
  dueAt: Date;
}

/** The warning and breach times of every stage not reached yet, in time order. */
export function slaThresholds(receivedAt: Date, targets: SlaTargets, status: string): SlaThreshold[] {
  const deadlines = slaDeadlines(receivedAt, targets);
  return pendingStages(status)
    .flatMap((stage): SlaThreshold[] => [
      { stage, kind: 'warning', at: warningTime(receivedAt, deadlines[stage]), dueAt: deadlines[stage] },
      { stage, kind: 'breach', at: deadlines[stage], dueAt: deadlines[stage] },
    ])
    .sort((a, b) => a.at.getTime() - b.at.getTime());
}

export interface SlaState {
  /** The stage the ticket has still to reach first; null once settled. */
  stage: SlaStage | null;
  /** That stage's deadline and warning time (for the countdown). */
  dueAt: Date | null;
  warnAt: Date | null;
  /** Deadline for resolution (the city's promise). */
  resolveDueAt: Date;
  state: 'ok' | 'warning' | 'breached' | 'settled';
}

/** When a ticket's SLA clock started: its last reopening, else its receipt. */
export const slaClock = (ticket: { received_at: Date; reopened_at?: Date | null }): Date => ticket.reopened_at ?? ticket.received_at;

/** Where a ticket stands against its targets at `now`: what the console and ward view count down. */
export function slaState(ticket: { status: string; received_at: Date; reopened_at?: Date | null }, targets: SlaTargets, now = new Date()): SlaState {
  const clock = slaClock(ticket);
  const deadlines = slaDeadlines(clock, targets);
  const stage = stageOf(ticket.status);
  if (!stage) return { stage, dueAt: null, warnAt: null, resolveDueAt: deadlines.resolve, state: 'settled' };
  const dueAt = deadlines[stage];
  const warnAt = warningTime(clock, dueAt);
  const state = now >= dueAt ? 'breached' : now >= warnAt ? 'warning' : 'ok';
  return { stage, dueAt, warnAt, resolveDueAt: deadlines.resolve, state };
}

/**
 * The stage a ticket has still to reach first and its deadline under the policies given (read
 * once per list: `listSlaPolicies`); null once it is settled. What the queue's badge counts down.
 */
export function nextStage(
  ticket: { status: string; received_at: Date; reopened_at?: Date | null; category_code: string | null; priority: string },
  policies: readonly SlaPolicy[],
): { stage: SlaStage; dueAt: Date } | null {
  const stage = stageOf(ticket.status);
  if (!stage) return null;
  return { stage, dueAt: slaDeadlines(slaClock(ticket), pickSlaTargets(policies, ticket.category_code, ticket.priority))[stage] };
}

/**
 * SQL condition on a `tickets` row: the stage it has still to reach (`stageOf` its status) is past
 * its deadline at `now` under these policies (`nextStage`'s rule, so that a list filters by it
 * before its row limit). The targets are picked here for every (category named by a policy, or
 * any other; priority) pair (`pickSlaTargets`) and passed as rows, not restated in SQL.
 */
export function breachedSql(policies: readonly SlaPolicy[], now: Date): RawBuilder<boolean> {
  const categories = [...new Set(policies.flatMap((p) => (p.category === null ? [] : [p.category])))];
  const rows = [...categories, null].flatMap((category) => PRIORITIES.flatMap((priority) => {
    const targets = pickSlaTargets(policies, category, priority);
    return SLA_STAGES.map((stage) => sql`(${stage}, ${category}::text, ${priority}, ${targets[stage]}::integer)`);
  }));
  const stageCase = sql.join(TICKET_STATUSES.flatMap((s) => { const stage = stageOf(s); return stage ? [sql`when ${s} then ${stage}`] : []; }), sql` `);
  const categoryOf = categories.length
    ? sql`case when tickets.category_code in (${sql.join(categories)}) then tickets.category_code end`
    : sql`null::text`;
  return sql<boolean>`exists (select 1 from (values ${sql.join(rows)}) as v(stage, category, priority, minutes)
    where v.stage = (case tickets.status ${stageCase} end) and v.priority = tickets.priority
      and v.category is not distinct from ${categoryOf}
      and coalesce(tickets.reopened_at, tickets.received_at) + v.minutes * interval '1 minute' <= ${now})`;
}

/** What the SLA engine reads of a ticket. */
export interface SlaTicket {
  id: number;
  status: string;
  received_at: Date;
  category_code: string | null;
  priority: string;
  triage_due_at?: Date | null;
  due_at?: Date | null;
  /** Its last reopening: the clock runs from here (`slaClock`). */
  reopened_at?: Date | null;
  /** Its round of alerts (how many times it was reopened). */
  reopen_count?: number;
}

const SLA_TICKET_COLUMNS = ['id', 'status', 'received_at', 'category_code', 'priority', 'triage_due_at', 'due_at', 'reopened_at', 'reopen_count'] as const;

/** A timer's job key; a reopened ticket's rounds have their own (`r<round>`), the first keeps the key it always had. */
const jobKey = (ticketId: number, t: SlaThreshold, round: number) => (round > 0 ? `sla:${ticketId}:r${round}:${t.stage}:${t.kind}` : `sla:${ticketId}:${t.stage}:${t.kind}`);

/**
 * The threshold a ticket's timer waits for: the earliest (in time order) that has not fired.
 * One already past makes a timer that runs at once; its check fires it and chains on.
 */
function nextThreshold(thresholds: SlaThreshold[], fired: (t: SlaThreshold) => boolean): SlaThreshold | null {
  return thresholds.find((t) => !fired(t)) ?? null;
}

/**
 * Makes sure a durable job exists at each given threshold, keyed `sla:<ticket>:<stage>:<kind>`
 * so that each is enqueued once however often scheduling runs. When a deadline has moved
 * (category, priority or policy changed) and the keyed job is set for another time, a second
 * job keyed with the new time is added: a check that runs early fires nothing, and one at the
 * new time is not skipped. Two statements for any number of tickets.
 */
async function ensureTimers(tx: DbOrTx, timers: { ticketId: number; threshold: SlaThreshold; round?: number }[]): Promise<void> {
  const keyed = timers.map(({ ticketId, threshold: t, round }) => ({ ticketId, t, key: jobKey(ticketId, t, round ?? 0) }));
  if (keyed.length === 0) return;
  const existing = await tx.selectFrom('jobs').select(['key', 'run_at'])
    .where('kind', '=', SLA_CHECK_JOB).where('key', 'in', keyed.map((k) => k.key)).execute();
  const runAt = new Map(existing.map((j) => [j.key, new Date(j.run_at).getTime()]));
  await enqueueMany(tx, keyed.flatMap(({ ticketId, t, key }) => {
    const current = runAt.get(key);
    if (current === t.at.getTime()) return [];
    return [{ kind: SLA_CHECK_JOB, key: current === undefined ? key : `${key}@${t.at.toISOString()}`, payload: { ticketId, stage: t.stage, kind: t.kind }, runAt: t.at }];
  }));
}

/**
 * Schedules the first SLA timer of a ticket that has fired nothing yet (a new one), inside the
 * caller's transaction: one job at its earliest threshold (the triage warning of a new ticket;
 * if that is already past, the job runs at once). Its check fires what is due and chains the
 * next timer. Idempotent.
 */
export async function scheduleSla(tx: DbOrTx, ticket: SlaTicket, targets?: SlaTargets): Promise<void> {
  await scheduleSlaMany(tx, [{ ticket, targets: targets ?? (await slaTargets(tx, ticket.category_code, ticket.priority)) }]);
}

/** `scheduleSla` for several tickets in two statements (one select of existing keys, one insert). */
export async function scheduleSlaMany(tx: DbOrTx, items: { ticket: SlaTicket; targets: SlaTargets }[]): Promise<void> {
  await ensureTimers(tx, items.flatMap(({ ticket, targets }) => {
    const first = nextThreshold(slaThresholds(slaClock(ticket), targets, ticket.status), () => false);
    return first ? [{ ticketId: ticket.id, threshold: first, round: ticket.reopen_count ?? 0 }] : [];
  }));
}

/** Keeps the ticket's shown deadlines (triage_due_at, due_at) in step with its targets. */
async function syncDeadlines(tx: DbOrTx, ticket: SlaTicket, deadlines: SlaDeadlines): Promise<void> {
  const same = (a: Date | null | undefined, b: Date) => a != null && new Date(a).getTime() === b.getTime();
  if (same(ticket.triage_due_at, deadlines.triage) && same(ticket.due_at, deadlines.resolve)) return;
  await tx.updateTable('tickets').set({ triage_due_at: deadlines.triage, due_at: deadlines.resolve }).where('id', '=', ticket.id).execute();
}

/**
 * Call after a ticket's status, category or priority changed, in the same transaction:
 * recomputes its deadlines from the policy and makes sure a timer waits for the earliest
 * threshold of the new state that has not fired (one already past, say a deadline brought
 * forward, gets a timer that runs at once). Fits the workflow's `onStatus` hook.
 */
export async function onStatusChanged(tx: DbOrTx, ticketId: number): Promise<void> {
  const ticket = await tx.selectFrom('tickets').select(SLA_TICKET_COLUMNS).where('id', '=', ticketId).executeTakeFirst();
  if (!ticket) throw new AppError('ticket_not_found', 404, `ticket ${ticketId} not found`, 'Không tìm thấy hồ sơ.');
  const targets = await slaTargets(tx, ticket.category_code, ticket.priority);
  await syncDeadlines(tx, ticket, slaDeadlines(slaClock(ticket), targets));
  const thresholds = slaThresholds(slaClock(ticket), targets, ticket.status);
  if (thresholds.length === 0) return;
  const round = ticket.reopen_count;
  const fired = new Set((await tx.selectFrom('sla_alerts').select(['stage', 'kind']).where('ticket_id', '=', ticketId).where('round', '=', round).execute())
    .map((a) => `${a.stage}:${a.kind}`));
  const next = nextThreshold(thresholds, (t) => fired.has(`${t.stage}:${t.kind}`));
  if (next) await ensureTimers(tx, [{ ticketId, threshold: next, round }]);
}

/**
 * Fires what is due for one ticket at `now`: for every stage it has not reached, the warning
 * (75%) and the breach (100%), each recorded in sla_alerts (ON CONFLICT DO NOTHING) and
 * appended as a ticket event ('sla.warning', or 'sla.breached': the escalation to
 * supervisors), data `{ stage, due_at }`. Running it twice, or on two processes at once,
 * fires nothing twice. Then chains: makes sure a timer waits for the first threshold after
 * `now` (none once nothing is ahead), also when the check ran early and fired nothing.
 * Returns the events to publish after commit.
 */
export async function checkTicket(db: Db, ticketId: number, now = new Date()): Promise<DomainEvent[]> {
  return db.transaction().execute(async (tx) => {
    // Row lock: a status change in flight commits first (or waits), so the check sees it.
    const ticket = await tx.selectFrom('tickets').select(SLA_TICKET_COLUMNS).where('id', '=', ticketId).forNoKeyUpdate().executeTakeFirst();
    if (!ticket) return [];
    const targets = await slaTargets(tx, ticket.category_code, ticket.priority);
    const clock = slaClock(ticket);
    await syncDeadlines(tx, ticket, slaDeadlines(clock, targets));
    const thresholds = slaThresholds(clock, targets, ticket.status);
    const round = ticket.reopen_count;
    const isDue = (t: SlaThreshold) => t.at.getTime() <= now.getTime();
    // Everything due fires below (or fired before), so the next timer is the first threshold ahead.
    const next = nextThreshold(thresholds, isDue);
    if (next) await ensureTimers(tx, [{ ticketId, threshold: next, round }]);
    const due = thresholds.filter(isDue);
    if (due.length === 0) return [];
    const fired = await tx.insertInto('sla_alerts')
      .values(due.map((t) => ({ ticket_id: ticketId, stage: t.stage, kind: t.kind, due_at: t.dueAt, fired_at: now, round })))
      .onConflict((oc) => oc.columns(['ticket_id', 'round', 'stage', 'kind']).doNothing())
      .returning(['stage', 'kind'])
      .execute();
    const isNew = new Set(fired.map((f) => `${f.stage}:${f.kind}`));
    return appendEvents(tx, due.filter((t) => isNew.has(`${t.stage}:${t.kind}`)).map((t) => ({
      ticketId, type: EVENT_OF[t.kind], actor: 'system', data: { stage: t.stage, due_at: t.dueAt.toISOString(), ...(round > 0 ? { round } : {}) },
    })));
  });
}

export interface SlaPolicyInput {
  /** null or absent: any category. */
  category?: string | null;
  /** null or absent: any priority. */
  priority?: string | null;
  triageMinutes?: number;
  dispatchMinutes?: number;
  acknowledgeMinutes?: number;
  resolveMinutes?: number;
  /** Who edits (`user:<name>`), kept on the row. */
  actor?: string;
}

export interface SlaPolicy {
  id: number;
  category: string | null;
  priority: string | null;
  targets: SlaTargets;
  updatedBy: string | null;
  updatedAt: Date;
}

const POLICY_COLUMNS = ['id', 'category_code', 'priority', 'triage_minutes', 'dispatch_minutes', 'acknowledge_minutes', 'resolve_minutes', 'updated_by', 'updated_at'] as const;

function toPolicy(r: {
  id: number; category_code: string | null; priority: string | null; triage_minutes: number; dispatch_minutes: number;
  acknowledge_minutes: number; resolve_minutes: number; updated_by: string | null; updated_at: Date;
}): SlaPolicy {
  return {
    id: r.id, category: r.category_code, priority: r.priority, updatedBy: r.updated_by, updatedAt: r.updated_at,
    targets: { triage: r.triage_minutes, dispatch: r.dispatch_minutes, acknowledge: r.acknowledge_minutes, resolve: r.resolve_minutes },
  };
}

/** Every policy, the default first, then by category and priority. */
export async function listSlaPolicies(db: DbOrTx): Promise<SlaPolicy[]> {
  const rows = await db.selectFrom('sla_policies').select(POLICY_COLUMNS)
    .orderBy((eb) => eb('category_code', 'is not', null)).orderBy('category_code').orderBy((eb) => eb('priority', 'is not', null)).orderBy('priority')
    .execute();
  return rows.map(toPolicy);
}

async function validScope(db: DbOrTx, input: { category?: string | null; priority?: string | null }): Promise<{ category: string | null; priority: string | null }> {
  const category = input.category?.trim() || null;
  const priority = input.priority?.trim() || null;
  if (category !== null) {
    const known = await db.selectFrom('categories').select('code').where('code', '=', category).executeTakeFirst();
    if (!known) throw new AppError('category_unknown', 422, `unknown category ${category}`, 'Lĩnh vực không hợp lệ.', { category });
  }
  if (priority !== null && !(PRIORITIES as readonly string[]).includes(priority)) {
    throw new AppError('priority_invalid', 422, `priority must be one of ${PRIORITIES.join(', ')}`, 'Mức ưu tiên không hợp lệ.', { priority });
  }
  return { category, priority };
}

/**
 * Creates or updates the policy for (category, priority); fields left out keep their stored
 * value (or the column default for a new row). Targets must be whole minutes between 1 and
 * 60 days, in stage order (triage <= dispatch <= acknowledge <= resolve). Applies to open
 * tickets at their next SLA check.
 */
export async function setSlaPolicy(db: DbOrTx, input: SlaPolicyInput): Promise<SlaPolicy> {
  const { category, priority } = await validScope(db, input);
  const given: Partial<SlaTargets> = {
    triage: input.triageMinutes, dispatch: input.dispatchMinutes, acknowledge: input.acknowledgeMinutes, resolve: input.resolveMinutes,
  };
  for (const stage of SLA_STAGES) {
    const v = given[stage];
    if (v !== undefined && (!Number.isInteger(v) || v < 1 || v > MAX_MINUTES)) {
      throw new AppError('sla_minutes_invalid', 422, `${stage} target must be a whole number of minutes from 1 to ${MAX_MINUTES}`,
        'Thời hạn phải là số phút nguyên, từ 1 phút đến 60 ngày.', { stage, value: v });
    }
  }
  const current = await db.selectFrom('sla_policies').select(POLICY_COLUMNS)
    .where('category_code', category === null ? 'is' : '=', category)
    .where('priority', priority === null ? 'is' : '=', priority)
    .executeTakeFirst();
  const base = current ? toPolicy(current).targets : DEFAULT_SLA_TARGETS;
  const targets: SlaTargets = {
    triage: given.triage ?? base.triage, dispatch: given.dispatch ?? base.dispatch,
    acknowledge: given.acknowledge ?? base.acknowledge, resolve: given.resolve ?? base.resolve,
  };
  if (!(targets.triage <= targets.dispatch && targets.dispatch <= targets.acknowledge && targets.acknowledge <= targets.resolve)) {
    throw new AppError('sla_targets_out_of_order', 422, 'targets must not decrease: triage <= dispatch <= acknowledge <= resolve',
      'Thời hạn các bước phải tăng dần: phân loại ≤ chuyển xử lý ≤ tiếp nhận ≤ giải quyết.', { targets });
  }
  const values = {
    triage_minutes: targets.triage, dispatch_minutes: targets.dispatch, acknowledge_minutes: targets.acknowledge,
    resolve_minutes: targets.resolve, updated_by: input.actor ?? null, updated_at: new Date(),
  };
  const row = await db.insertInto('sla_policies')
    .values({ category_code: category, priority, ...values })
    .onConflict((oc) => oc.columns(['category_code', 'priority']).doUpdateSet(values))
    .returning(POLICY_COLUMNS)
    .executeTakeFirstOrThrow();
  return toPolicy(row);
}

/** Removes a specific policy (tickets fall back to the next one); the default row stays. */
export async function removeSlaPolicy(db: DbOrTx, scope: { category?: string | null; priority?: string | null }): Promise<boolean> {
  const category = scope.category?.trim() || null;
  const priority = scope.priority?.trim() || null;
  if (category === null && priority === null) {
    throw new AppError('sla_default_policy_required', 409, 'the default policy can be edited, not removed', 'Không thể xoá chính sách mặc định; hãy sửa thời hạn.');
  }
  const r = await db.deleteFrom('sla_policies')
    .where('category_code', category === null ? 'is' : '=', category)
    .where('priority', priority === null ? 'is' : '=', priority)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}
