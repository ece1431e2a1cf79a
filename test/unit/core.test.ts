import { readFileSync } from 'node:fs';
import type { Polygon } from 'geojson';
import { describe, expect, it } from 'vitest';
import { AreaIndex, bboxOf, type AreaShape } from '../../src/core/places/area-index.ts';
import { canonicalCode, newCode } from '../../src/core/tickets/codes.ts';
import { cellOf, cellsAround, distanceMetres } from '../../src/core/places/geo.ts';
import { identitiesOf, normaliseEmail, normaliseNationalId, normalisePhone, phoneQuery } from '../../src/core/citizens/identity.ts';
import { clip, fold, nfc, saysPersists, tokens } from '../../src/core/engine/text.ts';
import { decideChosen, decideGroup, type CandidateTicket, type GroupInput, type TopicsOf } from '../../src/core/engine/grouping.ts';
import { topicsOfWords } from '../../src/core/engine/classify.ts';
import { TopicModel, type TopicExample } from '../../src/core/engine/topic.ts';

describe('normalisePhone', () => {
  const table: [string, string | null][] = [
    ['0903 123 456', '+84903123456'],
    ['0903.123.456', '+84903123456'],
    ['+84903123456', '+84903123456'],
    ['+84 903 123 456', '+84903123456'],
    ['84903123456', '+84903123456'],
    ['0084903123456', '+84903123456'],
    ['(028) 3829 1234', '+842838291234'], // HCMC landline
    ['+84 28 3829 1234', '+842838291234'],
    ['01223456789', '+84773456789'], // 0122 renumbered to 077 in 2018
    ['0168 123 4567', '+84381234567'], // 0168 -> 038
    ['0199 123 4567', '+84591234567'], // 0199 -> 059
    ['12', null],
    ['0903', null],
    ['09031234567890', null],
    ['không có', null],
    ['', null],
  ];
  it.each(table)('%j -> %j', (input, expected) => {
    expect(normalisePhone(input)).toBe(expected);
  });

  it('gives every way of writing one number the same identity', () => {
    const forms = ['0903 123 456', '+84903123456', '84903123456', '0903-123-456'];
    expect(new Set(forms.map(normalisePhone))).toEqual(new Set(['+84903123456']));
  });
});

describe('phoneQuery', () => {
  const table: [string, string | null][] = [
    ['0903 123 456', '+84903123456'],
    [' +84903123456 ', '+84903123456'],
    ['84903123456', '+84903123456'],
    ['0903.123.456', '+84903123456'],
    ['(+84) 903-123-456', '+84903123456'],
    ['01223456789', '+84773456789'], // an old 11-digit prefix
    ['(028) 3829 1234', '+842838291234'],
    // What a search box gets otherwise: codes, words, numbers too short, a number inside words.
    ['TK-8K2M4Q7P', null],
    ['0903', null],
    ['2024', null],
    ['12.345.678', null],
    ['gọi 0903 123 456', null],
    ['0903 123 456 +84', null],
    ['9'.repeat(200), null],
  ];
  it.each(table)('%j -> %j', (input, expected) => {
    expect(phoneQuery(input)).toBe(expected);
  });
});

describe('normaliseEmail', () => {
  const table: [string, string | null][] = [
    ['  Nguyen.Van.A@Example.COM ', 'nguyen.van.a@example.com'],
    ['a@b.vn', 'a@b.vn'],
    ['PhanAnh1022@TPHCM.GOV.VN', 'phananh1022@tphcm.gov.vn'],
    ['no-at-sign.vn', null],
    ['a@b', null],
    ['a b@c.vn', null],
    ['@c.vn', null],
    ['   ', null],
  ];
  it.each(table)('%j -> %j', (input, expected) => {
    expect(normaliseEmail(input)).toBe(expected);
  });
});

describe('normaliseNationalId (CCCD)', () => {
  const table: [string, string | null][] = [
    ['079123456789', '079123456789'], // 079: Hồ Chí Minh
    ['001123456789', '001123456789'], // 001: Hà Nội
    ['096123456789', '096123456789'], // 096: Cà Mau, the last province code
    ['079 123 456 789', '079123456789'],
    ['000123456789', null], // no province 000
    ['097123456789', null], // beyond the province codes
    ['07912345678', null], // 11 digits
    ['0791234567890', null], // 13 digits
    ['079-123-456-789', null],
    ['07912345678a', null],
    ['123456789', null], // old 9-digit CMND is not a CCCD
  ];
  it.each(table)('%j -> %j', (input, expected) => {
    expect(normaliseNationalId(input)).toBe(expected);
  });
});

