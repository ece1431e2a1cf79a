import { sql, type Kysely } from 'kysely';

// Frozen: once landed, never edit this file; add a new numbered migration instead.
// Grouping needs index-friendly candidate lookup: a geo cell per ticket (about 550 m), the time
// of the latest report, and a hotspot count for places whose problem keeps coming back.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('tickets')
    .addColumn('cell', 'bigint')
    .addColumn('last_report_at', 'timestamptz')
    .addColumn('hotspot_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('merged_into', 'integer', (c) => c.references('tickets.id'))
    .execute();
  await sql`update tickets set last_report_at = received_at`.execute(db);
  await db.schema.createIndex('tickets_category_cell').on('tickets').columns(['category_code', 'cell', 'last_report_at']).execute();
  await db.schema.createIndex('tickets_area_category_last').on('tickets').columns(['category_code', 'area_code', 'last_report_at']).execute();
  await db.schema
    .createTable('citizen_events')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('citizen_id', 'integer', (c) => c.notNull().references('citizens.id'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('reason', 'text')
    .addColumn('data', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('citizen_events_citizen').on('citizen_events').columns(['citizen_id', 'id']).execute();
  await db.schema.createIndex('reports_citizen_ticket').on('reports').columns(['citizen_id', 'ticket_id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('reports_citizen_ticket').ifExists().execute();
  await db.schema.dropTable('citizen_events').ifExists().execute();
  await db.schema.dropIndex('tickets_area_category_last').ifExists().execute();
  await db.schema.dropIndex('tickets_category_cell').ifExists().execute();
  await db.schema.alterTable('tickets').dropColumn('merged_into').dropColumn('hotspot_count').dropColumn('last_report_at').dropColumn('cell').execute();
}
