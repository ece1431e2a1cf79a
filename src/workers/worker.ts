import { randomUUID } from 'node:crypto';
import type { Db } from '../db/schema.ts';
import type { Logger } from '../log.ts';
import { claim, complete, completeMany, fail, type Job } from './queue.ts';
import { metrics } from '../metrics.ts';

/** How often an otherwise busy worker looks for due timers (leader only) and single jobs. */
const LEADER_POLL_MS = 250;

export type JobHandler = (job: Job) => Promise<void>;

/**
 * Runs many jobs of one kind together (one transaction for all, say). If it throws, each job
 * is run again alone through the kind's `JobHandler`, so one bad job fails only itself.
 */
export interface BatchHandler {
  /** The most jobs handed over at once. */
  size: number;
  /**
   * Batches of this kind run at once in this process (default 1): batches that take the same
   * locks would only queue behind each other, and a larger batch is cheaper per job.
   */
  concurrency?: number;
  run: (jobs: Job[]) => Promise<void>;
}

export interface WorkerOptions {
  db: Db;
  log: Logger;
  handlers: Record<string, JobHandler>;
  /** Kinds also run in batches (each still needs its single-job handler, for retries). */
  batches?: Record<string, BatchHandler>;
  /** Jobs (or batches) run at once. */
  concurrency?: number;
  pollMs?: number;
  /** Job kinds claimed only while `isLeader()` is true (timers, pollers: one runner per cluster). */
  leaderOnlyKinds?: string[];
  isLeader?: () => boolean;
  /** Lease of leader-only jobs, in seconds: short, so the jobs a dead leader held are retried soon. */
  leaderLeaseSeconds?: number;
}

/**
 * Runs Postgres-backed jobs: polls for due jobs (and wakes at once when this process enqueued
 * one), runs them with bounded concurrency, retries failures with backoff. `stop()` drains
 * the jobs in flight before returning, for graceful shutdown.
 */
export class Worker {
  readonly id = `w-${process.pid}-${randomUUID().slice(0, 8)}`;
  #running = false;
  #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | null = null;
  #wakeRequested = false;
  #nextTimerPoll = 0;
  #nextSinglePoll = 0;
  #loop: Promise<void> | null = null;
  /**
   * Jobs whose outcome could not be written (the database went away mid-job): they stay
   * locked under this worker's lease, so each poll tries to release them for a retry again,
   * instead of leaving them for the lease (5 minutes) to run out.
   */
  #unreleased = new Map<number, { job: Job; error: string }>();
  /** Batches in flight, by kind. */
  #batching = new Map<string, number>();

