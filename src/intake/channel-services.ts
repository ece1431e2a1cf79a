import { sql } from 'kysely';
import type { Db } from '../db/schema.ts';
import { citizenSummary } from '../core/citizens/card.ts';
import { checkApiKey } from '../core/staff/api-keys.ts';
import { listPublicReports, publicIdOfCode, publicReportsById, publicServices } from '../core/tickets/public-records.ts';
import { isOptedOut, setOptOut } from '../core/citizens/opt-outs.ts';
import { holdMessage } from '../core/inbound/quarantine.ts';
import { answerResolution, checkFeedback } from '../core/tickets/feedback.ts';
import type { EventBus } from '../core/events.ts';
import { keepPendingDelivery, lockDelivery, MESSAGES_SIGNAL, recordDelivery } from '../core/tickets/outbound.ts';
import { jsonParam } from '../db/records.ts';
import type { ChannelContext } from './channel-kit.ts';

/** The database-backed services of a channel's context (delivery callbacks, opt-outs, notes, quarantine, state, screen pops, API keys, the public record). */
export type ChannelServices = Pick<ChannelContext, 'delivery' | 'optOuts' | 'note' | 'notes' | 'quarantine' | 'state' | 'signal' | 'citizenCard' | 'apiClient' | 'publicRecords' | 'feedback'>;

/** Keeps what is known of a message after it arrived (channel_events), its key and kind bounded. */
export async function noteChannelEvent(db: Db, channel: string, externalId: string, kind: string, data: Record<string, unknown>): Promise<void> {
  await sql`insert into channel_events (channel, external_id, kind, data) values (${channel}, ${externalId.slice(0, 200)}, ${kind.slice(0, 60)}, cast(${jsonParam(data)} as jsonb))`.execute(db);
}

/** Builds the channel services on a database and the process's event bus. */
export function channelServices(db: Db, events: EventBus): ChannelServices {
  return {
    async delivery(report) {
      const done = await db.transaction().execute(async (tx) => {
        await lockDelivery(tx, report.channel, report.providerId);
        const r = await recordDelivery(tx, report);
        if (r === null) await keepPendingDelivery(tx, report);
        return r;
      });
      if (!done) return;
      events.publish(done.events);
      if (done.ticketCode) events.signal(MESSAGES_SIGNAL, { ticket: done.ticketCode });
    },
    optOuts: {
      isOut: (channel, address) => isOptedOut(db, channel, address),
      set: (channel, address, out, keyword) => setOptOut(db, channel, address, out, keyword),
    },
    note: (channel, externalId, kind, data) => noteChannelEvent(db, channel, externalId, kind, data),
    quarantine: (m) => holdMessage(db, m),
    state: {
      async get(channel, key) {
        const row = await db.selectFrom('channel_state').select('value').where('channel', '=', channel).where('key', '=', key.slice(0, 200)).executeTakeFirst();
        return row ? row.value : null;
      },
      async set(channel, key, value) {
        await sql`insert into channel_state (channel, key, value) values (${channel}, ${key.slice(0, 200)}, cast(${jsonParam(value)} as jsonb))
          on conflict (channel, key) do update set value = excluded.value, updated_at = now()`.execute(db);
      },
    },
    async notes(channel, externalId) {
      const rows = await db.selectFrom('channel_events').select(['kind', 'data', 'received_at'])
        .where('channel', '=', channel).where('external_id', '=', externalId.slice(0, 200)).orderBy('id', 'desc').limit(100).execute();
      return rows.reverse().map((r) => ({ kind: r.kind, data: r.data, at: r.received_at }));
    },
    signal: (type, data) => events.signal(type, data),
    citizenCard: (contact) => citizenSummary(db, contact),
    apiClient: (key) => checkApiKey(db, key),
    publicRecords: {
      services: () => publicServices(db),
      list: (query, ownChannel) => listPublicReports(db, query, ownChannel),
      byId: (ids, ownChannel) => publicReportsById(db, ids, ownChannel),
      idOfCode: (code) => publicIdOfCode(db, code),
    },
    feedback: {
      check: (code, answer) => checkFeedback(db, code, answer),
      async answer(code, answer, opts) {
        const done = await answerResolution(db, code, answer, opts);
        events.publish(done.events);
        return { already: done.already };
      },
    },
  };
}
