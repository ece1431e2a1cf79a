import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from './schema.ts';
import { importAreasFile } from './areas.ts';
import { fold } from '../core/engine/text.ts';
import type { TopicExample } from '../core/engine/topic.ts';
import { Gazetteer, type OldWard, type WardMapping } from '../core/places/gazetteer.ts';
import type { AreaIndex } from '../core/places/area-index.ts';

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

/** Labelled topic examples: seed/topics-vi.jsonl plus every category's keywords (editable by admins). */
export async function loadTopicExamples(db: Db): Promise<TopicExample[]> {
  const examples: TopicExample[] = [];
  try {
    const lines = (await readFile(path.join(SEED_DIR, 'topics-vi.jsonl'), 'utf8')).split('\n');
    for (const line of lines) if (line.trim()) examples.push(JSON.parse(line) as TopicExample);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const cats = await db.selectFrom('categories').select(['code', 'keywords']).where('active', '=', true).execute();
  const active = new Set(cats.map((c) => c.code));
  for (const c of cats) for (const k of (c.keywords as string[]) ?? []) examples.push({ text: k, category: c.code });
  return examples.filter((e) => active.has(e.category));
}

/** The former wards and the old -> new mapping of HCMC, kept to those whose new unit is loaded. */
export async function loadGazetteer(areas: AreaIndex): Promise<Gazetteer> {
  const units = areas.all().map((a) => ({ code: a.code, name: a.name, short_name: a.short_name }));
  const known = new Set(units.map((u) => u.code));
  const mapping = (JSON.parse(await readFile(path.join(SEED_DIR, 'hcmc/ward-mapping-2025.json'), 'utf8')) as WardMapping[])
    .filter((m) => known.has(m.new_code));
  const oldWards = mapping.length
    ? (JSON.parse(await readFile(path.join(SEED_DIR, 'hcmc/wards-pre2025.json'), 'utf8')) as OldWard[])
    : [];
  return new Gazetteer(units, oldWards, mapping);
}
