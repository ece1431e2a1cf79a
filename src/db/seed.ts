import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from './schema.ts';
import { importAreasFile } from './areas.ts';
import { fold } from '../core/text.ts';

const SEED_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../seed');

interface SeedFile {
  departments: { code: string; name: string; name_en: string; kind: string }[];
  categories: { code: string; name: string; name_en: string; department_code: string; sla_minutes: number; keywords: string[] }[];
}

/**
 * First-start data: departments and categories from seed/categories.json (only rows that do
 * not exist yet, so edits made by admins survive restarts) and, when the areas table is
 * empty, HCMC's 168 units of 1 July 2025.
 */
export async function seedReferenceData(db: Db): Promise<{ areas: number; categories: number }> {
  const seed = JSON.parse(await readFile(path.join(SEED_DIR, 'categories.json'), 'utf8')) as SeedFile;
  await db.transaction().execute(async (tx) => {
    for (const d of seed.departments) {
      await tx.insertInto('departments').values(d).onConflict((oc) => oc.column('code').doNothing()).execute();
    }
    let sort = 0;
    for (const c of seed.categories) {
      await tx.insertInto('categories')
        .values({ ...c, keywords: JSON.stringify(c.keywords.map(fold)), sort: sort++ })
        .onConflict((oc) => oc.column('code').doNothing())
        .execute();
    }
  });
  const { n } = await db.selectFrom('areas').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  let areas = 0;
  if (Number(n) === 0) {
    areas = await importAreasFile(db, path.join(SEED_DIR, 'hcmc/wards-2025.geojson'), {
      codeProp: 'code', nameProp: 'name', source: 'seed/hcmc/wards-2025.geojson',
    });
  }
  return { areas, categories: seed.categories.length };
}
