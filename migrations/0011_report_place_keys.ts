import { sql, type Kysely } from 'kysely';

// Frozen: once landed, never edit this file; add a new numbered migration instead.
// A report keeps the place keys read from its words when it arrived (street, house, alley,
// landmark: core/places/place-reader.ts, which reads them against the city's street list). A
// ticket's keys are the union of its reports'; when an agent moves a report out, the ticket's
// keys are rebuilt from its remaining reports' stored keys, not read again with another reader.
// Null on reports from before: their keys are read from their words when needed.
// A report whose words name no unit for sure still finds the ticket of the same house, alley or
// landmark anywhere in the city: an inverted index on the tickets' keys answers that lookup.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('reports').addColumn('place_keys', 'jsonb').execute();
  // On every ticket, not the open ones only: a partial index whose predicate is the open
  // statuses became the planner's way to filter by status in the other lookups (a scan of the
  // whole index, 15 ms at a million tickets).
  await sql`create index tickets_place_keys_idx on tickets using gin (place_keys)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists tickets_place_keys_idx`.execute(db);
  await db.schema.alterTable('reports').dropColumn('place_keys').execute();
}
