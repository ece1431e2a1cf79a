/** Mean Earth radius in metres. */
const R = 6371008.8;

/** Great-circle distance in metres. */
export function distanceMetres(lat1: number, lng1: number, lat2: number, lng2: number): number {
  const toRad = Math.PI / 180;
  const dLat = (lat2 - lat1) * toRad;
  const dLng = (lng2 - lng1) * toRad;
  const a = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * toRad) * Math.cos(lat2 * toRad) * Math.sin(dLng / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(a)));
}

/** Metres in one degree of latitude (of a great circle of radius R). */
const METRES_PER_DEGREE = 111_195;

/** The box of latitudes and longitudes within `metres` of a point (a prefilter before `distanceMetres`). */
export function boxAround(lat: number, lng: number, metres: number): { lat_min: number; lat_max: number; lng_min: number; lng_max: number } {
  const dLat = metres / METRES_PER_DEGREE;
  const dLng = metres / (METRES_PER_DEGREE * Math.max(0.01, Math.cos((lat * Math.PI) / 180)));
  return { lat_min: lat - dLat, lat_max: lat + dLat, lng_min: lng - dLng, lng_max: lng + dLng };
}

/** Cell size in degrees (~550 m): larger than any same-incident radius, so 3x3 cells cover it. */
export const CELL_DEG = 0.005;

/** Integer id of the grid cell holding a point. */
export function cellOf(lat: number, lng: number): number {
  return Math.round(lat / CELL_DEG) * 100_000 + Math.round(lng / CELL_DEG);
}

/** The cell holding the point and its eight neighbours. */
export function cellsAround(lat: number, lng: number): number[] {
  const i = Math.round(lat / CELL_DEG);
  const j = Math.round(lng / CELL_DEG);
  const out: number[] = [];
  for (let di = -1; di <= 1; di++) for (let dj = -1; dj <= 1; dj++) out.push((i + di) * 100_000 + (j + dj));
  return out;
}
