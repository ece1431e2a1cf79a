import { jsonParam } from './records.ts';
import type { DbOrTx } from './schema.ts';

export interface EnqueueOptions {
  /** Jobs with the same kind and key are enqueued once. */
  key?: string;
  runAt?: Date;
  maxAttempts?: number;
}

/** A job to add: its kind, its payload, and the enqueue options. */
export interface NewJob extends EnqueueOptions {
  kind: string;
  payload: Record<string, unknown>;
}

/**
 * Adds jobs in one statement, inside the caller's transaction when given one, so jobs and data
 * commit together; a (kind, key) already enqueued is skipped. Every job row is written here
 * (intake's own statement writes the same row for the messages it stores).
 */
export async function enqueueMany(db: DbOrTx, jobs: NewJob[]): Promise<void> {
  if (jobs.length === 0) return;
  await db.insertInto('jobs')
    .values(jobs.map((j) => ({
      kind: j.kind, key: j.key ?? null, payload: jsonParam(j.payload), run_at: j.runAt ?? new Date(), max_attempts: j.maxAttempts ?? 10,
    })))
    .onConflict((oc) => oc.columns(['kind', 'key']).doNothing())
    .execute();
}

/** Adds one job (see `enqueueMany`). */
export function enqueue(db: DbOrTx, kind: string, payload: Record<string, unknown>, opts: EnqueueOptions = {}): Promise<void> {
  return enqueueMany(db, [{ kind, payload, ...opts }]);
}
