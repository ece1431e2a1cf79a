import type { Kysely } from 'kysely';

// Frozen: once landed, never edit this file; add a new numbered migration instead.
// A ticket keeps the place keys its reports named (house number + street, street), so that
// grouping reads a short list instead of deriving them again from every word of every report
// (which crafted text made quadratic). Null on tickets from before: grouping derives theirs
// from their first reports when it meets them, and stores them at the next report they take.

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('tickets').addColumn('place_keys', 'jsonb').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('tickets').dropColumn('place_keys').execute();
}
