import { sql, type Kysely } from 'kysely';

// Frozen: once landed, never edit this file; add a new numbered migration instead.
// The read side of the supervisors' dashboard and the public transparency page
// (src/core/dashboard), so that no refresh reads the whole tickets table:
// - tickets_received_stats: every figure over a period (volume, handled within 2 h, time to
//   resolve, the trend per day, the rankings) is an index-only range scan on received_at, the
//   columns it groups and measures carried in the index; tickets merged into another are left out;
// - tickets_open_stats: open tickets by status, unit and category, and the newest open ones for
//   the map, from a small partial index (the statuses are OPEN_STATUSES of src/core/tickets/statuses.ts when this landed; the queries
//   name them as literals so that the planner matches the predicate);
// - tickets_hotspots: the engine's repeat places (hotspot_count > 0) by receipt, a few per hundred;
// - ticket_events_reopened: the reopened share counts `ticket.reopened` events per ticket;
// - exports: a supervisor's export (a dashboard table, or tickets with their threads, as CSV or
//   XLSX) written by a background job to a file under DATA_DIR, its progress, and when it goes.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index tickets_received_stats on tickets (received_at)
    include (id, status, area_code, dispatched_area, department_code, category_code, resolved_at, closed_at)
    where merged_into is null`.execute(db);
  await sql`create index tickets_open_stats on tickets (received_at)
    include (id, status, area_code, dispatched_area, category_code)
    where merged_into is null and status in ('new', 'triaged', 'dispatched', 'acknowledged', 'in_progress')`.execute(db);
  await sql`create index tickets_hotspots on tickets (received_at) include (hotspot_count, lat, lng) where hotspot_count > 0 and merged_into is null`.execute(db);
  await sql`create index ticket_events_reopened on ticket_events (ticket_id) where type = 'ticket.reopened'`.execute(db);
  await db.schema.createTable('exports')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('what', 'text', (c) => c.notNull())
    .addColumn('format', 'text', (c) => c.notNull())
    .addColumn('first_day', 'text', (c) => c.notNull())
    .addColumn('last_day', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('queued'))
    .addColumn('progress', 'double precision', (c) => c.notNull().defaultTo(0))
    .addColumn('rows', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('file', 'text')
    .addColumn('error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('finished_at', 'timestamptz')
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('exports_user').on('exports').columns(['user_id', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('exports').ifExists().execute();
  await sql`drop index if exists ticket_events_reopened`.execute(db);
  await sql`drop index if exists tickets_hotspots`.execute(db);
  await sql`drop index if exists tickets_open_stats`.execute(db);
  await sql`drop index if exists tickets_received_stats`.execute(db);
}
