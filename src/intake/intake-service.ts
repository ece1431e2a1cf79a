import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { newCode } from '../core/tickets/codes.ts';
import { nextTurn } from '../core/next-turn.ts';
import { AppError } from '../core/errors.ts';
import type { InboundReport } from '../core/report-input.ts';
import { isConnectionError } from '../db/connection-error.ts';
import { jsonParam } from '../db/records.ts';
import type { Db } from '../db/schema.ts';
import type { Spool, SpoolEntry } from './spool.ts';

export const PROCESS_INBOUND_JOB = 'inbound.process';

export interface AcceptInput {
  channel: string;
  /** The provider's id for this message (or the client's Idempotency-Key). */
  externalId: string;
  /** The hotline number, fanpage or mailbox it came in on (absent where the channel has one). */
  endpoint?: string;
  /** Exactly what arrived, kept for audit and reprocessing. */
  payload: unknown;
  /** The normalised report when the channel validated it before acknowledging. */
  report?: InboundReport;
  receivedAt?: Date;
}

export interface Accepted {
  code: string;
  /** The inbound_messages row; 0 while the message waits in the spool (no row yet). */
  inboundId: number;
  /** True when this (channel, externalId) was already stored: nothing new was written. */
  replay: boolean;
  receivedAt: Date;
  /** True when the database was unreachable and the message waits in the local spool. */
  spooled?: boolean;
}

// JSON objects are unordered: a client retrying with the same fields in another order (a
// re-encoded map) is the same request, so keys are sorted before hashing. Arrays keep order.
const sortedKeys = (_key: string, value: unknown) =>
  value && typeof value === 'object' && !Array.isArray(value)
    ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    : value;

/** Stable hash of a payload, to tell a true retry from a reused idempotency key. */
export function payloadHash(payload: unknown): string {
  return createHash('sha256').update(JSON.stringify(payload, sortedKeys)).digest('hex');
}

/** What became of one inbound message, as counted in phananh_inbound_total. */
export type InboundResult = 'stored' | 'replayed' | 'spooled' | 'spool_superseded';

export interface IntakeOptions {
  /** Called after a new message and its job are stored (wakes the local worker). */
  onEnqueued?: () => void;
  /** Where messages go while the database is unreachable (absent: such a request fails with `intake_unavailable`, 503). */
  spool?: Spool;
  /** Counts each message's result (the Node process's metrics; the edge has none). */
  count?: (channel: string, result: InboundResult) => void;
}

/** The database is unreachable and there is no spool to hold the message. */
export function intakeUnavailable(): AppError {
  return new AppError('intake_unavailable', 503,
    'the database is unreachable and the local spool cannot be written: the report was not accepted',
    'Hệ thống tạm thời không thể tiếp nhận phản ánh. Vui lòng gửi lại sau ít phút.');
}

/**
 * Stores every inbound message before it is acknowledged, keyed by (channel, external id),
 * and enqueues its processing in the same transaction. A second delivery is a no-op that
 * returns the first result. While the database is unreachable, messages go to the spool
 * (fsync'd before the acknowledgement) and `storeSpooled` writes them when it is back.
 */
export class IntakeService {
  private readonly onEnqueued: () => void;
  private readonly spool: Spool | undefined;
  private readonly count: (channel: string, result: InboundResult) => void;

  constructor(private readonly db: Db, opts: IntakeOptions = {}) {
    this.onEnqueued = opts.onEnqueued ?? (() => {});
    this.spool = opts.spool;
    this.count = opts.count ?? (() => {});
  }

  async accept(input: AcceptInput): Promise<Accepted> {
    const hash = payloadHash(input.payload);
    const receivedAt = input.receivedAt ?? new Date();
    // A retry of a message still in the spool must get the code it was given, even once the
    // database is back and before the drain reaches it.
    const held = this.spool?.lookup(input.channel, input.externalId);
    if (held) return this.#spooledReplay(held, hash);
    let inserted: { id: number; code: string; received_at: Date } | undefined;
    try {
      inserted = await this.#insert(input, newCode('PA'), hash, receivedAt);
    } catch (err) {
      if (!isConnectionError(err)) throw err;
      if (!this.spool) throw intakeUnavailable();
      return this.#toSpool(input, hash, receivedAt);
    }
    let result: Accepted;
    if (inserted) {
      result = { code: inserted.code, inboundId: inserted.id, replay: false, receivedAt: inserted.received_at };
    } else {
      // A second delivery: the conflicting row is committed by now (ON CONFLICT waited for it).
      const existing = await this.db.selectFrom('inbound_messages').select(['id', 'code', 'request_hash', 'received_at'])
        .where('channel', '=', input.channel).where('external_id', '=', input.externalId).executeTakeFirstOrThrow();
      if (existing.request_hash && existing.request_hash !== hash) throw keyConflict();
      result = { code: existing.code, inboundId: existing.id, replay: true, receivedAt: existing.received_at };
    }
    this.count(input.channel, result.replay ? 'replayed' : 'stored');
    if (!result.replay) this.onEnqueued();
    return result;
  }

