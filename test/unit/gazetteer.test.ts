import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Gazetteer, normaliseAddress, type StreetUnits } from '../../src/core/places/gazetteer.ts';
import { CityPlaceReader, streetKey } from '../../src/core/places/place-reader.ts';
import { HCMC } from '../../src/city/hcmc.ts';

const load = (f: string) => JSON.parse(readFileSync(new URL(`../../seed/hcmc/${f}`, import.meta.url), 'utf8'));
const units = load('wards-2025.json') as { code: string; name: string }[];
const gazetteer = new Gazetteer(units, load('wards-pre2025.json'), load('ward-mapping-2025.json'), HCMC.districtAliases, load('ward-merges-pre2025.json').merges);
const nameOf = (code: string | null) => units.find((u) => u.code === code)?.name ?? null;

describe('normaliseAddress', () => {
  it.each([
    ['P.12, Q.3', 'phuong 12 quan 3'],
    ['P12 Q3', 'phuong 12 quan 3'],
    ['F12 Q3', 'phuong 12 quan 3'],
    ['Phường 12, Quận 3', 'phuong 12 quan 3'],
    ['TP.HCM', 'thanh pho ho chi minh'],
    ['KP 3, hxh 45', 'khu pho 3 hem xe hoi 45'],
  ])('%s -> %s', (input, want) => expect(normaliseAddress(input)).toBe(want));
});

