import { readFile } from 'node:fs/promises';
import type { Feature, FeatureCollection, MultiPolygon, Polygon } from 'geojson';
import { AppError } from '../errors.ts';
import { AreaIndex, bboxOf, type AreaShape } from './area-index.ts';
import { fold } from '../engine/text.ts';
import type { Db } from '../../db/schema.ts';

export interface ImportOptions {
  codeProp: string;
  /** The property naming a unit; absent: `name` where a feature has one, else its code. */
  nameProp?: string;
  source?: string;
}

const UNIT_PREFIX = /^(phường|xã|đặc khu|thị trấn|quận|huyện|ward|commune|district)\s+/i;

/** Reads a GeoJSON FeatureCollection of polygons into area rows; bad features are reported. */
export function parseAreas(collection: FeatureCollection, opts: ImportOptions): AreaShape[] {
  if (collection?.type !== 'FeatureCollection' || !Array.isArray(collection.features)) {
    throw new AppError('areas_geojson_invalid', 400, 'not a GeoJSON FeatureCollection');
  }
  const out: AreaShape[] = [];
  collection.features.forEach((f: Feature, i) => {
    const props = f.properties ?? {};
    const code = props[opts.codeProp];
    if (code === undefined || code === null || String(code).trim() === '') {
      throw new AppError('areas_code_missing', 400, `feature ${i}: property "${opts.codeProp}" is missing`);
    }
    const named = props[opts.nameProp ?? 'name'];
    const name = typeof named === 'string' && named.trim() ? named : opts.nameProp === undefined ? String(code) : null;
    if (name === null) {
      throw new AppError('areas_name_missing', 400, `feature ${i}: property "${opts.nameProp}" is missing`);
    }
    if (!f.geometry || (f.geometry.type !== 'Polygon' && f.geometry.type !== 'MultiPolygon')) {
      throw new AppError('areas_geometry_invalid', 400, `feature ${i} (${code}): geometry must be a Polygon or MultiPolygon`);
    }
    const clean = name.normalize('NFC').trim();
    out.push({ code: String(code).trim(), name: clean, short_name: clean.replace(UNIT_PREFIX, ''), geometry: f.geometry as Polygon | MultiPolygon });
  });
  return out;
}

/** Inserts or updates areas by code, in one transaction. Returns how many were written. */
export async function importAreas(db: Db, areas: AreaShape[], source: string): Promise<number> {
  await db.transaction().execute(async (tx) => {
    for (const a of areas) {
      const b = bboxOf(a.geometry);
      const kind = /^(phường|xã|đặc khu|thị trấn)/i.exec(a.name)?.[1]?.toLowerCase() ?? '';
      const row = {
        code: a.code, name: a.name, short_name: a.short_name, kind, name_folded: fold(a.name),
        geometry: JSON.stringify(a.geometry), min_lng: b.minLng, min_lat: b.minLat, max_lng: b.maxLng, max_lat: b.maxLat, source,
      };
      await tx.insertInto('areas').values(row)
        .onConflict((oc) => oc.column('code').doUpdateSet({ ...row, updated_at: new Date() }))
        .execute();
    }
  });
  return areas.length;
}

/** Imports a GeoJSON file. */
export async function importAreasFile(db: Db, file: string, opts: ImportOptions): Promise<number> {
  let parsed: FeatureCollection;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8')) as FeatureCollection;
  } catch (e) {
    throw new AppError('areas_file_unreadable', 400, `cannot read ${file}: ${(e as Error).message}`);
  }
  return importAreas(db, parseAreas(parsed, opts), opts.source ?? file);
}

/** Builds the in-memory spatial index from the areas table. */
export async function loadAreaIndex(db: Db): Promise<AreaIndex> {
  const rows = await db.selectFrom('areas').select(['code', 'name', 'short_name', 'geometry']).execute();
  return new AreaIndex(rows.map((r) => ({ ...r, geometry: r.geometry as Polygon | MultiPolygon })));
}
