import type { Db, DbOrTx } from '../../db/schema.ts';
import { enqueueMany } from '../../db/jobs.ts';
import { AppError } from '../errors.ts';
import { assertCan } from '../staff/authorize.ts';
import type { Actor } from '../staff/policy.ts';
import { parsePeriod, type Period } from './period.ts';

// Exports of the dashboard's tables and of tickets with their threads, as CSV or XLSX. A request
// is a row in `exports` and a job (both in one transaction); the job writes the file as a stream
// under DATA_DIR/exports (src/workers/exports.ts) and records its progress; only the supervisor
// who asked may read or download it; a second job deletes file and row a day later.

export const EXPORT_JOB = 'dashboard.export';
export const EXPORT_CLEANUP_JOB = 'dashboard.export.cleanup';
export const EXPORT_WHAT = ['units', 'departments', 'trend', 'open', 'tickets'] as const;
export type ExportWhat = (typeof EXPORT_WHAT)[number];
export const EXPORT_FORMATS = ['csv', 'xlsx'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
/** How long a written export is kept. */
export const EXPORT_KEEP_MS = 24 * 3_600_000;
/** Tickets with their threads: at most this many days per export (tables: the dashboard's 366). */
export const EXPORT_TICKETS_MAX_DAYS = 31;

export interface ExportRequest {
  what: string;
  format: string;
  period?: string;
  from?: string;
  to?: string;
}

export interface ExportState {
  id: number;
  what: ExportWhat;
  format: ExportFormat;
  firstDay: string;
  lastDay: string;
  status: string;
  progress: number;
  rows: number;
  error: string | null;
  createdAt: Date;
  expiresAt: Date;
  file: string | null;
}

/** Checks an export request and queues it; refused requests change nothing. */
export async function requestExport(db: Db, actor: Actor, input: ExportRequest, now = new Date()): Promise<ExportState> {
  assertCan(actor, 'dashboard.use');
  if (!(EXPORT_WHAT as readonly string[]).includes(input.what)) {
    throw new AppError('export_what_invalid', 400, `what must be one of ${EXPORT_WHAT.join(', ')}`, 'Bảng cần xuất không hợp lệ.');
  }
  if (!(EXPORT_FORMATS as readonly string[]).includes(input.format)) {
    throw new AppError('export_format_invalid', 400, `format must be one of ${EXPORT_FORMATS.join(', ')}`, 'Định dạng phải là CSV hoặc XLSX.');
  }
  const period: Period = parsePeriod(input, now);
  if (input.what === 'tickets' && period.days.length > EXPORT_TICKETS_MAX_DAYS) {
    throw new AppError('export_range_too_long', 400, `tickets are exported at most ${EXPORT_TICKETS_MAX_DAYS} days at a time (asked ${period.days.length})`,
      `Xuất hồ sơ tối đa ${EXPORT_TICKETS_MAX_DAYS} ngày mỗi lần.`, { maxDays: EXPORT_TICKETS_MAX_DAYS, days: period.days.length });
  }
  const expiresAt = new Date(now.getTime() + EXPORT_KEEP_MS);
  return db.transaction().execute(async (tx) => {
    const row = await tx.insertInto('exports').values({
      user_id: actor.id, what: input.what, format: input.format, first_day: period.firstDay, last_day: period.lastDay, expires_at: expiresAt,
    }).returningAll().executeTakeFirstOrThrow();
    await enqueueMany(tx, [
      { kind: EXPORT_JOB, key: `export:${row.id}`, payload: { id: row.id }, maxAttempts: 3 },
      { kind: EXPORT_CLEANUP_JOB, key: `export-cleanup:${row.id}`, payload: { id: row.id }, runAt: expiresAt },
    ]);
    return toState(row);
  });
}

type ExportRow = Awaited<ReturnType<typeof readRow>>;
const readRow = (db: DbOrTx, id: number) => db.selectFrom('exports').selectAll().where('id', '=', id).executeTakeFirst();

function toState(r: NonNullable<ExportRow>): ExportState {
  return {
    id: r.id, what: r.what as ExportWhat, format: r.format as ExportFormat, firstDay: r.first_day, lastDay: r.last_day, status: r.status,
    progress: Number(r.progress), rows: r.rows, error: r.error, createdAt: r.created_at, expiresAt: r.expires_at, file: r.file,
  };
}

/** An export of `actor`'s; anyone else's (or one gone) is 404 `export_not_found`, never a 403 that says it exists. */
export async function getExport(db: DbOrTx, actor: Actor, id: number): Promise<ExportState> {
  assertCan(actor, 'dashboard.use');
  const r = Number.isSafeInteger(id) ? await readRow(db, id) : undefined;
  if (!r || r.user_id !== actor.id || r.expires_at.getTime() <= Date.now()) {
    throw new AppError('export_not_found', 404, `no export ${id} of this user`, 'Không tìm thấy tệp xuất (có thể đã quá một ngày).');
  }
  return toState(r);
}

/** The export row the job works on. */
export async function exportById(db: DbOrTx, id: number): Promise<ExportState | null> {
  const r = await readRow(db, id);
  return r ? toState(r) : null;
}