describe('identitiesOf', () => {
  it('normalises what is valid and names what was rejected', () => {
    const r = identitiesOf({ name: 'Lê Thị B', phone: '0903 123 456', email: ' B@Mail.VN', national_id: '12', facebook_id: 'abc', zalo_id: ' zalo.b ' });
    expect(r.identities).toEqual([
      { kind: 'phone', value: '+84903123456' },
      { kind: 'email', value: 'b@mail.vn' },
      { kind: 'zalo', value: 'zalo.b' },
    ]);
    expect(r.rejected).toEqual(['facebook', 'national_id']);
  });

  it('ignores blank fields instead of rejecting them', () => {
    expect(identitiesOf({ phone: '  ', email: '' })).toEqual({ identities: [], rejected: [] });
  });
});

describe('text', () => {
  const table: [string, string][] = [
    ['Đường Bến Thành', 'duong ben thanh'],
    ['NGẬP NƯỚC  sâu!!!', 'ngap nuoc sau'],
    ['Phường 12, Quận 3', 'phuong 12 quan 3'],
    ['đèn đường hư', 'den duong hu'],
    ['Ủy ban nhân dân xã Cần Giờ', 'uy ban nhan dan xa can gio'],
    ['  ', ''],
  ];
  it.each(table)('fold(%j) = %j', (input, expected) => {
    expect(fold(input)).toBe(expected);
  });

  it('folds decomposed (NFD) input exactly like composed (NFC) input', () => {
    const composed = 'Nước ngập sâu ở đường Nguyễn Thị Minh Khai';
    const decomposed = composed.normalize('NFD');
    expect(decomposed).not.toBe(composed); // the test means something only if the forms differ
    expect(fold(decomposed)).toBe(fold(composed));
    expect(fold(decomposed)).toBe('nuoc ngap sau o duong nguyen thi minh khai');
  });

  it('nfc composes and collapses whitespace but keeps accents and case', () => {
    const input = '  Đèn\u00a0đường\n\thư  '.normalize('NFD');
    expect(nfc(input)).toBe('Đèn đường hư');
    expect(nfc(input)).toBe(nfc(input).normalize('NFC'));
  });

  it('tokens splits the folded form and gives nothing for empty text', () => {
    expect(tokens('Rác thải, đổ bừa bãi')).toEqual(['rac', 'thai', 'do', 'bua', 'bai']);
    expect(tokens(' ... ')).toEqual([]);
  });
});

describe('tracking codes', () => {
  it('newCode: prefix, dash and 8 Crockford base-32 characters, random', () => {
    const codes = Array.from({ length: 200 }, () => newCode('PA'));
    for (const c of codes) expect(c).toMatch(/^PA-[0-9A-HJKMNP-TV-Z]{8}$/);
    expect(new Set(codes).size).toBe(codes.length);
    expect(newCode('TK')).toMatch(/^TK-[0-9A-HJKMNP-TV-Z]{8}$/);
  });

  it('every new code is already canonical', () => {
    for (let i = 0; i < 200; i++) {
      const c = newCode(i % 2 ? 'PA' : 'TK');
      expect(canonicalCode(c)).toBe(c);
    }
  });

  const table: [string, string | null][] = [
    ['PA-7K3M9Q2X', 'PA-7K3M9Q2X'],
    ['pa-7k3m9q2x', 'PA-7K3M9Q2X'],
    ['pa7k3m9q2x', 'PA-7K3M9Q2X'],
    ['  PA 7K3M 9Q2X ', 'PA-7K3M9Q2X'],
    ['PA-7K3M9QOX', 'PA-7K3M9Q0X'], // O typed for 0
    ['pa-7k3m9qox', 'PA-7K3M9Q0X'],
    ['TK-I2L4ABCD', 'TK-1214ABCD'], // I and L typed for 1
    ['tk0000000o', 'TK-00000000'],
    ['PA-7K3M9Q2', null], // 7 characters
    ['PA-7K3M9Q2XY', null], // 9 characters
    ['PA-7K3M9Q2U', null], // U is not in the alphabet
    ['XX-7K3M9Q2X', null],
    ['PA_7K3M9Q2X', null],
    ['hello', null],
    ['', null],
    ["PA-7K3M9Q2X'; drop table reports;--", null],
  ];
  it.each(table)('canonicalCode(%j) = %j', (input, expected) => {
    expect(canonicalCode(input)).toBe(expected);
  });
});

