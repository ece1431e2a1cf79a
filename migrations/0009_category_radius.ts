import { sql, type Kysely } from 'kysely';

// Frozen: once landed, never edit this file; add a new numbered migration instead.
// How far apart two reports on a category may be and still be one incident is data of the
// category (a flood spans a street, a lamp is one post), edited like its keywords. The values are
// those grouping used as constants until now, for the categories a city was seeded with.

const RADIUS_M: Record<string, number> = {
  ngap_nuoc: 300, rac_thai: 100, tieng_on: 100, chieu_sang: 50, lan_chiem: 80, xay_dung: 50,
  giao_thong: 100, cay_xanh: 50, cap_nuoc: 200, an_ninh: 150, khac: 50,
};

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('categories').addColumn('duplicate_radius_m', 'integer', (c) => c.notNull().defaultTo(100)).execute();
  for (const [code, m] of Object.entries(RADIUS_M)) {
    await sql`update categories set duplicate_radius_m = ${m} where code = ${code}`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('categories').dropColumn('duplicate_radius_m').execute();
}
