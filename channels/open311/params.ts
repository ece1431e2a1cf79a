// The query parameters of GET requests, bounded before they are read: dates (ISO 8601, a window
// of at most 90 days, the last 90 days by default), ids, status, and pages.
import { badField } from './respond.ts';

const DAY_MS = 86_400_000;
/** The widest window GET requests answers, and its default (the spec's convention). */
export const WINDOW_DAYS = 90;
/** The spec's convention: at most 1000 requests in one answer. */
export const PAGE_SIZE_MAX = 1000;
/** Pages beyond this are refused (narrow the window instead): an offset costs what it skips. */
export const PAGE_MAX = 100;
export const IDS_MAX = 200;

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?)?(Z|[+\- ]\d{2}:?\d{2})?$/;

/**
 * An ISO 8601 date or date-time. Without an offset it is Ho Chi Minh City time (+07:00). A `+`
 * left unencoded in a query string arrives as a space and is read as `+`. A date alone is the
 * start of that day, or with `endOfDay` the start of the next (an end date includes its day).
 */
export function parseIsoDate(raw: string, field: string, endOfDay = false): Date {
  const invalid = () => badField('date_invalid', `${field} must be an ISO 8601 date or date-time, e.g. 2026-12-06T08:15:30+07:00`, field);
  const m = raw.length <= 40 ? ISO_DATE.exec(raw.trim()) : null;
  if (!m) throw invalid();
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  if (Number(mo) < 1 || Number(mo) > 12 || Number(d) < 1 || Number(d) > 31 || Number(h ?? 0) > 23 || Number(mi ?? 0) > 59 || Number(s ?? 0) > 59) throw invalid();
  const tz = zone === undefined ? '+07:00' : zone === 'Z' ? 'Z' : `${zone[0] === '-' ? '-' : '+'}${zone.slice(1, 3)}:${zone.slice(-2)}`;
  if (tz !== 'Z' && (Number(tz.slice(1, 3)) > 14 || Number(tz.slice(4)) > 59)) throw invalid();
  const t = Date.parse(`${y}-${mo}-${d}T${h ?? '00'}:${mi ?? '00'}:${s ?? '00'}${frac ?? ''}${tz}`);
  // Date.parse rolls 31 February over into March: the day must exist in its month.
  if (!Number.isFinite(t) || new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d))).getUTCDate() !== Number(d)) throw invalid();
  return new Date(h === undefined && endOfDay ? t + DAY_MS : t);
}

/** [from, to) from start_date and end_date: at most 90 days; the last 90 days when neither is given. */
export function dateWindow(start: string | undefined, end: string | undefined, now = new Date()): { from: Date; to: Date } {
  const span = WINDOW_DAYS * DAY_MS;
  const from = start ? parseIsoDate(start, 'start_date') : undefined;
  const to = end ? parseIsoDate(end, 'end_date', true) : undefined;
  if (from && to) {
    if (to <= from) throw badField('date_range_invalid', 'end_date must be after start_date', 'end_date');
    // An end date alone includes its day: 90 days from the 1st of a month end on the 90th day.
    const dateOnly = end!.trim().length === 10;
    if (to.getTime() - from.getTime() > span + (dateOnly ? DAY_MS : 0)) throw badField('date_range_too_long', `start_date to end_date may span at most ${WINDOW_DAYS} days`, 'end_date');
    return { from, to };
  }
  if (from) return { from, to: new Date(from.getTime() + span) };
  const until = to ?? new Date(now.getTime() + 1);
  return { from: new Date(until.getTime() - span), to: until };
}

/** A whole number in [min, max], or the default when absent. */
export function intParam(raw: string | undefined, field: string, min: number, max: number, dflt: number): number {
  if (raw === undefined || raw === '') return dflt;
  const n = raw.length <= 10 && /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw badField('paging_invalid', `${field} must be a whole number from ${min} to ${max}`, field);
  return n;
}

/** `open`, `closed` or both (comma-separated); undefined: both. */
export function statusParam(raw: string | undefined): ('open' | 'closed')[] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const parts = raw.slice(0, 40).split(',').map((s) => s.trim().toLowerCase());
  if (raw.length > 40 || parts.some((p) => p !== 'open' && p !== 'closed')) throw badField('status_invalid', 'status must be open, closed, or open,closed', 'status');
  return [...new Set(parts as ('open' | 'closed')[])];
}

/** service_request_id: one id or many, comma-separated (at most IDS_MAX). */
export function idsParam(raw: string): string[] {
  const ids = raw.slice(0, IDS_MAX * 16).split(',').map((s) => s.trim()).filter(Boolean);
  if (raw.length > IDS_MAX * 16 || ids.length > IDS_MAX) throw badField('service_request_ids_too_many', `at most ${IDS_MAX} service_request_id values`, 'service_request_id');
  return ids;
}
