// A synthetic "another city" for the engine's evaluation: 311-style requests with no text and no
// identity (an opaque category, a point and a time), on units that have a code and no name, with
// the generator's own truth. Seeded: the same seed gives the same city, byte for byte.
//
// Requests come from incidents. A *condition* (a dead street light, a pothole, graffiti) is
// reported again and again while it lasts, days apart; an *event* (water on the street, tree
// debris, noise) only within hours. Near misses are generated on purpose: the same kind of
// problem 120-400 m away at the same time, another kind at the same spot, and the same spot
// again weeks after the first incident ended. `node --import tsx test/eval/other-city.ts DIR`
// writes DIR/other-city.geojson and DIR/other-city.jsonl.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRandom } from '../../bench/support/report-bodies.ts';

export interface OtherCityReport {
  id: string;
  received_at: string;
  category: string;
  lat: number;
  lng: number;
  label: { group: string; area_code: string; category: string };
}

export interface OtherCity {
  geojson: { type: 'FeatureCollection'; features: unknown[] };
  /** The unit code property of the features (there is no name property). */
  codeProp: string;
  reports: OtherCityReport[];
}

interface Kind {
  category: string;
  /** Lasts and is reported again days apart (condition), or happens once (event). */
  lasting: boolean;
  /** How far reporters' points scatter around the incident (m, standard deviation). */
  scatterM: number;
  /** Share of all incidents. */
  weight: number;
}

const KINDS: Kind[] = [
  { category: 'Street Light Out', lasting: true, scatterM: 12, weight: 0.2 },
  { category: 'Pothole in Street', lasting: true, scatterM: 15, weight: 0.18 },
  { category: 'Graffiti Removal', lasting: true, scatterM: 8, weight: 0.12 },
  { category: 'Sanitation Code Violation', lasting: true, scatterM: 20, weight: 0.12 },
  { category: 'Abandoned Vehicle', lasting: true, scatterM: 8, weight: 0.1 },
  { category: 'Tree Debris', lasting: false, scatterM: 15, weight: 0.1 },
  { category: 'Water On Street', lasting: false, scatterM: 40, weight: 0.1 },
  { category: 'Noise Complaint', lasting: false, scatterM: 30, weight: 0.08 },
];

const ORIGIN = { lat: 41.75, lng: -87.75 };
const GRID = 8;
const CELL = { lat: 0.02, lng: 0.025 };
const DAYS = 21;
const START = Date.parse('2026-03-02T00:00:00Z');
const M_PER_DEG_LAT = 111_320;
const mPerDegLng = (lat: number) => M_PER_DEG_LAT * Math.cos((lat * Math.PI) / 180);

const unitCode = (row: number, col: number) => String(100 + row * GRID + col);

function unitOf(lat: number, lng: number): string {
  const row = Math.floor((lat - ORIGIN.lat) / CELL.lat);
  const col = Math.floor((lng - ORIGIN.lng) / CELL.lng);
  return unitCode(Math.min(GRID - 1, Math.max(0, row)), Math.min(GRID - 1, Math.max(0, col)));
}

function units(): OtherCity['geojson'] {
  const features = [];
  for (let row = 0; row < GRID; row++) {
    for (let col = 0; col < GRID; col++) {
      const y = ORIGIN.lat + row * CELL.lat;
      const x = ORIGIN.lng + col * CELL.lng;
      features.push({
        type: 'Feature',
        properties: { unit_id: Number(unitCode(row, col)) },
        geometry: { type: 'Polygon', coordinates: [[[x, y], [x + CELL.lng, y], [x + CELL.lng, y + CELL.lat], [x, y + CELL.lat], [x, y]]] },
      });
    }
  }
  return { type: 'FeatureCollection', features };
}

