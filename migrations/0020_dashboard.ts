import { sql, type Kysely } from 'kysely';

// Frozen: once landed, never edit this file; add a new numbered migration instead.
// The read side of the supervisors' dashboard and the public transparency page
// (src/core/dashboard), so that no refresh reads the whole tickets table:
// - tickets_received_stats: every figure over a period (volume, handled within 2 h, time to
//   resolve, the trend per day, the rankings) is an index-only range scan on received_at, the
//   columns it groups and measures carried in the index; tickets merged into another are left out;
// - tickets_open_stats: open tickets by status, unit and category from a small partial index
//   (the statuses are OPEN_STATUSES of src/core/tickets/statuses.ts when this landed; the queries
//   name them as literals so that the planner matches the predicate);
// - tickets_hotspots: the engine's repeat places (hotspot_count > 0) by receipt, a few per hundred;
// - ticket_events_reopened: the reopened share counts `ticket.reopened` events per ticket.

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`create index tickets_received_stats on tickets (received_at)
    include (id, status, area_code, dispatched_area, department_code, category_code, resolved_at, closed_at)
    where merged_into is null`.execute(db);
  await sql`create index tickets_open_stats on tickets (status)
    include (area_code, dispatched_area, category_code, lat, lng)
    where merged_into is null and status in ('new', 'triaged', 'dispatched', 'acknowledged', 'in_progress')`.execute(db);
  await sql`create index tickets_hotspots on tickets (received_at) include (hotspot_count, lat, lng) where hotspot_count > 0 and merged_into is null`.execute(db);
  await sql`create index ticket_events_reopened on ticket_events (ticket_id) where type = 'ticket.reopened'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists ticket_events_reopened`.execute(db);
  await sql`drop index if exists tickets_hotspots`.execute(db);
  await sql`drop index if exists tickets_open_stats`.execute(db);
  await sql`drop index if exists tickets_received_stats`.execute(db);
}
