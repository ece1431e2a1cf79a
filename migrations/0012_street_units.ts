import { sql, type Kysely } from 'kysely';

// Frozen: once landed, never edit this file; add a new numbered migration instead.
// Streets learned from the city's own reports: a report whose GPS point places it in a unit and
// whose words name a street says that street runs through that unit. A later report that names
// the street but no unit for sure (an SMS, a call) is placed where the street has been seen,
// when only one of the units its words may mean is among those.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('street_units')
    .addColumn('street', 'text', (c) => c.notNull())
    .addColumn('area_code', 'text', (c) => c.notNull())
    .addColumn('reports', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('street_units_pk', ['street', 'area_code'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('street_units').execute();
}
