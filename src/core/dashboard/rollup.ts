import { sql, type RawBuilder } from 'kysely';
import type { DbOrTx } from '../../db/schema.ts';
import type { Period } from './period.ts';

// Reads the dashboard's rollup (migration 0026: per city day and per city month, per unit,
// department, category and for the city): the figures of any period from whole months plus the
// days at its edges, so that a year costs about as much as a month.
//
// Kept without a shared row lock (migration 0028): the triggers in the transaction that writes a
// ticket append its contributions to dashboard_rollup_delta, and a compaction (the leader's job,
// every ROLLUP_COMPACT_EVERY_MS) folds them into dashboard_rollup and deletes them in one
// statement. Every read here sums the rollup's rows and the not yet compacted deltas of the same
// keys and days in one statement (one snapshot: a delta is seen in one table or the other, never
// both), so a write is in the figures as soon as it commits.
//
// Counts (received, handled, within 2 h, reopened) are exact. Medians and p90 come from
// histograms of the minutes to resolve in fixed buckets, the layout below (the migration's
// `dashboard_bucket` computes the same; a test checks): each bucket's tickets are taken as spread
// evenly over it, and the percentile interpolated between order statistics as percentile_cont
// does. The true value and the estimate lie in the same bucket or two adjacent ones, so the
// error is at most the width of a bucket there: **2 minutes below 2 hours, 10 % of the value
// above** (a median of 40 minutes reads 40 ± 2, one of 10 hours 10 h ± 1 h).

/** Buckets of 2 minutes below this many minutes. */
export const HIST_LINEAR_UNTIL = 120;
export const HIST_LINEAR_WIDTH = 2;
/** Above: each bucket this much wider than the one before. */
export const HIST_RATIO = 1.1;
/** Geometric buckets; the last is open-ended (from 120 * 1.1^88 minutes, about a year). */
export const HIST_GEOMETRIC = 89;
const LINEAR = HIST_LINEAR_UNTIL / HIST_LINEAR_WIDTH;
/** Number of buckets. */
export const HIST_BUCKETS = LINEAR + HIST_GEOMETRIC;

/** The bucket (0-based) of a time to resolve, in minutes; the migration's dashboard_bucket() minus one. */
export function bucketOf(minutes: number): number {
  if (minutes < HIST_LINEAR_UNTIL) return Math.floor(Math.max(minutes, 0) / HIST_LINEAR_WIDTH);
  return LINEAR + Math.min(Math.floor(Math.log(minutes / HIST_LINEAR_UNTIL) / Math.log(HIST_RATIO)), HIST_GEOMETRIC - 1);
}

/** A bucket's range of minutes [lo, hi); the open-ended last one is given the width the next would have. */
export function bucketRange(b: number): [number, number] {
  if (b < LINEAR) return [b * HIST_LINEAR_WIDTH, (b + 1) * HIST_LINEAR_WIDTH];
  const k = b - LINEAR;
  return [HIST_LINEAR_UNTIL * HIST_RATIO ** k, HIST_LINEAR_UNTIL * HIST_RATIO ** (k + 1)];
}

/** Element-wise sum of histograms of any lengths. */
export function addHist(into: number[], h: readonly number[]): number[] {
  for (let i = 0; i < h.length; i++) into[i] = (into[i] ?? 0) + (h[i] ?? 0);
  return into;
}

/**
 * The p-th percentile (0..1) of the values a histogram counts, as percentile_cont would give it
 * over the values themselves, within a bucket's width; null when it counts none.
 */
export function histPercentile(hist: readonly number[], p: number): number | null {
  const total = hist.reduce((a, n) => a + Math.max(n, 0), 0);
  if (total === 0) return null;
  const pos = p * (total - 1);
  const k0 = Math.floor(pos);
  const k1 = Math.ceil(pos);
  const nth = (k: number): number => {
    let seen = 0;
    for (let b = 0; b < hist.length; b++) {
      const n = Math.max(hist[b] ?? 0, 0);
      if (k < seen + n) {
        const [lo, hi] = bucketRange(b);
        return lo + ((k - seen + 0.5) / n) * (hi - lo);
      }
      seen += n;
    }
    return bucketRange(hist.length - 1)[1];
  };
  const v0 = nth(k0);
  return k1 === k0 ? v0 : v0 + (pos - k0) * (nth(k1) - v0);
}

export type RollupDim = 'unit' | 'dept' | 'cat' | 'city';

export interface RollupFigures {
  volume: number;
  handled: number;
  within: number;
  reopened: number;
  hist: number[];
}

/** The rollup rows that cover a period: whole city months as month rows, the days around them as day rows. */
export function periodSegments(period: Period): { months: string[]; dayRanges: [string, string][] } {
  const months: string[] = [];
  const dayRanges: [string, string][] = [];
  let run: string[] = [];
  const flush = () => {
    if (run.length) dayRanges.push([run[0]!, run[run.length - 1]!]);
    run = [];
  };
  const days = period.days;
  for (let i = 0; i < days.length;) {
    const day = days[i]!;
    const month = day.slice(0, 7);
    let j = i;
    while (j < days.length && days[j]!.startsWith(month)) j++;
    if (day.endsWith('-01') && j - i === monthLength(month)) {
      flush();
      months.push(`${month}-01`);
    } else run.push(...days.slice(i, j));
    i = j;
  }
  flush();
  return { months, dayRanges };
}

