import { AppError } from '../errors.ts';

// The period a dashboard or transparency figure covers: whole days of the city's calendar
// (Ho Chi Minh City: UTC+7 all year, no daylight saving), by the tickets' receipt time.

/** Minutes the city's clock is ahead of UTC (Asia/Ho_Chi_Minh). */
export const CITY_UTC_OFFSET_MINUTES = 7 * 60;
/** The longest custom range, in days (a year, leap day included). */
export const PERIOD_MAX_DAYS = 366;

export const PERIOD_PRESETS = ['today', '7d', '30d'] as const;
export type PeriodPreset = (typeof PERIOD_PRESETS)[number];

/** What staff read for each preset. */
export const PERIOD_VI: Record<PeriodPreset | 'custom', string> = {
  today: 'Hôm nay',
  '7d': '7 ngày qua',
  '30d': '30 ngày qua',
  custom: 'Tuỳ chọn',
};

export interface Period {
  preset: PeriodPreset | 'custom';
  /** First day (city calendar), YYYY-MM-DD. */
  firstDay: string;
  /** Last day, inclusive. */
  lastDay: string;
  /** Start of the first day, as an instant. */
  from: Date;
  /** Start of the day after the last day (exclusive). */
  to: Date;
  /** Every day of the period, in order. */
  days: string[];
  /** A stable key for caches. */
  key: string;
}

const DAY_MS = 86_400_000;
const OFFSET_MS = CITY_UTC_OFFSET_MINUTES * 60_000;
const DAY_RE = /^\d{4}-\d{2}-\d{2}$/;

/** The city's calendar day an instant falls on. */
export const cityDay = (at: Date): string => new Date(at.getTime() + OFFSET_MS).toISOString().slice(0, 10);

/** The instant a city calendar day starts. */
const dayStart = (day: string): Date => new Date(Date.parse(`${day}T00:00:00Z`) - OFFSET_MS);

function parseDay(raw: string, field: 'from' | 'to'): string {
  const s = raw.trim();
  // Bounded before matching: a date is 10 characters.
  const t = s.length === 10 && DAY_RE.test(s) ? Date.parse(`${s}T00:00:00Z`) : NaN;
  if (!Number.isFinite(t) || new Date(t).toISOString().slice(0, 10) !== s) {
    throw new AppError('period_invalid', 400, `${field} must be a date YYYY-MM-DD`, 'Ngày không hợp lệ (định dạng NNNN-TT-NN).', { field });
  }
  return s;
}

function build(preset: Period['preset'], firstDay: string, lastDay: string): Period {
  const from = dayStart(firstDay);
  const to = new Date(dayStart(lastDay).getTime() + DAY_MS);
  const days: string[] = [];
  for (let t = from.getTime(); t < to.getTime(); t += DAY_MS) days.push(cityDay(new Date(t)));
  return { preset, firstDay, lastDay, from, to, days, key: `${firstDay}..${lastDay}` };
}

/**
 * The period a request asks for: a preset (`today`, `7d`, `30d`; default `7d`), or `custom`
 * with `from` and `to` (YYYY-MM-DD, city days, inclusive), at most PERIOD_MAX_DAYS long and not
 * after today. Bad values: 400 `period_invalid`; too long: 400 `period_too_long`.
 */
export function parsePeriod(q: { period?: string; from?: string; to?: string }, now = new Date()): Period {
  const today = cityDay(now);
  const preset = (q.period ?? (q.from || q.to ? 'custom' : '7d')).trim().slice(0, 16);
  const back = (n: number) => cityDay(new Date(dayStart(today).getTime() - n * DAY_MS + DAY_MS / 2));
  switch (preset) {
    case 'today': return build('today', today, today);
    case '7d': return build('7d', back(6), today);
    case '30d': return build('30d', back(29), today);
    case 'custom': {
      if (!q.from || !q.to) throw new AppError('period_invalid', 400, 'a custom period needs from and to', 'Hãy chọn ngày bắt đầu và ngày kết thúc.');
      const first = parseDay(q.from.slice(0, 32), 'from');
      const last = parseDay(q.to.slice(0, 32), 'to');
      if (first > last) throw new AppError('period_invalid', 400, 'from is after to', 'Ngày bắt đầu phải trước ngày kết thúc.');
      if (last > today) throw new AppError('period_invalid', 400, 'to is in the future', 'Ngày kết thúc không được sau hôm nay.');
      const days = Math.round((dayStart(last).getTime() - dayStart(first).getTime()) / DAY_MS) + 1;
      if (days > PERIOD_MAX_DAYS) {
        throw new AppError('period_too_long', 400, `a period is at most ${PERIOD_MAX_DAYS} days (asked ${days})`,
          `Khoảng thời gian tối đa ${PERIOD_MAX_DAYS} ngày.`, { maxDays: PERIOD_MAX_DAYS, days });
      }
      return build('custom', first, last);
    }
    default:
      throw new AppError('period_invalid', 400, `period must be one of ${PERIOD_PRESETS.join(', ')} or custom`, 'Khoảng thời gian không hợp lệ.');
  }
}