describe('AreaIndex', () => {
  // Two hand-made squares side by side (lng 106.0-106.1 and 106.1-106.2, lat 10.0-10.1),
  // and a multipolygon unit made of two islands further east.
  const square = (minLng: number, minLat: number, size: number): Polygon => ({
    type: 'Polygon',
    coordinates: [[[minLng, minLat], [minLng + size, minLat], [minLng + size, minLat + size], [minLng, minLat + size], [minLng, minLat]]],
  });
  const areas: AreaShape[] = [
    { code: 'A1', name: 'Phường Thử Nghiệm', short_name: 'Thử Nghiệm', geometry: square(106.0, 10.0, 0.1) },
    { code: 'A2', name: 'Phường Bến Thử', short_name: 'Bến Thử', geometry: square(106.1, 10.0, 0.1) },
    {
      code: 'A3', name: 'Đặc khu Hai Đảo', short_name: 'Hai Đảo',
      geometry: { type: 'MultiPolygon', coordinates: [square(107.0, 10.0, 0.05).coordinates, square(107.2, 10.0, 0.05).coordinates] },
    },
    { code: 'A4', name: 'Xã Thử Nghiệm Mới', short_name: 'Thử Nghiệm Mới', geometry: square(108.0, 10.0, 0.1) },
  ];
  const index = new AreaIndex(areas);

  it('bboxOf covers a polygon and every part of a multipolygon', () => {
    expect(bboxOf(square(106.0, 10.0, 0.1))).toEqual({ minLng: 106.0, minLat: 10.0, maxLng: 106.1, maxLat: 10.1 });
    const b = bboxOf(areas[2]!.geometry);
    expect(b.minLng).toBe(107.0);
    expect(b.maxLng).toBeCloseTo(107.25, 10);
  });

  const points: [string, number, number, string | null][] = [
    ['the middle of A1', 10.05, 106.05, 'A1'],
    ['the middle of A2', 10.05, 106.15, 'A2'],
    ['just inside A1 near its west edge', 10.05, 106.0001, 'A1'],
    ['north of both squares', 10.15, 106.05, null],
    ['west of A1', 10.05, 105.99, null],
    ['the first island of A3', 10.02, 107.02, 'A3'],
    ['the second island of A3', 10.02, 107.22, 'A3'],
    ['the sea between the islands (inside A3 bounding box)', 10.02, 107.1, null],
    ['lat and lng swapped', 106.05, 10.05, null],
  ];
  it.each(points)('locate: %s', (_what, lat, lng, code) => {
    expect(index.locate(lat, lng)?.code ?? null).toBe(code);
  });

  it('an empty index locates nothing', () => {
    const empty = new AreaIndex([]);
    expect(empty.size).toBe(0);
    expect(empty.locate(10.05, 106.05)).toBeNull();
  });

  it('get and all expose the units by code', () => {
    expect(index.size).toBe(4);
    expect(index.get('A2')?.name).toBe('Phường Bến Thử');
    expect(index.get('nope')).toBeUndefined();
    expect(index.all().map((a) => a.code)).toEqual(['A1', 'A2', 'A3', 'A4']);
  });
});

