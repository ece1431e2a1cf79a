import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql, type Expression, type SqlBool } from 'kysely';
import type { Db } from './db/schema.ts';
import type { InboundReport } from './core/report-input.ts';
import type { IntakeService } from './intake/intake-service.ts';
import { upsertUser } from './core/staff/users.ts';
import { hashPassword } from './core/staff/passwords.ts';
import type { DomainEvent } from './core/events.ts';
import type { Actor } from './core/staff/policy.ts';
import { onStatusChanged } from './core/sla/sla.ts';
import { changeStatus, dispatchTicket } from './core/tickets/workflow.ts';

const SEED = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../seed/demo-reports.json');

interface DemoReport extends Omit<InboundReport, 'attachments'> {
  channel: string;
  minutes_ago: number;
  /** How far the ward has taken the report's ticket (`settleDemo`); absent: still waiting. */
  outcome?: 'acknowledged' | 'in_progress' | 'resolved';
  /** The ward's result, for `resolved`. */
  result?: string;
}

export const DEMO_USERS = [
  { username: 'agent', password: 'tongdai1022', role: 'agent', displayName: 'Điện thoại viên Demo' },
  { username: 'supervisor', password: 'giamsat1022', role: 'supervisor', displayName: 'Giám sát Demo' },
  { username: 'benthanh', password: 'phuong1022', role: 'ward_officer', displayName: 'Cán bộ phường Bến Thành', areaCodes: ['26743'] },
  { username: 'admin', password: 'quantri1022', role: 'admin', displayName: 'Quản trị Demo' },
];

/** The password of every unit's demo ward officer (`demoOfficerName`). */
export const DEMO_OFFICER_PASSWORD = 'phuong1022';

/**
 * A unit's demo ward officer: its name without accents, words joined by "-" ("Phường Sài Gòn" ->
 * phuong-sai-gon); two units whose names differ only by accents get "-<unit code>" added.
 */
export function demoOfficerName(unitName: string): string {
  return unitName.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[đĐ]/g, 'd').toLowerCase()
    .replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 64);
}

/**
 * A ward officer for every unit that has none among the demo accounts, so that a demo ticket
 * can be dispatched wherever it lies (one password for all, hashed once; one statement).
 * Existing accounts are left as they are. Returns how many were added.
 */
export async function loadDemoOfficers(db: Db): Promise<number> {
  const covered = new Set(DEMO_USERS.flatMap((u) => u.areaCodes ?? []));
  const units = (await db.selectFrom('areas').select(['code', 'name']).orderBy('code').execute()).filter((a) => !covered.has(a.code));
  if (units.length === 0) return 0;
  const hash = await hashPassword(DEMO_OFFICER_PASSWORD);
  // Names alike without accents ("Xã Thanh An", "Xã Thạnh An") take their unit's code too.
  const all = await db.selectFrom('areas').select('name').execute();
  const uses = new Map<string, number>();
  for (const a of all) uses.set(demoOfficerName(a.name), (uses.get(demoOfficerName(a.name)) ?? 0) + 1);
  const nameOf = (u: { code: string; name: string }) => (uses.get(demoOfficerName(u.name))! > 1 ? `${demoOfficerName(u.name)}-${u.code}` : demoOfficerName(u.name));
  const added = await db.insertInto('users')
    .values(units.map((u) => ({
      username: nameOf(u), display_name: `Cán bộ ${u.name}`, role: 'ward_officer', password_hash: hash, area_codes: JSON.stringify([u.code]),
    })))
    .onConflict((oc) => oc.column('username').doNothing())
    .returning('id')
    .execute();
  return added.length;
}

/**
 * Loads the demo reports through the real intake path (stored, queued, processed by the
 * worker), the demo accounts and a ward officer per unit (`loadDemoOfficers`). Idempotent: each demo report has a fixed external id. With a
 * channel that writes to citizens on (`sending`: SMS, Messenger...), the reports are not loaded:
 * their acknowledgements would text the demo's phone numbers, which may be someone's.
 */
