import { sql } from 'kysely';
import type { DbOrTx } from '../../db/schema.ts';
import { GROUPING } from '../engine/grouping.ts';
import { DEFAULT_SLA_TARGETS, stageOf } from '../sla/sla.ts';
import { OPEN_STATUSES, statusNameVi, TICKET_STATUSES } from '../tickets/statuses.ts';
import { CITY_UTC_OFFSET_MINUTES, type Period } from './period.ts';
import { histPercentile, rollupDays, rollupTotals, type RollupFigures } from './rollup.ts';

// The figures of the supervisors' dashboard and of the public transparency page: over a period,
// from the daily and monthly rollup of migration 0026 (src/core/dashboard/rollup.ts: counts exact,
// median and p90 from histograms, within a bucket's width); one unit's page, and the exact
// reference, from the tickets table through the indexes of migration 0020 (an index range over
// the period); open tickets now from a partial index of open tickets. No query reads the whole
// tickets table. Definitions (also in the README):
// - a ticket counts in a period by its receipt time; tickets merged into another are left out;
// - **handled**: the ticket has reached a status where its SLA clock stops (`stageOf` is null:
//   resolved, closed, rejected), at `resolved_at`, else `closed_at`; a reopened ticket that is
//   open again is not handled;
// - **within 2 h**: handled no later than the city's promise (DEFAULT_SLA_TARGETS.resolve, 120
//   minutes) after receipt; its share is of all tickets received (one still open counts against);
// - **time to resolve**: receipt to handled, in minutes, over handled tickets (median, p90);
// - **reopened**: tickets with at least one `ticket.reopened` event.

/** The city's promise, in minutes: the default resolve target of the SLA module. */
export const HANDLED_WITHIN_MINUTES = DEFAULT_SLA_TARGETS.resolve;

/** Statuses in which a ticket's SLA clock has stopped (the SLA module's "settled"). */
export const SETTLED_STATUSES = TICKET_STATUSES.filter((s) => stageOf(s) === null);

/** Literals, not parameters: the planner matches them against the partial indexes' predicates. */
const list = (xs: readonly string[]) => sql.join(xs.map((x) => sql.lit(x)));
const OPEN = list(OPEN_STATUSES);
const SETTLED = list(SETTLED_STATUSES);
const CITY_DAY = sql`((t.received_at at time zone 'UTC') + make_interval(mins => ${sql.lit(CITY_UTC_OFFSET_MINUTES)}))::date`;

/** Figures of a group of tickets received in a period (a unit, a department, a day, the city). */
export interface SlaFigures {
  volume: number;
  handled: number;
  handledWithin: number;
  /** handledWithin / volume; null when volume is 0. */
  withinShare: number | null;
  /** Minutes from receipt to handled, over handled tickets; null when none. */
  medianMinutes: number | null;
  p90Minutes: number | null;
  reopened: number;
  reopenedShare: number | null;
}

export interface RankingRow extends SlaFigures {
  /** Unit or department code; null: tickets with none yet. */
  code: string | null;
  name: string;
  rank: number;
}

export interface DayFigures extends SlaFigures {
  day: string;
}

export interface CountRow {
  code: string | null;
  name: string;
  count: number;
}

export interface OpenCounts {
  total: number;
  byStatus: CountRow[];
  byChannel: CountRow[];
  byCategory: CountRow[];
  byUnit: CountRow[];
}

export interface MapTicket {
  code: string;
  lat: number;
  lng: number;
  status: string;
  hotspotCount: number;
}

export interface PeriodStats {
  city: SlaFigures;
  byUnit: RankingRow[];
  byDepartment: RankingRow[];
  byCategory: CountRow[];
  trend: DayFigures[];
}

export const NO_UNIT_VI = 'Chưa xác định đơn vị';
export const NO_DEPARTMENT_VI = 'Chưa xác định cơ quan';
export const NO_CATEGORY_VI = 'Chưa phân loại';

interface FigureRow {
  volume: string | number; handled: string | number; within: string | number; reopened: string | number;
  median: string | number | null; p90: string | number | null;
}

