import { sql } from 'kysely';
import type { Db } from '../../db/schema.ts';
import { AppError } from '../errors.ts';
import { canonicalCode } from './codes.ts';
import { can, type Actor } from '../staff/policy.ts';
import { FIELD_STATUSES, OPEN_STATUSES } from './statuses.ts';
import { assertCan } from '../staff/authorize.ts';
import { unitSql } from './event-log.ts';
import { phoneQuery } from '../citizens/identity.ts';
import { breachedSql, type SlaPolicy } from '../sla/sla.ts';


export interface QueueFilters {
  status?: string[];
  channel?: string;
  category?: string;
  area?: string;
  /** Received at or after, before. */
  from?: Date;
  to?: Date;
  /** An exact lookup (`exactLookup`): a tracking code, or a caller's phone. */
  lookup?: ExactLookup;
  /** Only these tickets (a search's hits), in this order. */
  ids?: number[];
  /** Claimed by this user; null: claimed by nobody. */
  claimedBy?: number | null;
  /** Only tickets waiting for an agent's triage (new, or flagged by the engine). */
  needsTriage?: boolean;
  /** Grouped by the unit in charge (by its name), soonest deadline first within each. */
  byUnit?: boolean;
  /** Only tickets past the deadline of the stage they have still to reach (`breachedSql`). */
  breached?: { policies: readonly SlaPolicy[]; now: Date };
  limit?: number;
}

/** A query that names a ticket or report by its code, or a citizen by their phone number. */
export type ExactLookup = { code: string } | { phone: string };

/**
 * A query read as an exact lookup rather than words: a tracking code (of a ticket or of one of
 * its reports), or, for staff who may see people, a phone number however written.
 */
export function exactLookup(actor: Actor, q: string): ExactLookup | null {
  const code = canonicalCode(q);
  if (code) return { code };
  const phone = can(actor, 'citizens.see') ? phoneQuery(q) : null;
  return phone ? { phone } : null;
}

/**
 * What of the queue an actor sees: the statuses asked (default: the open ones) and, for ward
 * officers, only their units' tickets in the statuses of field work. Searches keep to it too.
 */
export function queueScope(actor: Actor, status?: string[]): { statuses: string[]; units?: string[] } {
  const statuses = status?.length ? status : [...OPEN_STATUSES];
  if (can(actor, 'units.all')) return { statuses };
  return { statuses: statuses.filter((s) => (FIELD_STATUSES as readonly string[]).includes(s)), units: actor.areaCodes };
}

/**
 * The live queue, soonest SLA deadline first (or in the order of `ids`, a search's ranking).
 * Ward officers see only the tickets of their units (`unitOf`: dispatched there, or located
 * there and not dispatched elsewhere). Rows, as the database gives them; the HTTP layer
 * presents them (src/http/console/presenters.ts).
 */
