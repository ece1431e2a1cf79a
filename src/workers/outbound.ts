import type { Db } from '../db/schema.ts';
import type { ChannelAdapter } from '../intake/channel-adapter.ts';
import type { CitizenContact } from '../core/citizens/identity.ts';

/** A reply or notification on its way to a citizen. */
export interface OutboundMessage {
  id: number;
  channel: string;
  kind: string;
  body: string;
  ticketCode: string;
  reportCode: string;
  /** The contact the citizen gave with the report this answers. */
  contact: CitizenContact;
}

/**
 * Sends one queued message through the channel its report came from. Web and app reports are
 * answered on their tracking page (and the app's status call), which shows replies and results
 * from the public timeline; other channels need their sender configured, and until then the
 * message stays queued and the job retries with backoff, its error kept.
 */
export async function sendOutbound(db: Db, channels: ChannelAdapter[], id: number): Promise<'sent' | 'published' | 'already'> {
  const m = await db.selectFrom('outbound_messages')
    .innerJoin('reports', 'reports.id', 'outbound_messages.report_id')
    .innerJoin('tickets', 'tickets.id', 'outbound_messages.ticket_id')
    .innerJoin('inbound_messages', 'inbound_messages.id', 'reports.inbound_id')
    .select(['outbound_messages.id', 'outbound_messages.channel', 'outbound_messages.kind', 'outbound_messages.body', 'outbound_messages.status',
      'tickets.code as ticket_code', 'reports.code as report_code', 'inbound_messages.report as inbound'])
    .where('outbound_messages.id', '=', id).executeTakeFirst();
  if (!m) throw new Error(`outbound message ${id} not found`);
  if (m.status === 'sent' || m.status === 'published') return 'already';
  const adapter = channels.find((c) => c.name === m.channel);
  let status: 'sent' | 'published';
  if (adapter?.send) {
    await adapter.send({
      id: m.id, channel: m.channel, kind: m.kind, body: m.body, ticketCode: m.ticket_code, reportCode: m.report_code,
      contact: (m.inbound as { citizen?: CitizenContact } | null)?.citizen ?? {},
    });
    status = 'sent';
  } else if (m.channel === 'web' || m.channel === 'app') {
    status = 'published';
  } else {
    await db.updateTable('outbound_messages').set((eb) => ({ attempts: eb('attempts', '+', 1), error: `channel ${m.channel} has no sender configured` }))
      .where('id', '=', id).execute();
    throw new Error(`channel ${m.channel} has no sender configured; the message stays queued`);
  }
  await db.updateTable('outbound_messages').set((eb) => ({ status, sent_at: new Date(), error: null, attempts: eb('attempts', '+', 1) })).where('id', '=', id).execute();
  return status;
}
