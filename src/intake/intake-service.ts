import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { newCode } from '../core/codes.ts';
import { AppError } from '../core/errors.ts';
import type { InboundReport } from '../core/report-input.ts';
import type { Db } from '../db/schema.ts';
import { metrics } from '../metrics.ts';

export const PROCESS_INBOUND_JOB = 'inbound.process';

export interface AcceptInput {
  channel: string;
  /** The provider's id for this message (or the client's Idempotency-Key). */
  externalId: string;
  /** Exactly what arrived, kept for audit and reprocessing. */
  payload: unknown;
  /** The normalised report when the channel validated it before acknowledging. */
  report?: InboundReport;
  receivedAt?: Date;
}

export interface Accepted {
  code: string;
  inboundId: number;
  /** True when this (channel, externalId) was already stored: nothing new was written. */
  replay: boolean;
  receivedAt: Date;
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

/**
 * Stores every inbound message before it is acknowledged, keyed by (channel, external id),
 * and enqueues its processing in the same transaction. A second delivery is a no-op that
 * returns the first result.
 */
export class IntakeService {
  constructor(private readonly db: Db, private readonly onEnqueued: () => void = () => {}) {}

  async accept(input: AcceptInput): Promise<Accepted> {
    const hash = payloadHash(input.payload);
    const receivedAt = input.receivedAt ?? new Date();
    // The message and its job in ONE statement (a data-modifying CTE is atomic on its own):
    // one round trip instead of BEGIN, two INSERTs and COMMIT, which is most of what an
    // acknowledgement costs (bench/intake.ts). The job row is what `enqueue` would write.
    const inserted = await this.db
      .with('m', (db) => db.insertInto('inbound_messages')
        .values({
          channel: input.channel, external_id: input.externalId, code: newCode('PA'),
          payload: JSON.stringify(input.payload), report: input.report ? JSON.stringify(input.report) : null,
          request_hash: hash, received_at: receivedAt,
        })
        .onConflict((oc) => oc.columns(['channel', 'external_id']).doNothing())
        .returning(['id', 'code', 'received_at']))
      .with('j', (db) => db.insertInto('jobs')
        .columns(['kind', 'key', 'payload'])
        .expression(db.selectFrom('m').select([
          sql<string>`${PROCESS_INBOUND_JOB}::text`.as('kind'),
          sql<string>`'inbound:' || m.id`.as('key'),
          sql<string>`jsonb_build_object('inboundId', m.id)`.as('payload'),
        ]))
        .onConflict((oc) => oc.columns(['kind', 'key']).doNothing()))
      .selectFrom('m').select(['id', 'code', 'received_at'])
      .executeTakeFirst();
    let result: Accepted;
    if (inserted) {
      result = { code: inserted.code, inboundId: inserted.id, replay: false, receivedAt: inserted.received_at };
    } else {
      // A second delivery: the conflicting row is committed by now (ON CONFLICT waited for it).
      const existing = await this.db.selectFrom('inbound_messages').select(['id', 'code', 'request_hash', 'received_at'])
        .where('channel', '=', input.channel).where('external_id', '=', input.externalId).executeTakeFirstOrThrow();
      if (existing.request_hash && existing.request_hash !== hash) {
        throw new AppError('idempotency_key_conflict', 409,
          'this idempotency key was already used with a different request',
          'Mã chống gửi trùng (Idempotency-Key) này đã được dùng cho một phản ánh khác.');
      }
      result = { code: existing.code, inboundId: existing.id, replay: true, receivedAt: existing.received_at };
    }
    metrics.inbound.inc({ channel: input.channel, result: result.replay ? 'replayed' : 'stored' });
    if (!result.replay) this.onEnqueued();
    return result;
  }
}