function monthLength(yyyyMm: string): number {
  const [y, m] = yyyyMm.split('-').map(Number) as [number, number];
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

const num = (v: unknown): number => Number(v ?? 0);
const hist = (v: unknown): number[] => (Array.isArray(v) ? v.map(Number) : typeof v === 'string' ? parsePgIntArray(v) : []);
/** PGlite and pg return int[] parsed; some drivers give the text form '{1,2,3}'. */
function parsePgIntArray(s: string): number[] {
  const inner = s.replace(/^\{|\}$/g, '');
  return inner ? inner.split(',').map(Number) : [];
}

/** The rollup's rows matching `where`, and the deltas not yet compacted that match it. */
function withDeltas(where: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`
    select grain, day, dim, code, volume, handled, within, reopened, hist from dashboard_rollup where ${where}
    union all
    select grain, day, dim, code, volume, handled, within, reopened, hist from dashboard_rollup_delta where ${where}`;
}

/** Figures per dimension and code over a period, read from the rollup (a few thousand rows for a year). */
export async function rollupTotals(db: DbOrTx, period: Period, dims: readonly RollupDim[] = ['unit', 'dept', 'cat', 'city']): Promise<Map<string, RollupFigures>> {
  const { months, dayRanges } = periodSegments(period);
  const parts = [
    ...(months.length ? [sql`(grain = 'm' and day in (${sql.join(months.map((m) => sql`${m}::date`))}))`] : []),
    ...dayRanges.map(([a, b]) => sql`(grain = 'd' and day between ${a}::date and ${b}::date)`),
  ];
  const out = new Map<string, RollupFigures>();
  if (parts.length === 0) return out;
  const where = sql`dim in (${sql.join(dims.map((d) => sql.lit(d)))}) and (${sql.join(parts, sql` or `)})`;
  const rows = await sql<{ dim: string; code: string; volume: unknown; handled: unknown; within: unknown; reopened: unknown; hist: unknown }>`
    select dim, code, sum(volume) as volume, sum(handled) as handled, sum(within) as within, sum(reopened) as reopened, dashboard_hist_sum(hist) as hist
    from (${withDeltas(where)}) x
    group by dim, code`.execute(db);
  for (const r of rows.rows) {
    out.set(`${r.dim}:${r.code}`, { volume: num(r.volume), handled: num(r.handled), within: num(r.within), reopened: num(r.reopened), hist: hist(r.hist) });
  }
  return out;
}

/** Figures per city day of a period, for one dimension and code (the city: 'city', ''). */
export async function rollupDays(db: DbOrTx, period: Period, dim: RollupDim = 'city', code = ''): Promise<Map<string, RollupFigures>> {
  const where = sql`grain = 'd' and dim = ${dim} and code = ${code} and day between ${period.firstDay}::date and ${period.lastDay}::date`;
  const rows = await sql<{ day: string; volume: unknown; handled: unknown; within: unknown; reopened: unknown; hist: unknown }>`
    select to_char(day, 'YYYY-MM-DD') as day, sum(volume) as volume, sum(handled) as handled, sum(within) as within, sum(reopened) as reopened,
      dashboard_hist_sum(hist) as hist
    from (${withDeltas(where)}) x
    group by day`.execute(db);
  return new Map(rows.rows.map((r) => [r.day, { volume: num(r.volume), handled: num(r.handled), within: num(r.within), reopened: num(r.reopened), hist: hist(r.hist) }]));
}

/** The job that compacts the rollup's deltas: one durable row, run by the leader every ROLLUP_COMPACT_EVERY_MS. */
export const ROLLUP_COMPACT_JOB = 'dashboard.rollup.compact';
/**
 * How often the deltas are compacted. Readers are exact whatever is pending; what waits costs
 * them a little: a few seconds of a storm is a few thousand delta rows to add.
 */
export const ROLLUP_COMPACT_EVERY_MS = 5_000;

/**
 * Folds the deltas written so far into the rollup and deletes them, in one transaction (one
 * compaction at a time; writers are never waited for); the delta rows folded. Safe to run
 * anywhere at any time: the leader's job runs it, `npx phananh dashboard compact` on demand.
 */
export async function compactRollup(db: DbOrTx): Promise<number> {
  const r = await sql<{ n: unknown }>`select dashboard_rollup_compact() as n`.execute(db);
  return num(r.rows[0]?.n);
}

/**
 * Recomputes the whole rollup from the tickets table and clears the deltas (`npx phananh
 * dashboard rebuild`); writers wait meanwhile. The rows written.
 */
export async function rebuildRollup(db: DbOrTx): Promise<number> {
  const r = await sql<{ n: unknown }>`select dashboard_rollup_rebuild() as n`.execute(db);
  return num(r.rows[0]?.n);
}
