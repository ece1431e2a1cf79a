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

export { enqueue, type EnqueueOptions } from '../db/jobs.ts';

const LEASE_SECONDS = 300;

/**
 * Claims up to `limit` due jobs with FOR UPDATE SKIP LOCKED, so several workers (and
 * processes) never take the same job. A lease lets another worker retry a job whose worker
 * died mid-way; `leaseSeconds` shortens it for quick jobs that must be retried soon (SLA
 * timers after a leader dies).
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

export async function complete(db: Db, id: number): Promise<void> {
  await completeMany(db, [id]);
}

export async function completeMany(db: Db, ids: number[]): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('jobs').set({ done_at: new Date(), locked_by: null, locked_until: null, last_error: null }).where('id', 'in', ids).execute();
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
