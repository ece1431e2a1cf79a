import { sql } from 'kysely';
import { enqueueMany } from '../../db/jobs.ts';
import type { DbOrTx } from '../../db/schema.ts';
import type { DomainEvent } from '../events.ts';
import { appendEvents } from './event-log.ts';

/** Job that sends one queued reply or notification through its channel. */
export const OUTBOUND_JOB = 'outbound.send';

/**
 * What a message to a citizen is: an acknowledgement, a status notice, an agent's answer, or an
 * agent's answer sent privately (a Facebook comment answered by a private message, not in public).
 */
export type OutboundKind = 'received' | 'dispatched' | 'resolved' | 'reply' | 'private_reply';

/**
 * The notices a citizen gets on a channel that writes back (SMS, Messenger, e-mail), in the
 * city's words. Channels whose citizens read the tracking page (web, app) get none: they see the
 * status there.
 */
export interface Notices {
  /** Whether the channel sends messages (its adapter's `replies` is 'send'). */
  sends(channel: string): boolean;
  received(reportCode: string): string;
  dispatched(reportCode: string, unitName: string | null): string;
}

/** One message to queue: to the citizen of `report_id`, through `channel`. */
export interface NewOutbound {
  ticket_id: number;
  report_id: number;
  channel: string;
  kind: OutboundKind;
  body: string;
  created_by: number | null;
}

/** Inserts messages and their send jobs in the caller's transaction; returns their ids. */
export async function queueOutbound(tx: DbOrTx, messages: NewOutbound[]): Promise<number[]> {
  if (messages.length === 0) return [];
  const rows = await tx.insertInto('outbound_messages').values(messages).returning('id').execute();
  await enqueueMany(tx, rows.map((r) => ({ kind: OUTBOUND_JOB, payload: { id: r.id }, key: `outbound:${r.id}` })));
  return rows.map((r) => r.id);
}

/** Attempts of a message whose delivery failed before it is given up (the provider said undelivered). */
export const DELIVERY_RETRIES = 4;

/** Wait before sending again a message the provider could not deliver: 1, 2, 4, 8 minutes (a handset off, a full inbox). */
export const deliveryBackoffMs = (attempt: number): number => Math.min(3_600_000, 60_000 * 2 ** Math.max(0, attempt - 1));

/** Provider delivery statuses by how far along they are: a late "sent" never overwrites "delivered". */
const PROGRESS: Record<string, number> = { accepted: 0, queued: 0, scheduled: 0, sending: 1, sent: 2, delivered: 3, read: 4, undelivered: 3, failed: 3 };

/** A provider's delivery status as we keep it, or null for one we do not know. */
export function deliveryStatus(raw: string): string | null {
  const s = raw.trim().toLowerCase();
  return s in PROGRESS ? s : null;
}

export interface DeliveryReport {
  channel: string;
  providerId: string;
  /** As the provider sent it (see `deliveryStatus`). */
  status: string;
  /** The provider's error code, when it failed. */
  errorCode?: string | undefined;
  /** Codes after which another try cannot succeed (an unsubscribed or invalid number). */
  permanent?: boolean;
}

/**
 * Records what a provider says became of a message it accepted. A message it could not deliver
 * is shown on the ticket and tried again with backoff (DELIVERY_RETRIES tries), unless the
 * provider's code says another try cannot succeed. Out-of-order callbacks never move a message
 * back. Null when no message has that id (yet: a callback can overtake the write of the id it
 * reports on; the caller keeps it for `applyPendingDeliveries`).
 */