describe('geo', () => {
  it('one degree of latitude is about 111 km', () => {
    expect(distanceMetres(10, 106, 11, 106)).toBeGreaterThan(110_500);
    expect(distanceMetres(10, 106, 11, 106)).toBeLessThan(111_500);
    expect(distanceMetres(0, 0, 1, 0)).toBeCloseTo(111_195, -1);
  });

  it('one degree of longitude shrinks with the cosine of latitude', () => {
    const atEquator = distanceMetres(0, 106, 0, 107);
    const atHcmc = distanceMetres(10.77, 106, 10.77, 107);
    expect(atHcmc / atEquator).toBeCloseTo(Math.cos((10.77 * Math.PI) / 180), 3);
  });

  it('is zero for one point and symmetric', () => {
    expect(distanceMetres(10.7725, 106.698, 10.7725, 106.698)).toBe(0);
    const ab = distanceMetres(10.7725, 106.698, 10.7798, 106.699);
    expect(distanceMetres(10.7798, 106.699, 10.7725, 106.698)).toBeCloseTo(ab, 6);
    expect(ab).toBeGreaterThan(800);
    expect(ab).toBeLessThan(830);
  });

  it('the nine cells around a point hold every point within the largest same-incident radius', () => {
    const [lat, lng, r] = [10.7725, 106.698, 300];
    const cells = new Set(cellsAround(lat, lng));
    for (let deg = 0; deg < 360; deg += 15) {
      const t = (deg * Math.PI) / 180;
      // a point just inside the radius in direction t
      const pLat = lat + ((r * 0.999) / 111_195) * Math.cos(t);
      const pLng = lng + ((r * 0.999) / (111_195 * Math.cos((lat * Math.PI) / 180))) * Math.sin(t);
      expect(distanceMetres(lat, lng, pLat, pLng)).toBeLessThanOrEqual(r);
      expect(cells.has(cellOf(pLat, pLng))).toBe(true);
    }
  });
});

describe('clip', () => {
  it('cuts a text to a length without splitting an emoji', () => {
    expect(clip('ngập 🙏', 6)).toBe('ngập ');
    expect(clip('ngập 🙏', 7)).toBe('ngập 🙏');
    expect(clip('ngập', 140)).toBe('ngập');
    expect(clip('abcdef', 3)).toBe('abc');
  });
});

describe('saysPersists', () => {
  it.each([
    ['Đèn đường vẫn chưa sửa, tối thui', true],
    ['Nhà 45/3 vẫn thi công tầng 5', true],
    ['den duong van chua sua', true],
    ['rac van con do day', true],
    ['chua ai xu ly het', true],
    ['Đã gọi 1022 mà nhạc vẫn đập thình thịch', true],
    ['Đèn đường hư, tối thui', false],
    ['Nguyễn Văn Cừ ngập nặng', false],
    ['nguyen van cu ngap nang', false],
    ['vấn đề rác thải', false],
    // What a resident writes back about a ticket marked resolved.
    ['Cống vẫn còn nghẹt', true],
    ['Phường báo đã xử lý nhưng chưa khắc phục gì cả', true],
    ['den chua sua xong', true],
    ['Đèn hư lại rồi', true],
    ['Không hề được khắc phục', true],
    ['Đề nghị khắc phục sớm ổ gà', false],
    ['Đèn đã sửa xong, cảm ơn', false],
  ])('%s -> %s', (text, want) => expect(saysPersists(text)).toBe(want));
});

describe('decideChosen: a report joins the ticket its reporter chose only while it is open and agrees', () => {
  const at = new Date('2026-12-01T08:00:00Z');
  const ticket = (over: Partial<CandidateTicket> = {}): CandidateTicket => ({
    id: 7, code: 'TK-7K3M9Q2X', category_code: 'ngap_nuoc', area_code: '26743', lat: 10.7725, lng: 106.698, cell: cellOf(10.7725, 106.698),
    status: 'dispatched', received_at: at, last_report_at: at, closed_at: null, resolved_at: null, words: '', wordReports: 0, keys: new Set(), candidates: [],
    ...over,
  });
  const report = (over: Partial<GroupInput> = {}): GroupInput => ({
    citizenId: null, category: 'ngap_nuoc', radiusM: 300, areaCode: '26743', lat: 10.7735, lng: 106.698, text: 'Ngập sâu', receivedAt: at,
    chosenTicket: 'TK-7K3M9Q2X', ...over,
  });
  const table: [string, Partial<GroupInput>, Partial<CandidateTicket> | null, string | null][] = [
    ['open, same topic, 111 m away', {}, {}, '111 m away'],
    ['no category given: the ticket decides', { category: null }, {}, '111 m away'],
    ['the ticket\'s topic is one the report may be about', { category: 'rac_thai', alternatives: ['ngap_nuoc'] }, {}, '111 m away'],
    ['no point: the same unit', { lat: undefined, lng: undefined }, {}, 'in 26743'],
    ['no point: one of the units its words may mean', { lat: undefined, lng: undefined, areaCode: null, areaCandidates: ['26740', '26743'] }, {}, 'in 26743'],
    ['resolved meanwhile', {}, { status: 'resolved' }, 'it is resolved'],
    ['closed', {}, { status: 'closed' }, 'it is closed'],
    ['another topic', { category: 'rac_thai' }, {}, 'it is about ngap_nuoc, the report about rac_thai'],
    ['over three radii away', { lat: 10.7825 }, {}, 'm away (more than 3 x 300 m)'],
    ['no point, another unit', { lat: undefined, lng: undefined, areaCode: '26740' }, {}, 'names no place in its unit'],
    ['no such ticket', {}, null, 'no such ticket'],
  ];
  it.each(table)('%s', (_, g, t, why) => {
    const d = decideChosen(report(g), t ? ticket(t) : null);
    const joins = !/^it |no such|names no|more than/.test(why ?? '');
    expect(d.ticketId).toBe(joins ? 7 : null);
    expect(d.reasons[0]!.code).toBe(joins ? 'chosen_ticket' : 'chosen_ticket_refused');
    expect(d.reasons[0]!.message).toContain(why!);
  });
  it('says a merged ticket was merged', () => {
    expect(decideChosen(report(), null, true).reasons[0]!.message).toContain('merged into another ticket');
  });
});

