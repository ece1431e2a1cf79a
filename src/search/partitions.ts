import { sql } from 'kysely';
import type { Db, DbOrTx } from '../db/schema.ts';

/** The leader's job that keeps the search documents' months ready ahead of the clock (migration 0030). */
export const SEARCH_PARTITIONS_JOB = 'search.partitions';
/** How often it runs: a month's partition exists two months before it is written. */
export const SEARCH_PARTITIONS_EVERY_MS = 6 * 60 * 60_000;
/** Months after the current one whose partitions exist already. */
const MONTHS_AHEAD = 2;
/**
 * How long the routine job waits for the documents' lock before it gives up until its next
 * attempt: writers queue behind a waiting lock, so a long transaction that holds the documents
 * must not make every write wait for it too.
 */
export const SEARCH_PARTITIONS_LOCK_TIMEOUT_MS = 5_000;

/**
 * Adds the search documents' month partitions (migration 0030) that are missing up to
 * MONTHS_AHEAD months after `now`, and, with `since`, back to since's month; documents waiting
 * in a catch-all partition move into their months. Returns the partitions added. Going back
 * moves every older document in one transaction, which holds off writes to the documents while
 * it runs: the routine job only looks ahead; `npx phananh search reindex` and a bulk load go back.
 * `lockTimeoutMs`: give up (an error) rather than wait longer for the documents' lock.
 */
export async function partitionSearch(db: Db, opts: { now?: Date; since?: Date; lockTimeoutMs?: number } = {}): Promise<number> {
  const now = opts.now ?? new Date();
  const ahead = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + MONTHS_AHEAD, 1));
  const since = opts.since && opts.since < now ? opts.since : now;
  const run = async (tx: DbOrTx) => Number((await sql<{ added: number }>`select ticket_search_partition(${since}, ${ahead}) as added`.execute(tx)).rows[0]?.added ?? 0);
  if (opts.lockTimeoutMs === undefined) return run(db);
  return db.transaction().execute(async (tx) => {
    await sql.raw(`set local lock_timeout = ${Math.max(1, Math.round(opts.lockTimeoutMs!))}`).execute(tx);
    return run(tx);
  });
}

/** When the oldest ticket was received (for partitionSearch's `since`), or null with none. */
export async function oldestTicket(db: DbOrTx): Promise<Date | null> {
  const row = (await sql<{ at: Date | null }>`select min(received_at) as at from tickets`.execute(db)).rows[0];
  return row?.at ? new Date(row.at) : null;
}
