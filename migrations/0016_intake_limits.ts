import { sql, type Kysely } from 'kysely';

// Frozen: once landed, never edit this file; add a new numbered migration instead.
// intake_limits: how many public reports a client address (anonymous reports) or a contact
// (reports that give one) sent in a fixed window, shared by every process on the database.
// One row per (key, window); a check is one atomic upsert, and rows of past windows are deleted.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('intake_limits')
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('window_start', 'timestamptz', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addPrimaryKeyConstraint('intake_limits_pk', ['key', 'window_start'])
    .execute();
  await sql`create index intake_limits_window on intake_limits (window_start)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('intake_limits').execute();
}
