// Flood-storm reports for `npm run bench -- storm`: many residents reporting the same flooded
// streets at once, as the 1022 line receives them through the one report API
// (POST /api/v1/reports): app reports with a GPS point, web-form reports with an address, and
// text only as the phone, SMS, email and Facebook channels bring it. Deterministic for a seed.
import { seededRandom } from './report-bodies.ts';

/** A flooded stretch of a street: where it is and how residents name it. */
export interface FloodStreet {
  /** As the city's street list writes it. */
  name: string;
  /** The middle of the flooded stretch. */
  lat: number;
  lng: number;
  /** The unit in force since 1 July 2025 that the middle lies in (checked against the area index). */
  unit: string;
  /** The former district residents still write ("Bình Thạnh", "7"). */
  district: string;
  /** House numbers along the flooded stretch (about 250 m of street). */
  houses: readonly [number, number];
  /** Alleys off the stretch. */
  alleys: readonly string[];
}

const street = (name: string, lat: number, lng: number, unit: string, district: string, from: number, alleys: string[]): FloodStreet =>
  ({ name, lat, lng, unit, district, houses: [from, from + 120], alleys });

/** Streets of central HCMC known for flooding, each in a unit of its own, 1.4 km or more apart. */
export const HOT_STREETS: readonly FloodStreet[] = [
  street('Nguyễn Hữu Cảnh', 10.7925, 106.718, 'Phường Thạnh Mỹ Tây', 'Bình Thạnh', 150, ['192', '216']),
  street('Huỳnh Tấn Phát', 10.7505, 106.7295, 'Phường Tân Thuận', '7', 300, ['341', '379']),
  street('Kinh Dương Vương', 10.7335, 106.614, 'Phường An Lạc', 'Bình Tân', 900, ['930', '1002']),
  street('Lê Văn Lương', 10.745, 106.703, 'Phường Tân Hưng', '7', 40, ['62', '118']),
  street('Quốc Hương', 10.8045, 106.732, 'Phường An Khánh', '2', 20, ['47', '58']),
  street('Nguyễn Văn Quá', 10.846, 106.632, 'Phường Đông Hưng Thuận', '12', 60, ['85', '142']),
  street('Phan Anh', 10.772, 106.6215, 'Phường Bình Trị Đông', 'Bình Tân', 100, ['126', '180']),
  street('Tô Ngọc Vân', 10.861, 106.744, 'Phường Tam Bình', 'Thủ Đức', 200, ['228', '290']),
  street('Đặng Văn Bi', 10.843, 106.765, 'Phường Thủ Đức', 'Thủ Đức', 20, ['35', '91']),
  street('Nguyễn Xí', 10.82, 106.708, 'Phường Bình Lợi Trung', 'Bình Thạnh', 100, ['122', '175']),
  street('Kha Vạn Cân', 10.835, 106.73, 'Phường Hiệp Bình', 'Thủ Đức', 400, ['436', '502']),
  street('Nguyễn Thái Sơn', 10.825, 106.687, 'Phường Hạnh Thông', 'Gò Vấp', 200, ['245', '301']),
  street('Phan Huy Ích', 10.838, 106.638, 'Phường An Hội Tây', 'Gò Vấp', 300, ['338', '390']),
  street('Tân Kỳ Tân Quý', 10.801, 106.618, 'Phường Tân Sơn Nhì', 'Tân Phú', 150, ['171', '233']),
  street('Hoàng Sa', 10.79, 106.69, 'Phường Tân Định', '1', 50, ['77', '135']),
  street('Phạm Thế Hiển', 10.74, 106.655, 'Phường Bình Đông', '8', 1500, ['1522', '1580']),
  street('Nguyễn Văn Luông', 10.75, 106.635, 'Phường Phú Lâm', '6', 300, ['318', '384']),
  street('Lũy Bán Bích', 10.78, 106.633, 'Phường Phú Thạnh', 'Tân Phú', 600, ['640', '702']),
  street('Đinh Bộ Lĩnh', 10.807, 106.711, 'Phường Bình Thạnh', 'Bình Thạnh', 100, ['143', '201']),
  street('Nguyễn Kiệm', 10.812, 106.679, 'Phường Đức Nhuận', 'Phú Nhuận', 150, ['190', '254']),
];