describe('decideGroup: a report whose topic is unsure joins a ticket on a likely topic at plainly the same place', () => {
  const at = new Date('2026-12-14T16:30:00+07:00');
  const ticket = (over: Partial<CandidateTicket> = {}): CandidateTicket => ({
    id: 9, code: 'TK-9K3M9Q2X', category_code: 'xay_dung', area_code: null, lat: null, lng: null, cell: null,
    status: 'new', received_at: new Date(at.getTime() - 6.5 * 3_600_000), last_report_at: new Date(at.getTime() - 6.5 * 3_600_000),
    closed_at: null, resolved_at: null, words: 'chung cư Nguyễn Kim mảng bê tông rơi', wordReports: 1, keys: new Set(['lm|chung cu nguyen kim']), candidates: ['27169', '27172'], ...over,
  });
  const report = (over: Partial<GroupInput> = {}): GroupInput => ({
    citizenId: null, category: null, categoryConfidence: 0.3, alternatives: ['xay_dung', 'khac'], areaCode: null, areaCandidates: ['27169', '27172'],
    keys: new Set(['lm|chung cu nguyen kim']), text: 'Chung cư Nguyễn Kim P7 Q10 lại rớt mảng bê tông', receivedAt: at, ...over,
  });
  const table: [string, Partial<GroupInput>, Partial<CandidateTicket>, boolean][] = [
    ['the same landmark, the ticket on a likely topic', {}, {}, true],
    ['the same landmark, the ticket on a topic the model does not give it', {}, { category_code: 'ngap_nuoc' }, false],
    ['no likely topic: left for triage', { alternatives: [] }, {}, false],
    ['another landmark', { keys: new Set(['lm|chung cu ngo gia tu']) }, {}, false],
    ['the same street only, days later', { keys: new Set(['street|ba thang hai']) }, { keys: new Set(['street|ba thang hai']), area_code: '27169', received_at: new Date(at.getTime() - 72 * 3_600_000), last_report_at: new Date(at.getTime() - 72 * 3_600_000) }, false],
  ];
  it.each(table)('%s', (_, g, t, joins) => {
    const d = decideGroup(report(g), [], [ticket(t)]);
    expect(d.ticketId).toBe(joins ? 9 : null);
    if (joins) expect(d.reasons[0]!.message).toContain('on xay_dung');
  });
});