const num = (v: string | number | null | undefined): number => Number(v ?? 0);
const round1 = (v: string | number | null): number | null => (v === null || v === undefined ? null : Math.round(Number(v) * 10) / 10);

function figures(r: FigureRow): SlaFigures {
  const volume = num(r.volume);
  const handledWithin = num(r.within);
  const reopened = num(r.reopened);
  return {
    volume, handled: num(r.handled), handledWithin, withinShare: volume ? handledWithin / volume : null,
    medianMinutes: round1(r.median), p90Minutes: round1(r.p90), reopened, reopenedShare: volume ? reopened / volume : null,
  };
}

/** The names of units, departments, categories: small tables, read whole. */
export async function readNames(db: DbOrTx): Promise<{ units: Map<string, string>; departments: Map<string, string>; categories: Map<string, string> }> {
  const [units, departments, categories] = await Promise.all([
    db.selectFrom('areas').select(['code', 'name']).execute(),
    db.selectFrom('departments').select(['code', 'name']).execute(),
    db.selectFrom('categories').select(['code', 'name']).execute(),
  ]);
  return {
    units: new Map(units.map((u) => [u.code, u.name])),
    departments: new Map(departments.map((d) => [d.code, d.name])),
    categories: new Map(categories.map((c) => [c.code, c.name])),
  };
}

/**
 * Units (or departments) ranked by share handled within 2 h (higher first), then by median time
 * to resolve (shorter first; none last), then by volume (larger first), then by code.
 */
export function rank(rows: Omit<RankingRow, 'rank'>[]): RankingRow[] {
  const cmp = (a: number | null, b: number | null, dir: 1 | -1) => (a === b ? 0 : a === null ? 1 : b === null ? -1 : dir * (a - b));
  return [...rows]
    .sort((a, b) => cmp(a.withinShare, b.withinShare, -1) || cmp(a.medianMinutes, b.medianMinutes, 1) || b.volume - a.volume
      || (a.code ?? '\uffff').localeCompare(b.code ?? '\uffff'))
    .map((r, i) => ({ ...r, rank: i + 1 }));
}

function fromRollup(f: RollupFigures | undefined): SlaFigures {
  if (!f) return figures({ volume: 0, handled: 0, within: 0, reopened: 0, median: null, p90: null });
  return figures({ volume: f.volume, handled: f.handled, within: f.within, reopened: f.reopened, median: histPercentile(f.hist, 0.5), p90: histPercentile(f.hist, 0.9) });
}

/**
 * Every figure over a period. The city and its rankings from the rollup (two statements over a few
 * thousand rows whatever the period's length; medians and p90 within a bucket of the exact ones);
 * `unit` (one unit's transparency page: its categories are not rolled up) exactly, from the tickets.
 */
export async function periodStats(db: DbOrTx, period: Period, opts: { unit?: string } = {}): Promise<PeriodStats> {
  if (opts.unit !== undefined) return periodStatsExact(db, period, opts);
  const [totals, days, names] = await Promise.all([rollupTotals(db, period), rollupDays(db, period), readNames(db)]);
  const byUnit: Omit<RankingRow, 'rank'>[] = [];
  const byDepartment: Omit<RankingRow, 'rank'>[] = [];
  const byCategory: CountRow[] = [];
  for (const [key, f] of totals) {
    if (f.volume === 0) continue;
    const sep = key.indexOf(':');
    const dim = key.slice(0, sep);
    const code = key.slice(sep + 1) || null;
    if (dim === 'unit') byUnit.push({ code, name: code ? names.units.get(code) ?? code : NO_UNIT_VI, ...fromRollup(f) });
    else if (dim === 'dept') byDepartment.push({ code, name: code ? names.departments.get(code) ?? code : NO_DEPARTMENT_VI, ...fromRollup(f) });
    else if (dim === 'cat') byCategory.push({ code, name: code ? names.categories.get(code) ?? code : NO_CATEGORY_VI, count: f.volume });
  }
  return {
    city: fromRollup(totals.get('city:')),
    byUnit: rank(byUnit),
    byDepartment: rank(byDepartment),
    byCategory: byCategory.sort((a, b) => b.count - a.count || (a.code ?? '').localeCompare(b.code ?? '')),
    trend: period.days.map((day) => ({ day, ...fromRollup(days.get(day)) })),
  };
}

