import { sql, type Kysely } from 'kysely';

// Frozen: once landed, never edit this file; add a new numbered migration instead.
// What a polling channel (IMAP mailboxes) needs beside its notes:
// - channel_quarantine: a message that could not be read, kept raw with its error, for admins
//   to download, retry (the same idempotent processing again) or dismiss; it never blocks the
//   messages after it and opens no inbound row (so no failing job);
// - quarantine_events: who did what to a quarantined message, and when (the audit log);
// - channel_state: small per-endpoint values a channel keeps across runs (a mailbox's cursor),
//   read and written by key instead of appended as notes.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('channel_quarantine')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('endpoint', 'text')
    .addColumn('external_id', 'text', (c) => c.notNull())
    .addColumn('place', 'jsonb', (c) => c.notNull())
    .addColumn('raw_key', 'text')
    .addColumn('size', 'integer')
    .addColumn('sender', 'text')
    .addColumn('error_code', 'text', (c) => c.notNull())
    .addColumn('error_message', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('held'))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('outcome', 'jsonb')
    .addColumn('received_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('channel_quarantine_message', ['channel', 'external_id'])
    .execute();
  await sql`create index channel_quarantine_held on channel_quarantine (created_at desc) where status = 'held'`.execute(db);

  await db.schema.createTable('quarantine_events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('quarantine_id', 'bigint', (c) => c.notNull().references('channel_quarantine.id'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('data', 'jsonb')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create index quarantine_events_of on quarantine_events (quarantine_id, id)`.execute(db);

  await db.schema.createTable('channel_state')
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('value', 'jsonb', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('channel_state_pk', ['channel', 'key'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('channel_state').execute();
  await db.schema.dropTable('quarantine_events').execute();
  await db.schema.dropTable('channel_quarantine').execute();
}
