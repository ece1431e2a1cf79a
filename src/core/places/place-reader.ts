// Reading a place from words: the streets a text names (against the city's street list, with
// and without diacritics, abbreviated "Đ." or by initials), house numbers and ranges paired with
// their street, alleys, and landmarks (the city's list, or a kind word before a proper name).
// The result is a set of place keys, the vocabulary grouping compares:
//   street|nguyen thi minh khai        a street
//   45|nguyen trai                     a house number on a street ("45A", "312/46")
//   alley|42|le van sy                 the alley off a street a house or "hẻm" is in
//   lm|cho ben thanh                   a landmark
// Pure, built once from data files; bounded work per text (PLACE_KEYS_MAX keys, a trie walk of
// at most a name's length per word).

import { placeKeys, PLACE_KEYS_MAX } from '../engine/text.ts';
import { distanceMetres } from './geo.ts';

/** A landmark of the city's list (seed/hcmc/landmarks.json). */
export interface Landmark {
  name: string;
  aliases?: string[];
  kind: string;
  lat: number;
  lng: number;
  unit_code: string;
}

/** What a text says about its place. */
export interface PlaceReading {
  keys: Set<string>;
  /** The city's landmarks it names, first named first. */
  landmarks: Landmark[];
}

/** Reads place keys from free text; the city profile's data makes it better, none still works. */
export interface PlaceReader {
  read(text: string): PlaceReading;
  /** The (former) districts that have a street of this name, when the city's list says. */
  districtsOf?(street: string): readonly string[];
  /** The city's landmarks within `metres` of a point, nearest first (a GPS report's "near what"). */
  landmarksNear?(lat: number, lng: number, metres: number): Landmark[];
}

/** A street's name as place keys spell it (folded, "Tỉnh lộ 10" -> "tinh lo 10"). */
export const streetKey = (name: string): string => words(name).folded.join(' ');

/** A landmark of the city's list as place keys spell it (`lm|cho ben thanh`). */
export const landmarkKey = (l: Landmark): string => `lm|${streetKey(l.name)}`;

/** The street names among place keys (`street|<name>`), in their order. */
export const streetNames = (keys: Iterable<string>): string[] => [...keys].filter((k) => k.startsWith('street|')).map((k) => k.slice('street|'.length));

/** A reader without a street list (another city): house numbers and the words after them. */
export const HEURISTIC_READER: PlaceReader = { read: (text) => ({ keys: placeKeys(text), landmarks: [] }) };

/** The longest street name, in words: a trie walk stops there. */
const NAME_WORDS_MAX = 9;
/** The landmarks near a point that grouping looks up (the nearest; a city centre has dozens within reach). */
const LANDMARKS_NEAR_MAX = 4;
/** A house number pairs with a street at most this many words away. */
const PAIR_DISTANCE_MAX = 6;

const STREET_CUES = new Set(['duong', 'pho', 'd', 'dg', 'lo']);
/**
 * "tuyến Kha Vạn Cân": a street of the list after "tuyến" (a route) needs no other cue, even one
 * named like a unit or a former ward; not a name the list lacks ("tuyến xe buýt", "trực tuyến").
 */