/** Streets of the outer units, far from every hot street and its former district: one report each. */
export const COLD_STREETS: readonly FloodStreet[] = [
  street('Quốc lộ 22', 10.975, 106.495, 'Xã Tân An Hội', 'Củ Chi', 100, ['120']),
  street('Lê Thị Hà', 10.887, 106.588, 'Xã Hóc Môn', 'Hóc Môn', 20, ['41']),
  street('Nguyễn Thị Rành', 11.0, 106.48, 'Xã Nhuận Đức', 'Củ Chi', 200, ['233']),
  street('Nguyễn Hữu Trí', 10.69, 106.59, 'Xã Tân Nhựt', 'Bình Chánh', 50, ['88']),
  street('Nguyễn Văn Tạo', 10.64, 106.74, 'Xã Hiệp Phước', 'Nhà Bè', 300, ['342']),
  street('Rừng Sác', 10.53, 106.88, 'Xã Bình Khánh', 'Cần Giờ', 100, ['137']),
  street('Đỗ Xuân Hợp', 10.82, 106.77, 'Phường Phước Long', '9', 200, ['216']),
  street('Nguyễn Xiển', 10.84, 106.82, 'Phường Long Bình', '9', 100, ['145']),
  street('Trần Văn Giàu', 10.765, 106.565, 'Xã Tân Vĩnh Lộc', 'Bình Chánh', 400, ['431']),
  street('Phạm Hùng', 10.725, 106.677, 'Xã Bình Hưng', 'Bình Chánh', 10, ['39']),
  street('Duyên Hải', 10.41, 106.955, 'Xã Cần Giờ', 'Cần Giờ', 100, ['118']),
  street('Đặng Thúc Vịnh', 10.9, 106.625, 'Xã Đông Thạnh', 'Hóc Môn', 50, ['73']),
  street('Tỉnh lộ 8', 10.96, 106.54, 'Xã Củ Chi', 'Củ Chi', 300, ['352']),
  street('Nguyễn Văn Bứa', 10.88, 106.55, 'Xã Xuân Thới Sơn', 'Hóc Môn', 100, ['164']),
  street('Đại lộ Bình Dương', 10.98, 106.67, 'Phường Phú Lợi', 'Thủ Dầu Một', 500, ['540']),
  street('Thùy Vân', 10.34, 107.09, 'Phường Vũng Tàu', 'Vũng Tàu', 20, ['44']),
  street('Lã Xuân Oai', 10.825, 106.795, 'Phường Tăng Nhơn Phú', '9', 100, ['131']),
  street('Phan Văn Hớn', 10.84, 106.61, 'Xã Bà Điểm', 'Hóc Môn', 200, ['247']),
  street('Hoàng Phan Thái', 10.68, 106.6, 'Xã Bình Chánh', 'Bình Chánh', 50, ['96']),
  street('Nguyễn An Ninh', 10.905, 106.77, 'Phường Dĩ An', 'Dĩ An', 30, ['62']),
];

/** The districts that were towns or cities, not "quận"/"huyện". */
const CITIES = new Set(['Thủ Dầu Một', 'Vũng Tàu', 'Dĩ An']);
const RURAL = new Set(['Củ Chi', 'Hóc Môn', 'Bình Chánh', 'Nhà Bè', 'Cần Giờ']);

/** How a report came in: `app` and `web` through their forms, the rest as text an agent or an adapter passes on. */
export type StormChannel = 'app' | 'web' | TextChannel;
export type TextChannel = 'phone' | 'sms' | 'email' | 'facebook';

/** A report as the one report API takes it. */
export interface StormReport {
  text: string;
  category?: string;
  lat?: number;
  lng?: number;
  address?: string;
  citizen: { phone?: string; email?: string; name?: string };
}

