import { sql } from 'kysely';
import type { Db, DbOrTx } from '../../db/schema.ts';
import { jsonParam } from '../../db/records.ts';
import { AppError } from '../errors.ts';
import { assertCan } from '../staff/authorize.ts';
import { actorName, SYSTEM_ACTOR, type Actor } from '../staff/policy.ts';

// A message a channel could not read (an email mailparser cannot make sense of, one too large to
// download) is not a report and must not hold back the ones after it: the channel keeps it raw
// and holds it here, once, with its error. Admins list what is held, download the raw message,
// retry it (the channel runs the same idempotent processing again, after a fix or an upgrade)
// or dismiss it; each of those is a row of quarantine_events, and only admins may (the policy's
// `quarantine.manage`).

/** What a channel tells about a message it sets aside. */
export interface HoldInput {
  channel: string;
  endpoint: string | null;
  externalId: string;
  /** Where it lies at the provider (a mailbox's UIDVALIDITY and UID). */
  place: Record<string, unknown>;
  /** The raw message in the file store (null: it was not downloaded). */
  rawKey: string | null;
  size: number | null;
  /** Who sent it, where that could be read. */
  sender: string | null;
  error: { code: string; message: string };
  receivedAt: Date;
}

/** Quarantine states. */
export const QUARANTINE_STATUSES = ['held', 'retried', 'dismissed'] as const;
export type QuarantineStatus = (typeof QUARANTINE_STATUSES)[number];

const bounded = (s: string | null, max: number) => (s === null ? null : s.slice(0, max));

/**
 * Holds a message (first time: a new row and its `quarantine.held` event). Held again (read
 * again after a restart, or a retry that failed the same way): the row counts the attempt and
 * keeps the latest error, whatever its state; a dismissed message stays dismissed.
 */
export async function holdMessage(db: Db, m: HoldInput): Promise<{ id: number; first: boolean }> {
  return db.transaction().execute(async (tx) => {
    const row = await sql<{ id: number; first: boolean }>`
      insert into channel_quarantine (channel, endpoint, external_id, place, raw_key, size, sender, error_code, error_message, received_at)
      values (${m.channel}, ${bounded(m.endpoint, 300)}, ${m.externalId.slice(0, 200)}, cast(${jsonParam(m.place)} as jsonb), ${m.rawKey}, ${m.size},
        ${bounded(m.sender, 320)}, ${m.error.code.slice(0, 80)}, ${m.error.message.slice(0, 2000)}, ${m.receivedAt})
      on conflict (channel, external_id) do update set attempts = channel_quarantine.attempts + 1, error_code = excluded.error_code,
        error_message = excluded.error_message, raw_key = coalesce(excluded.raw_key, channel_quarantine.raw_key), updated_at = now()
      returning id, (xmax = 0) as first`.execute(tx);
    const held = row.rows[0]!;
    await event(tx, held.id, held.first ? 'quarantine.held' : 'quarantine.held_again', SYSTEM_ACTOR, { code: m.error.code, message: m.error.message.slice(0, 500) });
    return { id: Number(held.id), first: Boolean(held.first) };
  });
}

async function event(tx: DbOrTx, id: number, type: string, actor: string, data: Record<string, unknown> | null): Promise<void> {
  await tx.insertInto('quarantine_events').values({ quarantine_id: id, type, actor, data: data === null ? null : jsonParam(data) }).execute();
}

const COLUMNS = ['id', 'channel', 'endpoint', 'external_id', 'place', 'raw_key', 'size', 'sender', 'error_code', 'error_message', 'status', 'attempts', 'outcome', 'received_at', 'created_at', 'updated_at'] as const;

/** The messages held (or, with `status`, those in that state), newest first, at most 200. */
export async function listQuarantine(db: Db, actor: Actor, status: QuarantineStatus = 'held') {
  assertCan(actor, 'quarantine.manage');
  return db.selectFrom('channel_quarantine').select(COLUMNS).where('status', '=', status).orderBy('created_at', 'desc').orderBy('id', 'desc').limit(200).execute();
}

