import { sql, type Kysely } from 'kysely';

// Frozen: once landed, never edit this file; add a new numbered migration instead.
// Realtime across processes: @socket.io/postgres-adapter sends broadcasts with NOTIFY, and
// keeps in this table the payloads that NOTIFY cannot carry (over 8000 bytes, or binary)
// for a few seconds. The adapter names the columns; it deletes old rows itself. Harmless on
// the embedded database, where one process uses the in-memory adapter.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('socket_io_attachments')
    .ifNotExists()
    .addColumn('id', 'bigserial', (c) => c.unique())
    .addColumn('created_at', 'timestamptz', (c) => c.defaultTo(sql`now()`))
    .addColumn('payload', 'bytea')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('socket_io_attachments').ifExists().execute();
}