/** One report of the storm: its body for POST /api/v1/reports, and which street it is about. */
export interface StormBody { body: string; street: number; channel: StormChannel }

type Rnd = () => number;
const pickOf = (rnd: Rnd) => <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
const intOf = (rnd: Rnd) => (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));

/** Without diacritics, as many type on a phone keyboard. */
export const plain = (s: string) => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/đ/g, 'd').replace(/Đ/g, 'D');

/** The former district as residents write it: "quận Bình Thạnh", "Q7", "huyện Hóc Môn", "Thủ Đức". One draw. */
function districtOf(st: FloodStreet, rnd: Rnd): string {
  const d = st.district;
  const r = rnd();
  if (CITIES.has(d)) return r < 0.5 ? `TP ${d}` : d;
  if (RURAL.has(d)) return r < 0.7 ? `huyện ${d}` : d;
  if (/^\d+$/.test(d)) return r < 0.5 ? `quận ${d}` : r < 0.75 ? `Q${d}` : `Q.${d}`;
  return r < 0.6 ? `quận ${d}` : d;
}

/** The unit as residents write it: "phường Thạnh Mỹ Tây", "P. Thạnh Mỹ Tây", "xã Hiệp Phước". One draw. */
function unitOf(st: FloodStreet, rnd: Rnd): string {
  const [kind, ...rest] = st.unit.split(' ');
  const name = rest.join(' ');
  if (rnd() < 0.3 && kind === 'Phường') return `P. ${name}`;
  return `${kind!.toLowerCase()} ${name}`;
}

const VAGUE = [
  'Ngập quá', 'Ngập nặng', 'Nước ngập sâu', 'Ngập tới gối', 'Mưa lớn ngập đường', 'Ngập hết rồi', 'Nước lên nhanh quá',
  'Ngập, xe chết máy', 'Đường ngập', 'Ngập sâu, không đi được', 'Nước tràn vào nhà', 'Ngập lút bánh xe',
];

const FAMILY = ['Nguyễn', 'Trần', 'Lê', 'Phạm', 'Hoàng', 'Huỳnh', 'Phan', 'Vũ', 'Võ', 'Đặng', 'Bùi', 'Đỗ'];
const GIVEN = ['Văn An', 'Thị Bích', 'Minh Châu', 'Quốc Dũng', 'Thị Hoa', 'Thanh Hải', 'Ngọc Lan', 'Đức Minh', 'Thị Thu', 'Hoàng Nam'];
const MOBILE = ['090', '093', '070', '079', '077', '091', '094', '088', '083', '085', '096', '097', '098', '086', '032', '035', '039'];

/** Slots of one sentence: the street as written, where on it, and how deep. */
interface Slots { s: string; n: number; alley: string; loc: string; cm: number }

