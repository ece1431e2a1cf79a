import type { Kysely } from 'kysely';

// Frozen: once landed, never edit this file; add a new numbered migration instead.
// A city runs several hotline numbers, fanpages and mailboxes per channel: which one a message
// came in on is kept with it and with its report, so that an answer leaves through the same one.
// Null where a channel has one endpoint (the portal, the app).

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('inbound_messages').addColumn('endpoint', 'text').execute();
  await db.schema.alterTable('reports').addColumn('endpoint', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('reports').dropColumn('endpoint').execute();
  await db.schema.alterTable('inbound_messages').dropColumn('endpoint').execute();
}
