import { describe, expect, it } from 'vitest';
import { generateOtherCity, naiveTickets, repeatScores, type OtherCityReport } from '../eval/other-city.ts';

const req = (id: string, group: string, at: string, lat = 41.8, lng = -87.7, category = 'Pothole in Street'): OtherCityReport =>
  ({ id, received_at: at, category, lat, lng, label: { group, area_code: '100', category } });

describe('the synthetic other city (test/eval/other-city.ts)', () => {
  it('is the same city for the same seed, and another for another seed', () => {
    const a = generateOtherCity(7, 120);
    expect(JSON.stringify(generateOtherCity(7, 120))).toBe(JSON.stringify(a));
    expect(JSON.stringify(generateOtherCity(8, 120).reports)).not.toBe(JSON.stringify(a.reports));
  });

  it('has units with a code and no name, requests without text or identity, in time order, each labelled with the unit it lies in', () => {
    const city = generateOtherCity(311, 200);
    expect(city.geojson.features).toHaveLength(64);
    const first = city.geojson.features[0] as { properties: Record<string, unknown>; geometry: { coordinates: number[][][] } };
    expect(Object.keys(first.properties)).toEqual(['unit_id']);
    const boxes = new Map(city.geojson.features.map((f) => {
      const g = f as typeof first;
      const ring = g.geometry.coordinates[0]!;
      return [String(g.properties.unit_id), { minLng: ring[0]![0]!, minLat: ring[0]![1]!, maxLng: ring[2]![0]!, maxLat: ring[2]![1]! }];
    }));
    for (const x of city.reports) {
      expect(Object.keys(x).sort()).toEqual(['category', 'id', 'label', 'lat', 'lng', 'received_at']);
      const b = boxes.get(x.label.area_code)!;
      expect(x.lng >= b.minLng && x.lng <= b.maxLng && x.lat >= b.minLat && x.lat <= b.maxLat).toBe(true);
    }
    const times = city.reports.map((x) => x.received_at);
    expect([...times].sort()).toEqual(times);
  });

  it('repeats conditions days apart and events within hours', () => {
    const city = generateOtherCity(311, 400);
    const spans = new Map<string, { category: string; first: number; last: number }>();
    for (const x of city.reports) {
      const t = Date.parse(x.received_at);
      const s = spans.get(x.label.group);
      if (s) s.last = t;
      else spans.set(x.label.group, { category: x.category, first: t, last: t });
    }
    const days = (s: { first: number; last: number }) => (s.last - s.first) / 86_400_000;
    const lights = [...spans.values()].filter((s) => s.category === 'Street Light Out');
    const water = [...spans.values()].filter((s) => s.category === 'Water On Street');
    expect(lights.some((s) => days(s) > 2)).toBe(true);
    expect(Math.max(...water.map(days))).toBeLessThan(1);
  });

  it('scores repeats found and false merges, and the naive rule joins within 100 m and 36 h only', () => {
    const reports = [
      req('1', 'a', '2026-03-02T08:00:00Z'),
      req('2', 'a', '2026-03-03T08:00:00Z', 41.8003), // 33 m, 24 h later
      req('3', 'a', '2026-03-06T08:00:00Z'), // three days later: the naive rule misses it
      req('4', 'b', '2026-03-02T09:00:00Z', 41.8005), // 56 m away, another incident: a false merge for the naive rule
      req('5', 'c', '2026-03-02T10:00:00Z', 41.81), // 1.1 km away
    ];
    const naive = naiveTickets(reports);
    expect([...naive.values()]).toEqual(['1', '1', '3', '1', '5']);
    expect(repeatScores(reports, (id) => naive.get(id))).toEqual({ repeats: 2, found: 1, recall: 0.5, merges: 2, falseMerges: 1, falseMergeRate: 0.5 });
    const perfect = new Map([['1', 'T1'], ['2', 'T1'], ['3', 'T1'], ['4', 'T2'], ['5', 'T3']]);
    expect(repeatScores(reports, (id) => perfect.get(id))).toMatchObject({ recall: 1, falseMergeRate: 0 });
  });
});
