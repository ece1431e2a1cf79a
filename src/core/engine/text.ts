/**
 * Vietnamese text normalisation: Unicode NFC, then a folded form (no diacritics, đ -> d,
 * lower case, single spaces) kept beside the original, so text typed with or without accents
 * compares the same.
 */
export function nfc(text: string): string {
  return text.normalize('NFC').replace(/\s+/g, ' ').trim();
}

// C0 controls but tab and line feed (carriage returns become line feeds first), DEL and the C1
// controls: invisible, and NUL is refused by PostgreSQL in text and jsonb alike.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * Text from a client made safe to store and to compare: line breaks as \n, no control
 * characters (NUL and the rest of C0 but tab and newline, DEL, C1), a lone surrogate (half an
 * emoji) as U+FFFD, Unicode NFC. Linear in the length; callers bound the length first.
 */
export function cleanText(text: string): string {
  let s = text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
  s = s.replace(CONTROLS, '');
  if (/[\ud800-\udfff]/.test(s)) s = s.replace(LONE_SURROGATE, '\ufffd');
  return s.normalize('NFC');
}

/**
 * A client's string field, cleaned and trimmed, or `undefined` when empty; a field longer than
 * `max` (after cleaning) gets `onTooLong()`'s error. Anything over four times `max` is refused
 * before it is even normalised (decomposed Vietnamese takes up to three units a letter).
 */
export function boundedText(value: string, max: number, onTooLong: () => Error): string | undefined {
  if (value.length > max * 4) throw onTooLong();
  const s = cleanText(value).trim();
  if (s.length > max) throw onTooLong();
  return s === '' ? undefined : s;
}

/** The first `max` UTF-16 units of a text, never cutting an emoji or other pair in half. */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const code = text.charCodeAt(max - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/** Lower-case, accent-free form: "Đường Bến Thành" -> "duong ben thanh". */
export function fold(text: string): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[đĐ]/g, 'd')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

// "Still not fixed": words by which a resident says a problem they (or others) reported goes on
// ("vẫn chưa sửa", "chưa khắc phục", "hư lại"); the reporter of a ticket resolved lately who says
// so reopens it (grouping.ts, decideReopen).
// With diacritics "vẫn" (still) alone says it; without, "van" is also văn/vân/vấn, so it counts
// only before what persists ("van chua", "van con"...).
const PERSISTS_MARKED = /(?:^|[^\p{L}])vẫn(?:$|[^\p{L}])/u;
const PERSISTS_FOLDED = / (?:van (?:chua|con|khong|bi|dang|tiep tuc|nhu cu)|chua (?:ai (?:xu ly|sua|don|toi|den)|duoc (?:xu ly|sua|khac phuc|giai quyet)|khac phuc|sua xong|xu ly xong)|khong (?:he )?duoc (?:khac phuc|sua)|(?:hu|hong) lai|da (?:phan anh|bao|goi) (?:roi|ma|nhung)|lai tiep tuc) /;

/**
 * Whether a text says its problem persists ("đèn vẫn chưa sửa", "van chua ai don"): a report of
 * something already known, not a new incident. `text` must already be bounded (client text).
 */
export function saysPersists(text: string): boolean {
  return PERSISTS_MARKED.test(text.normalize('NFC').toLowerCase()) || PERSISTS_FOLDED.test(` ${fold(text)} `);
}

/** Folded word tokens. */
export function tokens(text: string): string[] {
  const f = fold(text);
  return f ? f.split(' ') : [];
}

/** Syllable bigrams of folded text (with single syllables for very short texts). */
export function shingles(text: string): Set<string> {
  const t = tokens(text);
  const out = new Set<string>();
  for (let i = 0; i + 1 < t.length; i++) out.add(`${t[i]} ${t[i + 1]}`);
  if (t.length < 3) for (const w of t) out.add(w);
  return out;
}

/** Dice similarity of two texts' syllable bigrams, 0..1; accents and case do not matter. */
export function similarity(a: string, b: string): number {
  return dice(shingles(a), shingles(b));
}

/** Dice similarity of two sets (of `shingles`), 0..1. */
export function dice(x: ReadonlySet<string>, y: ReadonlySet<string>): number {
  if (x.size === 0 || y.size === 0) return 0;
  let common = 0;
  for (const s of x) if (y.has(s)) common++;
  return (2 * common) / (x.size + y.size);
}