/** Sentences as each text channel brings them (phone: as the agent types the call). */
const SENTENCES: Record<TextChannel, ((x: Slots) => string)[]> = {
  phone: [
    (x) => `Người dân gọi báo đường ${x.s} đoạn trước số ${x.n}${x.loc} ngập sâu khoảng ${x.cm}cm, xe máy chết máy hàng loạt.`,
    (x) => `Công dân phản ánh mưa lớn làm ngập đường ${x.s}${x.loc}, nước tràn vào nhà dân.`,
    (x) => `Bà con báo khu vực ${x.s} gần nhà số ${x.n}${x.loc} nước ngập tới đầu gối, đề nghị kiểm tra cống thoát nước.`,
    (x) => `Người gọi cho biết hẻm ${x.alley} ${x.s}${x.loc} ngập nặng, nước chưa rút, người già đi lại khó khăn.`,
    (x) => `Phản ánh ngập nước tại số ${x.n} ${x.s}${x.loc}, nước sâu khoảng ${x.cm}cm.`,
  ],
  sms: [
    (x) => `Duong ${x.s} ngap qua, nuoc toi yen xe${x.loc}`,
    (x) => `${x.s} so ${x.n} ngap sau ${x.cm}cm, xe chet may het`,
    (x) => `Báo ngập: ${x.s}${x.loc}, nước lên nhanh, cống trào ngược.`,
    (x) => `Hem ${x.alley} ${x.s} ngap het roi${x.loc}`,
  ],
  email: [
    (x) => `Kính gửi Tổng đài 1022. Tôi ở số ${x.n} ${x.s}${x.loc}. Từ chiều mưa lớn, nước ngập khoảng ${x.cm}cm, tràn vào nhà. Đề nghị cơ quan chức năng xử lý thoát nước gấp. Trân trọng.`,
    (x) => `Xin phản ánh tình trạng ngập nước nghiêm trọng trên đường ${x.s}${x.loc}, đoạn gần nhà số ${x.n}. Nước không thoát được, người đi đường rất khó khăn.`,
    (x) => `Đường ${x.s}${x.loc} lại ngập sau cơn mưa chiều nay. Miệng cống trước nhà số ${x.n} bị rác bịt kín, nước không rút được.`,
  ],
  facebook: [
    (x) => `Ngập quá trời ở ${x.s}${x.loc} mọi người ơi, nước lên tới gối`,
    (x) => `${x.s} đoạn số ${x.n} lại ngập rồi, năm nào cũng vậy, 1022 xử lý giúp với`,
    (x) => `Ai đi ${x.s} tránh nha, ngập sâu lắm${x.loc}`,
    (x) => `Hẻm ${x.alley} ${x.s}${x.loc} ngập lút bánh xe, cống nghẹt rác`,
  ],
};

/** Who reports from one street: its residents' phones and emails (some report twice). */
interface Residents { phones: string[]; emails: string[] }

function residents(rnd: Rnd, street: number, reports: number): Residents {
  const pick = pickOf(rnd);
  const int = intOf(rnd);
  return {
    phones: Array.from({ length: Math.max(4, Math.ceil(reports * 0.8)) }, () =>
      `${pick(MOBILE)}${String(int(0, 9_999_999)).padStart(7, '0')}`.replace(/^(\d{4})(\d{3})(\d{3})$/, rnd() < 0.5 ? '$1 $2 $3' : '$1$2$3')),
    emails: Array.from({ length: Math.max(2, Math.ceil(reports * 0.25)) }, (_, i) => `cudan${street}.${i}.${int(10, 99)}@example.vn`),
  };
}

/** A point within `metres` of the street's middle, uniform over the disc. */
function pointNear(st: FloodStreet, rnd: Rnd, metres: number): { lat: number; lng: number } {
  const d = metres * Math.sqrt(rnd());
  const a = 2 * Math.PI * rnd();
  const lat = st.lat + (d * Math.cos(a)) / 111_195;
  const lng = st.lng + (d * Math.sin(a)) / (111_195 * Math.cos((st.lat * Math.PI) / 180));
  return { lat: Number(lat.toFixed(6)), lng: Number(lng.toFixed(6)) };
}

/** An app report: a GPS point within 150 m, the address the app fills in, a short text, the category chosen. */
export function appReport(st: FloodStreet, rnd: Rnd, who: Residents | null = null): StormReport {
  const pick = pickOf(rnd);
  const n = intOf(rnd)(...st.houses);
  const name = rnd() < 0.4 ? { name: `${pick(FAMILY)} ${pick(GIVEN)}` } : {};
  return {
    text: pick(VAGUE), category: 'ngap_nuoc', ...pointNear(st, rnd, 150), address: `số ${n} ${st.name}`,
    citizen: who && rnd() < 0.85 ? { phone: pick(who.phones), ...name } : {},
  };
}

