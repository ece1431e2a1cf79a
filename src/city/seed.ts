import { readFile } from 'node:fs/promises';
import type { Db } from '../db/schema.ts';
import { importAreasFile } from '../core/places/area-import.ts';
import { fold } from '../core/engine/text.ts';
import type { TopicExample } from '../core/engine/topic.ts';
import { Gazetteer, type FormerWardMerge, type OldWard, type StreetUnits, type WardMapping } from '../core/places/gazetteer.ts';
import { PlaceSuggester } from '../core/places/suggest.ts';
import { CityPlaceReader, type Landmark, type StreetInitials } from '../core/places/place-reader.ts';
import type { AreaIndex } from '../core/places/area-index.ts';
import { HCMC } from './hcmc.ts';
import type { CityProfile } from './profile.ts';

interface CategoriesFile {
  departments: { code: string; name: string; name_en: string; kind: string }[];
  categories: {
    code: string; name: string; name_en: string; department_code: string; keywords: string[];
    /** Same-incident radius in metres: a flood spans a street, a lamp is one post. */
    duplicate_radius_m: number;
    /** Hours after a ticket's latest report, and after its first, that a report may still join it. */
    duplicate_window_h: number;
    duplicate_span_h: number;
  }[];
}

/**
 * First-start data of a city: its departments and categories (only rows that do not exist yet,
 * so edits made by admins survive restarts) and, when the areas table is empty, its units.
 */
export async function seedReferenceData(db: Db, city: CityProfile = HCMC): Promise<{ areas: number; categories: number }> {
  const seed = JSON.parse(await readFile(city.categories, 'utf8')) as CategoriesFile;
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
    areas = await importAreasFile(db, city.units.file, { codeProp: city.units.codeProp, nameProp: city.units.nameProp, source: `city:${city.id}` });
  }
  return { areas, categories: seed.categories.length };
}

/** Labelled topic examples: the city's examples plus every category's keywords (editable by admins). */
export async function loadTopicExamples(db: Db, city: CityProfile = HCMC): Promise<TopicExample[]> {
  const examples: TopicExample[] = [];
  try {
    const lines = (await readFile(city.topics, 'utf8')).split('\n');
    for (const line of lines) if (line.trim()) examples.push(JSON.parse(line) as TopicExample);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const cats = await db.selectFrom('categories').select(['code', 'keywords']).where('active', '=', true).execute();
  const active = new Set(cats.map((c) => c.code));
  // A category's keywords are one example, not one each: the model counts examples per category,
  // and a dozen one-word examples made every word of a long text (an e-mail) look rarer in the
  // categories that have keywords than in the one without ("other").
  for (const c of cats) {
    const keywords = (c.keywords as string[] | null) ?? [];
    if (keywords.length) examples.push({ text: keywords.join(' . '), category: c.code });
  }
  return examples.filter((e) => active.has(e.category));
}

/**
 * The gazetteer of the units loaded: with the city's former wards and the old -> new mapping
 * (kept to those whose new unit is loaded) and the district names residents still use.
 */
export async function loadGazetteer(areas: AreaIndex, city: CityProfile = HCMC): Promise<Gazetteer> {
  const units = areas.all().map((a) => ({ code: a.code, name: a.name, short_name: a.short_name }));
  const known = new Set(units.map((u) => u.code));
  const mapping = city.formerUnits
    ? (JSON.parse(await readFile(city.formerUnits.mapping, 'utf8')) as WardMapping[]).filter((m) => known.has(m.new_code))
    : [];
  const oldWards = city.formerUnits && mapping.length
    ? (JSON.parse(await readFile(city.formerUnits.wards, 'utf8')) as OldWard[])
    : [];
  // Wards merged in 2020 and on 1 Jan 2025 ("P7 Q10"), which the former-ward list no longer has.
  const merges = city.formerUnits?.merges && oldWards.length
    ? (JSON.parse(await readFile(city.formerUnits.merges, 'utf8')) as { merges: FormerWardMerge[] }).merges
    : [];
  const gazetteer = new Gazetteer(units, oldWards, mapping, city.districtAliases, merges);
  if (city.places) {
    const streets = city.places.streets ? (JSON.parse(await readFile(city.places.streets, 'utf8')) as StreetsFile).districts.flatMap((d) => d.streets.map((name) => ({ name, district: d.district }))) : [];
    // Landmarks outside the units loaded would route to a unit that is not there.
    const landmarks = city.places.landmarks ? (JSON.parse(await readFile(city.places.landmarks, 'utf8')) as Landmark[]).filter((l) => known.has(l.unit_code)) : [];
    const initials = city.places.initials ? (JSON.parse(await readFile(city.places.initials, 'utf8')) as { initials: StreetInitials[] }).initials : [];
    gazetteer.places = new CityPlaceReader({ streets, landmarks, unitNames: gazetteer.names(), initials });
    gazetteer.suggester = new PlaceSuggester({ units, oldWards, mapping, streets, landmarks });
    // Where the streets run (a former district's units along each). A unit not loaded is left
    // out; test/unit/gazetteer.test.ts checks that every entry names units of its district.
    if (city.places.streetUnits && mapping.length) {
      gazetteer.addStreetUnits((JSON.parse(await readFile(city.places.streetUnits, 'utf8')) as StreetUnitsFile).streets);
    }
  }
  return gazetteer;
}

/** seed/hcmc/street-units.json: the units each street runs through, per former district (see STREET-UNITS-PROVENANCE.md). */
export interface StreetUnitsFile {
  streets: StreetUnits[];
}

/** seed/hcmc/streets.json: street names per former district (see STREETS-PROVENANCE.md). */
interface StreetsFile {
  districts: { district: string; streets: string[] }[];
}