  constructor(private readonly opts: WorkerOptions) {}

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.wake();
  }

  /** Asks for an immediate poll (called after enqueueing in this process). */
  wake(): void {
    if (!this.#running) return;
    if (this.#loop) {
      this.#wakeRequested = true;
      return;
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#loop = this.#tick().finally(() => {
      this.#loop = null;
      if (!this.#running) return;
      if (this.#wakeRequested) {
        this.#wakeRequested = false;
        this.wake();
      } else {
        this.#timer = setTimeout(() => this.wake(), this.opts.pollMs ?? 500);
      }
    });
  }

  async #tick(): Promise<void> {
    const max = this.opts.concurrency ?? 4;
    const batches = this.opts.batches ?? {};
    const leaderOnly = new Set(this.opts.leaderOnlyKinds ?? []);
    const all = Object.keys(this.opts.handlers);
    const leaderKinds = all.filter((k) => leaderOnly.has(k));
    const singleKinds = all.filter((k) => !leaderOnly.has(k) && !batches[k]);
    const batchKinds = all.filter((k) => !leaderOnly.has(k) && batches[k]);
    try {
      for (const [id, { job, error }] of this.#unreleased) {
        await fail(this.opts.db, job, error);
        this.#unreleased.delete(id);
      }
      for (;;) {
        let free = max - this.#inFlight.size;
        if (!this.#running || free <= 0) return;
        // Leader-only jobs (short timers) first, so a busy inbound queue does not delay them.
        // Timers are rare next to inbound jobs: look for due ones at most every LEADER_POLL_MS
        // unless the last look found a full batch, saving a statement per inbound job.
        const lookForTimers = leaderKinds.length > 0 && this.#leading() && Date.now() >= this.#nextTimerPoll;
        const led = lookForTimers ? await claim(this.opts.db, this.id, free, leaderKinds, this.opts.leaderLeaseSeconds) : [];
        if (lookForTimers && led.length < free) this.#nextTimerPoll = Date.now() + LEADER_POLL_MS;
        free -= led.length;
        // Jobs of single kinds (outbound replies) likewise: a wake usually means inbound work,
        // and looking for them on every wake would cost a statement per acknowledgement.
        const lookForSingles = free > 0 && singleKinds.length > 0 && Date.now() >= this.#nextSinglePoll;
        const singles = lookForSingles ? await claim(this.opts.db, this.id, free, singleKinds) : [];
        if (lookForSingles && singles.length < free) this.#nextSinglePoll = Date.now() + LEADER_POLL_MS;
        free -= singles.length;
        const runs: (() => Promise<void>)[] = [...led, ...singles].map((job) => () => this.#run(job));
        // Batched kinds: full batches, as many as free slots and each kind's concurrency allow.
        for (const kind of batchKinds) {
          const batch = batches[kind]!;
          const room = Math.min(free, (batch.concurrency ?? 1) - (this.#batching.get(kind) ?? 0));
          if (room <= 0) continue;
          const jobs = await claim(this.opts.db, this.id, room * batch.size, [kind]);
          for (let i = 0; i < jobs.length; i += batch.size) {
            const chunk = jobs.slice(i, i + batch.size);
            free--;
            this.#batching.set(kind, (this.#batching.get(kind) ?? 0) + 1);
            runs.push(() => (chunk.length === 1 ? this.#run(chunk[0]!) : this.#runBatch(batch, chunk))
              .finally(() => this.#batching.set(kind, this.#batching.get(kind)! - 1)));
          }
        }
        if (runs.length === 0) return;
        for (const run of runs) {
          const p = run().finally(() => {
            this.#inFlight.delete(p);
            if (this.#running) this.wake();
          });
          this.#inFlight.add(p);
        }
      }
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, 'job poll failed; will retry');
    }
  }

  async #run(job: Job): Promise<void> {
    const handler = this.opts.handlers[job.kind];
    const started = performance.now();
    try {
      if (!handler) throw new Error(`no handler for job kind ${job.kind}`);
      await handler(job);
      await complete(this.opts.db, job.id);
      metrics.jobs.inc({ kind: job.kind, result: 'done' });
    } catch (err) {
      const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      const outcome = await fail(this.opts.db, job, message).catch(() => {
        this.#unreleased.set(job.id, { job, error: message });
        return 'retry' as const;
      });
      metrics.jobs.inc({ kind: job.kind, result: outcome });
      this.opts.log.warn({ job: job.id, kind: job.kind, attempt: job.attempts, outcome, err: message }, 'job failed');
    } finally {
      metrics.jobSeconds.observe({ kind: job.kind }, (performance.now() - started) / 1000);
      metrics.jobBatchSize.observe({ kind: job.kind }, 1);
    }
  }

  async #runBatch(batch: BatchHandler, jobs: Job[]): Promise<void> {
    const kind = jobs[0]!.kind;
    const started = performance.now();
    try {
      await batch.run(jobs);
      await completeMany(this.opts.db, jobs.map((j) => j.id));
      metrics.jobs.inc({ kind, result: 'done' }, jobs.length);
      metrics.jobSeconds.observe({ kind }, (performance.now() - started) / 1000);
      metrics.jobBatchSize.observe({ kind }, jobs.length);
    } catch (err) {
      // Nothing of a failed batch is kept (one transaction): run its jobs one by one, so each
      // gets its own outcome and the bad one its own error.
      this.opts.log.warn({ kind, jobs: jobs.length, err: (err as Error).message }, 'batch failed; running its jobs one at a time');
      for (const job of jobs) await this.#run(job);
    }
  }

  #leading(): boolean {
    return this.opts.isLeader ? this.opts.isLeader() : true;
  }

  /** Stops polling and waits for the jobs in flight. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#loop;
    await Promise.allSettled([...this.#inFlight]);
  }

  /** Resolves when no job is due or running (tests and the demo loader use it). */
  async idle(timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (this.#inFlight.size === 0 && !this.#loop) {
        const notMine = this.#leading() ? [] : (this.opts.leaderOnlyKinds ?? []);
        const due = await this.opts.db.selectFrom('jobs').select('id')
          .where('done_at', 'is', null).where('failed_at', 'is', null)
          .where('run_at', '<=', new Date())
          .$if(notMine.length > 0, (q) => q.where('kind', 'not in', notMine))
          .limit(1).execute();
        if (due.length === 0) return;
        this.wake();
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error('worker did not become idle in time');
  }
}