const LISTED_STREET_CUES = new Set(['tuyen']);
/** "ngã tư", "ngã ba"…: a junction's kind, after "ngã". */
const JUNCTIONS = new Set(['ba', 'tu', 'nam', 'sau', 'bay']);
const ALLEY_WORDS = new Set(['hem', 'hxh', 'ngo', 'kiet', 'ngach']);
/** Words before a name that make it a unit, a neighbourhood or a landmark, not a street. */
const NOT_STREET_BEFORE = new Set(['phuong', 'quan', 'xa', 'huyen', 'p', 'q', 'f', 'tp', 'tx', 'thi', 'tran', 'khu', 'kp', 'ap', 'to', 'cho', 'cau', 'kenh', 'rach', 'truong', 'vien', 'chung', 'cu', 'tho', 'chua', 'xe', 'ga', 'bay', 'bien', 'cong', 'dinh', 'mieu', 'ben', 'nga', 'xoay', 'thon', 'lang', 'song', 'ho']);
/** Everyday abbreviations that are no street's initials ("bql": the management board). */
const NOT_INITIALS = new Set(['bql', 'kdc', 'hcm', 'tphcm', 'sdt', 'csgt', 'ctv', 'tnhh', 'cty', 'hxh', 'cmnd', 'cccd', 'bhxh', 'ttyt', 'thcs', 'thpt', 'gtvt', 'tnmt', 'kcn', 'ccn', 'vsmt', 'pccc', 'ktx', 'qldt', 'bch', 'bqt', 'dkkd', 'ttxvn', 'nvq', 'ptth', 'hdnd', 'mttq', 'xlvp', 'vphc', 'ttxd', 'ttgt', 'bqlda', 'dtm', 'htx', 'tdp', 'ttd', 'ntd', 'ktv', 'vtv', 'htv', 'sbd', 'stk', 'pvc']);
/** Words after "đường" that describe the road ("đường bị đào", "mặt đường bong tróc"), not name it. */
const NOT_NAME_START = new Set(['ngap', 'nut', 'lun', 'sut', 'rat', 'qua', 'nay', 'kia', 'vao', 'ra', 'di', 'den', 'toi', 'truoc', 'sau', 'lon', 'nho', 'bien', 'ket', 'xau', 'hep', 'sat', 'chinh', 'nhanh', 'cuoi', 'giua', 'ngoai', 'trong', 'chay', 'xe', 'ranh', 'mon', 'ga', 'len', 'tron', 'o', 'gan', 'bi', 'bong', 'hu', 'xuong', 'nuoc', 'tac', 'hem', 'nga', 'khu', 'tai']);
/** Names that are also everyday phrases without diacritics ("phan anh": to report); they need a cue. */
const EVERYDAY = new Set(['phan anh', 'bong troc', 'bi dao', 'huu nghi', 'duong cong', 'lien ap']);
/** Family names: a two-word street that starts with one is named after a person ("Lê Lợi"). */
const FAMILY_NAMES = new Set(['nguyen', 'tran', 'le', 'pham', 'hoang', 'huynh', 'phan', 'vu', 'vo', 'dang', 'bui', 'do', 'ho', 'ngo', 'duong', 'ly', 'ton', 'trinh', 'truong', 'dinh', 'lam', 'mai', 'cao', 'dao', 'ha', 'chu', 'luong', 'doan', 'ta', 'thai', 'quach', 'tang', 'la', 'kha', 'au', 'luu', 'trieu', 'han', 'tong', 'khuc', 'thich', 'nghiem', 'lu', 'an', 'hai', 'ba']);
// Measures after a number ("20 m", "3 giờ"): not a house number.
const MEASURES = new Set(['cm', 'm', 'met', 'km', 'gio', 'h', 'phut', 'p', 'nguoi', 'ngay', 'lan', 'tieng', 'thang', 'nam', 'xe', 'tang', 'cai', 'con', 'ho', 'kg', 'tan', 'tuan', 'm2', 'm3', 'khoi', 'cay', 'bao', 'lit']);
/** Words before a number that make it a date, a time or a count, not a house. */
const NOT_HOUSE_BEFORE = new Set(['ngay', 'luc', 'khoang', 'hon', 'tang', 'lau', 'tuyen', 'xe', 'sdt', 'dt', 'thoai', 'dai', 'goi', 'alo', 'hotline', 'nong', 'thang', 'nam', 'phuong', 'quan', 'p', 'q', 'f', 'to', 'khu', 'kp', 'ap', 'lo', 'ql', 'tl', 'qua', 'tuoi']);
const HOUSE = /^(\d{1,4}[a-f]?)((?:\/\d{1,4}[a-f]?){0,4})$/;
const RANGE = /^(\d{1,4})[a-f]?-(\d{1,4})[a-f]?$/;
const DATE = /^(\d{1,2})\/(\d{1,2})$/;
const NUMERAL: Record<string, string> = { mot: '1', hai: '2', ba: '3', bon: '4', tu: '4', nam: '5', sau: '6', bay: '7', tam: '8', chin: '9', muoi: '10' };
const VOWELS = /[aeiouy]/;
/** Two initials or more with full stops, and the last word of a name ("Ng.T.M.Khai", "N.V. Cừ"; not "P.Tân Định"). */
const DOTTED_NAME = /(?<![\p{L}\p{N}.])((?:(?:Ng|\p{Lu})\.\s?){2,4})(\p{Lu}\p{Ll}+)/gu;
/** "Ng." before a capitalised word: Nguyễn. */
const NG_DOT = /(?<![\p{L}\p{N}])Ng\.\s?(?=\p{Lu})/gu;
/** "T.P." before a name: thành phố, as "TP" is read. */
const CITY_DOT = /(?<![\p{L}\p{N}])T\.\s?P\.?\s*(?=\p{Lu})/gu;
/** "ĐL"/"DL" before a name: Đại lộ (a boulevard). */
const BOULEVARD = /(?<![\p{L}\p{N}])(?:ĐL|DL|đl|dl)\.?\s+(?=\p{L})/gu;
/** A planned quarter's road, by letter and number ("D2", "N4", "DX01"); not a ward or district ("P7", "Q3", "F15"). */
const LETTERED_ROAD = /^[a-z]{1,2}\d{1,3}[a-z]?$/;

