import { sql, type Kysely } from 'kysely';

// Frozen: once landed, never edit this file; add a new numbered migration instead.
// The console workflow: who has claimed a ticket, the unit it was dispatched to, and the
// replies and notifications queued for citizens on the channel their report came from.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('tickets')
    .addColumn('claimed_by', 'integer', (c) => c.references('users.id'))
    .addColumn('claimed_at', 'timestamptz')
    .addColumn('dispatched_area', 'text', (c) => c.references('areas.code'))
    .addColumn('dispatched_at', 'timestamptz')
    .addColumn('acknowledged_at', 'timestamptz')
    .execute();
  await db.schema
    .createTable('outbound_messages')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('ticket_id', 'integer', (c) => c.notNull().references('tickets.id'))
    .addColumn('report_id', 'integer', (c) => c.notNull().references('reports.id'))
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('queued'))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('error', 'text')
    .addColumn('created_by', 'integer', (c) => c.references('users.id'))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('sent_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('outbound_messages_ticket').on('outbound_messages').column('ticket_id').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('outbound_messages').ifExists().execute();
  await db.schema.alterTable('tickets')
    .dropColumn('acknowledged_at').dropColumn('dispatched_at').dropColumn('dispatched_area').dropColumn('claimed_at').dropColumn('claimed_by')
    .execute();
}
