import type { CategoryInfo } from '../core/engine/catalog.ts';
import type { AreaIndex } from '../core/places/area-index.ts';
import type { Gazetteer } from '../core/places/gazetteer.ts';
import { nearbyOpenTickets, ticketToJoin } from '../core/tickets/nearby.ts';
import type { Db } from '../db/schema.ts';
import type { PublicPlaces } from './channel-kit.ts';

/** Points remembered by `locate` (a pin dragged about asks for the same few points again). */
const LOCATE_CACHE_MAX = 2000;

export interface PublicPlacesDeps {
  db: Db;
  /** The engine's place data, loaded once at start. */
  places: { areas: AreaIndex; gazetteer: Gazetteer };
  categories: () => Promise<CategoryInfo[]>;
  map: PublicPlaces['map'];
  mapAssets: PublicPlaces['mapAssets'];
}

/** The public place lookups on the engine's own data (the same index and radii the pipeline uses). */
export function publicPlaces(deps: PublicPlacesDeps): PublicPlaces {
  const located = new Map<string, { code: string; name: string } | null>();
  return {
    map: deps.map,
    mapAssets: deps.mapAssets,
    locate(lat, lng) {
      // To about 10 cm: the same pin asks for the same key.
      const key = `${lat.toFixed(6)},${lng.toFixed(6)}`;
      const hit = located.get(key);
      if (hit !== undefined) return hit;
      const a = deps.places.areas.locate(lat, lng);
      const unit = a ? { code: a.code, name: a.name } : null;
      if (located.size >= LOCATE_CACHE_MAX) located.delete(located.keys().next().value!);
      located.set(key, unit);
      return unit;
    },
    suggest: (q) => deps.places.gazetteer.suggester.suggest(q),
    async nearby({ lat, lng, category }) {
      const c = (await deps.categories()).find((x) => x.code === category);
      if (!c) return null;
      return nearbyOpenTickets(deps.db, { lat, lng, category: c.code, radiusM: c.duplicate_radius_m });
    },
    ticket: (code) => ticketToJoin(deps.db, code),
  };
}
