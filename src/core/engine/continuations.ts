import { sql, type Selectable } from 'kysely';
import type { DbOrTx, InboundMessageTable } from '../../db/schema.ts';
import { jsonParam } from '../../db/records.ts';
import type { InboundReport } from '../report-input.ts';
import { REPORT_LIMITS } from '../report-input.ts';
import type { NewEvent } from '../tickets/event-log.ts';
import { fold, nfc } from './text.ts';
import { OPEN_STATUSES } from '../tickets/statuses.ts';

// A resident who texts "ngập nước" and, a minute later, "ở 124 NTMK p Bàn Cờ" has sent one report
// in two messages. A channel marks a conversation (`InboundReport.thread`: an SMS number, a
// Messenger sender); its next message within the window continues the report it opened.

type Row = Selectable<InboundMessageTable>;
export interface Item { row: Row; input: InboundReport; receivedAt: Date }

/** A message that continues a report stored earlier. */
export interface StoredContinuation { item: Item; reportId: number; reportCode: string; ticketId: number }

/** How a batch's messages split: reports to decide, and messages continuing a report. */
export interface Continuations {
  /** Messages that open a report (each goes through the pipeline); their inputs carry the batch's continuations already. */
  fresh: Item[];
  /** Messages continuing one of `fresh` (by its inbound id). */
  intoFresh: { item: Item; inboundId: number }[];
  /** Messages continuing a stored report. */
  intoStored: StoredContinuation[];
}


/** Adds a follow-up message's words, point and photos to a report's input (the report keeps what it had). */
export function joinInputs(a: InboundReport, b: InboundReport): InboundReport {
  return {
    ...a,
    text: (b.text ? `${a.text}\n${b.text}` : a.text).slice(0, REPORT_LIMITS.textMax * 2),
    lat: a.lat ?? b.lat, lng: a.lat !== undefined ? a.lng : b.lng,
    address: a.address ?? b.address,
    attachments: [...a.attachments, ...b.attachments],
    media: [...(a.media ?? []), ...(b.media ?? [])].slice(0, REPORT_LIMITS.mediaMax),
    citizen: { ...b.citizen, ...a.citizen },
  };
}

/**
 * Sorts a batch (in arrival order) into reports and continuations: a message whose thread had a
 * message within the window (in this batch, or a stored report whose ticket is still open)
 * continues that report.
 */
export async function splitContinuations(db: DbOrTx, items: Item[]): Promise<Continuations> {
  const out: Continuations = { fresh: [], intoFresh: [], intoStored: [] };
  // One conversation at a time across workers and processes: a batch holding a thread's message
  // waits for another that is filing the same thread, then sees its report and continues it.
  const threads = [...new Set(items.flatMap((i) => (i.input.thread ? [`thread:${i.row.channel}:${i.input.thread.key}`] : [])))].sort();
  if (threads.length) await sql`select pg_advisory_xact_lock(hashtext(k)) from unnest(cast(${threads} as text[])) as k order by k`.execute(db);
  const open = new Map<string, { item: Item; last: Date }>();
  for (const item of items) {
    const thread = item.input.thread;
    if (!thread) {
      out.fresh.push(item);
      continue;
    }
    const key = `${item.row.channel}\u0000${thread.key}`;
    const windowMs = thread.withinMinutes * 60_000;
    const inBatch = open.get(key);
    if (inBatch && item.receivedAt.getTime() - inBatch.last.getTime() <= windowMs) {
      inBatch.item.input = joinInputs(inBatch.item.input, item.input);
      inBatch.last = item.receivedAt;
      out.intoFresh.push({ item, inboundId: inBatch.item.row.id });
      continue;
    }
    const stored = await latestOfThread(db, item.row.channel, thread.key, new Date(item.receivedAt.getTime() - windowMs), item.receivedAt);
    if (stored) {
      out.intoStored.push({ item, ...stored });
      continue;
    }
    out.fresh.push(item);
    open.set(key, { item, last: item.receivedAt });
  }
  return out;
}

/** The report a thread's last message (at or after `since`) went to, while its ticket is open. */
async function latestOfThread(db: DbOrTx, channel: string, threadKey: string, since: Date, until: Date) {
  const r = await db.selectFrom('reports')
    .innerJoin('inbound_messages as m', 'm.report_id', 'reports.id')
    .innerJoin('tickets', 'tickets.id', 'reports.ticket_id')
    .select(['reports.id', 'reports.code', 'reports.ticket_id'])
    .where('reports.channel', '=', channel).where('reports.thread_key', '=', threadKey)
    // A thread's report began at most a day before (bounds the look to the index's newest rows).
    .where('reports.received_at', '>=', new Date(since.getTime() - 86_400_000))
    .where('m.received_at', '>=', since).where('m.received_at', '<=', until)
    .where('tickets.status', 'in', OPEN_STATUSES).where('tickets.merged_into', 'is', null)
    .orderBy('m.received_at', 'desc').limit(1).executeTakeFirst();
  return r ? { reportId: r.id, reportCode: r.code, ticketId: r.ticket_id } : null;
}

/**
 * Writes messages that continue stored reports: their words, point and photos join the report,
 * the message is marked processed with it. Returns the timeline entries to append.
 */
export async function writeStoredContinuations(tx: DbOrTx, items: StoredContinuation[]): Promise<NewEvent[]> {
  if (items.length === 0) return [];
  const events: NewEvent[] = [];
  for (const c of items) {
    const text = nfc(c.item.input.text);
    await sql`
      update reports set text = case when ${text} = '' then reports.text else left(reports.text || chr(10) || ${text}, ${REPORT_LIMITS.textMax * 2}) end,
        text_folded = case when ${text} = '' then reports.text_folded else left(reports.text_folded || ' ' || ${fold(text)}, ${REPORT_LIMITS.textMax * 2}) end,
        attachments = reports.attachments || cast(${jsonParam(c.item.input.attachments)} as jsonb),
        lat = coalesce(reports.lat, ${c.item.input.lat ?? null}), lng = case when reports.lat is null then ${c.item.input.lng ?? null} else reports.lng end,
        address = coalesce(reports.address, ${c.item.input.address ?? null})
      where id = ${c.reportId}`.execute(tx);
    await tx.updateTable('tickets').set({ last_report_at: sql`greatest(last_report_at, ${c.item.receivedAt})`, updated_at: new Date() })
      .where('id', '=', c.ticketId).execute();
    events.push({ ticketId: c.ticketId, type: 'report.continued', actor: 'system', public: true, data: { report: c.reportCode, channel: c.item.row.channel, message: c.item.row.code } });
  }
  await sql`
    update inbound_messages set processed_at = now(), report_id = v.report_id, error = null, report = coalesce(inbound_messages.report, v.report)
    from jsonb_to_recordset(cast(${jsonParam(items.map((c) => ({ id: c.item.row.id, report_id: c.reportId, report: c.item.input })))} as jsonb)) as v(id int, report_id int, report jsonb)
    where inbound_messages.id = v.id`.execute(tx);
  return events;
}
