import pg from 'pg';
import type { Logger } from '../log.ts';

/** The advisory lock key every phananh process of one database competes for. */
export const LEADER_LOCK_ID = 1022_0001;

export interface LeaderOptions {
  /** PostgreSQL server URL. Absent: the embedded (single-process) database, always leader. */
  connectionString?: string;
  lockId?: number;
  /** How often a follower retries the lock, and a leader checks its connection. */
  retryMs?: number;
  log?: Logger;
}

/**
 * Leader election among the processes of one database, for work that must run once per
 * cluster (SLA timers, pollers). The leader holds a session-level advisory lock on one
 * dedicated connection; PostgreSQL releases it when that connection dies (process killed,
 * backend terminated), and a follower, retrying every 2 s, takes over. A leader that loses its
 * connection (client 'error'/'end', or a heartbeat that fails) steps down at once.
 * Work done under leadership must still be idempotent: for a moment around a failover, an old
 * leader may not yet know it has lost the lock.
 */
export class Leader {
  readonly #opts: LeaderOptions;
  #leader = false;
  #client: pg.Client | null = null;
  #timer: NodeJS.Timeout | null = null;
  #attempt: Promise<void> | null = null;
  #started = false;
  #stopped = false;
  readonly #listeners = new Set<(leader: boolean) => void>();

  constructor(opts: LeaderOptions = {}) {
    this.#opts = opts;
    // A single process on its embedded database leads from the start, started or not.
    this.#leader = !opts.connectionString;
  }

  isLeader(): boolean {
    return this.#leader;
  }

  /** Called with the new state on every change. Returns the unsubscribe function. */
  onChange(cb: (leader: boolean) => void): () => void {
    this.#listeners.add(cb);
    return () => this.#listeners.delete(cb);
  }

  /** Starts competing; resolves after the first attempt (so a lone process leads at once). */
  async start(): Promise<void> {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    if (this.#opts.connectionString) await this.#run();
  }

  /** Stops competing and releases the lock (closing its connection). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#attempt;
    const client = this.#client;
    this.#client = null;
    if (client) {
      if (this.#leader) await client.query('select pg_advisory_unlock($1::bigint)', [this.#lockId]).catch(() => {});
      await Promise.race([client.end().catch(() => {}), new Promise((r) => setTimeout(r, 2_000))]);
    }
    this.#set(false);
  }

  get #lockId(): string {
    return String(this.#opts.lockId ?? LEADER_LOCK_ID);
  }

  get #retryMs(): number {
    return this.#opts.retryMs ?? 2_000;
  }

  #set(leader: boolean): void {
    if (this.#leader === leader) return;
    this.#leader = leader;
    if (leader) this.#opts.log?.info({ lock: this.#lockId }, 'became leader');
    else if (!this.#stopped) this.#opts.log?.warn({ lock: this.#lockId }, 'no longer leader');
    for (const cb of this.#listeners) {
      try {
        cb(leader);
      } catch (err) {
        this.#opts.log?.error({ err: String(err) }, 'leader change listener failed');
      }
    }
  }

  /** One attempt (or heartbeat), then the next one in retryMs. */
  #run(): Promise<void> {
    this.#attempt = this.#tryOnce().finally(() => {
      this.#attempt = null;
      if (!this.#stopped) this.#timer = setTimeout(() => void this.#run(), this.#retryMs);
    });
    return this.#attempt;
  }

  async #tryOnce(): Promise<void> {
    let client = this.#client;
    try {
      if (!client) {
        const fresh = new pg.Client({
          connectionString: this.#opts.connectionString, application_name: 'phananh-leader',
          keepAlive: true, connectionTimeoutMillis: 5_000, query_timeout: Math.max(5_000, this.#retryMs * 2),
        });
        // Without listeners a dropped connection would crash the process; with them, we step down.
        fresh.on('error', (err) => this.#lost(fresh, err));
        fresh.on('end', () => this.#lost(fresh));
        client = fresh;
        this.#client = fresh;
        await fresh.connect();
      }
      if (this.#leader) {
        await client.query('select 1');
      } else {
        const r = await client.query<{ ok: boolean }>('select pg_try_advisory_lock($1::bigint) as ok', [this.#lockId]);
        if (this.#stopped || client !== this.#client) return;
        if (r.rows[0]?.ok) this.#set(true);
      }
    } catch (err) {
      if (client) this.#lost(client, err);
    }
  }

  /** The lock's connection failed or closed: drop it (releasing the lock) and step down. */
  #lost(client: pg.Client, err?: unknown): void {
    if (client !== this.#client) return;
    this.#client = null;
    client.end().catch(() => {});
    if (!this.#stopped) this.#opts.log?.warn({ err: err ? String((err as Error).message ?? err) : 'connection ended' }, 'leader connection lost');
    this.#set(false);
  }
}