describe('Gazetteer.match', () => {
  it.each([
    // old ward + old district, in every way residents write it
    ['Phường 12, Quận 3', 'Phường Nhiêu Lộc', 'old_address'],
    ['P12 Q3', 'Phường Nhiêu Lộc', 'old_address'],
    ['p.12 q.3', 'Phường Nhiêu Lộc', 'old_address'],
    ['phuong ben nghe quan 1', 'Phường Sài Gòn', 'old_address'],
    ['Phường Bến Nghé, Quận 1', 'Phường Sài Gòn', 'old_address'],
    ['xã Bình Hưng, huyện Bình Chánh', 'Xã Bình Hưng', 'old_address'],
    ['Phường 12, Bình Thạnh', 'Phường Bình Thạnh', 'old_address'],
    ['Thảo Điền, Quận 2', 'Phường An Khánh', 'old_address'],
    // the new units' own names, with or without diacritics
    ['12 Lê Lợi, phường Bến Thành', 'Phường Bến Thành', 'new_name'],
    ['phuong ben thanh', 'Phường Bến Thành', 'new_name'],
    ['xa Binh Hung', 'Xã Bình Hưng', 'new_name'],
    ['Đường Võ Văn Tần, Phường Xuân Hòa', 'Phường Xuân Hoà', 'new_name'],
    ['huyện Côn Đảo', 'Đặc khu Côn Đảo', 'old_district'],
    // a landmark carrying a unit's name
    ['trước chợ Bến Thành', 'Phường Bến Thành', 'bare_name'],
    // a former ward's name without its prefix, longer than the unit's name it holds
    ['QL22 đoạn Tân Phú Trung tối thui', 'Xã Củ Chi', 'bare_name'],
    ['hem 10 duong so 2 Hiep Binh Chanh ngap', 'Phường Hiệp Bình', 'bare_name'],
    // a ward and the former district it was in, both without their prefix
    ['đường Phan Văn Hớn đoạn Bà Điểm Hóc Môn', 'Xã Bà Điểm', 'bare_name'],
  ])('%s -> %s', (address, want, source) => {
    const m = gazetteer.match(address);
    expect(nameOf(m.code)).toBe(want);
    expect(m.source).toBe(source);
    expect(m.ambiguous).toBe(false);
  });

  it('returns the candidates of an old ward split between new units, marked ambiguous', () => {
    const m = gazetteer.match('Phường Hiệp Thành, Thủ Dầu Một');
    expect(m.code).toBeNull();
    expect(m.ambiguous).toBe(true);
    expect(m.candidates.map(nameOf).sort()).toEqual(['Phường Phú Lợi', 'Phường Thủ Dầu Một']);
  });

  it('names the likely unit of a divided former ward: the one that kept its code, else its name', () => {
    const byCode = gazetteer.match('phường Tân Tạo A, quận Bình Tân');
    expect(byCode.code).toBeNull();
    expect(nameOf(byCode.likely ?? null)).toBe('Phường Tân Tạo');
    expect(nameOf(gazetteer.match('phường Tân Đông Hiệp, TP Dĩ An').likely ?? null)).toBe('Phường Tân Đông Hiệp');
    // Neither kept: no guess.
    expect(gazetteer.match('Phường 4, Quận 3').likely).toBeUndefined();
    // A ward not divided is decided, with nothing to guess.
    expect(gazetteer.match('P12 Q3').likely).toBeUndefined();
  });

  it('does not decide a numbered ward without its district', () => {
    const m = gazetteer.match('Phường 12');
    expect(m.code).toBeNull();
  });

  it('gives all units of an old district named alone as candidates', () => {
    const m = gazetteer.match('quận Gò Vấp');
    expect(m.code).toBeNull();
    expect(m.ambiguous).toBe(true);
    expect(m.candidates.length).toBeGreaterThan(1);
  });

  it('falls back on the district when the ward named was never one of its wards', () => {
    const m = gazetteer.match('Chung cư trên đường X, P20 Q10');
    expect(m.source).toBe('old_district');
    expect(m.reason).toContain('ward 20 not one of its wards');
    expect(m.candidates.map(nameOf).sort()).toEqual(gazetteer.match('quận 10').candidates.map(nameOf).sort());
  });

  it.each([
    // Nghị quyết 1278/NQ-UBTVQH15, in force 1 Jan 2025: the ward merged into another of its district
    ['Chung cư Nguyễn Kim P7 Q10 lại rớt mảng bê tông', 'Phường Diên Hồng', '6'],
    ['phường 11, quận 10', 'Phường Vườn Lài', '10'],
    ['Phường 10, Quận 3', 'Phường Nhiêu Lộc', '9'],
    ['p13 q3', 'Phường Nhiêu Lộc', '12'],
    ['P.6, Q.4', 'Phường Khánh Hội', '9'],
    ['phuong 8 quan 5', 'Phường An Đông', '7'],
    ['phường 3 quận 6', 'Phường Bình Tiên', '1'],
    ['P5 Q6', 'Phường Bình Tây', '2 and 9'],
    ['phường 2, quận 8', 'Phường Chánh Hưng', 'rach ong'],
    ['P9 Q8', 'Phường Chánh Hưng', 'hung phu'],
    ['phường 12 quận 8', 'Phường Phú Định', 'xom cui'],
    ['phường 6, quận 11', 'Phường Minh Phụng', '7'],
    ['phường 24, Bình Thạnh', 'Phường Bình Thạnh', '14'],
    ['phường 21 quận Bình Thạnh', 'Phường Thạnh Mỹ Tây', '19'],
    ['phường 7, Gò Vấp', 'Phường Hạnh Thông', '1'],
    ['P3 Phú Nhuận', 'Phường Đức Nhuận', '4'],
    // Nghị quyết 1111/NQ-UBTVQH14 (2020)
    ['phường 3, quận 10', 'Phường Vườn Lài', '2'],
    ['phường 15 quận 5', 'Phường Chợ Lớn', '12'],
  ])('reads a ward merged before the 2025 register by the ward it became: %s', (text, want, into) => {
    const m = gazetteer.match(text);
    expect(nameOf(m.code)).toBe(want);
    expect(m.source).toBe('old_address');
    expect(m.reason).toContain(`merged into ${into} before 2025`);
  });

  it.each([
    // merged into a ward the 2025 reform divided, or divided between two wards of the list
    ['phường 6, quận Bình Thạnh', ['Phường Bình Lợi Trung', 'Phường Gia Định']],
    ['phường 13 Gò Vấp', ['Phường An Hội Tây', 'Phường An Hội Đông']],
    ['P14 Q4', ['Phường Khánh Hội', 'Phường Xóm Chiếu']],
  ])('keeps the candidates of a merged ward that leads to several units: %s', (text, want) => {
    const m = gazetteer.match(text);
    expect(m.code).toBeNull();
    expect(m.candidates.map(nameOf).sort()).toEqual(want);
  });

  it.each([
    ['Quán cà phê ở Trần Quốc Thảo P7 Q3 bày ghế kín vỉa hè'],
    ['phường 6 quận 3'],
    ['P8, Q.3'],
  ])('reads a ward merged in 2020 by the ward it became (%s: Võ Thị Sáu, now Xuân Hòa)', (text) => {
    const m = gazetteer.match(text);
    expect(nameOf(m.code)).toBe('Phường Xuân Hoà');
    expect(m.reason).toContain('merged into vo thi sau');
  });

  it.each([
    ['KDV trước bến xe ngập như sông, ai đi hướng Q6 thì tránh ra nha', 'none'],
    ['kẹt xe, ai đi phía quận Bình Thạnh thì né', 'none'],
    ['ngập ở quận 6', 'old_district'],
  ])('does not read a district after "hướng"/"phía" (where traffic goes) as the place: %s', (text, source) => {
    expect(gazetteer.match(text).source).toBe(source);
  });

  it.each([
    // a unit's own name beside its former district: the likely one of the district's units
    ['Đèn đường trước nhà thờ Chợ Quán (đường Trần Bình Trọng, quận 5) không sáng', ['tran binh trong'], 'Phường Chợ Quán', 'also name'],
    // a street named like one of the candidates: the ward is often named after its road
    ['Duong Phu Dinh phuong 16 quan 8 co nguoi do xa ban', ['phu dinh'], 'Phường Phú Định', 'bears the name'],
    ['điểm tập kết rác trên đường Minh Phụng (quận 11)', ['minh phung'], 'Phường Minh Phụng', 'bears the name'],
  ])('guesses, for an agent to confirm, the candidate the words also name: %s', (text, streets, likely, why) => {
    const m = gazetteer.match(text, streets);
    expect(m.code).toBeNull();
    expect(nameOf(m.likely ?? null)).toBe(likely);
    expect(m.likelyWhy).toContain(why);
  });

  it('guesses no candidate from a district named by its own name, from a longer former ward, or from no street', () => {
    expect(gazetteer.match('chợ Gò Vấp, quận Gò Vấp').likely).toBeUndefined();
    expect(gazetteer.match('phuong 16 quan 8 co nguoi do xa ban').likely).toBeUndefined();
    // "Bình Hưng Hòa A" holds the unit name Bình Hưng Hòa: the former ward decides, by its successor
    expect(gazetteer.match('hẻm 186 Lê Văn Quới, phường Bình Hưng Hòa A, quận Bình Tân', ['le van quoi']).likelyWhy).toContain('most of the former ward');
  });

  it.each([
    ['Phuong BHH A xu ly giup', 'old ward binh hung hoa a'],
    ['p.BHH B quan Binh Tan', 'old ward binh hung hoa b, district binh tan'],
    ['phuong HBC Thu Duc ngap', 'old ward hiep binh chanh, district thu duc'],
  ])('reads a ward by its initials after "phường": %s', (text, reason) => {
    expect(gazetteer.match(text).reason).toBe(reason);
  });

  it("does not read a street's words or a direction as a bare unit name", () => {
    expect(gazetteer.match('đèn tín hiệu ngã tư Lê Văn Việt - Đình Phong Phú hư', ['le van viet', 'dinh phong phu']).source).toBe('none');
    expect(nameOf(gazetteer.match('đèn tín hiệu ngã tư Đình Phong Phú hư').code)).toBe('Xã Bình Hưng');
    expect(gazetteer.match('ngập quá, ai đi về hướng Thủ Thiêm thì né ra').source).toBe('none');
  });

  it('finds nothing in text without a place', () => {
    expect(gazetteer.match('đèn đường bị hư mấy hôm nay').source).toBe('none');
  });

  it('works for another city with only its own units', () => {
    const other = new Gazetteer([{ code: 'A1', name: 'Ward Riverside', short_name: 'Riverside' }, { code: 'A2', name: 'Ward Old Town', short_name: 'Old Town' }]);
    expect(other.match('near the market, old town').code).toBe('A2');
  });
});