export async function listQueue(db: Db, actor: Actor, f: QueueFilters = {}) {
  const scope = queueScope(actor, f.status);
  if (scope.statuses.length === 0 || scope.units?.length === 0 || f.ids?.length === 0) return [];
  let q = db.selectFrom('tickets')
    .leftJoin('categories', 'categories.code', 'tickets.category_code')
    .leftJoin('areas', 'areas.code', 'tickets.area_code')
    .leftJoin('users', 'users.id', 'tickets.claimed_by')
    .select([
      'tickets.id', 'tickets.code', 'tickets.status', 'tickets.title', 'tickets.priority', 'tickets.category_code', 'categories.name as category_name',
      'tickets.area_code', 'areas.name as area_name', 'tickets.dispatched_area', 'tickets.report_count', 'tickets.reporter_count',
      'tickets.needs_triage', 'tickets.hotspot_count', 'tickets.received_at', 'tickets.reopened_at', 'tickets.due_at', 'users.username as claimed_by',
      sql<string[]>`(select coalesce(array_agg(distinct r.channel), '{}') from reports r where r.ticket_id = tickets.id)`.as('channels'),
    ])
    .where('tickets.merged_into', 'is', null)
    .where('tickets.status', 'in', scope.statuses);
  if (scope.units) q = q.where(unitSql(), 'in', scope.units);
  if (f.category) q = q.where('tickets.category_code', '=', f.category);
  if (f.area) q = q.where('tickets.area_code', '=', f.area);
  if (f.channel) q = q.where(sql<boolean>`exists (select 1 from reports r where r.ticket_id = tickets.id and r.channel = ${f.channel})`);
  if (f.from) q = q.where('tickets.received_at', '>=', f.from);
  if (f.to) q = q.where('tickets.received_at', '<', f.to);
  if (f.ids) q = q.where('tickets.id', 'in', f.ids);
  if (f.claimedBy === null) q = q.where('tickets.claimed_by', 'is', null);
  else if (f.claimedBy !== undefined) q = q.where('tickets.claimed_by', '=', f.claimedBy);
  if (f.needsTriage) q = q.where((eb) => eb.or([eb('tickets.needs_triage', '=', true), eb('tickets.status', '=', 'new')]));
  if (f.breached) q = q.where(breachedSql(f.breached.policies, f.breached.now));
  const lookup = f.lookup;
  if (lookup && 'code' in lookup) {
    q = q.where((eb) => eb.or([eb('tickets.code', '=', lookup.code),
      eb.exists(eb.selectFrom('reports as r2').select('r2.id').whereRef('r2.ticket_id', '=', 'tickets.id').where('r2.code', '=', lookup.code))]));
  } else if (lookup) {
    // A phone number, however written: the tickets of the citizen known by it.
    q = q.where('tickets.id', 'in', (eb) => eb.selectFrom('citizen_identities as ci').innerJoin('reports as r3', 'r3.citizen_id', 'ci.citizen_id')
      .select('r3.ticket_id').where('ci.kind', '=', 'phone').where('ci.value', '=', lookup.phone));
  }
  if (f.byUnit) q = q.orderBy(sql`(select u.name from areas u where u.code = ${unitSql()}) asc nulls last`);
  const rows = await q.orderBy(sql`tickets.due_at asc nulls last`).orderBy('tickets.id').limit(Math.min(f.limit ?? 200, 500)).execute();
  if (!f.ids) return rows;
  const rank = new Map(f.ids.map((id, i) => [id, i]));
  return rows.sort((a, b) => rank.get(a.id)! - rank.get(b.id)!);
}

export type QueueRow = Awaited<ReturnType<typeof listQueue>>[number];

/** The newest messages to citizens a ticket's detail lists. */
const MESSAGES_MAX = 200;

/**
 * Everything an agent needs about one ticket, after checking they may read it: reports across
 * channels, reasons, citizens (for those who may see people), their history, the event log.
 */
export async function ticketDetail(db: Db, actor: Actor, rawCode: string) {
  const code = canonicalCode(rawCode);
  const t = code ? await db.selectFrom('tickets').selectAll().where('code', '=', code).executeTakeFirst() : undefined;
  if (!t) throw new AppError('ticket_not_found', 404, `no ticket ${rawCode.slice(0, 40)}`, 'Không tìm thấy hồ sơ.');
  assertCan(actor, 'ticket.read', t);
  const rows = await db.selectFrom('reports').innerJoin('inbound_messages as m', 'm.id', 'reports.inbound_id').select([
    'reports.id', 'reports.code', 'reports.channel', 'reports.citizen_id', 'reports.text', 'reports.category_code', 'reports.category_source',
    'reports.category_confidence', 'reports.area_code', 'reports.area_source', 'reports.lat', 'reports.lng', 'reports.address', 'reports.attachments',
    'reports.relation', 'reports.score', 'reports.reasons', 'reports.received_at', 'm.external_id',
  ]).where('reports.ticket_id', '=', t.id).orderBy('reports.received_at').execute();
  const calls = await callsOf(db, rows.filter((r) => r.channel === 'phone').map((r) => callSid(r.external_id)));
  const reports = rows.map(({ external_id, ...r }) => ({ ...r, call: r.channel === 'phone' ? calls.get(callSid(external_id)) ?? null : null }));
  const events = await db.selectFrom('ticket_events').select(['id', 'type', 'actor', 'reason', 'data', 'public', 'created_at'])
    .where('ticket_id', '=', t.id).orderBy('id').execute();
  const citizenIds = [...new Set(reports.map((r) => r.citizen_id).filter((c): c is number => c !== null))];
  const seesPeople = can(actor, 'citizens.see');
  const citizens = citizenIds.length && seesPeople
    ? await Promise.all(citizenIds.map(async (id) => {
      const c = await db.selectFrom('citizens').select(['id', 'display_name']).where('id', '=', id).executeTakeFirstOrThrow();
      const identities = await db.selectFrom('citizen_identities').select(['id', 'kind', 'value']).where('citizen_id', '=', id).orderBy('id').execute();
      const history = await db.selectFrom('reports').innerJoin('tickets', 'tickets.id', 'reports.ticket_id')
        .select(['tickets.code', 'tickets.status', 'tickets.title', 'reports.channel', 'reports.received_at'])
        .where('reports.citizen_id', '=', id).where('tickets.id', '!=', t.id).orderBy('reports.received_at', 'desc').limit(20).execute();
      return { ...c, identities, history };
    }))
    : [];
  // What was sent to the citizens about it (notices, answers) and what became of it: for staff who deal with people.
  const messages = seesPeople
    ? (await db.selectFrom('outbound_messages').innerJoin('reports', 'reports.id', 'outbound_messages.report_id')
      .select(['outbound_messages.id', 'reports.code as report_code', 'outbound_messages.channel', 'outbound_messages.kind', 'outbound_messages.status',
        'outbound_messages.delivery_status', 'outbound_messages.error', 'outbound_messages.segments', 'outbound_messages.created_at',
        'outbound_messages.sent_at', 'outbound_messages.delivered_at'])
      .where('outbound_messages.ticket_id', '=', t.id).orderBy('outbound_messages.id', 'desc').limit(MESSAGES_MAX).execute()).reverse()
    : [];
  const [category, area, claimedBy] = await Promise.all([
    t.category_code ? db.selectFrom('categories').select(['code', 'name']).where('code', '=', t.category_code).executeTakeFirst() : undefined,
    t.area_code ? db.selectFrom('areas').select(['code', 'name']).where('code', '=', t.area_code).executeTakeFirst() : undefined,
    t.claimed_by ? db.selectFrom('users').select(['username', 'display_name']).where('id', '=', t.claimed_by).executeTakeFirst() : undefined,
  ]);
  return { ticket: t, category: category ?? null, area: area ?? null, claimedBy: claimedBy ?? null, reports, events, citizens, messages };
}

