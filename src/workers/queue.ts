import { sql } from 'kysely';
import type { Db } from '../db/schema.ts';

export interface Job {
  id: number;
  kind: string;
  payload: Record<string, unknown>;
  attempts: number;
  max_attempts: number;
  /** When it was due (by the database's clock, which decided it was). */
  run_at: Date;
}


/**
 * How long a claimed job stays with its worker without news from it. A live worker extends the
 * leases of the jobs it runs every LEASE_SECONDS / 4 (`extendLeases`), however long they take;
 * the jobs of a worker that died (kill -9, a lost machine) are free for another within this.
 */
export const LEASE_SECONDS = 8;

/**
 * Claims up to `limit` due jobs with FOR UPDATE SKIP LOCKED, so several workers (and
 * processes) never take the same job, each under a short lease (LEASE_SECONDS) that its
 * worker extends while the job runs: another worker takes over the jobs of one that died.
 */
export async function claim(db: Db, workerId: string, limit: number, kinds?: string[], leaseSeconds = LEASE_SECONDS): Promise<Job[]> {
  if (kinds?.length === 0) return []; // `kind in ()` is a syntax error, and no kind means no job
  // In due order (UPDATE ... RETURNING alone gives no order): a batch runs in arrival order.
  const result = await sql<Job>`
    with claimed as (
      update jobs set locked_by = ${workerId}, locked_until = now() + make_interval(secs => ${leaseSeconds}), attempts = attempts + 1
      where id in (
        select id from jobs
        where done_at is null and failed_at is null and run_at <= now()
          and (locked_until is null or locked_until < now())
          ${kinds ? sql`and kind in (${sql.join(kinds)})` : sql``}
        order by run_at, id
        limit ${limit}
        for update skip locked
      )
      returning id, kind, payload, attempts, max_attempts, run_at)
    select id, kind, payload, attempts, max_attempts, run_at from claimed order by run_at, id`.execute(db);
  return result.rows;
}

/** Extends the leases of jobs this worker still runs (its heartbeat); jobs taken over meanwhile are left alone. */
export async function extendLeases(db: Db, workerId: string, ids: number[], leaseSeconds = LEASE_SECONDS): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('jobs').set({ locked_until: sql<Date>`now() + make_interval(secs => ${leaseSeconds})` })
    .where('id', 'in', ids).where('locked_by', '=', workerId).where('done_at', 'is', null).execute();
}

/**
 * Frees every job lease (start of a process that owns its database alone, embedded PGlite): a
 * lease held there was held by this process before it crashed, and its jobs must not wait.
 */
export async function releaseAllLeases(db: Db): Promise<number> {
  const r = await db.updateTable('jobs').set({ locked_by: null, locked_until: null })
    .where('locked_until', 'is not', null).where('done_at', 'is', null).where('failed_at', 'is', null).executeTakeFirst();
  return Number(r.numUpdatedRows);
}

export async function complete(db: Db, id: number): Promise<void> {
  await completeMany(db, [id]);
}

export async function completeMany(db: Db, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('jobs').set({ done_at: new Date(), locked_by: null, locked_until: null, last_error: null }).where('id', 'in', ids).execute();
}

/**
 * Makes sure the one job row of a periodic kind (`WorkerOptions.every`) exists and is pending,
 * due now: creates it, or wakes one left done or parked by an earlier version of the code. A
 * pending or running row is left as it is, so every process may call this at start.
 */
export async function ensurePeriodic(db: Db, kind: string): Promise<void> {
  await sql`
    insert into jobs as j (kind, key, payload, run_at, max_attempts) values (${kind}, ${kind}, '{}'::jsonb, now(), ${PERIODIC_MAX_ATTEMPTS})
    on conflict (kind, key) do update set done_at = null, failed_at = null, attempts = 0, run_at = now(), max_attempts = excluded.max_attempts
    where j.done_at is not null or j.failed_at is not null`.execute(db);
}

/** A periodic job is never parked: its attempts only slow its retries (backoff). */
const PERIODIC_MAX_ATTEMPTS = 2_147_483_647;

/**
 * Sets a periodic job due again after `delayMs` (the same row: no row per run), releasing its
 * lease; after a failure `error` is kept and the attempts count on, else they start again.
 */
export async function rearm(db: Db, id: number, delayMs: number, error?: string): Promise<void> {
  await db.updateTable('jobs')
    .set({
      run_at: sql<Date>`now() + make_interval(secs => ${delayMs / 1000})`, locked_by: null, locked_until: null,
      ...(error === undefined ? { attempts: 0, last_error: null } : { last_error: error.slice(0, 2000) }),
    })
    .where('id', '=', id).execute();
}

/** Backoff for the n-th failed attempt: 1 s, 2 s, 4 s ... capped at 10 minutes, with jitter. */
export function backoffMs(attempt: number): number {
  const base = Math.min(600_000, 1000 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/** Records a failure: retried later with backoff, or parked as failed (kept, never deleted). */
export async function fail(db: Db, job: Job, error: string): Promise<'retry' | 'failed'> {
  const final = job.attempts >= job.max_attempts;
  await db.updateTable('jobs')
    .set({
      last_error: error.slice(0, 2000), locked_by: null, locked_until: null,
      ...(final ? { failed_at: new Date() } : { run_at: new Date(Date.now() + backoffMs(job.attempts)) }),
    })
    .where('id', '=', job.id).execute();
  return final ? 'failed' : 'retry';
}