describe('units whose names fold alike', () => {
  const g = new Gazetteer(units, load('wards-pre2025.json'), load('ward-mapping-2025.json'), HCMC.districtAliases, load('ward-merges-pre2025.json').merges);
  const code = (name: string) => units.find((u) => u.name === name)!.code;

  it('takes the one a text written with diacritics spells, and leaves a text without any between them', () => {
    expect(g.match('các hộ dân tại đường Thạnh An, xã Thạnh An không có nước').code).toBe(code('Xã Thạnh An'));
    expect(g.match('Ấp 3, xã Thanh An, mất điện cả tuần').code).toBe(code('Xã Thanh An'));
    const plain = g.match('xa thanh an khong co nuoc');
    expect(plain.code).toBeNull();
    expect(plain.candidates.sort()).toEqual([code('Xã Thanh An'), code('Xã Thạnh An')].sort());
  });
});

describe('the street table (street-units.json)', () => {
  const streets = (load('streets.json') as { districts: { district: string; streets: string[] }[] }).districts.flatMap((d) => d.streets.map((name) => ({ name, district: d.district })));
  const table = (load('street-units.json') as { streets: StreetUnits[] }).streets;
  const g = new Gazetteer(units, load('wards-pre2025.json'), load('ward-mapping-2025.json'), HCMC.districtAliases, load('ward-merges-pre2025.json').merges);
  g.places = new CityPlaceReader({ streets, landmarks: [], unitNames: g.names() });
  const unknown = g.addStreetUnits(table);
  const codes = (names: string[]) => names.map((n) => units.find((u) => u.name === n)!.code).sort();

  it('names, for each street, a former district its street list gives and units of that district', () => {
    expect(unknown).toEqual([]);
    expect(table.filter((e) => !g.places.districtsOf!(streetKey(e.street)).includes(e.district)).map((e) => `${e.street}, ${e.district}`)).toEqual([]);
    expect(g.addStreetUnits([{ street: 'Hậu Giang', district: 'Quận 6', units: ['Phường Bến Thành'] }])).toEqual(['Hậu Giang: Phường Bến Thành is no unit of Quận 6']);
  });

  it.each([
    // a street and its former district: the units it runs through there
    [['nguyen van qua'], 'quan 12', ['Phường Đông Hưng Thuận']],
    [['tran dinh xu'], 'quan 1', ['Phường Cầu Ông Lãnh']],
    [['pham the hien'], 'quan 8', ['Phường Chánh Hưng', 'Phường Bình Đông']],
    // two streets at a corner: the units both run through (and Bình Hưng Hòa, which also holds
    // part of Bình Tân, a district the street list gives Hòa Bình and the table does not cover)
    [['luy ban bich', 'hoa binh'], 'quan tan phu', ['Phường Phú Thạnh', 'Phường Tân Phú', 'Phường Bình Hưng Hoà']],
  ])('narrows %s in %s to its units', (named, district, want) => {
    expect(g.unitsAlong(named, g.unitsOfDistrict(district))).toEqual(codes(want).filter((c) => g.unitsOfDistrict(district).includes(c)).sort((a, b) => g.unitsOfDistrict(district).indexOf(a) - g.unitsOfDistrict(district).indexOf(b)));
  });

  it('keeps the units of a district the table does not cover for a street, and says nothing of a street it lacks', () => {
    // Lê Văn Khương: the table covers Quận 12, not Hóc Môn, which the street list also gives
    const candidates = g.unitsOfStreets(['le van khuong']);
    const kept = g.unitsAlong(['le van khuong'], candidates);
    expect(kept).toEqual(expect.arrayContaining(codes(['Phường Thới An', 'Phường Tân Thới Hiệp'])));
    expect(kept).not.toContain(codes(['Phường Đông Hưng Thuận'])[0]);
    expect(kept).toEqual(expect.arrayContaining(g.unitsOfDistrict('Huyện Hóc Môn')));
    expect(g.unitsAlong(['duong khong co'], g.unitsOfDistrict('quan 6'))).toEqual([]);
  });

  it('guesses, for an agent to confirm, the one unit the table gives a main street it lists in one district only', () => {
    // Hải Thượng Lãn Ông: Quận 5 (Chợ Lớn) in the table; a namesake in Vũng Tàu, which it does not cover
    const along = g.unitsAlong(['hai thuong lan ong'], g.unitsOfStreets(['hai thuong lan ong']));
    expect(along.length).toBeGreaterThan(1);
    const guess = g.mainStreetUnit(['hai thuong lan ong'], along);
    expect(guess?.likely).toBe(codes(['Phường Chợ Lớn'])[0]);
    expect(guess?.likelyWhy).toContain('likely Phường Chợ Lớn, one of its candidates');
    // Several units in its one district (Lê Văn Khương, Quận 12), or a street the table lacks: no guess.
    expect(g.mainStreetUnit(['le van khuong'], g.unitsAlong(['le van khuong'], g.unitsOfStreets(['le van khuong'])))).toBeNull();
    expect(g.mainStreetUnit(['duong khong co'], along)).toBeNull();
  });
});