export function generateOtherCity(seed = 311, incidents = 900): OtherCity {
  const r = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const pick = <T extends { weight: number }>(xs: T[]): T => {
    let x = r();
    for (const k of xs) if ((x -= k.weight) <= 0) return k;
    return xs[xs.length - 1]!;
  };
  /** How many requests an incident gets: mostly one, some a few, a few many. */
  const size = () => {
    const x = r();
    if (x < 0.62) return 1;
    if (x < 0.84) return 2 + Math.floor(r() * 2);
    if (x < 0.96) return 4 + Math.floor(r() * 5);
    return 9 + Math.floor(r() * 12);
  };
  const offset = (p: { lat: number; lng: number }, meters: number, bearing: number) => ({
    lat: p.lat + (meters * Math.cos(bearing)) / M_PER_DEG_LAT,
    lng: p.lng + (meters * Math.sin(bearing)) / mPerDegLng(p.lat),
  });
  const margin = 0.002;
  const anywhere = () => ({
    lat: ORIGIN.lat + margin + r() * (GRID * CELL.lat - 2 * margin),
    lng: ORIGIN.lng + margin + r() * (GRID * CELL.lng - 2 * margin),
  });

  interface Incident { kind: Kind; at: { lat: number; lng: number }; start: number; count: number }
  const list: Incident[] = [];
  const dayMs = 86_400_000;
  const startTime = (kind: Kind) => {
    const day = Math.floor(r() * (DAYS - (kind.lasting ? 8 : 1)));
    // Noise at night, the rest in the day.
    const hour = kind.category === 'Noise Complaint' ? 21 + r() * 5 : 7 + r() * 13;
    return START + day * dayMs + hour * 3_600_000;
  };
  for (let i = 0; i < incidents; i++) {
    const kind = pick(KINDS);
    const inc: Incident = { kind, at: anywhere(), start: 0, count: size() };
    inc.start = startTime(kind);
    list.push(inc);
    const x = r();
    if (x < 0.15) {
      // The same kind of problem 120-400 m away, at about the same time: another incident.
      list.push({ kind, at: offset(inc.at, 120 + r() * 280, r() * 2 * Math.PI), start: inc.start + (r() - 0.5) * 6 * 3_600_000, count: size() });
    } else if (x < 0.2) {
      // Another kind of problem at the same spot.
      const other = pick(KINDS.filter((k) => k !== kind));
      list.push({ kind: other, at: offset(inc.at, r() * 10, r() * 2 * Math.PI), start: inc.start + r() * 2 * dayMs, count: size() });
    }
  }

  const reports: Omit<OtherCityReport, 'id'>[] = [];
  const spots: { kind: Kind; at: { lat: number; lng: number }; end: number }[] = [];
  list.forEach((inc, n) => {
    const group = `oc${String(n + 1).padStart(4, '0')}`;
    let t = inc.start;
    let end = t;
    for (let k = 0; k < inc.count; k++) {
      if (k > 0) {
        // A condition is reported again up to three days after the last request; an event within hours.
        t += inc.kind.lasting ? Math.min(3 * dayMs, -Math.log(1 - r()) * 0.8 * dayMs) : r() * 3 * 3_600_000;
      }
      const p = offset(inc.at, Math.abs(gauss()) * inc.kind.scatterM, r() * 2 * Math.PI);
      reports.push({
        received_at: new Date(t).toISOString(), category: inc.kind.category, lat: round(p.lat), lng: round(p.lng),
        label: { group, area_code: unitOf(p.lat, p.lng), category: inc.kind.category },
      });
      end = t;
    }
    spots.push({ kind: inc.kind, at: inc.at, end });
  });
  // The same spot again more than two weeks after its incident's last request: a new incident.
  let recurrences = 0;
  for (const s of spots) {
    if (r() >= 0.05) continue;
    const t = s.end + (15 + r() * 5) * dayMs;
    const p = offset(s.at, Math.abs(gauss()) * s.kind.scatterM, r() * 2 * Math.PI);
    reports.push({
      received_at: new Date(t).toISOString(), category: s.kind.category, lat: round(p.lat), lng: round(p.lng),
      label: { group: `ocr${String(++recurrences).padStart(3, '0')}`, area_code: unitOf(p.lat, p.lng), category: s.kind.category },
    });
  }
  reports.sort((a, b) => a.received_at.localeCompare(b.received_at));
  return {
    geojson: units(), codeProp: 'unit_id',
    reports: reports.map((x, i) => ({ id: `oc${String(i + 1).padStart(5, '0')}`, ...x })),
  };
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

/** Haversine distance in metres. */
function distanceM(a: { lat: number; lng: number }, b: { lat: number; lng: number }): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLng = (b.lng - a.lng) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLng / 2) ** 2;
  return 2 * 6_371_000 * Math.asin(Math.sqrt(h));
}

/**
 * The naive rule the engine must beat on this city: a request joins the earliest request of the
 * same category received within the last 36 hours and 100 m (else it opens its own ticket).
 * Returns a ticket id per request, as a replay's decisions would.
 */
export function naiveTickets(reports: OtherCityReport[]): Map<string, string> {
  const ticket = new Map<string, string>();
  const seen: OtherCityReport[] = [];
  for (const x of reports) {
    const at = Date.parse(x.received_at);
    const match = seen.find((y) => y.category === x.category && at - Date.parse(y.received_at) <= 36 * 3_600_000 && distanceM(x, y) <= 100);
    ticket.set(x.id, match ? ticket.get(match.id)! : x.id);
    seen.push(x);
  }
  return ticket;
}

/**
 * How repeats were grouped. A *repeat* is a request whose incident had an earlier request: it is
 * found when it shares a ticket with one of them. A *merge* is a request put on a ticket an
 * earlier request opened; it is false when none of the ticket's earlier requests is of its incident.
 */
export function repeatScores(reports: OtherCityReport[], ticketOf: (id: string) => string | undefined): { repeats: number; found: number; recall: number; merges: number; falseMerges: number; falseMergeRate: number } {
  const groupsOnTicket = new Map<string, Set<string>>();
  const seenGroups = new Set<string>();
  let repeats = 0, found = 0, merges = 0, falseMerges = 0;
  for (const x of reports) {
    const t = ticketOf(x.id);
    const onTicket = t ? groupsOnTicket.get(t) : undefined;
    if (seenGroups.has(x.label.group)) {
      repeats++;
      if (onTicket?.has(x.label.group)) found++;
    }
    if (onTicket) {
      merges++;
      if (!onTicket.has(x.label.group)) falseMerges++;
    }
    if (t) groupsOnTicket.set(t, (onTicket ?? new Set()).add(x.label.group));
    seenGroups.add(x.label.group);
  }
  return { repeats, found, recall: repeats ? found / repeats : 1, merges, falseMerges, falseMergeRate: merges ? falseMerges / merges : 0 };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? '.';
  const city = generateOtherCity();
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'other-city.geojson'), JSON.stringify(city.geojson));
  writeFileSync(path.join(dir, 'other-city.jsonl'), city.reports.map((x) => JSON.stringify(x)).join('\n') + '\n');
  console.log(`wrote ${city.reports.length} requests on ${city.geojson.features.length} units to ${dir} (unit code property: ${city.codeProp})`);
}
