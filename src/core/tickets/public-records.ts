// The public record of reports, for open interfaces (Open311 GeoReport v2): where and what, which
// unit, in what state, and which request a report was grouped with. Never personal data: no
// names, contacts or citizen ids, and no reporter's text except, to the channel that asks, the
// reports that came through it (a client reads back what it posted).
//
// A report is known here by its public id (its stored message's number), never by its tracking
// code: the code is the resident's key to their own tracking page (their words, photos and the
// answers to them), so a public listing of codes would open every resident's page to anyone.
import { sql } from 'kysely';
import type { DbOrTx } from '../../db/schema.ts';
import { canonicalCode } from './codes.ts';
import type { TicketStatus } from './statuses.ts';

/** One report as anyone may see it. */
export interface PublicReport {
  /** The public id: the number of the report's stored inbound message (not its tracking code). */
  id: string;
  /** Its ticket's status; `received` while it waits in intake (not yet processed). */
  status: TicketStatus | 'received';
  category: { code: string; name: string } | null;
  /** The unit answerable for it: the ward the ticket is routed to, else its department. */
  unit: string | null;
  address: string | null;
  lat: number | null;
  lng: number | null;
  receivedAt: Date;
  updatedAt: Date;
  /** The SLA deadline of its ticket. */
  dueAt: Date | null;
  resolvedAt: Date | null;
  /** The public id of the first report of the ticket it was grouped into, when that is another report. */
  groupedWith: string | null;
  /** Only for reports of the channel that asked: its text and the payload it stored. */
  own?: { text: string; payload: unknown };
}

/** A service (category) as the public sees it, with the department that handles it. */
export interface PublicService {
  code: string;
  name: string;
  nameEn: string;
  keywords: string[];
  department: { code: string; name: string } | null;
}

/** Filters of a public listing; the caller bounds them (a window, a page). */
export interface PublicReportQuery {
  /** [from, to) on the report's receipt. */
  from: Date;
  to: Date;
  category?: string | undefined;
  /** Ticket statuses to keep (absent: all). Reports still in intake are listed once processed. */
  statuses?: readonly string[] | undefined;
  limit: number;
  offset: number;
}

/** The categories in force with their departments, in the city's order. */
export async function publicServices(db: DbOrTx): Promise<PublicService[]> {
  const rows = await db.selectFrom('categories').leftJoin('departments', 'departments.code', 'categories.department_code')
    .select(['categories.code', 'categories.name', 'categories.name_en', 'categories.keywords', 'departments.code as dept_code', 'departments.name as dept_name'])
    .where('categories.active', '=', true).orderBy('categories.sort').orderBy('categories.code').execute();
  return rows.map((r) => ({
    code: r.code, name: r.name, nameEn: r.name_en, keywords: (r.keywords as string[]) ?? [],
    department: r.dept_code ? { code: r.dept_code, name: r.dept_name ?? r.dept_code } : null,
  }));
}

function baseQuery(db: DbOrTx, ownChannel: string | undefined) {
  return db.selectFrom('reports as r')
    .innerJoin('tickets as t', 't.id', 'r.ticket_id')
    .leftJoin('categories as c', 'c.code', 't.category_code')
    .leftJoin('areas as a', 'a.code', 't.area_code')
    .leftJoin('departments as d', 'd.code', 't.department_code')
    .innerJoin('inbound_messages as m', 'm.id', 'r.inbound_id')
    .select([
      'r.inbound_id', 'r.received_at', 'r.address', 'r.lat', 'r.lng', 'r.channel', 'r.text', 'm.payload',
      't.status', 't.category_code', 'c.name as category_name', 'a.name as area_name', 'd.name as department_name',
      't.updated_at', 't.due_at', 't.resolved_at',
      // The ticket's first report: the request this one was grouped with, when it is another.
      sql<number>`(select r2.inbound_id from reports r2 where r2.ticket_id = t.id order by r2.received_at, r2.id limit 1)`.as('first_inbound'),
      sql<boolean>`${ownChannel ?? null}::text is not null and r.channel = ${ownChannel ?? null}::text`.as('own'),
    ]);
}

