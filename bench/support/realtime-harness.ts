// What the benchmarks that time events on console sockets share (bench/realtime.ts,
// bench/storm.ts): the client thread (bench/support/realtime-clients.mjs) behind a
// request/answer API, an HTTP server for a runtime, signed-in agents, and the latency figures.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Worker as Thread } from 'node:worker_threads';
import { serve, type ServerType } from '@hono/node-server';
import type { Db } from '../../src/db/schema.ts';
import { hashPassword } from '../../src/core/staff/passwords.ts';
import { createSession } from '../../src/core/staff/sessions.ts';
import type { Runtime } from '../../src/runtime.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { openServerBenchDatabase, type BenchDatabase } from './bench-db.ts';
import type { runGuard } from './env.ts';

/**
 * A throwaway database on the local server and the app's configuration over it (its own data
 * folder, a random session secret, silent logs, loopback); `guard` drops both at the end.
 */
export async function benchServer(guard: Pick<ReturnType<typeof runGuard>, 'add'>, tag: string): Promise<{ bench: BenchDatabase & { url: string }; config: Config }> {
  const bench = await openServerBenchDatabase({ tag });
  guard.add(() => bench.drop());
  const dataDir = mkdtempSync(path.join(tmpdir(), `phananh-bench-${tag}-`));
  guard.add(async () => rmSync(dataDir, { recursive: true, force: true }));
  const config = loadConfig({
    DATABASE_URL: bench.url, DATA_DIR: dataDir, SESSION_SECRET: randomBytes(24).toString('hex'), LOG_LEVEL: 'silent', HOST: '127.0.0.1', PORT: '0',
    // One load generator on one address files for a pool of residents, each many times an hour:
    // the public limits (429 after 20 anonymous an hour per address, 30 per contact) are not what
    // these benches measure.
    INTAKE_LIMIT_ANONYMOUS_PER_HOUR: '0', INTAKE_LIMIT_CONTACT_PER_HOUR: '0',
  });
  return { bench, config };
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across threads. */
export const epochNow = () => performance.timeOrigin + performance.now();
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How long one event may take to reach every socket before it counts as not delivered. */
export const DELIVERY_TIMEOUT_MS = 3_000;

/** The nearest-rank percentile `p` (0-100) of ascending `sorted`; NaN when empty. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export interface Stats { n: number; p50: number; p99: number; max: number }
export function stats(values: number[]): Stats {
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? NaN };
}

/** A latency for a table: "4.7 ms", "135 ms", "-" for none. */
/** A table row: a label, four right-aligned figures and a free note; a row with neither of its first two figures is a heading. */
export type Row = [string, string, string, string, string, string];

/** Prints rows as an aligned table (headings on their own line). */
export function printTable(rows: Row[]): void {
  const w = [0, 1, 2, 3, 4].map((c) => Math.max(...rows.filter((r) => r[1] || r[2]).map((r) => r[c]!.length)));
  for (const r of rows) {
    if (!r[1] && !r[2]) console.log(`  ${r[0]}`);
    else console.log(`  ${r[0].padEnd(w[0]!)}  ${r[1].padStart(w[1]!)}  ${r[2].padStart(w[2]!)}  ${r[3].padStart(w[3]!)}  ${r[4].padStart(w[4]!)}  ${r[5]}`);
  }
}

export const ms = (v: number) => (Number.isNaN(v) ? '-' : `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`);

/**
 * One POSTed report as the client thread saw it: `created` (timed to its ticket.created),
 * `grouped` (timed to its report.grouped), `missing` (acknowledged, no event within the
 * timeout) or `post_failed` (no 201). `code` is the report's, `ticket` its ticket's.
 */
export interface IngestResult { status: string; ms?: number; code?: string; ticket?: string }

/** The client thread, with request/answer messaging by `op` (and `id`). */
export class Clients {
  readonly #thread: Thread;
  readonly #waiting = new Map<string, (m: any) => void>();
  readonly ready: Promise<void>;

  constructor() {
    this.#thread = new Thread(new URL('./realtime-clients.mjs', import.meta.url));
    this.ready = this.#next('ready').then(() => {});
    this.#thread.on('message', (m: any) => {
      const key = m.id === undefined ? m.op : `${m.op}:${m.id}`;
      const fn = this.#waiting.get(key);
      if (!fn) return;
      this.#waiting.delete(key);
      fn(m);
    });
    this.#thread.on('error', (err) => console.error(`client thread: ${err.message}`));
  }

  #next(key: string): Promise<any> {
    return new Promise((resolve) => this.#waiting.set(key, resolve));
  }

  async #ask(msg: Record<string, unknown>, key: string): Promise<any> {
    const answer = this.#next(key);
    this.#thread.postMessage(msg);
    const m = await answer;
    if (m.error) throw new Error(`client thread: ${m.error}`);
    return m;
  }

  async connect(url: string, cookies: string[], group: string): Promise<void> {
    const r = await this.#ask({ op: 'connect', url, cookies, group }, 'connect');
    if (r.failed) throw new Error(`${r.failed} of ${cookies.length} sockets could not connect (${r.error})`);
  }

  /** Arms the thread for `expected` deliveries of event `id`; resolves to the latencies once they arrived. */
  async arm(id: number, expected: number): Promise<() => Promise<{ group: string; ms: number }[]>> {
    await this.#ask({ op: 'arm', id, expected }, `armed:${id}`);
    const delivered = this.#next(`delivered:${id}`);
    return async () => {
      const timer = setTimeout(() => this.#thread.postMessage({ op: 'disarm', id }), DELIVERY_TIMEOUT_MS);
      const m = await delivered;
      clearTimeout(timer);
      return m.latencies;
    };
  }

  /**
   * POSTs `bodies` to `url` open-loop at `rate` per second; each report is timed until its
   * ticket event reaches a console socket, waiting up to `timeoutMs` after the last POST.
   */
  ingest(url: string, bodies: string[], rate: number, timeoutMs = 15_000): Promise<IngestResult[]> {
    return this.#ask({ op: 'ingest', url, bodies, rate, timeoutMs }, 'ingest').then((m) => m.results);
  }

  async closeSockets(): Promise<void> {
    await this.#ask({ op: 'close' }, 'close');
  }

  async terminate(): Promise<void> {
    await this.#thread.terminate();
  }
}

/** Serves the runtime's app on a free loopback port. */
export function listen(runtime: Runtime): Promise<{ server: ServerType; url: string }> {
  return new Promise((resolve) => {
    const s = serve({ fetch: runtime.app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve({ server: s, url: `http://127.0.0.1:${info.port}` }));
  });
}

/**
 * Agents with these usernames, each with a session of their own; their session cookies, in
 * the same order. Signed in without the HTTP round trip and scrypt per user: the socket
 * handshake checks the session the same way.
 */
export async function signedInAgents(db: Db, usernames: string[]): Promise<string[]> {
  const passwordHash = await hashPassword(randomBytes(12).toString('hex'));
  const users = await db.insertInto('users').values(usernames.map((username, i) => ({
    username, display_name: `Tổng đài viên ${i}`, role: 'agent', password_hash: passwordHash, area_codes: JSON.stringify([]),
  }))).returning('id').execute();
  return Promise.all(users.map(async (u) => `phananh_session=${(await createSession(db, u.id)).token}`));
}