export type TicketRecord = Awaited<ReturnType<typeof ticketDetail>>;

/** The call a phone report came from: the CallSid its message is keyed by (an agent's log of a call: `agent:<CallSid>`). */
const callSid = (externalId: string) => externalId.replace(/^agent:/, '');

/** What the phone line recorded of calls (channel_events): how each ended, how long it lasted and waited. */
async function callsOf(db: Db, sids: string[]): Promise<Map<string, { status: string | null; duration_s: number | null; queue_s: number | null }>> {
  const out = new Map<string, { status: string | null; duration_s: number | null; queue_s: number | null }>();
  if (sids.length === 0) return out;
  const notes = await db.selectFrom('channel_events').select(['external_id', 'kind', 'data'])
    .where('channel', '=', 'phone').where('external_id', 'in', [...new Set(sids)]).where('kind', 'in', ['status', 'queue']).orderBy('id').execute();
  for (const n of notes) {
    const c = out.get(n.external_id) ?? { status: null, duration_s: null, queue_s: null };
    const d = n.data as { status?: unknown; duration?: unknown; seconds?: unknown };
    if (n.kind === 'status') {
      c.status = typeof d.status === 'string' ? d.status : c.status;
      c.duration_s = typeof d.duration === 'number' ? d.duration : c.duration_s;
    } else if (typeof d.seconds === 'number') c.queue_s = d.seconds;
    out.set(n.external_id, c);
  }
  return out;
}

/** The most messages of one ticket's reports read back as their senders wrote them. */
const REPORT_MESSAGES_MAX = 100;

/**
 * The inbound messages each report of a ticket was made of (its first, and those that continued
 * it), oldest first, with their stored payloads: for channels that can show a message as its
 * sender wrote it (`channels`), and staff who may see people (the payload names the sender).
 */
export async function reportMessages(db: Db, actor: Actor, reports: { id: number; channel: string }[], channels: (name: string) => boolean) {
  const ids = reports.filter((r) => channels(r.channel)).map((r) => r.id);
  if (!ids.length || !can(actor, 'citizens.see')) return [];
  return db.selectFrom('inbound_messages as m').innerJoin('reports as r', (j) => j.on((eb) => eb.or([eb('r.id', '=', eb.ref('m.report_id')), eb('r.inbound_id', '=', eb.ref('m.id'))])))
    .select(['r.id as report_id', 'm.code', 'm.channel', 'm.payload', 'm.received_at'])
    .where('r.id', 'in', ids).orderBy('m.received_at').orderBy('m.id').limit(REPORT_MESSAGES_MAX).execute();
}