export async function recordDelivery(db: DbOrTx, d: DeliveryReport, backoff: (attempt: number) => number = deliveryBackoffMs): Promise<Delivered | null> {
  const status = deliveryStatus(d.status);
  if (!status) return { events: [], ticketCode: null };
  const m = await db.selectFrom('outbound_messages').innerJoin('reports', 'reports.id', 'outbound_messages.report_id')
    .innerJoin('tickets', 'tickets.id', 'outbound_messages.ticket_id')
    .select(['outbound_messages.id', 'outbound_messages.ticket_id', 'outbound_messages.kind', 'outbound_messages.attempts', 'outbound_messages.delivery_status',
      'reports.code as report_code', 'tickets.code as ticket_code'])
    .where('outbound_messages.channel', '=', d.channel).where('outbound_messages.provider_id', '=', d.providerId)
    .forUpdate('outbound_messages').executeTakeFirst();
  if (!m) return null;
  const unchanged = { events: [], ticketCode: null };
  if (m.delivery_status && (PROGRESS[m.delivery_status] ?? 0) > PROGRESS[status]!) return unchanged;
  if (m.delivery_status === status) return unchanged;
  const failed = status === 'failed' || status === 'undelivered';
  if (!failed) {
    await db.updateTable('outbound_messages').set({ delivery_status: status, ...(status === 'delivered' || status === 'read' ? { delivered_at: new Date() } : {}) })
      .where('id', '=', m.id).execute();
    return { events: [], ticketCode: m.ticket_code };
  }
  const error = `${d.channel}: ${status}${d.errorCode ? ` (code ${d.errorCode})` : ''}`;
  const retry = !d.permanent && m.attempts < DELIVERY_RETRIES;
  await db.updateTable('outbound_messages').set({
    delivery_status: status, error, status: retry ? 'retrying' : 'undeliverable',
  }).where('id', '=', m.id).execute();
  if (retry) {
    await enqueueMany(db, [{ kind: OUTBOUND_JOB, payload: { id: m.id }, key: `outbound:${m.id}:${m.attempts}`, runAt: new Date(Date.now() + backoff(m.attempts)) }]);
  }
  const events = await appendEvents(db, [{
    ticketId: m.ticket_id, type: 'outbound.failed', actor: 'system',
    data: { channel: d.channel, kind: m.kind, report: m.report_code, error, retrying: retry, attempts: m.attempts },
  }]);
  return { events, ticketCode: m.ticket_code };
}

/** What a delivery report changed: events to publish, and the ticket whose messages changed (null: none). */
export interface Delivered {
  events: DomainEvent[];
  ticketCode: string | null;
}

/** The live signal that a ticket's messages to citizens changed (sent, delivered): the open console reloads them. */
export const MESSAGES_SIGNAL = 'outbound.updated';

/** Kind of the channel events that hold a delivery report which came before its message's id was written. */
export const PENDING_DELIVERY = 'delivery_pending';

/** How long a delivery report that matched no message is kept: a send's outcome is written in seconds. */
const PENDING_KEPT_MS = 86_400_000;

/**
 * Keeps a delivery report that matched no message: the provider answered our send and called
 * back before the send's outcome was written. `applyPendingDeliveries` plays it once it is. Those
 * older than a day never matched (a message sent from the provider's own inbox): dropped here.
 */
export async function keepPendingDelivery(db: DbOrTx, d: DeliveryReport): Promise<void> {
  await db.deleteFrom('channel_events').where('kind', '=', PENDING_DELIVERY).where('received_at', '<', new Date(Date.now() - PENDING_KEPT_MS)).execute();
  await db.insertInto('channel_events').values({ channel: d.channel, external_id: d.providerId.slice(0, 200), kind: PENDING_DELIVERY, data: JSON.stringify(d) }).execute();
}

/**
 * Serialises, until the transaction ends, what happens to one provider id: a callback that finds no
 * message and keeps itself, and the send that writes the id and plays what was kept. Without it a
 * callback could look before the id is written and keep itself after the kept ones were played,
 * and be lost. Callers: the delivery callback's transaction and `applyPendingDeliveries`.
 */
export async function lockDelivery(db: DbOrTx, channel: string, providerId: string): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext(${`delivery:${channel}:${providerId.slice(0, 200)}`}))`.execute(db);
}

/** Plays the delivery reports that came before the message's provider id was written, in order (in a transaction). */
export async function applyPendingDeliveries(db: DbOrTx, channel: string, providerId: string): Promise<DomainEvent[]> {
  await lockDelivery(db, channel, providerId);
  const pending = await db.selectFrom('channel_events').select(['id', 'data']).where('channel', '=', channel)
    .where('external_id', '=', providerId).where('kind', '=', PENDING_DELIVERY).orderBy('id').execute();
  const events: DomainEvent[] = [];
  for (const p of pending) events.push(...(await recordDelivery(db, p.data as unknown as DeliveryReport))?.events ?? []);
  if (pending.length) await db.deleteFrom('channel_events').where('id', 'in', pending.map((p) => p.id)).execute();
  return events;
}
