import { sql, type Kysely } from 'kysely';

// Frozen: once landed, never edit this file; add a new numbered migration instead.
// A ticket opened by words that named no unit for sure keeps the units they may mean (a former
// ward divided, a district, a street's districts), as a report does: a later report in one of
// them, naming the same place, finds it there. Null once the ticket has a unit, and on tickets
// from before. The index covers only tickets without a unit (a few in a hundred).

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('tickets').addColumn('area_candidates', 'jsonb').execute();
  await sql`create index tickets_unitless_candidates on tickets using gin (area_candidates) where area_code is null`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index if exists tickets_unitless_candidates`.execute(db);
  await db.schema.alterTable('tickets').dropColumn('area_candidates').execute();
}
