import { randomUUID } from 'node:crypto';
import type { Db } from '../db/schema.ts';
import type { Logger } from '../log.ts';
import { backoffMs, claim, complete, completeMany, extendLeases, fail, LEASE_SECONDS, rearm, type Job } from './queue.ts';
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
  /** Lease of a claimed job, extended every quarter of it while the job runs (default LEASE_SECONDS). */
  leaseSeconds?: number;
  /**
   * Periodic kinds, each one durable job row (`ensurePeriodic`) set due again this many ms after
   * each run ends, instead of done; a failed run is retried with backoff (capped at this
   * period's PERIODIC_RETRY_FACTOR times) and never parked.
   */
  every?: Record<string, number>;
}

/** A failing periodic job is retried at most this many periods apart. */
const PERIODIC_RETRY_FACTOR = 12;

/**
 * Runs Postgres-backed jobs: polls for due jobs (and wakes at once when this process enqueued
 * one), runs them with bounded concurrency, retries failures with backoff. Every job it runs
 * is claimed under a short lease that a heartbeat extends while it runs, so the jobs of a
 * process that died are taken over within the lease. `stop()` drains the jobs in flight
 * before returning, for graceful shutdown.
 */
export class Worker {
  readonly id = `w-${process.pid}-${randomUUID().slice(0, 8)}`;
  #started = false;
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
  /** Ids of the jobs running here: their leases are extended, and a claim never starts one twice. */
  #running = new Set<number>();
  #heartbeat: NodeJS.Timeout | null = null;

  constructor(private readonly opts: WorkerOptions) {}

  start(): void {
    if (this.#started) return;
    this.#started = true;
    const lease = this.opts.leaseSeconds ?? LEASE_SECONDS;
    this.#heartbeat = setInterval(() => {
      extendLeases(this.opts.db, this.id, [...this.#running], lease)
        .catch((err: unknown) => this.opts.log.warn({ err: (err as Error).message }, 'could not extend job leases; they end in seconds'));
    }, (lease * 1000) / 4);
    this.#heartbeat.unref();
    this.wake();
  }

  /** Asks for an immediate poll (called after enqueueing in this process). */
  wake(): void {
    if (!this.#started) return;
    if (this.#loop) {
      this.#wakeRequested = true;
      return;
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#loop = this.#tick().finally(() => {
      this.#loop = null;
      if (!this.#started) return;
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
        if (!this.#started || free <= 0) return;
        // Leader-only jobs (short timers) first, so a busy inbound queue does not delay them.
        // Timers are rare next to inbound jobs: look for due ones at most every LEADER_POLL_MS
        // unless the last look found a full batch, saving a statement per inbound job.
        const lookForTimers = leaderKinds.length > 0 && this.#leading() && Date.now() >= this.#nextTimerPoll;
        const led = lookForTimers ? this.#notRunning(await claim(this.opts.db, this.id, free, leaderKinds, this.#lease)) : [];
        if (lookForTimers && led.length < free) this.#nextTimerPoll = Date.now() + LEADER_POLL_MS;
        free -= led.length;
        // Jobs of single kinds (outbound replies) likewise: a wake usually means inbound work,
        // and looking for them on every wake would cost a statement per acknowledgement.
        const lookForSingles = free > 0 && singleKinds.length > 0 && Date.now() >= this.#nextSinglePoll;
        const singles = lookForSingles ? this.#notRunning(await claim(this.opts.db, this.id, free, singleKinds, this.#lease)) : [];
        if (lookForSingles && singles.length < free) this.#nextSinglePoll = Date.now() + LEADER_POLL_MS;
        free -= singles.length;
        const runs: (() => Promise<void>)[] = [...led, ...singles].map((job) => () => this.#run(job));
        // Batched kinds: full batches, as many as free slots and each kind's concurrency allow.
        for (const kind of batchKinds) {
          const batch = batches[kind]!;
          const room = Math.min(free, (batch.concurrency ?? 1) - (this.#batching.get(kind) ?? 0));
          if (room <= 0) continue;
          const jobs = this.#notRunning(await claim(this.opts.db, this.id, room * batch.size, [kind], this.#lease));
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
            if (this.#started) this.wake();
          });
          this.#inFlight.add(p);
        }
      }
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, 'job poll failed; will retry');
    }
  }

  get #lease(): number {
    return this.opts.leaseSeconds ?? LEASE_SECONDS;
  }

  /**
   * Claimed jobs minus those already running here (a heartbeat the database answered late can
   * let a lease end under a running job: it is claimed again, and must not run twice). Marks
   * the others as running.
   */
  #notRunning(jobs: Job[]): Job[] {
    const fresh = jobs.filter((j) => !this.#running.has(j.id));
    for (const j of fresh) this.#running.add(j.id);
    return fresh;
  }

  async #run(job: Job): Promise<void> {
    const handler = this.opts.handlers[job.kind];
    const period = this.opts.every?.[job.kind];
    const started = performance.now();
    this.#running.add(job.id);
    try {
      if (!handler) throw new Error(`no handler for job kind ${job.kind}`);
      await handler(job);
      if (period === undefined) await complete(this.opts.db, job.id);
      else await rearm(this.opts.db, job.id, period);
      metrics.jobs.inc({ kind: job.kind, result: 'done' });
    } catch (err) {
      const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      const settle = period === undefined
        ? fail(this.opts.db, job, message)
        : rearm(this.opts.db, job.id, Math.min(backoffMs(job.attempts), period * PERIODIC_RETRY_FACTOR), message).then(() => 'retry' as const);
      const outcome = await settle.catch(() => {
        this.#unreleased.set(job.id, { job, error: message });
        return 'retry' as const;
      });
      metrics.jobs.inc({ kind: job.kind, result: outcome });
      this.opts.log.warn({ job: job.id, kind: job.kind, attempt: job.attempts, outcome, err: message }, 'job failed');
    } finally {
      this.#running.delete(job.id);
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
      for (const j of jobs) this.#running.delete(j.id);
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
    this.#started = false;
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#heartbeat) clearInterval(this.#heartbeat);
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
