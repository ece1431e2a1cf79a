import type { Db } from '../db/schema.ts';
import type { CitizenContact } from '../core/citizens/identity.ts';
import type { AnyChannel, ChannelContext } from '../intake/channel-kit.ts';

/** A channel that is on, ready to answer: its adapter and its context (settings included). */
export type ChannelSender = (name: string) => { adapter: AnyChannel; ctx: ChannelContext<Record<string, unknown>> } | undefined;

/**
 * Sends one queued message through the channel (and endpoint) its report came in on. A channel
 * whose citizens read answers on the tracking page (the portal, the app) marks it published; a
 * channel that sends does so; a channel that is off leaves it queued, the job retrying with
 * backoff and the error kept on the message, until the channel is configured.
 */
export async function sendOutbound(db: Db, channelOf: ChannelSender, id: number): Promise<'sent' | 'published' | 'already'> {
  const m = await db.selectFrom('outbound_messages')
    .innerJoin('reports', 'reports.id', 'outbound_messages.report_id')
    .innerJoin('tickets', 'tickets.id', 'outbound_messages.ticket_id')
    .innerJoin('inbound_messages', 'inbound_messages.id', 'reports.inbound_id')
    .select(['outbound_messages.id', 'outbound_messages.channel', 'outbound_messages.kind', 'outbound_messages.body', 'outbound_messages.status',
      'reports.endpoint', 'tickets.code as ticket_code', 'reports.code as report_code', 'inbound_messages.report as inbound'])
    .where('outbound_messages.id', '=', id).executeTakeFirst();
  if (!m) throw new Error(`outbound message ${id} not found`);
  if (m.status === 'sent' || m.status === 'published') return 'already';
  const channel = channelOf(m.channel);
  let status: 'sent' | 'published';
  if (channel?.adapter.replies === 'tracking_page') {
    status = 'published';
  } else if (channel?.adapter.send) {
    await channel.adapter.send({
      id: m.id, channel: m.channel, endpoint: m.endpoint, kind: m.kind, body: m.body, ticketCode: m.ticket_code, reportCode: m.report_code,
      contact: (m.inbound as { citizen?: CitizenContact } | null)?.citizen ?? {},
    }, channel.ctx);
    status = 'sent';
  } else {
    const why = channel ? `channel ${m.channel} cannot send` : `channel ${m.channel} is off (its settings are absent)`;
    await db.updateTable('outbound_messages').set((eb) => ({ attempts: eb('attempts', '+', 1), error: why }))
      .where('id', '=', id).execute();
    throw new Error(`${why}; the message stays queued`);
  }
  await db.updateTable('outbound_messages').set((eb) => ({ status, sent_at: new Date(), error: null, attempts: eb('attempts', '+', 1) })).where('id', '=', id).execute();
  return status;
}
