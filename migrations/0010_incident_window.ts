import { sql, type Kysely } from 'kysely';

// Frozen: once landed, never edit this file; add a new numbered migration instead.
// How long a ticket stays the same incident is data of its category, like its radius: a flood is
// one occurrence (reports within hours of one another, on one day), a dead street light or a
// pile of rubbish lasts until someone deals with it and is reported again days apart.
// `duplicate_window_h`: another report joins an open ticket within this many hours of the
// ticket's latest report; `duplicate_span_h`: and within this many hours of its first.
// The defaults (a week, a month) are those of a condition: a category of another city's list
// that nobody has described.

const WINDOWS: Record<string, [number, number]> = {
  ngap_nuoc: [12, 24], tieng_on: [12, 24], an_ninh: [24, 48], khac: [24, 72],
  cay_xanh: [72, 168], cap_nuoc: [72, 168],
  rac_thai: [168, 720], lan_chiem: [168, 720], xay_dung: [168, 720], chieu_sang: [168, 720], giao_thong: [168, 720],
};

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('categories')
    .addColumn('duplicate_window_h', 'integer', (c) => c.notNull().defaultTo(168))
    .addColumn('duplicate_span_h', 'integer', (c) => c.notNull().defaultTo(720))
    .execute();
  for (const [code, [windowH, spanH]] of Object.entries(WINDOWS)) {
    await sql`update categories set duplicate_window_h = ${windowH}, duplicate_span_h = ${spanH} where code = ${code}`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('categories').dropColumn('duplicate_window_h').dropColumn('duplicate_span_h').execute();
}