export type QuarantineRow = Awaited<ReturnType<typeof listQuarantine>>[number];

const notFound = (id: number) => new AppError('quarantine_not_found', 404, `no quarantined message ${id}`, 'Không tìm thấy thư bị giữ lại.');

/** One quarantined message, with its audit log. */
export async function quarantinedMessage(db: DbOrTx, actor: Actor, id: number) {
  assertCan(actor, 'quarantine.manage');
  const row = Number.isSafeInteger(id) ? await db.selectFrom('channel_quarantine').select(COLUMNS).where('id', '=', id).executeTakeFirst() : undefined;
  if (!row) throw notFound(id);
  const events = await db.selectFrom('quarantine_events').select(['id', 'type', 'actor', 'data', 'created_at']).where('quarantine_id', '=', id).orderBy('id').execute();
  return { ...row, events };
}

/** Records that an admin downloaded the raw message (it holds a citizen's words and address). */
export async function noteRawDownload(db: Db, actor: Actor, id: number): Promise<QuarantineRow> {
  const row = await quarantinedMessage(db, actor, id);
  if (!row.raw_key) throw new AppError('quarantine_raw_missing', 409, 'the raw message was never downloaded from the provider (see its error)', 'Thư này chưa được tải về nên không có bản gốc.');
  await event(db, id, 'quarantine.downloaded', actorName(actor), null);
  return row;
}

/** Checks that a message may be retried now (held, with its raw message), before the channel runs it. */
export async function retryable(db: Db, actor: Actor, id: number): Promise<QuarantineRow> {
  const row = await quarantinedMessage(db, actor, id);
  if (row.status !== 'held') throw new AppError('quarantine_not_held', 409, `message ${id} is ${row.status}, not held`, 'Thư này không còn bị giữ lại.', { status: row.status });
  if (!row.raw_key) throw new AppError('quarantine_raw_missing', 409, 'the raw message was never downloaded from the provider: it cannot be processed again here', 'Thư này chưa được tải về nên không thể xử lý lại.');
  return row;
}

/**
 * Records what a retry made of a message: processed (a report, a duplicate, a bounce...) and no
 * longer held; or held still (the channel held it again, with the new error).
 */
export async function finishRetry(db: Db, actor: Actor, id: number, result: { outcome: string; code?: string | null }): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const row = await tx.selectFrom('channel_quarantine').select(['status', 'error_code', 'error_message']).where('id', '=', id).forUpdate().executeTakeFirst();
    if (!row) throw notFound(id);
    const outcome = { outcome: result.outcome, code: result.code ?? null };
    if (result.outcome === 'quarantine' || row.status !== 'held') {
      await event(tx, id, 'quarantine.retry_failed', actorName(actor), { ...outcome, error: { code: row.error_code, message: row.error_message.slice(0, 500) } });
      return;
    }
    await tx.updateTable('channel_quarantine').set({ status: 'retried', outcome: jsonParam(outcome), updated_at: new Date() }).where('id', '=', id).execute();
    await event(tx, id, 'quarantine.retried', actorName(actor), outcome);
  });
}

/** Dismisses a held message: an admin decided it needs nothing (spam, a test); its raw stays. */
export async function dismissQuarantined(db: Db, actor: Actor, id: number, reason: string | undefined): Promise<void> {
  assertCan(actor, 'quarantine.manage');
  await db.transaction().execute(async (tx) => {
    const row = await tx.selectFrom('channel_quarantine').select(['status']).where('id', '=', id).forUpdate().executeTakeFirst();
    if (!row) throw notFound(id);
    if (row.status !== 'held') throw new AppError('quarantine_not_held', 409, `message ${id} is ${row.status}, not held`, 'Thư này không còn bị giữ lại.', { status: row.status });
    await tx.updateTable('channel_quarantine').set({ status: 'dismissed', updated_at: new Date() }).where('id', '=', id).execute();
    await event(tx, id, 'quarantine.dismissed', actorName(actor), reason ? { reason } : null);
  });
}