/**
 * Every figure over a period, exactly, from the tickets table in two statements: the SLA figures
 * per unit, per department and for the city (grouping sets over one index range scan), with
 * categories; and the same per day. `unit`: only the tickets of one unit (`unitOf`). Its cost
 * grows with the tickets in the period (a year at 1,000,000 tickets: seconds).
 */
export async function periodStatsExact(db: DbOrTx, period: Period, opts: { unit?: string } = {}): Promise<PeriodStats> {
  const unitOnly = opts.unit === undefined ? sql`` : sql`and coalesce(t.dispatched_area, t.area_code) = ${opts.unit}`;
  const base = sql`
    with x as (
      select coalesce(t.dispatched_area, t.area_code) as unit, t.department_code as dept, t.category_code as cat, ${CITY_DAY} as day,
        extract(epoch from (case when t.status in (${SETTLED}) then coalesce(t.resolved_at, t.closed_at) end - t.received_at)) / 60.0 as minutes,
        r.ticket_id is not null as reopened
      from tickets t
      left join (select distinct ticket_id from ticket_events where type = 'ticket.reopened') r on r.ticket_id = t.id
      where t.merged_into is null and t.received_at >= ${period.from} and t.received_at < ${period.to} ${unitOnly})`;
  const measures = sql`count(*) as volume, count(minutes) as handled,
    count(*) filter (where minutes <= ${sql.lit(HANDLED_WITHIN_MINUTES)}) as within,
    count(*) filter (where reopened) as reopened,
    percentile_cont(0.5) within group (order by minutes) as median,
    percentile_cont(0.9) within group (order by minutes) as p90`;
  const [groups, days, names] = await Promise.all([
    sql<FigureRow & { unit: string | null; dept: string | null; cat: string | null; g_unit: number; g_dept: number; g_cat: number }>`${base}
      select unit, dept, cat, grouping(unit) as g_unit, grouping(dept) as g_dept, grouping(cat) as g_cat, ${measures}
      from x group by grouping sets ((unit), (dept), (cat), ())`.execute(db),
    sql<FigureRow & { day: string | Date }>`${base}
      select to_char(day, 'YYYY-MM-DD') as day, ${measures} from x group by day order by day`.execute(db),
    readNames(db),
  ]);
  const byUnit: Omit<RankingRow, 'rank'>[] = [];
  const byDepartment: Omit<RankingRow, 'rank'>[] = [];
  const byCategory: CountRow[] = [];
  let city = figures({ volume: 0, handled: 0, within: 0, reopened: 0, median: null, p90: null });
  for (const r of groups.rows) {
    const [gu, gd, gc] = [num(r.g_unit), num(r.g_dept), num(r.g_cat)];
    if (gu === 0) byUnit.push({ code: r.unit, name: r.unit ? names.units.get(r.unit) ?? r.unit : NO_UNIT_VI, ...figures(r) });
    else if (gd === 0) byDepartment.push({ code: r.dept, name: r.dept ? names.departments.get(r.dept) ?? r.dept : NO_DEPARTMENT_VI, ...figures(r) });
    else if (gc === 0) byCategory.push({ code: r.cat, name: r.cat ? names.categories.get(r.cat) ?? r.cat : NO_CATEGORY_VI, count: num(r.volume) });
    else city = figures(r);
  }
  const perDay = new Map(days.rows.map((r) => [String(r.day), figures(r)]));
  const empty = figures({ volume: 0, handled: 0, within: 0, reopened: 0, median: null, p90: null });
  return {
    city,
    byUnit: rank(byUnit),
    byDepartment: rank(byDepartment),
    byCategory: byCategory.sort((a, b) => b.count - a.count || (a.code ?? '').localeCompare(b.code ?? '')),
    trend: period.days.map((day) => ({ day, ...(perDay.get(day) ?? empty) })),
  };
}

/**
 * Open tickets now, by status, channel (a ticket counts under every channel it was reported
 * through), category and unit: from the partial index of open tickets.
 */