/** Landmark kinds as residents write them (with diacritics: folded, "chợ" would be "cho", "for"). */
const LANDMARK_KINDS = ['chợ', 'cầu', 'kênh', 'rạch', 'trường', 'bệnh viện', 'công viên', 'bến xe', 'chung cư', 'cư xá', 'nhà thờ', 'chùa', 'siêu thị', 'vòng xoay', 'ngã tư', 'ngã ba', 'ngã năm', 'ngã sáu', 'ngã bảy', 'ga', 'sân bay', 'bãi biển', 'khu dân cư', 'tòa nhà', 'trung tâm thương mại', 'đại học', 'bến phà', 'sân vận động', 'nhà văn hóa', 'đình', 'miếu', 'hồ', 'bảo tàng', 'cảng', 'khu đô thị', 'khu phố', 'ấp', 'khu công nghiệp', 'khu chế xuất', 'nhà máy', 'bãi rác', 'bến tàu', 'nhà hát', 'bưu điện', 'thư viện'];
/**
 * Shopping-centre brands residents name a place by ("trước Aeon", "Vincom Lê Văn Việt"): the
 * brand and the proper name after it, without the words that vary ("Aeon Mall Bình Tân" is
 * "Aeon Bình Tân").
 */
const BRANDS = new Set(['vincom', 'aeon', 'lotte', 'coopmart', 'emart', 'gigamall']);
const BRAND_FILLER = new Set(['mall', 'center', 'centre', 'plaza', 'mart', 'mega', 'megamall']);
/** Where a name read from capitals ends: the unit after it ("Lotte Quận 7", "Bạch Đằng phường 2"). */
const UNIT_WORDS = new Set(['quan', 'phuong', 'huyen', 'xa', 'tp', 'q', 'p', 'f', 'thi']);
/** The unit words as written with diacritics: "Quán" (an inn, "nhà thờ Chợ Quán") is no "quận". */
const UNIT_WORDS_WRITTEN = new Set(['quận', 'phường', 'huyện', 'xã', 'thị']);
/** A unit's word: folded when written without diacritics, else with its own. */
const isUnitWord = (raw: string, folded: string): boolean => UNIT_WORDS.has(folded) && (raw.toLowerCase() === folded || UNIT_WORDS_WRITTEN.has(raw.toLowerCase()));
/** Words before "cầu" that make it a request ("yêu cầu"), not a bridge. */
/** One-word landmark kinds read folded in a text without diacritics (not "ga", chicken; "hồ", a name; "cầu", to pray). */
const PLAIN_KINDS = new Set(['chợ', 'kênh', 'rạch', 'chùa']);
const NOT_LANDMARK_BEFORE = new Set(['yêu', 'nhu', 'khẩn', 'đề']);

/** National, provincial and district roads by their code ("QL1A", "TL10", "ĐT744"), as the street list spells them. */
const ROADS: Record<string, string> = { ql: 'Quốc lộ', tl: 'Tỉnh lộ', hl: 'Hương lộ', dt: 'ĐT' };
const ROAD_CODE = /(?<![\p{L}\p{N}])(QL|TL|HL|ĐT|DT)\.?\s?(\d{1,3}[A-Z]?)(?![\p{L}\p{N}])/giu;

const foldWord = (w: string) => w.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[đĐ]/g, 'd').toLowerCase();

/**
 * A text's words: as written (NFC) and folded, aligned; "/" and "-" kept inside numbers; `start`
 * marks a word that opens a sentence (its capital is no proper name's), `pause` one after a
 * comma, a colon or a bracket ("ra đường, xém vướng cổ": no street named).
 */
function words(text: string): { raw: string[]; folded: string[]; start: boolean[]; pause: boolean[] } {
  const raw: string[] = [];
  const start: boolean[] = [];
  const pause: boolean[] = [];
  let end = 0;
  const spelled = text.normalize('NFC').replace(/(\d)\s*-\s*(\d)/g, '$1-$2').replace(ROAD_CODE, (_, code: string, n: string) => `${ROADS[foldWord(code)]!} ${n}`);
  for (const m of spelled.matchAll(/[\p{L}\p{N}/-]+/gu)) {
    const w = /\d/.test(m[0]) ? m[0] : m[0].replace(/[/-]+/g, '');
    const gap = m.input!.slice(end, m.index);
    end = m.index! + m[0].length;
    if (w.length === 0 || w.length > 40) continue;
    raw.push(w);
    start.push(raw.length === 1 || /[.!?\n]/.test(gap));
    pause.push(/[.!?\n,;:()[\]]/.test(gap));
  }
  return { raw, folded: raw.map(foldWord), start, pause };
}

interface Trie {
  next: Map<string, Trie>;
  name?: string;
  loose?: boolean;
  /** The name as the list writes it, lower case with its diacritics ("phan anh" is also "phản ánh"). */
  written?: Set<string>;
}

