import type { Db, DbOrTx } from '../db/schema.ts';
import type { CitizenContact } from '../core/citizens/identity.ts';
import { isAppError } from '../core/errors.ts';
import type { DomainEvent } from '../core/events.ts';
import { appendEvents } from '../core/tickets/event-log.ts';
import { applyPendingDeliveries } from '../core/tickets/outbound.ts';
import { UNDELIVERABLE_CODES, type AnyChannel, type ChannelContext } from '../intake/channel-kit.ts';

/** A channel that is on, ready to answer: its adapter and its context (settings included). */
export type ChannelSender = (name: string) => { adapter: AnyChannel; ctx: ChannelContext<Record<string, unknown>> } | undefined;

/** The identity kinds that fill a contact, as a reply through another channel needs them. */
const CONTACT_OF: Record<string, keyof CitizenContact> = { phone: 'phone', email: 'email', facebook: 'facebook_id', zalo: 'zalo_id' };

export interface SendOutcome {
  status: 'sent' | 'published' | 'already' | 'undeliverable';
  /** Events to publish (a message that cannot be delivered shows on the ticket). */
  events: DomainEvent[];
  /** The ticket whose messages changed (its open console reloads them). */
  ticketCode?: string;
}

/**
 * Sends one queued message through its channel (and the endpoint its report came in on). A
 * channel whose citizens read answers on the tracking page (the portal, the app) marks it
 * published; a channel that sends does so and keeps the provider's id for the delivery
 * callbacks; a channel that is off leaves it queued, the job retrying with backoff and the error
 * kept on the message, until the channel is configured. A send the channel refuses for good
 * (the citizen opted out, cannot be reached there) is marked undeliverable and shown on the
 * ticket, with the other contacts the citizen is known by; any other failure is retried.
 */
export async function sendOutbound(db: Db, channelOf: ChannelSender, id: number): Promise<SendOutcome> {
  const m = await db.selectFrom('outbound_messages')
    .innerJoin('reports', 'reports.id', 'outbound_messages.report_id')
    .innerJoin('tickets', 'tickets.id', 'outbound_messages.ticket_id')
    .innerJoin('inbound_messages', 'inbound_messages.id', 'reports.inbound_id')
    .select(['outbound_messages.id', 'outbound_messages.ticket_id', 'outbound_messages.channel', 'outbound_messages.kind', 'outbound_messages.body',
      'outbound_messages.status', 'outbound_messages.attempts', 'reports.channel as report_channel', 'reports.endpoint', 'reports.citizen_id',
      'reports.received_at', 'reports.thread_key', 'tickets.code as ticket_code', 'reports.code as report_code', 'inbound_messages.report as inbound',
      'inbound_messages.external_id', 'inbound_messages.payload'])
    .where('outbound_messages.id', '=', id).executeTakeFirst();
  if (!m) throw new Error(`outbound message ${id} not found`);
  if (m.status === 'sent' || m.status === 'published' || m.status === 'undeliverable') return { status: 'already', events: [] };
  const channel = channelOf(m.channel);
  if (channel?.adapter.replies === 'tracking_page') {
    await finish(db, id, { status: 'published', sent_at: new Date() });
    return { status: 'published', events: [], ticketCode: m.ticket_code };
  }
  if (!channel?.adapter.send) {
    const why = channel ? `channel ${m.channel} cannot send` : `channel ${m.channel} is off (its settings are absent)`;
    await db.updateTable('outbound_messages').set((eb) => ({ attempts: eb('attempts', '+', 1), error: why })).where('id', '=', id).execute();
    throw new Error(`${why}; the message stays queued`);
  }
  const citizen = await citizenOf(db, m.citizen_id);
  // Through its own channel, the contact the report gave first; through another, what the citizen is known by there.
  const given = (m.inbound as { citizen?: CitizenContact } | null)?.citizen ?? {};
  const contact: CitizenContact = m.channel === m.report_channel ? { ...citizen.contact, ...given } : { ...given, ...citizen.contact };
  const lastInboundAt = await lastInbound(db, m.channel, m.citizen_id, m.report_channel === m.channel && m.thread_key !== null ? m.received_at : null);
  try {
    const sent = await channel.adapter.send({
      id: m.id, channel: m.channel, endpoint: m.channel === m.report_channel ? m.endpoint : null, kind: m.kind, body: m.body,
      ticketCode: m.ticket_code, reportCode: m.report_code, contact, lastInboundAt, attempt: m.attempts + 1,
      source: { externalId: m.external_id, payload: m.payload },
    }, channel.ctx);
    await finish(db, id, {
      status: 'sent', sent_at: new Date(), error: null,
      provider_id: sent?.providerId ?? null, to_address: sent?.to ?? null, segments: sent?.segments ?? null, delivery_status: sent?.providerId ? 'queued' : null,
    });
    const events = sent?.providerId ? await db.transaction().execute((tx) => applyPendingDeliveries(tx, m.channel, sent.providerId!)) : [];
    return { status: 'sent', events, ticketCode: m.ticket_code };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (isAppError(err) && UNDELIVERABLE_CODES.has(err.code)) {
      const events = await db.transaction().execute(async (tx) => {
        await finish(tx, id, { status: 'undeliverable', error: `${err.code}: ${reason}`.slice(0, 2000) });
        return appendEvents(tx, [{
          ticketId: m.ticket_id, type: 'outbound.failed', actor: 'system',
          data: { channel: m.channel, kind: m.kind, report: m.report_code, error: err.code, message: err.messageVi ?? reason, retrying: false, other_contacts: citizen.kinds.filter((k) => k !== m.channel) },
        }]);
      });
      return { status: 'undeliverable', events, ticketCode: m.ticket_code };
    }
    await db.updateTable('outbound_messages').set((eb) => ({ attempts: eb('attempts', '+', 1), error: reason.slice(0, 2000) })).where('id', '=', id).execute();
    throw err;
  }
}

