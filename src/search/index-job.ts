import { sql } from 'kysely';
import type { Db } from '../db/schema.ts';
import type { EventBus } from '../core/events.ts';
import { enqueue } from '../db/jobs.ts';
import type { TicketSearch } from './search.ts';

/** The job that brings an external engine's index up to the event log. */
export const SEARCH_SYNC_JOB = 'search.sync';
/** Events read per round. */
const EVENTS_PER_ROUND = 500;

/**
 * Indexes every ticket with an event after the engine's cursor (search_cursors), round by
 * round, moving the cursor on after each round the engine took. Durable: the event log is the
 * source (its ids are given in commit order, core/tickets/event-log.ts), so tickets changed
 * while the engine or this process was down are indexed on the next run; indexing twice is
 * harmless. Returns the tickets indexed.
 */
export async function syncSearch(db: Db, search: TicketSearch): Promise<number> {
  let indexed = 0;
  for (;;) {
    const cursor = await db.selectFrom('search_cursors').select('last_event_id').where('engine', '=', search.engine).executeTakeFirst();
    const rows = await db.selectFrom('ticket_events').select(['id', 'ticket_id'])
      .where('id', '>', cursor?.last_event_id ?? 0).orderBy('id').limit(EVENTS_PER_ROUND).execute();
    if (rows.length === 0) return indexed;
    const ids = [...new Set(rows.map((r) => r.ticket_id))];
    await search.index(ids);
    await moveCursor(db, search.engine, rows[rows.length - 1]!.id);
    indexed += ids.length;
    if (rows.length < EVENTS_PER_ROUND) return indexed;
  }
}

/** Sets an engine's cursor forward (never back: two runs at once may finish out of order). */
export async function moveCursor(db: Db, engine: string, lastEventId: number): Promise<void> {
  await db.insertInto('search_cursors').values({ engine, last_event_id: lastEventId, updated_at: new Date() })
    .onConflict((oc) => oc.column('engine').doUpdateSet({
      last_event_id: sql`greatest(search_cursors.last_event_id, excluded.last_event_id)`, updated_at: new Date(),
    }))
    .execute();
}

/**
 * Enqueues a sync job after events are published (at most one per turn of the event loop, keyed
 * by the newest event's id so that each is a new job), and one now for what happened while this
 * process was not running. Returns the unsubscribe function.
 */
export function followEvents(db: Db, events: EventBus, wake: () => void, onError: (err: unknown) => void): () => void {
  let newest = 0;
  let pending = false;
  const schedule = (key: string) => {
    enqueue(db, SEARCH_SYNC_JOB, {}, { key, maxAttempts: 20 }).then(wake, onError);
  };
  schedule(`start-${Date.now()}-${process.pid}`);
  return events.on('*', (e) => {
    newest = Math.max(newest, e.seq);
    if (pending) return;
    pending = true;
    setImmediate(() => {
      pending = false;
      schedule(`seq-${newest}`);
    });
  });
}
