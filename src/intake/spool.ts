import { mkdir, open, readdir, readFile, rename, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { canonicalCode } from '../core/tickets/codes.ts';
import type { InboundReport } from '../core/report-input.ts';
import { STATUS_VI } from '../core/tickets/statuses.ts';
import { publicPhotos, type PublicStatus } from '../core/tickets/tracking.ts';
import { isConnectionError, isTransientError } from '../db/connection-error.ts';
import type { Logger } from '../log.ts';
import { metrics } from '../metrics.ts';
import { intakeUnavailable } from './intake-service.ts';

/** One inbound message acknowledged while the database was unreachable. */
export interface SpoolEntry {
  channel: string;
  externalId: string;
  endpoint?: string;
  payload: unknown;
  report?: InboundReport;
  /** ISO 8601. */
  receivedAt: string;
  /** The tracking code the sender was given; the drained row keeps it. */
  code: string;
  requestHash: string;
}

/** Stores one spooled entry in the database; must be idempotent on (channel, externalId). */
export type SpoolStore = (entry: SpoolEntry) => Promise<void>;

/** An entry the database refused for itself (not for an outage), set aside so the rest go on. */
export interface PoisonedEntry {
  entry: SpoolEntry;
  error: { code: string; message: string };
  /** ISO 8601: when it was set aside. */
  at: string;
}

const ACTIVE = 'active.jsonl';
/** Entries set aside, kept whole for an operator (`npx phananh spool`); never drained by itself. */
export const POISON_FILE = 'poison.jsonl';
/**
 * A failure of the moment (a deadlock, a timeout) may stop the drain at the same entry this many
 * passes in a row before the entry is set aside; a refusal of the entry itself sets it aside at once.
 */
export const POISON_AFTER_PASSES = 5;
const SEGMENT = /^seg-(\d{12})\.jsonl$/;
const segmentName = (n: number) => `seg-${String(n).padStart(12, '0')}.jsonl`;
const keyOf = (channel: string, externalId: string) => `${channel}\u0000${externalId}`;

/** The stable error of an intake that can neither reach the database nor write the spool. */

function parseLines(text: string, file: string, log?: Logger): SpoolEntry[] {
  const out: SpoolEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const e = JSON.parse(line) as SpoolEntry;
      if (typeof e.channel === 'string' && typeof e.externalId === 'string' && typeof e.code === 'string') out.push(e);
    } catch {
      // A line torn by a crash or a full disk during its write: it was never acknowledged.
      log?.warn({ file }, 'spool: skipped a torn line');
    }
  }
  return out;
}

/**
 * A durable local queue of inbound messages for when the database is unreachable
 * (DATA_DIR/spool). Append-only JSON lines: `append` resolves only after the line is
 * fsync'd, so an acknowledgement never outlives a crash. `drain` replays the entries in
 * order through an idempotent store and deletes a segment only once all of it is stored, so
 * a drain cut short (database gone again, crash) is simply repeated.
 */
export class Spool {
  #index = new Map<string, SpoolEntry>();
  #codes = new Map<string, SpoolEntry>();
  #fh: FileHandle | null = null;
  #activeSize = 0;
  #lastSegment = 0;
  #sealFirst = false;
  #lock: Promise<unknown> = Promise.resolve();
  #draining: Promise<number> | null = null;
  // How far into a segment the last, interrupted drain got (those entries are stored).
  #progress: { segment: string; count: number } | null = null;
  /** The entry the last passes stopped at, and how many passes in a row did. */
  #stuck: { key: string; passes: number } | null = null;
  #poisonCache: { mtimeMs: number; size: number; count: number } | null = null;

  private constructor(readonly dir: string, private readonly log?: Logger) {}

  /**
   * Opens the spool in `dir`, rebuilding its index from the files left by a previous process.
   * A folder that cannot be created is not fatal here: `append` then fails with
   * `intake_unavailable`, and only while the database is down.
   */
  static async open(dir: string, opts: { log?: Logger } = {}): Promise<Spool> {
    const spool = new Spool(dir, opts.log);
    await spool.#rebuild();
    return spool;
  }

  /** Entries acknowledged but not yet stored in the database. */
  depth(): number {
    return this.#index.size;
  }