/** A web-form report: the address with the ward, a sentence, no point; the category chosen about half the time. */
export function webReport(st: FloodStreet, rnd: Rnd, who: Residents | null = null): StormReport {
  const pick = pickOf(rnd);
  const int = intOf(rnd);
  const n = int(...st.houses);
  const address = rnd() < 0.2 ? `${pick(st.alleys)}/${int(1, 40)} ${st.name}, ${unitOf(st, rnd)}` : `${n} ${st.name}, ${unitOf(st, rnd)}`;
  const text = pick([
    `Đường trước nhà ngập sâu khoảng ${int(2, 6) * 10}cm, nước tràn vào nhà`,
    'Mưa lớn kéo dài, đường ngập nặng, cống không thoát được nước',
    'Khu vực này ngập nước, xe cộ đi lại rất khó khăn, đề nghị xử lý',
    `Nước ngập tới đầu gối trên đường ${st.name}`,
  ]);
  const c = rnd();
  return {
    text, ...(rnd() < 0.5 ? { category: 'ngap_nuoc' } : {}), address,
    citizen: who ? (c < 0.55 ? { email: pick(who.emails) } : c < 0.9 ? { phone: pick(who.phones) } : {}) : {},
  };
}

/**
 * A text-only report as the phone, SMS, email or Facebook channel passes it on: a flood sentence
 * naming the street, a house number or an alley, sometimes the ward or the former district,
 * sometimes without diacritics. The same draws give the same sentence on another street.
 */
export function textReport(st: FloodStreet, rnd: Rnd, channel: TextChannel, who: Residents | null = null): StormReport {
  const pick = pickOf(rnd);
  const int = intOf(rnd);
  const sentence = pick(SENTENCES[channel]);
  const slots = { s: st.name, n: int(0, st.houses[1] - st.houses[0]) + st.houses[0], alley: st.alleys[Math.floor(rnd() * st.alleys.length)]!, cm: int(2, 6) * 10 };
  const l = rnd();
  const unit = unitOf(st, rnd);
  const district = districtOf(st, rnd);
  const loc = l < 0.3 ? `, ${unit}` : l < 0.55 ? `, ${district}` : l < 0.65 ? `, ${unit}, ${district}` : '';
  let text = sentence({ ...slots, loc });
  // The agent types with diacritics; SMS mostly and Facebook often come without.
  const p = rnd();
  if ((channel === 'sms' && p < 0.6) || (channel === 'facebook' && p < 0.35) || (channel === 'email' && p < 0.1)) text = plain(text);
  const citizen = !who ? {}
    : channel === 'phone' || channel === 'sms' ? (rnd() < 0.95 ? { phone: pick(who.phones) } : {})
    : channel === 'email' ? { email: pick(who.emails), ...(rnd() < 0.5 ? { name: `${pick(FAMILY)} ${pick(GIVEN)}` } : {}) }
    : rnd() < 0.3 ? { phone: pick(who.phones) } : {};
  return { text, citizen };
}

/** The text channels in a 1022-like proportion (phone most, then SMS and Facebook, then email). */
export const TEXT_CHANNELS: readonly TextChannel[] = ['phone', 'phone', 'phone', 'sms', 'sms', 'email', 'facebook', 'facebook'];

/**
 * The storm: `count` reports spread evenly over `streets`, interleaved in time (each round of
 * one report per street in a shuffled order); about 30 % app, 15 % web, 55 % text only.
 */
export function stormBodies(count: number, streets: readonly FloodStreet[], seed: number): StormBody[] {
  const rnd = seededRandom(seed);
  const perStreet = Math.ceil(count / streets.length);
  const who = streets.map((_, i) => residents(rnd, i, perStreet));
  const out: StormBody[] = [];
  while (out.length < count) {
    const round = streets.map((_, i) => i);
    for (let i = round.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [round[i], round[j]] = [round[j]!, round[i]!];
    }
    for (const s of round) {
      if (out.length >= count) break;
      const st = streets[s]!;
      const m = rnd();
      const channel: StormChannel = m < 0.3 ? 'app' : m < 0.45 ? 'web' : pickOf(rnd)(TEXT_CHANNELS);
      const report = channel === 'app' ? appReport(st, rnd, who[s]!) : channel === 'web' ? webReport(st, rnd, who[s]!) : textReport(st, rnd, channel, who[s]!);
      out.push({ body: JSON.stringify(report), street: s, channel });
    }
  }
  return out;
}