type Row = Awaited<ReturnType<ReturnType<typeof baseQuery>['execute']>>[number];

function present(r: Row): PublicReport {
  return {
    id: String(r.inbound_id),
    status: r.status as TicketStatus,
    category: r.category_code ? { code: r.category_code, name: r.category_name ?? r.category_code } : null,
    unit: r.area_name ?? r.department_name ?? null,
    address: r.address, lat: r.lat, lng: r.lng,
    receivedAt: r.received_at,
    updatedAt: r.updated_at > r.received_at ? r.updated_at : r.received_at,
    dueAt: r.due_at, resolvedAt: r.resolved_at,
    groupedWith: r.first_inbound != null && Number(r.first_inbound) !== r.inbound_id ? String(r.first_inbound) : null,
    ...(r.own ? { own: { text: r.text, payload: r.payload } } : {}),
  };
}

/**
 * Reports received in [from, to), newest first, with their tickets' state. `ownChannel` sees its
 * own reports' text and payload (see PublicReport.own).
 */
export async function listPublicReports(db: DbOrTx, q: PublicReportQuery, ownChannel?: string): Promise<PublicReport[]> {
  let query = baseQuery(db, ownChannel).where('r.received_at', '>=', q.from).where('r.received_at', '<', q.to);
  if (q.category) query = query.where('t.category_code', '=', q.category);
  if (q.statuses) query = query.where('t.status', 'in', q.statuses.length ? [...q.statuses] : ['']);
  const rows = await query.orderBy('r.received_at', 'desc').orderBy('r.id', 'desc').limit(q.limit).offset(q.offset).execute();
  return rows.map(present);
}

/** Public ids as numbers: digits only, in range, at most 200, no repeats; anything else is no id. */
function publicIds(raw: readonly string[]): number[] {
  const ids = raw.slice(0, 200).map((s) => s.trim()).filter((s) => /^[1-9][0-9]{0,9}$/.test(s)).map(Number).filter((n) => n <= 2_147_483_647);
  return [...new Set(ids)];
}

/**
 * Reports by public id, in the order asked, unknown ones left out; a message still in intake
 * (stored, not yet processed) is `received`. At most 200 ids.
 */
export async function publicReportsById(db: DbOrTx, rawIds: readonly string[], ownChannel?: string): Promise<PublicReport[]> {
  const ids = publicIds(rawIds);
  if (!ids.length) return [];
  const rows = await baseQuery(db, ownChannel).where('r.inbound_id', 'in', ids).execute();
  const found = new Map(rows.map((r) => [r.inbound_id, present(r)]));
  const waiting = ids.filter((i) => !found.has(i));
  if (waiting.length) {
    const pending = await db.selectFrom('inbound_messages').select(['id', 'channel', 'received_at', 'payload', 'report'])
      .where('id', 'in', waiting).where('report_id', 'is', null).execute();
    for (const m of pending) {
      const report = (m.report ?? {}) as { text?: unknown; address?: unknown; lat?: unknown; lng?: unknown };
      found.set(m.id, {
        id: String(m.id), status: 'received', category: null, unit: null,
        address: typeof report.address === 'string' ? report.address : null,
        lat: typeof report.lat === 'number' ? report.lat : null, lng: typeof report.lng === 'number' ? report.lng : null,
        receivedAt: m.received_at, updatedAt: m.received_at, dueAt: null, resolvedAt: null, groupedWith: null,
        ...(ownChannel && m.channel === ownChannel ? { own: { text: typeof report.text === 'string' ? report.text : '', payload: m.payload } } : {}),
      });
    }
  }
  return ids.flatMap((i) => found.get(i) ?? []);
}

/**
 * The public id of the message a tracking code names (who holds the code may learn it: the client
 * that posted the report); null while it waits in the spool or when there is no such code.
 */
export async function publicIdOfCode(db: DbOrTx, rawCode: string): Promise<string | null> {
  const code = canonicalCode(rawCode.slice(0, 40));
  if (!code?.startsWith('PA-')) return null;
  const row = await db.selectFrom('inbound_messages').select('id').where('code', '=', code).executeTakeFirst();
  return row ? String(row.id) : null;
}
