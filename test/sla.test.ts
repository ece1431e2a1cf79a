import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newCode } from '../src/core/tickets/codes.ts';
import type { DomainEvent } from '../src/core/events.ts';
import {
  breachedSql, checkTicket, DEFAULT_SLA_TARGETS, listSlaPolicies, onStatusChanged, pendingStages, nextStage, removeSlaPolicy, scheduleSla,
  scheduleSlaMany, setSlaPolicy, SLA_CHECK_JOB, slaDeadlines, slaState, slaTargets, slaThresholds, stageOf, warningTime,
  type SlaTicket,
} from '../src/core/sla/sla.ts';
import type { DbHandle } from '../src/db/connect.ts';
import type { Db } from '../src/db/schema.ts';
import type { Runtime } from '../src/runtime.ts';
import { freshDb } from './support/db.ts';
import { reportBody } from './support/factories.ts';
import { postReport, testRuntime } from './support/runtime.ts';

const MIN = 60_000;
const T0 = new Date('2025-07-01T08:00:00.000Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * MIN);

let handle: DbHandle;
let db: Db;
beforeAll(async () => {
  handle = await freshDb();
  db = handle.db;
});
afterAll(async () => {
  await handle?.close();
});

async function newTicket(over: { status?: string; category?: string | null; priority?: string; receivedAt?: Date } = {}) {
  const row = await db.insertInto('tickets').values({
    code: newCode('TK'), status: over.status ?? 'new', category_code: over.category ?? null, priority: over.priority ?? 'normal',
    title: 'Đèn đường tắt cả dãy', received_at: over.receivedAt ?? T0, last_report_at: over.receivedAt ?? T0,
  }).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

const alertsOf = (ticketId: number) => db.selectFrom('sla_alerts').select(['stage', 'kind', 'due_at'])
  .where('ticket_id', '=', ticketId).orderBy('id').execute();
const slaEventsOf = (ticketId: number) => db.selectFrom('ticket_events').select(['type', 'data', 'public'])
  .where('ticket_id', '=', ticketId).where('type', 'like', 'sla.%').orderBy('id').execute();
const brief = (events: DomainEvent[]) => events.map((e) => `${e.type}:${String(e.data.stage)}`);

describe('stages and deadlines (pure)', () => {
  it('maps each status to the stage it has still to reach', () => {
    expect(['new', 'triaged', 'dispatched', 'acknowledged', 'in_progress', 'resolved', 'closed', 'rejected'].map(stageOf))
      .toEqual(['triage', 'dispatch', 'acknowledge', 'resolve', 'resolve', null, null, null]);
    expect(pendingStages('triaged')).toEqual(['dispatch', 'acknowledge', 'resolve']);
    expect(pendingStages('resolved')).toEqual([]);
  });

  it('counts every target from receipt, warns at 75% of the way to a deadline', () => {
    const d = slaDeadlines(T0, { triage: 15, dispatch: 30, acknowledge: 60, resolve: 120 });
    expect(d).toEqual({ triage: at(15), dispatch: at(30), acknowledge: at(60), resolve: at(120) });
    expect(warningTime(T0, d.resolve)).toEqual(at(90));
    expect(warningTime(T0, d.triage)).toEqual(new Date(T0.getTime() + 11.25 * MIN));
    const th = slaThresholds(T0, DEFAULT_SLA_TARGETS, 'dispatched');
    expect(th.map((t) => [t.stage, t.kind, t.at.getTime() - T0.getTime()])).toEqual([
      ['acknowledge', 'warning', 45 * MIN], ['acknowledge', 'breach', 60 * MIN], ['resolve', 'warning', 90 * MIN], ['resolve', 'breach', 120 * MIN],
    ]);
  });

  it('gives the views a countdown state', () => {
    const t = { status: 'new', received_at: T0 };
    expect(slaState(t, DEFAULT_SLA_TARGETS, at(5))).toMatchObject({ stage: 'triage', dueAt: at(15), state: 'ok', resolveDueAt: at(120) });
    expect(slaState(t, DEFAULT_SLA_TARGETS, at(12)).state).toBe('warning');
    expect(slaState(t, DEFAULT_SLA_TARGETS, at(15)).state).toBe('breached');
    expect(slaState({ status: 'closed', received_at: T0 }, DEFAULT_SLA_TARGETS, at(500))).toMatchObject({ stage: null, state: 'settled' });
  });
});

describe('SLA policies', () => {
  it('ships one default policy: 15/30/60/120 minutes', async () => {
    const policies = await listSlaPolicies(db);
    expect(policies.filter((p) => p.category === null && p.priority === null)).toHaveLength(1);
    expect(policies[0]).toMatchObject({ category: null, priority: null, targets: DEFAULT_SLA_TARGETS });
    expect(await slaTargets(db, 'ngap_nuoc', 'normal')).toEqual(DEFAULT_SLA_TARGETS);
    expect(await slaTargets(db, null, 'normal')).toEqual(DEFAULT_SLA_TARGETS);
  });

  it('picks the most specific policy: category+priority, category, priority, default', async () => {
    await setSlaPolicy(db, { category: 'ngap_nuoc', resolveMinutes: 90, actor: 'user:admin' });
    await setSlaPolicy(db, { priority: 'urgent', triageMinutes: 5, dispatchMinutes: 10, acknowledgeMinutes: 20, resolveMinutes: 60 });
    await setSlaPolicy(db, { category: 'ngap_nuoc', priority: 'urgent', triageMinutes: 5, dispatchMinutes: 10, acknowledgeMinutes: 15, resolveMinutes: 30 });

    expect(await slaTargets(db, 'ngap_nuoc', 'urgent')).toEqual({ triage: 5, dispatch: 10, acknowledge: 15, resolve: 30 });
    expect(await slaTargets(db, 'ngap_nuoc', 'normal')).toEqual({ triage: 15, dispatch: 30, acknowledge: 60, resolve: 90 });
    expect(await slaTargets(db, 'rac_thai', 'urgent')).toEqual({ triage: 5, dispatch: 10, acknowledge: 20, resolve: 60 });
    expect(await slaTargets(db, null, 'urgent')).toEqual({ triage: 5, dispatch: 10, acknowledge: 20, resolve: 60 });
    expect(await slaTargets(db, 'rac_thai', 'normal')).toEqual(DEFAULT_SLA_TARGETS);

    // removing the category+priority row falls back to the category row
    expect(await removeSlaPolicy(db, { category: 'ngap_nuoc', priority: 'urgent' })).toBe(true);
    expect(await slaTargets(db, 'ngap_nuoc', 'urgent')).toEqual({ triage: 15, dispatch: 30, acknowledge: 60, resolve: 90 });
    await removeSlaPolicy(db, { category: 'ngap_nuoc' });
    await removeSlaPolicy(db, { priority: 'urgent' });
    expect(await slaTargets(db, 'ngap_nuoc', 'urgent')).toEqual(DEFAULT_SLA_TARGETS);
  });

  it('edits a policy in place: one row per scope, unset fields keep their stored value', async () => {
    const a = await setSlaPolicy(db, { category: 'tieng_on', resolveMinutes: 240, acknowledgeMinutes: 90, actor: 'user:admin' });
    const b = await setSlaPolicy(db, { category: 'tieng_on', triageMinutes: 10, actor: 'user:other' });
    expect(b.id).toBe(a.id);
    expect(b).toMatchObject({ category: 'tieng_on', priority: null, updatedBy: 'user:other', targets: { triage: 10, dispatch: 30, acknowledge: 90, resolve: 240 } });
    // the default row (null, null) is edited, never duplicated
    const d1 = await setSlaPolicy(db, { resolveMinutes: 180 });
    const d2 = await setSlaPolicy(db, { resolveMinutes: 120 });
    expect(d2.id).toBe(d1.id);
    const defaults = (await listSlaPolicies(db)).filter((p) => p.category === null && p.priority === null);
    expect(defaults).toEqual([expect.objectContaining({ targets: DEFAULT_SLA_TARGETS })]);
    await removeSlaPolicy(db, { category: 'tieng_on' });
  });

  it('refuses bad input with stable codes and stores nothing', async () => {
    const before = await listSlaPolicies(db);
    await expect(setSlaPolicy(db, { category: 'khong_co', resolveMinutes: 60 })).rejects.toMatchObject({ code: 'category_unknown', status: 422 });
    await expect(setSlaPolicy(db, { priority: 'gap', resolveMinutes: 60 })).rejects.toMatchObject({ code: 'priority_invalid', status: 422 });
    for (const bad of [0, -5, 1.5, Number.NaN, 60 * 24 * 61]) {
      await expect(setSlaPolicy(db, { category: 'rac_thai', resolveMinutes: bad })).rejects.toMatchObject({ code: 'sla_minutes_invalid', status: 422 });
    }
    await expect(setSlaPolicy(db, { category: 'rac_thai', resolveMinutes: 45 })) // acknowledge (60) would come after resolve
      .rejects.toMatchObject({ code: 'sla_targets_out_of_order', status: 422 });
    await expect(setSlaPolicy(db, { triageMinutes: 40 })).rejects.toMatchObject({ code: 'sla_targets_out_of_order' });
    await expect(removeSlaPolicy(db, {})).rejects.toMatchObject({ code: 'sla_default_policy_required', status: 409 });
    expect(await listSlaPolicies(db)).toEqual(before);
  });
});

describe('breachedSql', () => {
  it('selects exactly the tickets whose next stage is past due by nextStage, under category, priority and default policies, reopened or not', async () => {
    await setSlaPolicy(db, { category: 'ngap_nuoc', resolveMinutes: 90 });
    await setSlaPolicy(db, { priority: 'urgent', triageMinutes: 5, dispatchMinutes: 10, acknowledgeMinutes: 20, resolveMinutes: 60 });
    await setSlaPolicy(db, { category: 'ngap_nuoc', priority: 'urgent', triageMinutes: 3, dispatchMinutes: 6, acknowledgeMinutes: 9, resolveMinutes: 12 });
    try {
      const policies = await listSlaPolicies(db);
      const now = at(100);
      const ids: number[] = [];
      for (const status of ['new', 'triaged', 'dispatched', 'acknowledged', 'in_progress', 'resolved']) {
        for (const category of ['ngap_nuoc', 'rac_thai', null]) {
          for (const priority of ['normal', 'urgent']) {
            for (const ago of [2, 8, 14, 25, 50, 70, 95, 130]) ids.push(await newTicket({ status, category, priority, receivedAt: at(100 - ago) }));
          }
        }
      }
      // Received long ago and reopened 8 minutes ago: due again from the reopening.
      const reopened = await newTicket({ status: 'triaged', receivedAt: at(-500) });
      await db.updateTable('tickets').set({ reopened_at: at(92), reopen_count: 1 }).where('id', '=', reopened).execute();
      ids.push(reopened);

      const tickets = await db.selectFrom('tickets').select(['id', 'status', 'received_at', 'reopened_at', 'category_code', 'priority'])
        .where('id', 'in', ids).execute();
      const want = tickets.filter((t) => { const n = nextStage(t, policies); return n !== null && n.dueAt <= now; }).map((t) => t.id).sort((a, b) => a - b);
      const got = (await db.selectFrom('tickets').select('id').where('id', 'in', ids).where(breachedSql(policies, now)).orderBy('id').execute()).map((r) => r.id);
      expect(got).toEqual(want);
      expect(want.length).toBeGreaterThan(50); // both sides of every deadline are present
      expect(want.length).toBeLessThan(ids.length - 50);
      expect(got).not.toContain(reopened);
    } finally {
      await removeSlaPolicy(db, { category: 'ngap_nuoc', priority: 'urgent' });
      await removeSlaPolicy(db, { category: 'ngap_nuoc' });
      await removeSlaPolicy(db, { priority: 'urgent' });
    }
  });
});

describe('checkTicket', () => {
  it('warns at 75% and breaches at 100% of a stage, once each however often it runs', async () => {
    const id = await newTicket();
    expect(await checkTicket(db, id, at(11))).toEqual([]);
    const warned = await checkTicket(db, id, at(11.25));
    expect(brief(warned)).toEqual(['sla.warning:triage']);
    expect(warned[0]).toMatchObject({ ticketId: id, actor: 'system', data: { stage: 'triage', due_at: at(15).toISOString() } });
    expect(await checkTicket(db, id, at(12))).toEqual([]);

    // five checks at once (one per connection on a server): one breach
    const runs = await Promise.all(Array.from({ length: 5 }, () => checkTicket(db, id, at(15))));
    expect(runs.flat().map((e) => `${e.type}:${String(e.data.stage)}`)).toEqual(['sla.breached:triage']);
    expect(await checkTicket(db, id, at(16))).toEqual([]);

    expect(await alertsOf(id)).toEqual([
      { stage: 'triage', kind: 'warning', due_at: at(15) },
      { stage: 'triage', kind: 'breach', due_at: at(15) },
    ]);
    expect(await slaEventsOf(id)).toEqual([
      { type: 'sla.warning', data: { stage: 'triage', due_at: at(15).toISOString() }, public: false },
      { type: 'sla.breached', data: { stage: 'triage', due_at: at(15).toISOString() }, public: false },
    ]);
  });

  it('fires nothing twice when many checks race past several thresholds', async () => {
    const id = await newTicket();
    const runs = await Promise.all(Array.from({ length: 6 }, (_, i) => checkTicket(db, id, at(31 + i * 0.01))));
    expect(runs.flat().map((e) => `${e.type}:${String(e.data.stage)}`).sort()).toEqual(
      ['sla.breached:dispatch', 'sla.breached:triage', 'sla.warning:dispatch', 'sla.warning:triage'],
    );
    expect(await alertsOf(id)).toHaveLength(4);
  });

  it('raises no alert for a stage the ticket has already passed', async () => {
    const id = await newTicket({ status: 'dispatched' });
    expect(await checkTicket(db, id, at(40))).toEqual([]);
    expect(brief(await checkTicket(db, id, at(46)))).toEqual(['sla.warning:acknowledge']);
    expect((await alertsOf(id)).map((a) => a.stage)).toEqual(['acknowledge']);
  });

  it('a ticket left new keeps every later clock running: a late check fires all it missed, in order', async () => {
    const id = await newTicket();
    expect(brief(await checkTicket(db, id, at(180)))).toEqual([
      'sla.warning:triage', 'sla.breached:triage', 'sla.warning:dispatch', 'sla.breached:dispatch',
      'sla.warning:acknowledge', 'sla.breached:acknowledge', 'sla.warning:resolve', 'sla.breached:resolve',
    ]);
    expect(await checkTicket(db, id, at(181))).toEqual([]);
  });

  it('a resolved, closed or rejected ticket fires nothing', async () => {
    for (const status of ['resolved', 'closed', 'rejected']) {
      const id = await newTicket({ status });
      expect(await checkTicket(db, id, at(600))).toEqual([]);
      expect(await alertsOf(id)).toEqual([]);
    }
  });

  it('a reopened ticket counts from its reopening and its stages fire again, once, as round 1 (the first round kept)', async () => {
    const id = await newTicket();
    expect(await checkTicket(db, id, at(180))).toHaveLength(8);
    // Resolved, then a resident says it is not fixed three days later (core/tickets/feedback.ts).
    const reopenedAt = at(3 * 24 * 60);
    const later = (minutes: number) => new Date(reopenedAt.getTime() + minutes * MIN);
    await db.updateTable('tickets').set({ status: 'triaged', reopened_at: reopenedAt, reopen_count: 1 }).where('id', '=', id).execute();
    await db.transaction().execute((tx) => onStatusChanged(tx, id));
    expect(await db.selectFrom('tickets').select(['triage_due_at', 'due_at']).where('id', '=', id).executeTakeFirstOrThrow())
      .toEqual({ triage_due_at: later(15), due_at: later(120) });
    const timers = await db.selectFrom('jobs').select(['key', 'run_at']).where('key', 'like', `sla:${id}:r1:%`).execute();
    expect(timers).toEqual([{ key: `sla:${id}:r1:dispatch:warning`, run_at: later(22.5) }]);
    expect(await checkTicket(db, id, later(20))).toEqual([]);
    const fired = await checkTicket(db, id, later(30));
    expect(brief(fired)).toEqual(['sla.warning:dispatch', 'sla.breached:dispatch']);
    expect(fired[1]!.data).toEqual({ stage: 'dispatch', due_at: later(30).toISOString(), round: 1 });
    expect(await checkTicket(db, id, later(31))).toEqual([]);
    expect(await alertsOf(id)).toHaveLength(10);
  });

  it('uses the policy of the ticket, and a missing ticket is a no-op', async () => {
    await setSlaPolicy(db, { category: 'cay_xanh', priority: 'high', triageMinutes: 4, dispatchMinutes: 8, acknowledgeMinutes: 12, resolveMinutes: 20 });
    const id = await newTicket({ category: 'cay_xanh', priority: 'high' });
    expect(brief(await checkTicket(db, id, at(3)))).toEqual(['sla.warning:triage']);
    const ticket = await db.selectFrom('tickets').select(['triage_due_at', 'due_at']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(ticket).toEqual({ triage_due_at: at(4), due_at: at(20) }); // the shown deadlines follow the policy
    expect(await checkTicket(db, 999_999, at(3))).toEqual([]);
    await removeSlaPolicy(db, { category: 'cay_xanh', priority: 'high' });
  });
});

describe('durable SLA timers', () => {
  const jobsOf = (ticketId: number) => db.selectFrom('jobs').select(['id', 'key', 'run_at', 'payload', 'done_at'])
    .where('kind', '=', SLA_CHECK_JOB).where('key', 'like', `sla:${ticketId}:%`).orderBy('run_at').orderBy('key').execute();
  const pendingOf = async (ticketId: number) => (await jobsOf(ticketId)).filter((j) => j.done_at === null);
  const timersOf = async (ticketId: number) => (await jobsOf(ticketId)).map((j) => [j.key, (j.run_at.getTime() - T0.getTime()) / MIN]);
  const ticketOf = (id: number, over: Partial<SlaTicket> = {}): SlaTicket => ({ id, status: 'new', received_at: T0, category_code: null, priority: 'normal', ...over });

  it('schedules one timer, at the next threshold ahead, once', async () => {
    const id = await newTicket({ status: 'triaged' });
    await scheduleSla(db, ticketOf(id, { status: 'triaged' }));
    await scheduleSla(db, ticketOf(id, { status: 'triaged' }));
    expect(await timersOf(id)).toEqual([[`sla:${id}:dispatch:warning`, 22.5]]);
    expect((await jobsOf(id))[0]!.payload).toEqual({ ticketId: id, stage: 'dispatch', kind: 'warning' });
  });

  it('schedules a batch of new tickets in two statements, one timer each (none for a settled one)', async () => {
    const [a, b, closed] = [await newTicket(), await newTicket({ receivedAt: at(10) }), await newTicket({ status: 'closed' })];
    let statements = 0;
    const counting = db.withPlugin({
      transformQuery: (args) => { statements++; return args.node; },
      transformResult: async (args) => args.result,
    });
    await scheduleSlaMany(counting, [
      { ticket: ticketOf(a), targets: DEFAULT_SLA_TARGETS },
      { ticket: ticketOf(b, { received_at: at(10) }), targets: { triage: 4, dispatch: 8, acknowledge: 12, resolve: 20 } },
      { ticket: ticketOf(closed, { status: 'closed' }), targets: DEFAULT_SLA_TARGETS },
    ]);
    expect(statements).toBe(2);
    expect(await timersOf(a)).toEqual([[`sla:${a}:triage:warning`, 11.25]]);
    expect(await timersOf(b)).toEqual([[`sla:${b}:triage:warning`, 13]]);
    expect(await timersOf(closed)).toEqual([]);
  });

  it('a check fires what is due and chains the next timer; a late one fires all it missed and skips to the first ahead', async () => {
    const id = await newTicket();
    await scheduleSla(db, ticketOf(id));
    expect(brief(await checkTicket(db, id, at(11.25)))).toEqual(['sla.warning:triage']);
    expect(await timersOf(id)).toEqual([[`sla:${id}:triage:warning`, 11.25], [`sla:${id}:triage:breach`, 15]]);
    expect(await checkTicket(db, id, at(12))).toEqual([]); // runs again: nothing fires, no timer added
    expect(await timersOf(id)).toHaveLength(2);

    expect(brief(await checkTicket(db, id, at(31)))).toEqual(['sla.breached:triage', 'sla.warning:dispatch', 'sla.breached:dispatch']);
    expect((await timersOf(id)).slice(2)).toEqual([[`sla:${id}:acknowledge:warning`, 45]]);
  });

  it('walks a ticket through every threshold: each of the 8 alerts fires once, one timer pending at a time, none at the end', async () => {
    const id = await newTicket();
    await scheduleSla(db, ticketOf(id));
    const fired: string[] = [];
    for (let pending = await pendingOf(id); pending.length > 0; pending = await pendingOf(id)) {
      expect(pending).toHaveLength(1);
      const job = pending[0]!;
      fired.push(...brief(await checkTicket(db, id, job.run_at)));
      expect(await checkTicket(db, id, job.run_at)).toEqual([]); // a retried job fires nothing again
      await db.updateTable('jobs').set({ done_at: job.run_at }).where('id', '=', job.id).execute();
      expect(fired.length).toBeLessThanOrEqual(8);
    }
    expect(fired).toEqual([
      'sla.warning:triage', 'sla.breached:triage', 'sla.warning:dispatch', 'sla.breached:dispatch',
      'sla.warning:acknowledge', 'sla.breached:acknowledge', 'sla.warning:resolve', 'sla.breached:resolve',
    ]);
    expect(await alertsOf(id)).toHaveLength(8);
    expect(await timersOf(id)).toEqual([
      [`sla:${id}:triage:warning`, 11.25], [`sla:${id}:triage:breach`, 15], [`sla:${id}:dispatch:warning`, 22.5], [`sla:${id}:dispatch:breach`, 30],
      [`sla:${id}:acknowledge:warning`, 45], [`sla:${id}:acknowledge:breach`, 60], [`sla:${id}:resolve:warning`, 90], [`sla:${id}:resolve:breach`, 120],
    ]);
  });

  it('a settled ticket gets no further timer: its pending one runs, fires nothing and ends the chain', async () => {
    const id = await newTicket();
    await scheduleSla(db, ticketOf(id));
    await db.updateTable('tickets').set({ status: 'rejected' }).where('id', '=', id).execute();
    await onStatusChanged(db, id);
    expect(await checkTicket(db, id, at(11.25))).toEqual([]);
    expect(await timersOf(id)).toEqual([[`sla:${id}:triage:warning`, 11.25]]);
  });

  it('after a change that moves a deadline, adds a timer at the new time (the old one fires nothing early)', async () => {
    const id = await newTicket({ status: 'acknowledged', category: 'cap_nuoc' });
    await scheduleSla(db, ticketOf(id, { status: 'acknowledged', category_code: 'cap_nuoc' }));
    await setSlaPolicy(db, { category: 'cap_nuoc', resolveMinutes: 240 });
    await onStatusChanged(db, id);
    expect((await db.selectFrom('tickets').select('due_at').where('id', '=', id).executeTakeFirstOrThrow()).due_at).toEqual(at(240));
    expect(await timersOf(id)).toEqual([[`sla:${id}:resolve:warning`, 90], [`sla:${id}:resolve:warning@${at(180).toISOString()}`, 180]]);
    await onStatusChanged(db, id); // once, however often it runs
    expect(await timersOf(id)).toHaveLength(2);

    // the old timer comes due and fires nothing; the new one fires and chains the breach
    expect(await checkTicket(db, id, at(90))).toEqual([]);
    expect(await timersOf(id)).toHaveLength(2);
    expect(brief(await checkTicket(db, id, at(180)))).toEqual(['sla.warning:resolve']);
    expect((await timersOf(id)).slice(2)).toEqual([[`sla:${id}:resolve:breach`, 240]]);
    expect(brief(await checkTicket(db, id, at(240)))).toEqual(['sla.breached:resolve']);
    expect(await timersOf(id)).toHaveLength(3); // nothing ahead: the chain ends
    await removeSlaPolicy(db, { category: 'cap_nuoc' });
  });

  it('a change that brings a deadline forward gets a timer at the earliest threshold not fired yet', async () => {
    const id = await newTicket({ category: 'rac_thai' });
    await scheduleSla(db, ticketOf(id, { category_code: 'rac_thai' }));
    expect(brief(await checkTicket(db, id, at(50)))).toHaveLength(5); // triage, dispatch, acknowledge warning
    await db.updateTable('tickets').set({ status: 'dispatched' }).where('id', '=', id).execute();
    await onStatusChanged(db, id);
    expect((await timersOf(id)).slice(1)).toEqual([[`sla:${id}:acknowledge:breach`, 60]]); // the chain's timer already waits for it

    // a stricter policy: the acknowledge breach (now at 20) and resolve warning (45) are past and have not fired
    await setSlaPolicy(db, { category: 'rac_thai', triageMinutes: 5, dispatchMinutes: 10, acknowledgeMinutes: 20, resolveMinutes: 60 });
    await onStatusChanged(db, id);
    expect((await timersOf(id)).slice(1)).toEqual([
      [`sla:${id}:acknowledge:breach@${at(20).toISOString()}`, 20], [`sla:${id}:acknowledge:breach`, 60],
    ]);
    expect(brief(await checkTicket(db, id, at(51)))).toEqual(['sla.breached:acknowledge', 'sla.warning:resolve']);
    expect((await timersOf(id)).at(-1)).toEqual([`sla:${id}:resolve:breach`, 60]);
    await removeSlaPolicy(db, { category: 'rac_thai' });
  });
});

describe('SLA in the running app', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await testRuntime();
  });
  afterAll(async () => {
    await rt?.close();
  });

  it('a report that becomes a ticket gets its deadlines and its first timer in the same transaction', async () => {
    const res = await postReport(rt, reportBody());
    expect(res.status).toBe(201);
    const { code } = (await res.json()) as { code: string };
    await rt.worker.idle();
    const rdb = rt.handle.db;
    const t = await rdb.selectFrom('reports').innerJoin('tickets', 'tickets.id', 'reports.ticket_id')
      .select(['tickets.id', 'tickets.received_at', 'tickets.triage_due_at', 'tickets.due_at', 'tickets.status'])
      .where('reports.code', '=', code).executeTakeFirstOrThrow();
    const r = t.received_at.getTime();
    expect(t.status).toBe('new');
    expect([t.triage_due_at!.getTime() - r, t.due_at!.getTime() - r]).toEqual([15 * MIN, 120 * MIN]);
    const jobs = await rdb.selectFrom('jobs').select(['key', 'run_at', 'done_at', 'payload']).where('kind', '=', SLA_CHECK_JOB)
      .where('key', 'like', `sla:${t.id}:%`).orderBy('run_at').execute();
    expect(jobs.map((j) => [j.key, j.run_at.getTime() - r, j.done_at, j.payload])).toEqual([
      [`sla:${t.id}:triage:warning`, 11.25 * MIN, null, { ticketId: t.id, stage: 'triage', kind: 'warning' }],
    ]);
  });

  it('the worker runs a due timer, publishes the warning and the escalation on the event bus, and chains the next timer', async () => {
    const res = await postReport(rt, reportBody({ text: 'Cây xanh gãy đổ chắn ngang đường' }));
    const { code } = (await res.json()) as { code: string };
    await rt.worker.idle();
    const rdb = rt.handle.db;
    const { ticket_id: id } = await rdb.selectFrom('reports').select('ticket_id').where('code', '=', code).executeTakeFirstOrThrow();
    const published: DomainEvent[] = [];
    const off = rt.events.on('*', (e) => { if (e.type.startsWith('sla.')) published.push(e); });
    const timers = () => rdb.selectFrom('jobs').select(['key', 'run_at', 'done_at']).where('kind', '=', SLA_CHECK_JOB)
      .where('key', 'like', `sla:${id}:%`).orderBy('run_at').execute();
    try {
      // Received 20 minutes ago: the triage warning and breach are both due, and the timer runs now.
      const { received_at: receivedAt } = await rdb.updateTable('tickets').set({ received_at: sql<Date>`now() - interval '20 minutes'` })
        .where('id', '=', id).returning('received_at').executeTakeFirstOrThrow();
      await rdb.updateTable('jobs').set({ run_at: sql<Date>`now()` }).where('kind', '=', SLA_CHECK_JOB).where('key', '=', `sla:${id}:triage:warning`).execute();
      rt.worker.wake();
      await rt.worker.idle();
      expect(published.map((e) => `${e.type}:${String(e.data.stage)}:${e.ticketId}`)).toEqual([`sla.warning:triage:${id}`, `sla.breached:triage:${id}`]);
      const [ran, next, ...more] = await timers();
      expect(ran).toMatchObject({ key: `sla:${id}:triage:warning`, done_at: expect.any(Date) });
      expect(next).toEqual({ key: `sla:${id}:dispatch:warning`, run_at: new Date(receivedAt.getTime() + 22.5 * MIN), done_at: null });
      expect(more).toEqual([]);
    } finally {
      off();
    }
  });
});
