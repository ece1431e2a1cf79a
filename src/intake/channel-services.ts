import { sql } from 'kysely';
import type { Db } from '../db/schema.ts';
import { citizenSummary } from '../core/citizens/card.ts';
import { isOptedOut, setOptOut } from '../core/citizens/opt-outs.ts';
import type { EventBus } from '../core/events.ts';
import { recordDelivery } from '../core/tickets/outbound.ts';
import { jsonParam } from '../db/records.ts';
import type { ChannelContext } from './channel-kit.ts';

/** The database-backed services of a channel's context (delivery callbacks, opt-outs, notes, screen pops). */
export type ChannelServices = Pick<ChannelContext, 'delivery' | 'optOuts' | 'note' | 'signal' | 'citizenCard'>;

/** Builds the channel services on a database and the process's event bus. */
export function channelServices(db: Db, events: EventBus): ChannelServices {
  return {
    async delivery(report) {
      const written = await db.transaction().execute((tx) => recordDelivery(tx, report));
      events.publish(written);
    },
    optOuts: {
      isOut: (channel, address) => isOptedOut(db, channel, address),
      set: (channel, address, out, keyword) => setOptOut(db, channel, address, out, keyword),
    },
    async note(channel, externalId, kind, data) {
      await sql`insert into channel_events (channel, external_id, kind, data) values (${channel}, ${externalId.slice(0, 200)}, ${kind.slice(0, 60)}, cast(${jsonParam(data)} as jsonb))`.execute(db);
    },
    signal: (type, data) => events.signal(type, data),
    citizenCard: (contact) => citizenSummary(db, contact),
  };
}