describe('decideGroup: a point at the landmark the other report names is the same place (one side without a point)', () => {
  // Chợ Củ Chi, as the city's list places it.
  const market = { key: 'lm|cho cu chi', lat: 10.9735, lng: 106.493 };
  const at = new Date('2026-12-18T19:30:00+07:00');
  const twoDaysAgo = new Date(at.getTime() - 48 * 3_600_000);
  const ticket = (over: Partial<CandidateTicket> = {}): CandidateTicket => ({
    id: 11, code: 'TK-B4BJ7V64', category_code: 'chieu_sang', area_code: '27496', lat: null, lng: null, cell: null,
    status: 'new', received_at: twoDaysAgo, last_report_at: twoDaysAgo, closed_at: null, resolved_at: null,
    words: 'đèn đường trên Tỉnh lộ 8 đoạn gần chợ Củ Chi bị hư', wordReports: 1, keys: new Set(['street|tinh lo 8', market.key]), candidates: [], ...over,
  });
  // An app photo 47 m from the market's point, its words naming no place.
  const photo = (over: Partial<GroupInput> = {}): GroupInput => ({
    citizenId: null, category: 'chieu_sang', radiusM: 50, windowH: 168, areaCode: '27496', lat: 10.973077, lng: 106.493063,
    landmarksNear: [market.key], keys: new Set(), text: 'Đèn đường không sáng, chỗ này gần chợ xe qua lại nhiều', receivedAt: at, ...over,
  });
  // A call naming the market, against a ticket opened by an app photo.
  const call = (over: Partial<GroupInput> = {}): GroupInput => ({
    citizenId: null, category: 'chieu_sang', radiusM: 50, windowH: 168, areaCode: '27496', landmarkPoints: [market],
    keys: new Set([market.key]), text: 'Công dân phản ánh đèn đường gần chợ Củ Chi không sáng', receivedAt: at, ...over,
  });
  const pointed = { lat: 10.973077, lng: 106.493063, cell: cellOf(10.973077, 106.493063), keys: new Set<string>(), words: 'Đèn đường không sáng' };
  const table: [string, GroupInput, Partial<CandidateTicket>, boolean][] = [
    ['a GPS photo at the market a caller named two days before', photo(), {}, true],
    ['placed in another unit, the point still at the market', photo({ areaCode: '27508' }), {}, true],
    ['a GPS photo far from any listed landmark', photo({ landmarksNear: [], areaCode: '27508' }), {}, false],
    ['a GPS photo naming another street', photo({ keys: new Set(['street|nguyen van khanh']) }), {}, false],
    ['a GPS photo at another landmark', photo({ landmarksNear: ['lm|benh vien da khoa cu chi'], areaCode: '27508' }), {}, false],
    ['a call naming the market where the ticket\'s photo was taken', call(), pointed, true],
    ['a call naming the market, the ticket\'s photo 600 m away', call(), { ...pointed, lat: 10.979, cell: cellOf(10.979, 106.493063), keys: new Set(['street|tinh lo 8']) }, false],
    ['a call naming the market and another street than the ticket\'s', call({ keys: new Set([market.key, 'street|nguyen van khanh']) }), { ...pointed, keys: new Set(['street|tinh lo 8']) }, false],
    ['two points 400 m apart, one at the market the other names: the points decide', photo({ lat: 10.9771 }), { ...pointed, lat: 10.9735, keys: new Set([market.key]) }, false],
  ];
  it.each(table)('%s', (_, g, t, joins) => {
    const d = decideGroup(g, [], [ticket(t)]);
    expect(d.ticketId).toBe(joins ? 11 : null);
    if (joins) expect(d.reasons[0]!.message).toMatch(/lies at cho cu chi/);
  });
});

