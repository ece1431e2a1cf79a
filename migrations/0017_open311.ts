import { sql, type Kysely } from 'kysely';

// Frozen: once landed, never edit this file; add a new numbered migration instead.
// Open311 GeoReport v2 (channels/open311):
// - api_keys: the keys admins issue to Open311 clients (`phananh apikey add`). Only the SHA-256
//   of a key is kept; a revoked key stays listed (who had it, until when) but no longer works.
// - reports_received: GET requests lists reports by date, newest first, over a window of at
//   most 90 days; without it that is a scan of every report.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('api_keys')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_used_at', 'timestamptz')
    .addColumn('revoked_at', 'timestamptz')
    .execute();
  // One active key per name: an operator revokes by name and knows which client it was.
  await sql`create unique index api_keys_active_name on api_keys (name) where revoked_at is null`.execute(db);
  await sql`create index reports_received on reports (received_at desc, id desc)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists reports_received`.execute(db);
  await db.schema.dropTable('api_keys').execute();
}