  /** The undrained entry for (channel, externalId), to answer a retry with the same code. */
  lookup(channel: string, externalId: string): SpoolEntry | undefined {
    return this.#index.get(keyOf(channel, externalId));
  }

  /** The undrained entry that was given this tracking code. */
  byCode(code: string): SpoolEntry | undefined {
    return this.#codes.get(code);
  }

  /**
   * Appends and fsyncs one entry. When (channel, externalId) is already spooled nothing is
   * written and the entry held is returned instead (a retry gets its first code). Throws
   * `intake_unavailable` (503) when the spool cannot be written.
   */
  append(entry: SpoolEntry): Promise<SpoolEntry> {
    return this.#locked(async () => {
      const held = this.lookup(entry.channel, entry.externalId);
      if (held) return held;
      const line = `${JSON.stringify(entry)}\n`;
      try {
        const fh = await this.#active();
        await fh.appendFile(line, 'utf8');
        await fh.sync();
        this.#activeSize += Buffer.byteLength(line);
      } catch (err) {
        this.log?.error({ err: (err as Error).message, dir: this.dir }, 'spool: cannot write; refusing the report');
        await this.#abandonActive();
        throw intakeUnavailable();
      }
      this.#remember(entry);
      return entry;
    });
  }

  /**
   * Entries set aside (in POISON_FILE), counted again whenever the file changes (the spool
   * command may retry them while the server runs).
   */
  async poisoned(): Promise<number> {
    const file = path.join(this.dir, POISON_FILE);
    const st = await stat(file).catch(() => null);
    if (!st) return 0;
    const c = this.#poisonCache;
    if (c && c.mtimeMs === st.mtimeMs && c.size === st.size) return c.count;
    const count = (await readPoisoned(this.dir)).length;
    this.#poisonCache = { mtimeMs: st.mtimeMs, size: st.size, count };
    return count;
  }

  /**
   * Stores every spooled entry, oldest first, through `store`; resolves with how many were
   * stored. An outage (a connection error) stops the drain: the rest stay spooled and the next
   * call goes on from there. An entry the database refuses for itself (bad data, a constraint)
   * never blocks the ones after it: it is set aside in POISON_FILE, kept whole, logged once with
   * its code and counted (`poisoned()`, /healthz, /metrics); so is one that a failure of the
   * moment stopped POISON_AFTER_PASSES passes in a row. One drain at a time: a second call
   * while one runs gets the same promise.
   */
  drain(store: SpoolStore): Promise<number> {
    this.#draining ??= this.#drain(store).finally(() => { this.#draining = null; });
    return this.#draining;
  }

  /** Closes the open segment file. */
  async close(): Promise<void> {
    await this.#locked(async () => {
      await this.#fh?.close().catch(() => {});
      this.#fh = null;
    });
  }

  async #drain(store: SpoolStore): Promise<number> {
    // New appends go to a fresh file while the sealed ones are replayed.
    await this.#locked(() => this.#seal());
    let stored = 0;
    for (const name of await this.#segments()) {
      const file = path.join(this.dir, name);
      const entries = parseLines(await readFile(file, 'utf8'), file, this.log);
      const from = this.#progress?.segment === name ? this.#progress.count : 0;
      for (let i = from; i < entries.length; i++) {
        const entry = entries[i]!;
        if (await this.#storeOrSetAside(store, entry)) stored++;
        this.#progress = { segment: name, count: i + 1 };
        this.#forget(entry);
      }
      await unlink(file);
      await this.#syncDir();
      this.#progress = null;
    }
    return stored;
  }

  /** Stores one entry: true when stored, false when set aside; throws to stop the drain. */
  async #storeOrSetAside(store: SpoolStore, entry: SpoolEntry): Promise<boolean> {
    try {
      await store(entry);
      this.#stuck = null;
      return true;
    } catch (err) {
      if (isConnectionError(err)) throw err;
      const key = `${keyOf(entry.channel, entry.externalId)}\u0000${entry.code}`;
      const passes = this.#stuck?.key === key ? this.#stuck.passes + 1 : 1;
      if (isTransientError(err) && passes < POISON_AFTER_PASSES) {
        this.#stuck = { key, passes };
        throw err;
      }
      this.#stuck = null;
      const e = err as { code?: unknown; message?: unknown };
      const error = { code: typeof e.code === 'string' ? e.code : (err as Error)?.name ?? 'Error', message: String(e.message ?? err).slice(0, 500) };
      // Durable before the entry leaves the segment: a crash in between sets it aside twice at
      // worst (the spool command shows it once), never loses it.
      const line = `${JSON.stringify({ entry, error, at: new Date().toISOString() } satisfies PoisonedEntry)}\n`;
      const fh = await open(path.join(this.dir, POISON_FILE), 'a', 0o600);
      try {
        await fh.appendFile(line, 'utf8');
        await fh.sync();
      } finally {
        await fh.close();
      }
      metrics.spoolPoisoned.inc();
      this.log?.error({ code: entry.code, channel: entry.channel, receivedAt: entry.receivedAt, error },
        'spool: the database refuses this acknowledged report; set aside in spool/poison.jsonl (see `phananh spool`), the others go on');
      return false;
    }
  }

  async #rebuild(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw err;
    }
    const segments = names.filter((n) => SEGMENT.test(n)).sort();
    this.#lastSegment = segments.length ? Number(SEGMENT.exec(segments.at(-1)!)![1]) : 0;
    for (const name of [...segments, ...(names.includes(ACTIVE) ? [ACTIVE] : [])]) {
      const file = path.join(this.dir, name);
      for (const entry of parseLines(await readFile(file, 'utf8'), file, this.log)) {
        if (!this.lookup(entry.channel, entry.externalId)) this.#remember(entry);
      }
    }
    // The previous process's file may end in a torn line; never append after it.
    this.#sealFirst = names.includes(ACTIVE);
    if (this.#index.size) this.log?.warn({ spooled: this.#index.size, dir: this.dir }, 'spool: reports waiting for the database');
  }

  #remember(entry: SpoolEntry): void {
    this.#index.set(keyOf(entry.channel, entry.externalId), entry);
    this.#codes.set(entry.code, entry);
  }

  #forget(entry: SpoolEntry): void {
    const key = keyOf(entry.channel, entry.externalId);
    if (this.#index.get(key)?.code === entry.code) this.#index.delete(key);
    if (this.#codes.get(entry.code)?.externalId === entry.externalId) this.#codes.delete(entry.code);
  }

  async #segments(): Promise<string[]> {
    try {
      return (await readdir(this.dir)).filter((n) => SEGMENT.test(n)).sort();
    } catch {
      return [];
    }
  }

  async #active(): Promise<FileHandle> {
    if (this.#fh) return this.#fh;
    await mkdir(this.dir, { recursive: true });
    if (this.#sealFirst) await this.#seal();
    const fh = await open(path.join(this.dir, ACTIVE), 'a', 0o600);
    try {
      this.#activeSize = (await fh.stat()).size;
      // A new file's name must be durable too, not only its bytes.
      if (this.#activeSize === 0) await this.#syncDir();
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
    this.#fh = fh;
    return fh;
  }

  /** After a failed write: cut the partial line off, or at least never append after it. */
  async #abandonActive(): Promise<void> {
    const fh = this.#fh;
    this.#fh = null;
    if (!fh) return;
    try {
      await fh.truncate(this.#activeSize);
      await fh.sync();
    } catch {
      this.#sealFirst = true;
    }
    await fh.close().catch(() => {});
  }

  /** Renames the active file to the next segment (when it holds anything). Under the lock. */
  async #seal(): Promise<void> {
    await this.#fh?.close().catch(() => {});
    this.#fh = null;
    const active = path.join(this.dir, ACTIVE);
    let size: number;
    try {
      size = (await stat(active)).size;
    } catch {
      this.#sealFirst = false;
      return;
    }
    if (size === 0) {
      await unlink(active).catch(() => {});
    } else {
      await rename(active, path.join(this.dir, segmentName(++this.#lastSegment)));
    }
    await this.#syncDir();
    this.#sealFirst = false;
  }

  async #syncDir(): Promise<void> {
    const dh = await open(this.dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }

  #locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => {});
    return run;
  }
}

/** The entries set aside in `dir`'s POISON_FILE, each once (a crash may have written one twice). */
export async function readPoisoned(dir: string): Promise<PoisonedEntry[]> {
  let text: string;
  try {
    text = await readFile(path.join(dir, POISON_FILE), 'utf8');
  } catch {
    return [];
  }
  const byKey = new Map<string, PoisonedEntry>();
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      const p = JSON.parse(line) as PoisonedEntry;
      if (p?.entry && typeof p.entry.code === 'string') byKey.set(`${keyOf(p.entry.channel, p.entry.externalId)}\u0000${p.entry.code}`, p);
    } catch {
      // a line torn by a crash during its write: its entry is still in its segment
    }
  }
  return [...byKey.values()];
}

/**
 * Tries the set-aside entries of `dir` again through `store` (after a fix): those stored leave
 * POISON_FILE, the others stay with their new error. The file is replaced atomically.
 */
export async function retryPoisoned(dir: string, store: SpoolStore): Promise<{ stored: number; still: PoisonedEntry[] }> {
  const all = await readPoisoned(dir);
  const still: PoisonedEntry[] = [];
  let stored = 0;
  for (const p of all) {
    try {
      await store(p.entry);
      stored++;
    } catch (err) {
      if (isConnectionError(err)) throw err;
      const e = err as { code?: unknown; message?: unknown };
      still.push({ ...p, error: { code: typeof e.code === 'string' ? e.code : 'Error', message: String(e.message ?? err).slice(0, 500) }, at: new Date().toISOString() });
    }
  }
  const file = path.join(dir, POISON_FILE);
  if (still.length === 0) {
    await unlink(file).catch(() => {});
  } else {
    const tmp = `${file}.tmp`;
    await writeFile(tmp, still.map((p) => `${JSON.stringify(p)}\n`).join(''), { mode: 0o600, flush: true });
    await rename(tmp, file);
  }
  return { stored, still };
}

/**
 * What the tracking page and API show for a code still in the spool: received, nothing more
 * yet. Null when the code is not spooled (look it up in the database).
 */
export function spooledStatus(spool: Spool, rawCode: string): PublicStatus | null {
  const code = canonicalCode(rawCode);
  const entry = code ? spool.byCode(code) : undefined;
  if (!entry) return null;
  return {
    code: entry.code, status: 'received', status_label: STATUS_VI.received, ticket: null, channel: entry.channel,
    received_at: entry.receivedAt, category: null, area: null, department: null, reporters: 1, due_at: null, timeline: [],
    report: entry.report ? { text: entry.report.text, address: entry.report.address ?? null, photos: publicPhotos(entry.code, entry.report.attachments) } : null,
    result: null, feedback: null,
  };
}

export interface SpoolDrainerOptions {
  spool: Spool;
  /** Resolves when the database answers (`select 1`), rejects otherwise. */
  ready: () => Promise<unknown>;
  store: SpoolStore;
  /** Called after a drain stored something (wake the worker). */
  onDrained?: (stored: number) => void;
  log?: Logger;
  intervalMs?: number;
}

/**
 * Drains the spool once the database answers again: at start, then every `intervalMs`
 * (1 s) while anything is spooled. No restart needed after an outage.
 */
export class SpoolDrainer {
  #timer: NodeJS.Timeout | null = null;
  #running = false;
  #pass: Promise<number> | null = null;
  #failing = false;

  constructor(private readonly opts: SpoolDrainerOptions) {}

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#pass?.catch(() => {});
  }

  /** One drain attempt now; resolves with the number stored (0 when the database is still away). */
  async drainNow(): Promise<number> {
    this.#pass ??= this.#attempt().finally(() => { this.#pass = null; });
    return this.#pass;
  }

  async #attempt(): Promise<number> {
    const { spool, log } = this.opts;
    try {
      await this.opts.ready();
      const stored = await spool.drain(this.opts.store);
      if (this.#failing || stored) log?.info({ stored, spooled: spool.depth() }, 'spool: drained into the database');
      this.#failing = false;
      if (stored) this.opts.onDrained?.(stored);
      return stored;
    } catch (err) {
      if (!this.#failing) log?.warn({ err: (err as Error).message, spooled: spool.depth() }, 'spool: database still unavailable; will retry');
      this.#failing = true;
      return 0;
    }
  }

  #schedule(ms: number): void {
    if (!this.#running) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      const work = this.opts.spool.depth() > 0 ? this.drainNow() : Promise.resolve(0);
      void work.finally(() => this.#schedule(this.opts.intervalMs ?? 1_000));
    }, ms);
    this.#timer.unref();
  }
}
