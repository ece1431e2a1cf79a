import Flatbush from 'flatbush';
import { booleanPointInPolygon } from '@turf/boolean-point-in-polygon';
import type { MultiPolygon, Polygon } from 'geojson';

export interface AreaShape {
  code: string;
  name: string;
  short_name: string;
  geometry: Polygon | MultiPolygon;
}

export interface Bbox {
  minLng: number;
  minLat: number;
  maxLng: number;
  maxLat: number;
}

/** Bounding box of a polygon or multipolygon. */
export function bboxOf(geometry: Polygon | MultiPolygon): Bbox {
  const b = { minLng: Infinity, minLat: Infinity, maxLng: -Infinity, maxLat: -Infinity };
  const polys = geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
  for (const poly of polys) {
    for (const ring of poly) {
      for (const [lng, lat] of ring) {
        if (lng === undefined || lat === undefined) continue;
        b.minLng = Math.min(b.minLng, lng);
        b.maxLng = Math.max(b.maxLng, lng);
        b.minLat = Math.min(b.minLat, lat);
        b.maxLat = Math.max(b.maxLat, lat);
      }
    }
  }
  return b;
}

/**
 * Point-in-polygon lookup over a city's units: a Flatbush R-tree over the bounding boxes
 * narrows the candidates, Turf decides containment. Built once from the areas table.
 */
export class AreaIndex {
  readonly #areas: AreaShape[];
  readonly #tree: Flatbush | null;
  readonly #byCode: Map<string, AreaShape>;

  constructor(areas: AreaShape[]) {
    this.#areas = areas;
    this.#byCode = new Map(areas.map((a) => [a.code, a]));
    if (areas.length === 0) {
      this.#tree = null;
      return;
    }
    const tree = new Flatbush(areas.length);
    for (const a of areas) {
      const b = bboxOf(a.geometry);
      tree.add(b.minLng, b.minLat, b.maxLng, b.maxLat);
    }
    tree.finish();
    this.#tree = tree;
  }

  get size(): number {
    return this.#areas.length;
  }

  get(code: string): AreaShape | undefined {
    return this.#byCode.get(code);
  }

  all(): readonly AreaShape[] {
    return this.#areas;
  }

  /** The unit containing the point, or null when it lies outside every unit. */
  locate(lat: number, lng: number): AreaShape | null {
    if (!this.#tree) return null;
    for (const i of this.#tree.search(lng, lat, lng, lat)) {
      const a = this.#areas[i];
      if (a && booleanPointInPolygon([lng, lat], a.geometry)) return a;
    }
    return null;
  }
}