  /**
   * Stores a spooled message with the code its sender was given; a no-op when
   * (channel, externalId) is already stored, so a drain can be repeated.
   */
  async storeSpooled(entry: SpoolEntry): Promise<void> {
    const inserted = await this.#insert(entry, entry.code, entry.requestHash, new Date(entry.receivedAt));
    if (inserted) {
      this.onEnqueued();
      return;
    }
    const existing = await this.db.selectFrom('inbound_messages').select('code')
      .where('channel', '=', entry.channel).where('external_id', '=', entry.externalId).executeTakeFirst();
    if (existing && existing.code !== entry.code) {
      // Delivered once before the outage and again during it: the database row wins, and the
      // code given from the spool stays unknown. Rare: it takes a retry across an outage.
      this.count(entry.channel, 'spool_superseded');
    }
  }

  async #toSpool(input: AcceptInput, hash: string, receivedAt: Date): Promise<Accepted> {
    const spool = this.spool!;
    const entry: SpoolEntry = {
      channel: input.channel, externalId: input.externalId, ...(input.endpoint ? { endpoint: input.endpoint } : {}), payload: input.payload,
      ...(input.report ? { report: input.report } : {}),
      receivedAt: receivedAt.toISOString(), code: newCode('PA'), requestHash: hash,
    };
    const held = await spool.append(entry);
    if (held !== entry) return this.#spooledReplay(held, hash);
    this.count(input.channel, 'spooled');
    return { code: entry.code, inboundId: 0, replay: false, receivedAt, spooled: true };
  }

  #spooledReplay(held: SpoolEntry, hash: string): Accepted {
    if (held.requestHash !== hash) throw keyConflict();
    this.count(held.channel, 'replayed');
    return { code: held.code, inboundId: 0, replay: true, receivedAt: new Date(held.receivedAt), spooled: true };
  }

  /**
   * Stores the message and its job. Messages arriving in the same turn of the event loop are
   * written together, in ONE statement (a data-modifying CTE is atomic on its own): under load
   * that is one round trip and one commit for many acknowledgements instead of one each, which
   * is most of what an acknowledgement costs (bench/intake.ts). Resolves undefined when
   * (channel, external id) was already stored. The job row is what `enqueue` would write.
   */
  #insert(input: { channel: string; externalId: string; endpoint?: string | undefined; payload: unknown; report?: InboundReport | undefined }, code: string, hash: string, receivedAt: Date): Promise<StoredRow | undefined> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ row: { channel: input.channel, external_id: input.externalId, endpoint: input.endpoint ?? null, code, payload: input.payload ?? null, report: input.report ?? null, request_hash: hash, received_at: receivedAt.toISOString() }, resolve, reject });
      if (this.#pending.length === 1) nextTurn(() => void this.#flush());
    });
  }

  #pending: PendingInsert[] = [];

  async #flush(): Promise<void> {
    const group = this.#pending;
    this.#pending = [];
    try {
      const stored = await insertMessages(this.db, group.map((p) => p.row));
      // A key given twice in one group is stored once, for the first: the others are replays.
      const byKey = new Map(stored.map((r) => [`${r.channel}\u0000${r.external_id}`, r]));
      for (const p of group) {
        const key = `${p.row.channel}\u0000${p.row.external_id}`;
        const row = byKey.get(key);
        byKey.delete(key);
        p.resolve(row && { id: row.id, code: row.code, received_at: row.received_at });
      }
    } catch (err) {
      if (group.length === 1 || isConnectionError(err)) {
        for (const p of group) p.reject(err);
        return;
      }
      // Something in one message failed the group: store each alone, so only that one fails.
      for (const p of group) {
        insertMessages(this.db, [p.row]).then((rows) => p.resolve(rows[0] && { id: rows[0].id, code: rows[0].code, received_at: rows[0].received_at }), p.reject);
      }
    }
  }
}

interface StoredRow {
  id: number;
  code: string;
  received_at: Date;
}

interface MessageRow {
  channel: string;
  external_id: string;
  endpoint: string | null;
  code: string;
  payload: unknown;
  report: InboundReport | null;
  request_hash: string;
  received_at: string;
}

interface PendingInsert {
  row: MessageRow;
  resolve: (row: StoredRow | undefined) => void;
  reject: (err: unknown) => void;
}


/** Inserts messages (skipping stored keys) and their processing jobs; returns the rows inserted. */
async function insertMessages(db: Db, rows: MessageRow[]): Promise<(StoredRow & { channel: string; external_id: string })[]> {
  const result = await sql<StoredRow & { channel: string; external_id: string }>`
    with m as (
      insert into inbound_messages (channel, external_id, endpoint, code, payload, report, request_hash, received_at)
      select channel, external_id, endpoint, code, payload, report, request_hash, received_at
      from jsonb_to_recordset(cast(${jsonParam(rows)} as jsonb))
        as x(channel text, external_id text, endpoint text, code text, payload jsonb, report jsonb, request_hash text, received_at timestamptz)
      on conflict (channel, external_id) do nothing
      returning id, code, received_at, channel, external_id),
    j as (
      insert into jobs (kind, key, payload)
      select ${PROCESS_INBOUND_JOB}, 'inbound:' || m.id, jsonb_build_object('inboundId', m.id) from m
      on conflict (kind, key) do nothing)
    select id, code, received_at, channel, external_id from m`.execute(db);
  return result.rows.map((r) => ({ ...r, received_at: new Date(r.received_at) }));
}

function keyConflict(): AppError {
  return new AppError('idempotency_key_conflict', 409,
    'this idempotency key was already used with a different request',
    'Mã chống gửi trùng (Idempotency-Key) này đã được dùng cho một phản ánh khác.');
}