export async function loadDemo(
  db: Db, intake: IntakeService, now = new Date(), sending: string[] = [],
): Promise<{ reports: number; officers: number; users: typeof DEMO_USERS; skipped?: string }> {
  for (const u of DEMO_USERS) await upsertUser(db, u);
  const officers = await loadDemoOfficers(db);
  if (sending.length) {
    return { reports: 0, officers, users: DEMO_USERS, skipped: `channels that write to citizens are on (${sending.join(', ')}): the demo reports would text their contacts` };
  }
  const reports = JSON.parse(await readFile(SEED, 'utf8')) as DemoReport[];
  const start = now.getTime();
  let n = 0;
  for (const [i, r] of reports.entries()) {
    const { channel, minutes_ago, outcome: _outcome, result: _result, ...report } = r;
    const accepted = await intake.accept({
      channel, externalId: `demo-${i + 1}`, payload: r, report: { ...report, attachments: [] },
      receivedAt: new Date(start - minutes_ago * 60_000),
    });
    if (!accepted.replay) n++;
  }
  return { reports: n, officers, users: DEMO_USERS };
}

/** The first member of staff the condition finds, as the workflow sees them. */
async function actorWhere(db: Db, where: Expression<SqlBool>): Promise<Actor | null> {
  const u = await db.selectFrom('users').select(['id', 'username', 'role', 'area_codes']).where(where).orderBy('id').executeTakeFirst();
  return u ? { id: u.id, username: u.username, role: u.role as Actor['role'], areaCodes: u.area_codes as string[] } : null;
}

/**
 * Takes some demo tickets through the ward's work, as the real console and ward view would (the
 * workflow, its events and SLA timers): the demo agent dispatches each to its unit, and the
 * unit's demo officer acknowledges, starts or resolves it, as its report's `outcome` says. So the
 * dashboard and the transparency page have handled tickets to rank from the first start. Runs
 * after the worker has filed the demo reports; a ticket already past `triaged` is left as it is
 * (idempotent, and never undoes what someone did in the demo). Returns the events to publish.
 */
export async function settleDemo(db: Db): Promise<DomainEvent[]> {
  const reports = JSON.parse(await readFile(SEED, 'utf8')) as DemoReport[];
  const agent = await actorWhere(db, sql<boolean>`username = 'agent'`);
  if (!agent) return [];
  const events: DomainEvent[] = [];
  for (const [i, r] of reports.entries()) {
    if (!r.outcome) continue;
    const t = await db.selectFrom('inbound_messages as m')
      .innerJoin('reports as rp', 'rp.inbound_id', 'm.id')
      .innerJoin('tickets as t', 't.id', 'rp.ticket_id')
      .select(['t.id', 't.status', 't.area_code', 't.merged_into'])
      .where('m.channel', '=', r.channel).where('m.external_id', '=', `demo-${i + 1}`)
      .executeTakeFirst();
    if (!t || t.merged_into !== null || !t.area_code || (t.status !== 'new' && t.status !== 'triaged')) continue;
    const ward = await actorWhere(db, sql<boolean>`role = 'ward_officer' and area_codes @> ${JSON.stringify([t.area_code])}::jsonb`);
    if (!ward) continue;
    events.push(...await dispatchTicket(db, t.id, agent, { areaCode: t.area_code, onStatus: onStatusChanged }));
    events.push(...await changeStatus(db, t.id, ward, 'acknowledged', { onStatus: onStatusChanged }));
    if (r.outcome === 'acknowledged') continue;
    events.push(...await changeStatus(db, t.id, ward, 'in_progress', { onStatus: onStatusChanged }));
    if (r.outcome === 'resolved') events.push(...await changeStatus(db, t.id, ward, 'resolved', { note: r.result, onStatus: onStatusChanged }));
  }
  return events;
}