/** A street mention: where it starts, how many words it takes, its key. */
interface Mention { at: number; len: number; name: string }

export interface CityPlacesData {
  /** Street names of the city (any case and diacritics), with the (former) district each lies in. */
  streets: { name: string; district?: string }[];
  landmarks: Landmark[];
  /** Folded names of units, former wards and districts: a street of the same name needs a cue. */
  unitNames: Iterable<string>;
  /**
   * Initials several streets share that residents use for one of them ("NHC": Nguyễn Hữu Cảnh,
   * not Nguyễn Hữu Cầu): the city's well-known roads. A row whose street is not in `streets` is left out.
   */
  initials?: readonly StreetInitials[];
}

/** Letters residents type for a street ("NVL"), and the street they mean. */
export interface StreetInitials {
  initials: string;
  street: string;
}

/** The reader of a city with a street list and landmarks. */
export class CityPlaceReader implements PlaceReader {
  readonly #streets: Trie = { next: new Map() };
  readonly #initials = new Map<string, string>();
  /** A street by its first words' initials and its last word ("ntm khai"), where one street has them: its name as the list writes it. */
  readonly #dotted = new Map<string, string | null>();
  readonly #landmarks: Trie = { next: new Map() };
  readonly #landmarkByName = new Map<string, Landmark>();
  /** A listed shopping centre by its brand and proper name, as the brand reading spells it ("aeon tan phu"). */
  readonly #landmarkByBrand = new Map<string, Landmark | null>();
  /** Names of units: "số 512 (Bình Tân)" is a house in the district, not on a street of its name. */
  readonly #units: Set<string>;
  /** Folded street name -> the districts that have a street of that name. */
  readonly #districts = new Map<string, string[]>();

  constructor(data: CityPlacesData) {
    const units = new Set(data.unitNames);
    this.#units = units;
    const initials = new Map<string, Set<string>>();
    for (const { name: s, district } of data.streets) {
      const { folded: w, raw } = words(s);
      if (w.length === 0 || w.length > NAME_WORDS_MAX) continue;
      // One word is a street only when foreign ("Pasteur"), not a Vietnamese word ("Số", "Chùa").
      if (w.length === 1 && !DATE.test(w[0]!) && (w[0] !== s.toLowerCase() || w[0]!.length < 5)) continue;
      const name = w.join(' ');
      if (district) {
        const list = this.#districts.get(name) ?? [];
        if (!list.includes(district)) this.#districts.set(name, [...list, district]);
      }
      // A name that can stand without "đường" before it: a person's name, three words or more, or
      // a numbered road ("ĐT 744"), that is not also a unit's or a neighbourhood's.
      const loose = !units.has(name) && !EVERYDAY.has(name) && (w.length >= 3 || (w.length === 2 && FAMILY_NAMES.has(w[0]!)) || /^dt \d/.test(name));
      this.#insert(this.#streets, w, name, loose, raw.join(' ').toLowerCase());
      if (w.length >= 3 && w.every((x) => /^[a-z]+$/.test(x))) {
        // "Ng.T.M.Khai": two initials or more and the last word (DOTTED_NAME).
        const dotted = `${w.slice(0, -1).map((x) => x[0]).join('')} ${w[w.length - 1]}`;
        this.#dotted.set(dotted, this.#dotted.has(dotted) && this.#dotted.get(dotted) !== s ? null : s);
        const first = w.map((x) => x[0]).join('');
        const last = NUMERAL[w[w.length - 1]!];
        for (const abbr of last ? [first, first.slice(0, -1) + last] : [first]) {
          initials.set(abbr, (initials.get(abbr) ?? new Set()).add(name));
        }
      }
    }
    // Initials stand for a street only when one street has them ("ntmk", "cmt8", "xvnt"), or when
    // the city says which of the streets that share them residents mean ("nhc").
    for (const [abbr, names] of initials) if (names.size === 1) this.#initials.set(abbr, [...names][0]!);
    for (const row of data.initials ?? []) {
      const abbr = words(row.initials).folded.join('');
      const name = words(row.street).folded.join(' ');
      if (initials.get(abbr)?.has(name)) this.#initials.set(abbr, name);
    }
    for (const l of data.landmarks) {
      const key = words(l.name).folded.join(' ');
      this.#landmarkByName.set(key, l);
      for (const alias of [l.name, ...(l.aliases ?? [])]) {
        const { folded: w, raw } = words(alias);
        // A name that is also a unit's or a street's ("Bảy Hiền", "Bùi Viện") says the unit or the street, not the landmark.
        if (w.length < 2 || w.length > NAME_WORDS_MAX || units.has(w.join(' ')) || this.#isStreet(w)) continue;
        this.#insert(this.#landmarks, w, key, true, raw.join(' ').toLowerCase());
      }
      // "Aeon Mall Tân Phú", "Vincom Plaza Lê Văn Việt": the brand and the words after it but the
      // fillers, as a text's brand is read; two landmarks of one such name are neither.
      for (const alias of [l.name, ...(l.aliases ?? [])]) {
        const w = words(alias).folded;
        const at = w.findIndex((x) => BRANDS.has(x));
        if (at < 0) continue;
        const name = w.slice(at + 1).filter((x) => !BRAND_FILLER.has(x));
        // The brand alone ("Vincom Center") is any of its centres.
        if (name.length === 0) continue;
        const brand = [w[at]!, ...name].slice(0, 5).join(' ');
        const had = this.#landmarkByBrand.get(brand);
        this.#landmarkByBrand.set(brand, had === undefined || had === l ? l : null);
      }
    }
  }

  landmarksNear(lat: number, lng: number, metres: number): Landmark[] {
    const near: { l: Landmark; d: number }[] = [];
    for (const l of this.#landmarkByName.values()) {
      const d = distanceMetres(lat, lng, l.lat, l.lng);
      if (d <= metres) near.push({ l, d });
    }
    return near.sort((a, b) => a.d - b.d).slice(0, LANDMARKS_NEAR_MAX).map((x) => x.l);
  }

  #isStreet(w: string[]): boolean {
    let node: Trie | undefined = this.#streets;
    for (const x of w) node = node?.next.get(x);
    return node?.name !== undefined;
  }