// Units after a number that make it a measure, not a house number.
const UNITS = new Set(['cm', 'm', 'met', 'km', 'gio', 'h', 'phut', 'nguoi', 'ngay', 'lan', 'tieng', 'thang', 'nam', 'xe', 'tang', 'cai', 'con', 'ho', 'kg', 'tan']);
// Words that follow a house number but are not a street name.
const NOT_STREET = new Set(['phuong', 'quan', 'xa', 'huyen', 'tp', 'thanh', 'gio', 'phut', 'm', 'cm', 'met', 'km', 'nguoi', 'ngay', 'h', 'lan', 'tieng', 'xe', 'cai', 'con', 'ho', 'cay', 'den', 'nam', 'thang']);

/** At most this many place keys come from one text: a report names a place or two. */
export const PLACE_KEYS_MAX = 24;
/** At most this many are kept for a ticket, the first ones its reports named. */
export const TICKET_PLACE_KEYS_MAX = 64;

const HOUSE_NUMBER = /^\d+[a-z]?(?:\/\d+[a-z]?)*$/;
const WORD = /^[a-z]+$/;

/**
 * Place keys of a text: "312/46|le loi" for a house number on a street, "street|le loi" for a
 * street named after a house number or after "đường"/"phố". Two reports naming the same house
 * are about the same place even when one has a GPS point and the other only words.
 *
 * A house number pairs with the street mentioned nearest to it (and each street with its
 * nearest number), never with every street of the text: crafted text naming hundreds of both
 * would otherwise make their product (hundreds of thousands of keys). At most PLACE_KEYS_MAX
 * keys, in the order the text names them. One pass over the words: linear in the length.
 */
export function placeKeys(text: string): Set<string> {
  const w = text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[đĐ]/g, 'd').toLowerCase()
    .replace(/[^a-z0-9/]+/g, ' ').trim().split(' ');
  const streets: { name: string; at: number }[] = [];
  const numbers: { n: string; at: number }[] = [];
  /** The letters a word starts with ("m" of "m2"). */
  const letters = (i: number) => /^[a-z]*/.exec(w[i] ?? '')![0];
  const streetAt = (i: number) => {
    const a = w[i];
    const b = letters(i + 1);
    if (a && b && WORD.test(a) && !NOT_STREET.has(a)) streets.push({ name: `${a} ${b}`, at: i });
  };
  for (let i = 0; i < w.length; i++) {
    const word = w[i]!;
    if (HOUSE_NUMBER.test(word)) {
      // "12 Lê Lợi", "12 đường Lê Lợi"; "12 đường" at the end names the street "đường ...".
      const via = (w[i + 1] === 'duong' || w[i + 1] === 'pho') && w[i + 3] !== undefined ? i + 2 : i + 1;
      streetAt(via);
      // House numbers: "312/46", "47B", or two digits or more not followed by a unit.
      if ((word.includes('/') || /[a-z]$/.test(word) || word.length >= 2) && !UNITS.has(letters(i + 1))) numbers.push({ n: word, at: i });
    } else if (word === 'duong' || word === 'pho') {
      streetAt(i + 1);
    }
  }
  const out = new Set<string>();
  const add = (key: string) => { if (out.size < PLACE_KEYS_MAX) out.add(key); };
  const nearest = <T extends { at: number }>(list: T[], at: number): T | undefined => {
    let best: T | undefined;
    for (const x of list) if (!best || Math.abs(x.at - at) < Math.abs(best.at - at)) best = x;
    return best;
  };
  // Walk the mentions in text order; each takes its nearest partner. Both lists are capped first,
  // so finding the nearest costs a bounded amount per mention.
  const cap = PLACE_KEYS_MAX * 2;
  const st = streets.slice(0, cap);
  const nu = numbers.slice(0, cap);
  for (const s of st) {
    add(`street|${s.name}`);
    const n = nearest(nu, s.at);
    if (n) add(`${n.n}|${s.name}`);
  }
  for (const n of nu) {
    const s = nearest(st, n.at);
    if (s) add(`${n.n}|${s.name}`);
  }
  return out;
}

/** The keys of `a` then those of `b` not in it, at most `max` (first named first). */
export function mergeKeys(a: Iterable<string>, b: Iterable<string>, max = TICKET_PLACE_KEYS_MAX): string[] {
  const out = new Set<string>();
  for (const list of [a, b]) {
    for (const k of list) {
      if (out.size >= max) return [...out];
      out.add(k);
    }
  }
  return [...out];
}
