import type { Writable } from 'node:stream';
import type { Db } from '../db/schema.ts';
import { moveCursor } from './index-job.ts';
import { oldestTicket, partitionSearch } from './partitions.ts';
import type { TicketSearch } from './search.ts';

/** Tickets indexed per round. */
const REINDEX_BATCH = 1000;

/**
 * Rebuilds the index of every ticket, oldest id first, in rounds; `onProgress` after each. For an
 * engine fed from the event log, its cursor is set to the last event before the rebuild began,
 * so what changes meanwhile is indexed again by the job. Returns the tickets indexed.
 */
export async function reindexAll(db: Db, search: TicketSearch, onProgress: (done: number, total: number) => void = () => {}): Promise<number> {
  await search.setup();
  // The documents' months back to the oldest ticket first (migration 0030): documents that waited
  // in the catch-all of earlier months (a bulk import) move into theirs.
  if (search.engine === 'postgres') await partitionSearch(db, { since: (await oldestTicket(db)) ?? undefined });
  const last = await db.selectFrom('ticket_events').select((eb) => eb.fn.max('id').as('id')).executeTakeFirst();
  const total = Number((await db.selectFrom('tickets').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  let done = 0;
  onProgress(0, total);
  for (let after = 0; ;) {
    const ids = (await db.selectFrom('tickets').select('id').where('id', '>', after).orderBy('id').limit(REINDEX_BATCH).execute()).map((r) => r.id);
    if (ids.length === 0) break;
    await search.index(ids);
    done += ids.length;
    after = ids[ids.length - 1]!;
    onProgress(done, Math.max(total, done));
  }
  if (search.engine !== 'postgres') await moveCursor(db, search.engine, Number(last?.id ?? 0));
  return done;
}

/**
 * A progress bar on a terminal (redrawn in place), or a line at every tenth when the stream is
 * not one (a log file): `[##########----------]  50%  500000/1000000 tickets  12 s`.
 */
export function progressBar(out: Writable & { isTTY?: boolean }, what: string): (done: number, total: number) => void {
  const started = Date.now();
  let lastTenth = -1;
  return (done, total) => {
    const share = total ? done / total : 1;
    const width = 30;
    const filled = Math.round(share * width);
    const line = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(share * 100)).padStart(3)}%  ${done}/${total} ${what}  ${Math.round((Date.now() - started) / 1000)} s`;
    if (out.isTTY) {
      out.write(`\r${line}${done >= total ? '\n' : ''}`);
    } else if (Math.floor(share * 10) > lastTenth || done >= total) {
      lastTenth = Math.floor(share * 10);
      out.write(`${line}\n`);
    }
  };
}