  /** The districts with a street of this name (a key's name: `street|<name>`). */
  districtsOf(street: string): readonly string[] {
    return this.#districts.get(street) ?? [];
  }

  #insert(trie: Trie, w: string[], name: string, loose: boolean, written: string): void {
    let node = trie;
    for (const x of w) {
      let n = node.next.get(x);
      if (!n) node.next.set(x, (n = { next: new Map() }));
      node = n;
    }
    // Two spellings folding to one name: it stands alone if either may.
    if (node.name === undefined || loose) Object.assign(node, { name, loose: loose || node.loose === true });
    (node.written ??= new Set()).add(written);
  }

  /**
   * The longest name of `trie` starting at word `i`. A word written with diacritics must be the
   * name's own ("phản ánh", to report, is not the street Phan Anh); one written without any is
   * compared folded (residents type "Nguyễn Thi Minh Khai").
   */
  #longest(trie: Trie, w: string[], raw: string[], i: number): { name: string; len: number; loose: boolean } | null {
    let node = trie;
    let best: { name: string; len: number; loose: boolean } | null = null;
    for (let j = i; j < w.length && j - i < NAME_WORDS_MAX; j++) {
      const n = node.next.get(w[j]!);
      if (!n) break;
      node = n;
      if (n.name === undefined) continue;
      // Each word as written: without diacritics (any name), or with the name's own.
      const as = raw.slice(i, j + 1).map((x, k) => (x.toLowerCase() === w[i + k] ? null : x.toLowerCase()));
      const fits = as.every((x) => x === null) || [...n.written!].some((form) => form.split(' ').every((y, k) => as[k] === null || as[k] === y));
      if (fits) best = { name: n.name, len: j - i + 1, loose: n.loose === true };
    }
    return best;
  }

  /**
   * Abbreviations written with full stops, spelled out: "Ng.T.M.Khai" (a street by its first
   * words' initials and its last word, where one street has them), "Ng. Văn Cừ" (Nguyễn), "ĐL"
   * before a name (Đại lộ). Linear: one pass of each pattern over a text bounded before reading.
   */
  #spellOut(text: string): string {
    return text
      .replace(DOTTED_NAME, (all, initials: string, last: string) => {
        const key = `${initials.split('.').map((x) => foldWord(x.trim())[0] ?? '').join('')} ${foldWord(last)}`;
        return this.#dotted.get(key) ?? all;
      })
      .replace(NG_DOT, 'Nguyễn ')
      .replace(CITY_DOT, 'TP ')
      .replace(BOULEVARD, 'Đại lộ ');
  }

  read(text: string): PlaceReading {
    const { raw, folded: w, start, pause } = words(this.#spellOut(text));
    const streets: Mention[] = [];
    const landmarks: Landmark[] = [];
    const keys = new Set<string>();
    const add = (k: string) => { if (keys.size < PLACE_KEYS_MAX) keys.add(k); };
    /** `said`: written as a house ("số 45", "số nhà 45"), not a bare number. */
    const houses: { n: string; at: number; alley: boolean; range?: string; said?: boolean }[] = [];
    const cap = PLACE_KEYS_MAX * 2;
    const cased = /\p{Lu}/u.test(text);
    /** Words before this index belong to a street already read ("Số 9" is a name, not a house). */
    let named = 0;
    // A city's name after "thành phố"/"TP" (an app's address ends "…, Thành phố Hồ Chí Minh") is
    // neither the street "phố Hồ Chí Minh" nor the lake ("hồ") Chí Minh.
    const city = w.map(() => false);
    for (let i = 1; i < w.length; i++) {
      // ("TP. Hồ Chí Minh": the full stop of the abbreviation is no pause.)
      if (!(w[i - 1] === 'tp' || (w[i - 1] === 'pho' && w[i - 2] === 'thanh' && !pause[i]))) continue;
      for (let j = i; j < w.length && j < i + 3 && (j === i || !pause[j]) && !/\d/.test(w[j]!); j++) city[j] = true;
    }

    for (let i = 0; i < w.length && streets.length < cap && houses.length < cap; i++) {
      if (city[i]) continue;
      const x = w[i]!;
      const prev = w[i - 1] ?? '';
      // A landmark of the city's list, by any of its names.
      const lm = this.#longest(this.#landmarks, w, raw, i);
      // A landmark's name is a proper name: a short one written in lower case in a text that
      // capitalises is everyday words ("bừa bãi trước nhà" is not Bãi Trước).
      if (lm && (lm.len > 2 || !cased || raw.slice(i, i + lm.len).some((x, k) => /^\p{Lu}/u.test(x) && (k > 0 || !start[i])))) {
        const l = this.#landmarkByName.get(lm.name)!;
        if (!landmarks.includes(l)) landmarks.push(l);
        add(`lm|${lm.name}`);
        // A landmark named after its street ("KDC Trung Sơn", "chợ Phạm Văn Hai", "Vincom Lê Văn
        // Việt") names the street too: another report may give the street alone.
        for (let k = 1; k < lm.len; k++) {
          if (lm.len - k < 2 || !this.#isStreet(w.slice(i + k, i + lm.len))) continue;
          streets.push({ at: i + k, len: lm.len - k, name: w.slice(i + k, i + lm.len).join(' ') });
          break;
        }
        i += lm.len - 1;
        continue;
      }
      const afterHouse = i - 1 >= named && (HOUSE.test(prev) || RANGE.test(prev)) && !NOT_HOUSE_BEFORE.has(w[i - 2] ?? '') && !MEASURES.has(x);
      // "đường ống" (a pipe) is one word, not the road named Ống Nước.
      // ("Đ. Quang Trung", "d.quang trung": the full stop of the abbreviation is no pause.)
      const afterWord = STREET_CUES.has(prev) && (!pause[i] || prev === 'd' || prev === 'dg') && (prev !== 'lo' || w[i - 2] === 'dai') && raw[i]!.toLowerCase() !== 'ống';
      // At a junction with a street already named ("Lũy Bán Bích giao Hòa Bình", "giao lộ …",
      // "góc …", "gần ngã tư …"), a listed name is the other street, even one named like a unit.
      const onRoute = LISTED_STREET_CUES.has(prev) && !pause[i] && x !== 'so' && !/^\d/.test(x);
      const atJunction = streets.length > 0 && !pause[i] && (prev === 'giao' || prev === 'goc' || ((prev === 'lo' || prev === 'voi') && w[i - 2] === 'giao')
        || (JUNCTIONS.has(prev) && w[i - 2] === 'nga'));
      let s = this.#longest(this.#streets, w, raw, i);
      // "ng" typed for Nguyễn ("ng thi minh khai"), where a listed name of three words or more follows.
      if (!s && x === 'ng') {
        const nguyen = (xs: string[]) => ['nguyen', ...xs.slice(i + 1, i + NAME_WORDS_MAX)];
        const alt = this.#longest(this.#streets, nguyen(w), nguyen(raw), 0);
        if (alt && alt.len >= 3) s = alt;
      }
      // A longer name starting inside this one and running past it is the street ("phố thuốc
      // Bắc Hải Thượng Lãn Ông": Hải Thượng Lãn Ông, not Bắc Hải).
      for (let j = i + 1; s && j < i + s.len; j++) {
        const t = this.#longest(this.#streets, w, raw, j);
        if (t && t.len > s.len && j + t.len > i + s.len) s = null;
      }
      // Written as a proper name (every word capitalised), a street of the list needs no cue either.
      const proper = s !== null && s.len > 1 && !this.#units.has(s.name) && raw.slice(i, i + s.len).every((y) => /^\p{Lu}/u.test(y));
      if (s && (((afterWord || atJunction || onRoute) && !NOT_NAME_START.has(x)) || (afterHouse && (!this.#units.has(s.name) || (!pause[i] && (i + s.len >= w.length || pause[i + s.len]!)))) || ((s.loose || proper) && !NOT_STREET_BEFORE.has(prev)))) {
        // A date-named street ("đường 3/2") only after "đường".
        if (!DATE.test(x) || STREET_CUES.has(prev)) {
          streets.push({ at: i, len: s.len, name: s.name });
          i += s.len - 1;
          named = i + 1;
          continue;
        }
      }
      const abbr = this.#initials.get(x);
      // Not after a ward's word: "phường BHH A" is the ward Bình Hưng Hòa A, not a street.
      if (abbr && !VOWELS.test(x.replace(/\d+$/, '')) && x.length >= 3 && !NOT_INITIALS.has(x) && !NOT_STREET_BEFORE.has(prev)) {
        streets.push({ at: i, len: 1, name: abbr });
        named = i + 1;
        continue;
      }
      // A street the list lacks: the proper name after "đường" or a house number ("đường Số 9").
      if ((afterWord && prev !== 'lo') || (afterHouse && !pause[i] && /\p{Lu}/u.test(text))) if (/^[a-z]/.test(x) && !NOT_STREET_BEFORE.has(x) && !STREET_CUES.has(x) && !NOT_NAME_START.has(x)) {
        // "đường số 9A", lower case in a text that has capitals: the numbered road, not a house 9A.
        const lower = !/\p{Lu}/u.test(text) || (afterWord && x === 'so' && /^\d{1,3}[a-z]?$/.test(w[i + 1] ?? '') && !pause[i + 1]);
        const name: string[] = [];
        // The name ends at a pause or at a unit's word ("Bạch Đằng phường ...": not part of it).
        for (let j = i; j < w.length && name.length < 4 && /^[a-z0-9]+$/.test(w[j]!) && (j === i || (!pause[j] && !isUnitWord(raw[j]!, w[j]!) && !/^[pqf]\d/.test(w[j]!))) && (lower ? name.length < 2 : !start[j] && /^[\p{Lu}\d]/u.test(raw[j]!)); j++) {
          name.push(w[j]!);
          if (/\d/.test(w[j]!)) break; // "Số 9" ends at its number
        }
        // A unit's name after a number is where the house is ("số 512 (Bình Tân)"), not a street.
        // A lettered road of a planned quarter ("đường D2", "N4") only after "đường".
        const lettered = afterWord && name.length === 1 && LETTERED_ROAD.test(name[0]!) && !/^[pqf]\d/.test(name[0]!);
        if (name.length > 0 && (name.length > 1 || name[0]!.length > 3 || lettered) && (afterWord || !this.#units.has(name.join(' ')))) {
          streets.push({ at: i, len: name.length, name: name.join(' ') });
          i += name.length - 1;
          named = i + 1;
          continue;
        }
      }
      // House numbers: "45", "45B", "312/46", "45-47"; a number after "hẻm" is an alley.
      const h = HOUSE.exec(x);
      const r = RANGE.exec(x);
      if ((h || r) && !(MEASURES.has(w[i + 1] ?? '') && !pause[i + 1]) && !NOT_HOUSE_BEFORE.has(prev) && !(/h$/.test(x))) {
        const alley = ALLEY_WORDS.has(prev);
        if (r) houses.push({ n: r[1]!, at: i, alley, range: r[2]! });
        else if (h && (x.length >= 2 || h[2] || alley || prev === 'so' || prev === 'sn')) houses.push({ n: x, at: i, alley, said: prev === 'sn' || (prev === 'so' && !start[i - 1]) || (prev === 'nha' && w[i - 2] === 'so') });
      }
    }

    // Free-standing landmarks: a kind word as written, before a proper name ("cầu Chữ Y").
    const unaccented = raw.every((x) => foldWord(x) === x.toLowerCase());
    const kinds = LANDMARK_KINDS.map((k) => k.split(' '));
    // A kind word inside a street's name is the street's ("Nguyễn Đình Chiểu": no temple).
    const inStreet = w.map(() => false);
    for (const m of streets) for (let j = m.at; j < m.at + m.len; j++) inStreet[j] = true;
    for (let i = 0; i < raw.length && keys.size < PLACE_KEYS_MAX; i++) {
      if (city[i] || inStreet[i]) continue;
      if (BRANDS.has(w[i]!)) {
        const name = [w[i]!];
        for (let j = i + 1; j < raw.length && name.length < 5 && !start[j] && /^\p{Lu}/u.test(raw[j]!) && !isUnitWord(raw[j]!, w[j]!); j++) if (!BRAND_FILLER.has(w[j]!)) name.push(w[j]!);
        const key = name.join(' ');
        // A listed centre named by its brand ("Aeon Mall Tân Phú" for "Trung tâm thương mại Aeon Mall Tân Phú").
        const listed = this.#landmarkByBrand.get(key);
        if (listed) {
          if (!landmarks.includes(listed)) landmarks.push(listed);
          add(`lm|${words(listed.name).folded.join(' ')}`);
          continue;
        }
        if (![...keys].some((k) => k.startsWith('lm|') && k.slice(3).startsWith(key))) add(`lm|${key}`);
        continue;
      }
      let kind = kinds.find((k) => k.every((part, j) => raw[i + j]?.toLowerCase() === part));
      // A text typed without any diacritics ("cho Vuon Chuoi"): the kind word folded, before a
      // proper name of two words or more ("cho" alone is also "for": "báo cho UBND").
      const folded = !kind && unaccented ? kinds.find((k) => (k.length > 1 || PLAIN_KINDS.has(k[0]!)) && k.every((part, j) => w[i + j] === foldWord(part))) : undefined;
      kind ??= folded;
      if (!kind || NOT_LANDMARK_BEFORE.has(raw[i - 1]?.toLowerCase() ?? '')) continue;
      const name: string[] = [];
      // The name ends at a pause or a unit's word, written out or short ("chung cư Nguyễn Kim P7 Q10").
      for (let j = i + kind.length; j < raw.length && name.length < 4 && !start[j] && /^[\p{Lu}\d]/u.test(raw[j]!) && (name.length === 0 || (!pause[j] && !isUnitWord(raw[j]!, w[j]!) && !/^[pqf]\d/.test(w[j]!))); j++) name.push(w[j]!);
      // Folded, a kind of two words ("nga tu", "benh vien") is no everyday word: one name word will do.
      if (name.length === 0 || (folded && (name.length < (kind.length > 1 ? 1 : 2) || UNIT_WORDS.has(name[0]!) || /^[pqf]\d/.test(name[0]!)))) continue;
      // A capitalised kind word that begins a unit's name is the unit ("Lò Lu, Trường Thạnh": the
      // ward, not a school; "Cầu Ông Lãnh"), a lower-case one the landmark ("cầu Ông Lãnh").
      if (/^\p{Lu}/u.test(raw[i]!) && this.#units.has([...kind.map(foldWord), ...name].join(' '))) {
        i += kind.length + name.length - 1;
        continue;
      }
      const key = `${kind.map(foldWord).join(' ')} ${name.join(' ')}`;
      if (![...keys].some((k) => k.startsWith('lm|') && (k.slice(3).startsWith(key) || key.startsWith(k.slice(3))))) add(`lm|${key}`);
      i += kind.length + name.length - 1;
    }

    // Each house number pairs with the nearest street within a few words (the one after it first).
    const nearest = (at: number): Mention | undefined => {
      let best: Mention | undefined;
      let bestD = Infinity;
      for (const s of streets) {
        const d = s.at > at ? s.at - at - 1 : at - (s.at + s.len);
        const score = d + (s.at > at ? 0 : 0.5);
        // Not across a pause, unless next to it ("số 45, Lê Lợi"; not "Alo 1022, mưa lớn, đường X").
        const [from, to] = s.at > at ? [at + 1, s.at] : [s.at + s.len, at];
        const paused = d > 0 && pause.slice(from, to + 1).some(Boolean);
        if (d <= PAIR_DISTANCE_MAX && !paused && score < bestD) [best, bestD] = [s, score];
      }
      return best;
    };
    // A brand alone beside a street the text names ("Lê Văn Việt khúc trước Vincom") is the
    // listed centre of that brand named after the street, when the list has one.
    for (const k of [...keys]) {
      if (!k.startsWith('lm|') || !BRANDS.has(k.slice(3))) continue;
      const listed = streets.map((s) => this.#landmarkByBrand.get(`${k.slice(3)} ${s.name}`)).find((l) => l);
      if (!listed) continue;
      keys.delete(k);
      if (!landmarks.includes(listed)) landmarks.push(listed);
      add(`lm|${words(listed.name).folded.join(' ')}`);
    }
    for (const s of streets) add(`street|${s.name}`);
    // A number written as a house ("trước số nhà 486") in a text naming one street is on it,
    // however far from it the sentence put it ("mặt đường X, phường 11 quận 3, … trước số nhà 486").
    const only = new Set(streets.map((s) => s.name)).size === 1 ? streets[0] : undefined;
    for (const h of houses) {
      const s = nearest(h.at) ?? (h.said ? only : undefined);
      if (!s) continue;
      const root = h.n.split('/')[0]!;
      if (h.alley) add(`alley|${root}|${s.name}`);
      else if (h.n.includes('/')) add(`alley|${root}|${s.name}`);
      add(`${h.n}|${s.name}`);
      if (h.range) add(`${h.range}|${s.name}`);
    }
    return { keys, landmarks };
  }
}