export async function openCounts(db: DbOrTx, channelNames: ReadonlyMap<string, string> = new Map()): Promise<OpenCounts> {
  const [groups, channels, names] = await Promise.all([
    sql<{ status: string | null; unit: string | null; cat: string | null; g_status: number; g_unit: number; g_cat: number; n: string | number }>`
      select t.status, coalesce(t.dispatched_area, t.area_code) as unit, t.category_code as cat,
        grouping(t.status) as g_status, grouping(coalesce(t.dispatched_area, t.area_code)) as g_unit, grouping(t.category_code) as g_cat, count(*) as n
      from tickets t where t.merged_into is null and t.status in (${OPEN})
      group by grouping sets ((t.status), (coalesce(t.dispatched_area, t.area_code)), (t.category_code), ())`.execute(db),
    sql<{ channel: string; n: string | number }>`
      select r.channel, count(distinct t.id) as n
      from tickets t join reports r on r.ticket_id = t.id
      where t.merged_into is null and t.status in (${OPEN})
      group by r.channel`.execute(db),
    readNames(db),
  ]);
  const out: OpenCounts = { total: 0, byStatus: [], byChannel: [], byCategory: [], byUnit: [] };
  for (const r of groups.rows) {
    const n = num(r.n);
    if (num(r.g_status) === 0) out.byStatus.push({ code: r.status, name: statusNameVi(r.status ?? ''), count: n });
    else if (num(r.g_unit) === 0) out.byUnit.push({ code: r.unit, name: r.unit ? names.units.get(r.unit) ?? r.unit : NO_UNIT_VI, count: n });
    else if (num(r.g_cat) === 0) out.byCategory.push({ code: r.cat, name: r.cat ? names.categories.get(r.cat) ?? r.cat : NO_CATEGORY_VI, count: n });
    else out.total = n;
  }
  out.byChannel = channels.rows.map((r) => ({ code: r.channel, name: channelNames.get(r.channel) ?? r.channel, count: num(r.n) }));
  const byCount = (a: CountRow, b: CountRow) => b.count - a.count || (a.code ?? '').localeCompare(b.code ?? '');
  out.byStatus.sort((a, b) => OPEN_STATUSES.indexOf(a.code as never) - OPEN_STATUSES.indexOf(b.code as never));
  out.byChannel.sort(byCount);
  out.byCategory.sort(byCount);
  out.byUnit.sort(byCount);
  return out;
}

/** At most this many points of each kind on the map (the newest). */
export const MAP_POINTS_MAX = 1000;

/**
 * What the dashboard's map shows: open tickets with a point (newest first), and the engine's
 * repeat places (tickets with `hotspot_count` >= GROUPING.hotspotMin) received in the period.
 */
export async function mapTickets(db: DbOrTx, period: Period): Promise<{ open: MapTicket[]; hotspots: MapTicket[] }> {
  const toPoint = (r: { code: string; lat: number | null; lng: number | null; status: string; hotspot_count: number }): MapTicket =>
    ({ code: r.code, lat: Number(r.lat), lng: Number(r.lng), status: r.status, hotspotCount: r.hotspot_count });
  const [open, hotspots] = await Promise.all([
    sql<{ code: string; lat: number; lng: number; status: string; hotspot_count: number }>`
      select code, lat, lng, status, hotspot_count from tickets t
      where t.merged_into is null and t.status in (${OPEN}) and lat is not null and lng is not null
      order by received_at desc limit ${sql.lit(MAP_POINTS_MAX)}`.execute(db),
    sql<{ code: string; lat: number; lng: number; status: string; hotspot_count: number }>`
      select code, lat, lng, status, hotspot_count from tickets t
      where t.merged_into is null and hotspot_count > 0 and hotspot_count >= ${sql.lit(GROUPING.hotspotMin)}
        and received_at >= ${period.from} and received_at < ${period.to} and lat is not null and lng is not null
      order by received_at desc limit ${sql.lit(MAP_POINTS_MAX)}`.execute(db),
  ]);
  return { open: open.rows.map(toPoint), hotspots: hotspots.rows.map(toPoint) };
}
