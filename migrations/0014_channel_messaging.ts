import { sql, type Kysely } from 'kysely';

// Frozen: once landed, never edit this file; add a new numbered migration instead.
// What the sending channels (SMS, phone, Messenger) need beside the reports:
// - outbound_messages: the provider's id for a sent message (its delivery callbacks find it by
//   that), the delivery status the provider reports, where it went, how many SMS segments it took,
//   and when the next try is due after a failed delivery;
// - channel_opt_outs: who asked a channel to stop writing to them (STOP / HUY), honoured before
//   every send, kept per channel and address;
// - channel_events: what a provider tells about a message after it arrived (a call answered, its
//   duration, a recording), kept beside the report it concerns;
// - reports.thread_key: a conversation (an SMS number, a Messenger sender) whose next message within
//   minutes continues the same report rather than opening another.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('outbound_messages')
    .addColumn('provider_id', 'text')
    .addColumn('delivery_status', 'text')
    .addColumn('delivered_at', 'timestamptz')
    .addColumn('to_address', 'text')
    .addColumn('segments', 'integer')
    .execute();
  await sql`create unique index outbound_messages_provider on outbound_messages (channel, provider_id) where provider_id is not null`.execute(db);

  await db.schema.createTable('channel_opt_outs')
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('opted_out', 'boolean', (c) => c.notNull())
    .addColumn('keyword', 'text')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('channel_opt_outs_pk', ['channel', 'address'])
    .execute();

  await db.schema.createTable('channel_events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('data', 'jsonb', (c) => c.notNull())
    .addColumn('received_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create index channel_events_message on channel_events (channel, external_id, id)`.execute(db);
  // Delivery reports that matched no message yet are kept a day (core/tickets/outbound.ts).
  await sql`create index channel_events_pending on channel_events (received_at) where kind = 'delivery_pending'`.execute(db);

  await db.schema.alterTable('reports').addColumn('thread_key', 'text').execute();
  await sql`create index reports_thread on reports (channel, thread_key, received_at desc) where thread_key is not null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists reports_thread`.execute(db);
  await db.schema.alterTable('reports').dropColumn('thread_key').execute();
  await db.schema.dropTable('channel_events').execute();
  await db.schema.dropTable('channel_opt_outs').execute();
  await sql`drop index if exists outbound_messages_provider`.execute(db);
  await db.schema.alterTable('outbound_messages')
    .dropColumn('provider_id').dropColumn('delivery_status').dropColumn('delivered_at').dropColumn('to_address').dropColumn('segments')
    .execute();
}
