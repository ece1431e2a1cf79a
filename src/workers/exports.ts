import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { once } from 'node:events';
import ExcelJS from 'exceljs';
import { exportById, type ExportFormat, type ExportState } from '../core/dashboard/exports.ts';
import { parsePeriod } from '../core/dashboard/period.ts';
import { openCounts, periodStats, readNames, type RankingRow } from '../core/dashboard/stats.ts';
import { unitSql } from '../core/tickets/event-log.ts';
import { statusNameVi } from '../core/tickets/statuses.ts';
import type { Db } from '../db/schema.ts';

// The export job: writes one export (src/core/dashboard/exports.ts) as a stream to
// DATA_DIR/exports/<id>-<what>.<csv|xlsx> — CSV (UTF-8 with a BOM so that Excel reads
// Vietnamese, RFC 4180 quoting, CRLF, cells that a spreadsheet would read as a formula
// prefixed with ') or XLSX (exceljs's streaming WorkbookWriter: rows are flushed as they are
// added) — recording its progress; and the cleanup job that deletes file and row after a day.

type Cell = string | number | null;

interface RowSink {
  row(values: Cell[]): Promise<void>;
  close(): Promise<void>;
}

/** A cell as RFC 4180 wants it, and never read as a formula (= + - @, tab, CR start one). */
export function csvCell(v: Cell): string {
  if (v === null) return '';
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '';
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

async function csvSink(file: string): Promise<RowSink> {
  const out = createWriteStream(file);
  const write = async (s: string) => {
    if (!out.write(s)) await once(out, 'drain');
  };
  await write('\uFEFF');
  return {
    row: (values) => write(`${values.map(csvCell).join(',')}\r\n`),
    close: async () => {
      out.end();
      await once(out, 'finish');
    },
  };
}

async function xlsxSink(file: string, sheet: string): Promise<RowSink> {
  const wb = new ExcelJS.stream.xlsx.WorkbookWriter({ filename: file, useStyles: false, useSharedStrings: false });
  const ws = wb.addWorksheet(sheet);
  return {
    row: async (values) => ws.addRow(values).commit(),
    close: async () => {
      ws.commit();
      await wb.commit();
    },
  };
}

const SHEET_VI: Record<string, string> = { units: 'Xếp hạng đơn vị', departments: 'Xếp hạng cơ quan', trend: 'Theo ngày', open: 'Hồ sơ đang mở', tickets: 'Hồ sơ' };
const RANKING_HEAD = ['Hạng', 'Mã', 'Tên', 'Tiếp nhận', 'Đã xử lý', 'Xử lý trong 2 giờ', 'Tỉ lệ trong 2 giờ', 'Trung vị (phút)', 'P90 (phút)', 'Mở lại', 'Tỉ lệ mở lại'];
const rankingRow = (r: RankingRow): Cell[] => [r.rank, r.code, r.name, r.volume, r.handled, r.handledWithin, r.withinShare, r.medianMinutes, r.p90Minutes, r.reopened, r.reopenedShare];

/** Tickets read per page (keyset on receipt time and id). */
const TICKET_PAGE = 200;

async function writeTickets(db: Db, e: ExportState, sink: RowSink, progress: (done: number, total: number) => Promise<void>, channelLabels: ReadonlyMap<string, string>): Promise<number> {
  const period = parsePeriod({ period: 'custom', from: e.firstDay, to: e.lastDay }, new Date(`${e.lastDay}T12:00:00Z`));
  const total = Number((await db.selectFrom('tickets').select((eb) => eb.fn.countAll().as('n'))
    .where('merged_into', 'is', null).where('received_at', '>=', period.from).where('received_at', '<', period.to).executeTakeFirst())?.n ?? 0);
  // Names as a supervisor reads them, codes beside them for whoever joins the file with other data.
  const names = await readNames(db);
  await sink.row(['Mã hồ sơ', 'Tiếp nhận lúc', 'Trạng thái', 'Mã đơn vị', 'Đơn vị', 'Mã lĩnh vực', 'Lĩnh vực', 'Tiêu đề', 'Mục', 'Thời điểm', 'Kênh', 'Người thực hiện', 'Nội dung']);
  let after: { at: Date; id: number } | null = null;
  let done = 0;
  let rows = 0;
  for (;;) {
    let q = db.selectFrom('tickets')
      .select(['id', 'code', 'received_at', 'status', 'title', unitSql().as('unit'), 'category_code'])
      .where('merged_into', 'is', null).where('received_at', '>=', period.from).where('received_at', '<', period.to);
    if (after) {
      const a = after;
      q = q.where((eb) => eb.or([eb('received_at', '>', a.at), eb.and([eb('received_at', '=', a.at), eb('id', '>', a.id)])]));
    }
    const page = await q.orderBy('received_at').orderBy('id').limit(TICKET_PAGE).execute();
    if (page.length === 0) break;
    const ids = page.map((t) => t.id);
    const [reports, events, replies] = await Promise.all([
      db.selectFrom('reports').select(['ticket_id', 'received_at as at', 'channel', 'text']).where('ticket_id', 'in', ids).execute(),
      db.selectFrom('ticket_events').select(['ticket_id', 'created_at as at', 'type', 'actor', 'reason']).where('ticket_id', 'in', ids).execute(),
      db.selectFrom('outbound_messages').select(['ticket_id', 'created_at as at', 'channel', 'kind', 'body']).where('ticket_id', 'in', ids).execute(),
    ]);
    type Entry = { at: Date; what: string; channel: string | null; actor: string | null; text: string | null };
    const thread = new Map<number, Entry[]>(ids.map((id) => [id, []]));
    for (const r of reports) thread.get(r.ticket_id)?.push({ at: r.at, what: 'Phản ánh', channel: r.channel, actor: null, text: r.text });
    for (const ev of events) thread.get(ev.ticket_id)?.push({ at: ev.at, what: ev.type, channel: null, actor: ev.actor, text: ev.reason });
    for (const m of replies) thread.get(m.ticket_id)?.push({ at: m.at, what: `Tin gửi (${m.kind})`, channel: m.channel, actor: null, text: m.body });
    for (const t of page) {
      const head: Cell[] = [t.code, t.received_at.toISOString(), statusNameVi(t.status), t.unit, t.unit && (names.units.get(t.unit) ?? null),
        t.category_code, t.category_code && (names.categories.get(t.category_code) ?? null), t.title];
      const entries = (thread.get(t.id) ?? []).sort((a, b) => a.at.getTime() - b.at.getTime());
      if (entries.length === 0) {
        await sink.row([...head, null, null, null, null, null]);
        rows++;
      }
      for (const en of entries) {
        await sink.row([...head, en.what, en.at.toISOString(), en.channel && (channelLabels.get(en.channel) ?? en.channel), en.actor, en.text]);
        rows++;
      }
    }
    done += page.length;
    const last = page[page.length - 1]!;
    after = { at: last.received_at, id: last.id };
    await progress(done, total);
  }
  return rows;
}

async function writeTable(db: Db, e: ExportState, sink: RowSink, channelLabels: ReadonlyMap<string, string>): Promise<number> {
  let rows = 0;
  const put = async (values: Cell[]) => {
    await sink.row(values);
    rows++;
  };
  if (e.what === 'open') {
    const open = await openCounts(db, channelLabels);
    await put(['Nhóm', 'Mã', 'Tên', 'Số hồ sơ đang mở']);
    for (const [group, list] of [['Trạng thái', open.byStatus], ['Kênh', open.byChannel], ['Lĩnh vực', open.byCategory], ['Đơn vị', open.byUnit]] as const) {
      for (const r of list) await put([group, r.code, r.name, r.count]);
    }
    return rows - 1;
  }
  const period = parsePeriod({ period: 'custom', from: e.firstDay, to: e.lastDay }, new Date(`${e.lastDay}T12:00:00Z`));
  const stats = await periodStats(db, period);
  if (e.what === 'trend') {
    await put(['Ngày', 'Tiếp nhận', 'Đã xử lý', 'Xử lý trong 2 giờ', 'Tỉ lệ trong 2 giờ', 'Trung vị (phút)', 'P90 (phút)', 'Mở lại']);
    for (const d of stats.trend) await put([d.day, d.volume, d.handled, d.handledWithin, d.withinShare, d.medianMinutes, d.p90Minutes, d.reopened]);
  } else {
    await put(RANKING_HEAD);
    for (const r of e.what === 'units' ? stats.byUnit : stats.byDepartment) await put(rankingRow(r));
  }
  return rows - 1;
}

/** The directory exports are written to. */
export const exportsDir = (dataDir: string) => path.join(dataDir, 'exports');
const fileName = (id: number, what: string, format: ExportFormat) => `${id}-${what}.${format}`;

/**
 * Runs one export job: writes the file, recording progress; a failure is recorded and rethrown
 * (the job retries). `channelLabels`: the registry's Vietnamese channel names (a channel it does
 * not name is written as its code).
 */
export async function runExport(db: Db, dataDir: string, id: number, channelLabels: ReadonlyMap<string, string> = new Map()): Promise<void> {
  const e = await exportById(db, id);
  if (!e || e.status === 'done') return;
  const dir = exportsDir(dataDir);
  await mkdir(dir, { recursive: true });
  const name = fileName(e.id, e.what, e.format);
  const file = path.join(dir, name);
  await db.updateTable('exports').set({ status: 'running', progress: 0, error: null }).where('id', '=', id).execute();
  try {
    const sink = e.format === 'csv' ? await csvSink(file) : await xlsxSink(file, SHEET_VI[e.what] ?? e.what);
    let rows: number;
    try {
      rows = e.what === 'tickets'
        ? await writeTickets(db, e, sink, (done, total) => db.updateTable('exports').set({ progress: total ? Math.min(0.99, done / total) : 0.99 }).where('id', '=', id).execute().then(() => {}), channelLabels)
        : await writeTable(db, e, sink, channelLabels);
    } finally {
      await sink.close();
    }
    await db.updateTable('exports').set({ status: 'done', progress: 1, rows, file: name, finished_at: new Date() }).where('id', '=', id).execute();
  } catch (err) {
    await rm(file, { force: true });
    await db.updateTable('exports').set({ status: 'failed', error: String((err as Error).message).slice(0, 500) }).where('id', '=', id).execute().catch(() => {});
    throw err;
  }
}

/** Deletes an export's file and row (its day is over). */
export async function cleanupExport(db: Db, dataDir: string, id: number): Promise<void> {
  const e = await exportById(db, id);
  if (!e) return;
  if (e.file) await rm(path.join(exportsDir(dataDir), path.basename(e.file)), { force: true });
  await db.deleteFrom('exports').where('id', '=', id).execute();
}