async function finish(db: DbOrTx, id: number, set: Record<string, unknown>): Promise<void> {
  await db.updateTable('outbound_messages').set((eb) => ({ ...set, attempts: eb('attempts', '+', 1) })).where('id', '=', id).execute();
}

/** The contacts a citizen is known by (the newest of each kind), following merges. */
async function citizenOf(db: Db, citizenId: number | null): Promise<{ contact: CitizenContact; kinds: string[] }> {
  if (citizenId === null) return { contact: {}, kinds: [] };
  let id = citizenId;
  for (let hop = 0; hop < 5; hop++) {
    const c = await db.selectFrom('citizens').select('merged_into').where('id', '=', id).executeTakeFirst();
    if (!c?.merged_into) break;
    id = c.merged_into;
  }
  const rows = await db.selectFrom('citizen_identities').select(['kind', 'value']).where('citizen_id', '=', id).orderBy('id', 'desc').execute();
  const contact: CitizenContact = {};
  for (const r of rows) {
    const field = CONTACT_OF[r.kind];
    if (field && contact[field] === undefined) contact[field] = r.value;
  }
  return { contact, kinds: [...new Set(rows.map((r) => r.kind))] };
}

/** When the citizen last wrote on this channel (Messenger's reply window counts from it). */
async function lastInbound(db: Db, channel: string, citizenId: number | null, fallback: Date | null): Promise<Date | null> {
  if (citizenId === null) return fallback;
  const r = await db.selectFrom('reports').innerJoin('inbound_messages as m', 'm.report_id', 'reports.id')
    .select((eb) => eb.fn.max('m.received_at').as('at'))
    .where('reports.citizen_id', '=', citizenId).where('reports.channel', '=', channel)
    // A conversation's messages (they carry a thread): a page comment opens no Messenger window.
    .where('reports.thread_key', 'is not', null).executeTakeFirst();
  return r?.at ? new Date(r.at) : fallback;
}
