import type { DbOrTx } from '../../db/schema.ts';

export interface CategoryInfo {
  code: string;
  name: string;
  name_en: string;
  department_code: string | null;
  keywords: string[];
  /** Two reports on this category this close (metres) may be one incident. */
  duplicate_radius_m: number;
  /** ...and within this many hours of an open ticket's latest report... */
  duplicate_window_h: number;
  /** ...and of its first. */
  duplicate_span_h: number;
}

/** The categories in force, read from the database (admins edit them as data). */
export async function loadCategories(db: DbOrTx): Promise<CategoryInfo[]> {
  const rows = await db
    .selectFrom('categories')
    .select(['code', 'name', 'name_en', 'department_code', 'keywords', 'duplicate_radius_m', 'duplicate_window_h', 'duplicate_span_h'])
    .where('active', '=', true)
    .orderBy('sort')
    .execute();
  return rows.map((r) => ({ ...r, keywords: (r.keywords as string[]) ?? [] }));
}
