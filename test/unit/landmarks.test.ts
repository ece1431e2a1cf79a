import { readFileSync } from 'node:fs';
import type { FeatureCollection, MultiPolygon, Polygon } from 'geojson';
import { describe, expect, it } from 'vitest';
import { AreaIndex } from '../../src/core/places/area-index.ts';
import { CityPlaceReader, type Landmark } from '../../src/core/places/place-reader.ts';
import { fold } from '../../src/core/engine/text.ts';

// The city's landmark list (seed/hcmc/landmarks.json) routes a report that names one to the
// landmark's unit: each row's unit must be the one its point lies in, and the names residents
// write — abbreviated, without diacritics — must find it.

const load = (f: string) => JSON.parse(readFileSync(new URL(`../../seed/hcmc/${f}`, import.meta.url), 'utf8'));
const landmarks = load('landmarks.json') as Landmark[];
const geo = load('wards-2025.geojson') as FeatureCollection<Polygon | MultiPolygon, { code: string; name: string }>;
const areas = new AreaIndex(geo.features.map((f) => ({ code: f.properties.code, name: f.properties.name, short_name: f.properties.name, geometry: f.geometry })));
const units = (load('wards-2025.json') as { name: string; short_name: string }[]).map((u) => fold(u.short_name));
const streets = (load('streets.json') as { districts: { district: string; streets: string[] }[] }).districts.flatMap((d) => d.streets.map((name) => ({ name, district: d.district })));
const reader = new CityPlaceReader({ streets, landmarks, unitNames: units });

describe('the landmark list', () => {
  it('gives every landmark the unit its point lies in (a bridge or a canal on a boundary: either bank)', () => {
    // About 40 m: a bridge or canal was placed on the boundary its waterway is (LANDMARKS-PROVENANCE.md).
    const d = 0.00036;
    const onBank = (l: Landmark) => (l.kind === 'bridge' || l.kind === 'canal') && [[d, 0], [-d, 0], [0, d], [0, -d]].some(([a, b]) => areas.locate(l.lat + a!, l.lng + b!)?.code === l.unit_code);
    const wrong = landmarks.filter((l) => areas.locate(l.lat, l.lng)?.code !== l.unit_code && !onBank(l)).map((l) => `${l.name}: ${areas.locate(l.lat, l.lng)?.name ?? 'outside'}, not ${l.unit_code}`);
    expect(wrong).toEqual([]);
  });

  it('has no two landmarks of one name', () => {
    const names = landmarks.map((l) => fold(l.name));
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  it.each([
    // markets, with and without diacritics
    ['Tiểu thương chợ Vườn Chuối gom rác để trên vỉa hè', 'Chợ Vườn Chuối'],
    ['Cho Tan Huong ban hang lan ra het duong', 'Chợ Tân Hương'],
    ['cây xanh trước chợ Gò Vấp có nhánh khô sắp gãy', 'Chợ Gò Vấp'],
    ['rác ở cổng chợ đầu mối Thủ Đức', 'Chợ đầu mối nông sản Thủ Đức'],
    ['Rac o cong cho Vung Tau de tu sang toi chieu', 'Chợ Vũng Tàu'],
    // junctions, by their numeral too
    ['ổ gà lớn khu vực ngã tư Ga dưới chân cầu vượt', 'Ngã tư Ga'],
    ['nga 4 ga ket xe', 'Ngã tư Ga'],
    ['Ngã 6 Gò Vấp đèn tín hiệu hư', 'Ngã sáu Gò Vấp'],
    // residential areas and apartment blocks, by their abbreviation
    ['KDC Trung Sơn rác bỏ đầy góc đường số 9A', 'Khu dân cư Trung Sơn'],
    ['tại chung cư Nguyễn Kim (quận 10), mảng bê tông rơi', 'Chung cư Nguyễn Kim'],
    // shopping centres, hospitals, universities, industrial parks, bus stations
    ['kẹt xe trước Vincom Lê Văn Việt', 'Vincom Plaza Lê Văn Việt'],
    ['nước ngập trước BV Hùng Vương', 'Bệnh viện Hùng Vương'],
    ['đèn đường hư trước ĐH Luật', 'Trường Đại học Luật TP.HCM'],
    ['xe container đậu trước KCN Tân Bình', 'Khu công nghiệp Tân Bình'],
    ['BX Ngã Tư Ga xe khách dừng đón khách', 'Bến xe Ngã Tư Ga'],
  ])('reads %s as %s', (text, name) => {
    expect(reader.read(text).landmarks.map((l) => l.name)).toEqual([name]);
  });

  it.each([
    ['Rác tập kết sai quy định tại KDC Trung Sơn', 'street|trung son'],
    ['kẹt xe trước chợ Phạm Văn Hai', 'street|pham van hai'],
    ['ổ gà gần Vincom Lê Văn Việt', 'street|le van viet'],
  ])('reads a landmark named after its street as the street too (another report may name the street alone): %s', (text, key) => {
    const read = reader.read(text);
    expect(read.landmarks).toHaveLength(1);
    expect([...read.keys]).toContain(key);
  });
});
