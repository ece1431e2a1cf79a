import type { DbOrTx } from './schema.ts';
import { jsonParam } from './records.ts';

export interface EnqueueOptions {
  /** Jobs with the same kind and key are enqueued once. */
  key?: string;
  runAt?: Date;
  maxAttempts?: number;
}

/** Adds a job; inside the caller's transaction when given one, so job and data commit together. */
export async function enqueue(db: DbOrTx, kind: string, payload: Record<string, unknown>, opts: EnqueueOptions = {}): Promise<void> {
  await db.insertInto('jobs')
    .values({
      kind, key: opts.key ?? null, payload: jsonParam(payload),
      run_at: opts.runAt ?? new Date(), max_attempts: opts.maxAttempts ?? 10,
    })
    .onConflict((oc) => oc.columns(['kind', 'key']).doNothing())
    .execute();
}