describe('decideGroup: a ticket on another topic takes a report at plainly the same place when its words may be about the report\'s topic', () => {
  const examples = readFileSync(new URL('../../seed/topics-vi.jsonl', import.meta.url), 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as TopicExample);
  const topicsOf = topicsOfWords(TopicModel.train(examples));
  const at = new Date('2026-10-19T18:53:00+07:00');
  const ago = (h: number) => new Date(at.getTime() - h * 3_600_000);
  const [lat, lng] = [10.8275, 106.7206];
  // An app report: a deep pothole holding rainwater, read as a flood.
  const ticket = (over: Partial<CandidateTicket> = {}): CandidateTicket => ({
    id: 31, code: 'TK-HJS4BMVQ', category_code: 'ngap_nuoc', area_code: '26809', lat, lng, cell: cellOf(lat, lng),
    status: 'new', received_at: ago(0.3), last_report_at: ago(0.3), closed_at: null, resolved_at: null,
    words: ' Xin báo đường Phạm Văn Đồng đoạn trước nhà số 233/3 mặt đường có ổ gà sâu, mưa xuống đọng nước không thấy.', wordReports: 1,
    keys: new Set(['street|pham van dong', '233/3|pham van dong', 'alley|233|pham van dong']), candidates: [], ...over,
  });
  // A neighbour's web report 12 m away, 17 minutes later: the pothole.
  const report = (over: Partial<GroupInput> = {}): GroupInput => ({
    citizenId: null, category: 'giao_thong', radiusM: 100, windowH: 168, areaCode: '26809', lat: lat + 0.0001, lng, crossTopics: ['ngap_nuoc', 'rac_thai'],
    keys: new Set(['street|pham van dong']), text: 'Nhờ khu quản lý giao thông xem giúp đường Phạm Văn Đồng, ổ gà to giữa đường, nhiều xe máy bị té.', receivedAt: at, ...over,
  });
  const table: [string, GroupInput, Partial<CandidateTicket>, TopicsOf | null, boolean][] = [
    ['12 m from the flood ticket whose words also read as a pothole', report(), {}, topicsOf, true],
    ['without a reading of the ticket\'s words', report(), {}, null, false],
    ['another problem at the same place: a rubbish ticket', report(), { category_code: 'rac_thai', words: ' Rác thải chất đống đầu hẻm bốc mùi hôi thối, chó mèo bới tung.' }, topicsOf, false],
    ['the same street only, three days later', report({ lat: undefined, lng: undefined }), { lat: null, lng: null, cell: null, keys: new Set(['street|pham van dong']), received_at: ago(72), last_report_at: ago(72) }, topicsOf, false],
  ];
  it.each(table)('%s', (_, g, t, reader, joins) => {
    const d = decideGroup(g, [], [ticket(t)], undefined, reader);
    expect(d.ticketId).toBe(joins ? 31 : null);
    if (joins) expect(d.reasons[0]!.message).toContain('on ngap_nuoc, whose words may be about giao_thong');
  });
});

describe('decideGroup: another topic\'s ticket is at the report\'s place within that topic\'s radius, and only within both windows', () => {
  const at = new Date('2026-10-06T18:18:00+07:00');
  const ago = (h: number) => new Date(at.getTime() - h * 3_600_000);
  const [lat, lng] = [10.7935, 106.7190];
  const rules = { ngap_nuoc: { radiusM: 300, windowH: 12 }, giao_thong: { radiusM: 100, windowH: 168 }, cay_xanh: { radiusM: 50, windowH: 72 } };
  // The flood's first report, an app photo on Nguyễn Hữu Cảnh.
  const flood = (over: Partial<CandidateTicket> = {}): CandidateTicket => ({
    id: 41, code: 'TK-BWWN3GT3', category_code: 'ngap_nuoc', area_code: '26956', lat, lng, cell: cellOf(lat, lng),
    status: 'new', received_at: ago(1.8), last_report_at: ago(0.7), closed_at: null, resolved_at: null,
    words: ' Đường Nguyễn Hữu Cảnh Nước ngập qua bánh xe.', wordReports: 1, keys: new Set(['street|nguyen huu canh']), candidates: [], ...over,
  });
  // An app photo 150 m away, sent as "roads" (the model reads a flood: its alternative).
  const photo = (over: Partial<GroupInput> = {}): GroupInput => ({
    citizenId: null, category: 'giao_thong', alternatives: ['ngap_nuoc'], radiusM: 100, windowH: 168, areaCode: '26956', lat: lat + 0.00135, lng,
    topicRules: rules, keys: new Set(['street|nguyen huu canh']), text: 'Đường ngập. Ảnh kèm theo', receivedAt: at, ...over,
  });
  const table: [string, GroupInput, Partial<CandidateTicket>, boolean][] = [
    ['150 m from the flood\'s ticket: within the flood\'s 300 m', photo(), {}, true],
    ['without the topics\' rules, the report\'s own 100 m', photo({ topicRules: undefined }), {}, false],
    ['the flood\'s ticket two days old (a flood lasts 12 h), a near house on its street', photo({ lat: undefined, lng: undefined, category: 'cay_xanh', windowH: 72, keys: new Set(['street|nguyen huu canh', '159b|nguyen huu canh']) }),
      { lat: null, lng: null, cell: null, last_report_at: ago(64), received_at: ago(64), keys: new Set(['street|nguyen huu canh', '121c|nguyen huu canh']) }, false],
  ];
  it.each(table)('%s', (_, g, t, joins) => {
    const d = decideGroup(g, [], [flood(t)]);
    expect(d.ticketId).toBe(joins ? 41 : null);
    if (joins) expect(d.reasons[0]!.message).toContain('radius 300 m), on ngap_nuoc');
  });
});
