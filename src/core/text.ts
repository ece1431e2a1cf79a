/**
 * Vietnamese text normalisation: Unicode NFC, then a folded form (no diacritics, đ -> d,
 * lower case, single spaces) kept beside the original, so text typed with or without accents
 * compares the same.
 */
export function nfc(text: string): string {
  return text.normalize('NFC').replace(/\s+/g, ' ').trim();
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
  const x = shingles(a);
  const y = shingles(b);
  if (x.size === 0 || y.size === 0) return 0;
  let common = 0;
  for (const s of x) if (y.has(s)) common++;
  return (2 * common) / (x.size + y.size);
}

// Units after a number that make it a measure, not a house number.
const UNITS = new Set(['cm', 'm', 'met', 'km', 'gio', 'h', 'phut', 'nguoi', 'ngay', 'lan', 'tieng', 'thang', 'nam', 'xe', 'tang', 'cai', 'con', 'ho', 'kg', 'tan']);
// Words that follow a house number but are not a street name.
const NOT_STREET = new Set(['phuong', 'quan', 'xa', 'huyen', 'tp', 'thanh', 'gio', 'phut', 'm', 'cm', 'met', 'km', 'nguoi', 'ngay', 'h', 'lan', 'tieng', 'xe', 'cai', 'con', 'ho', 'cay', 'den', 'nam', 'thang']);

/**
 * Place keys of a text: "312/46|le loi" for a house number on a street, "street|le loi" for a
 * street named after "đường" or "hẻm ... đường". Two reports naming the same house are about
 * the same place even when one has a GPS point and the other only words.
 */
export function placeKeys(text: string): Set<string> {
  const f = ` ${text.normalize('NFD').replace(/[\u0300-\u036f]/g, '').replace(/[đĐ]/g, 'd').toLowerCase()
    .replace(/[^a-z0-9/]+/g, ' ').replace(/\s+/g, ' ')} `;
  const streets = new Set<string>();
  const numbers = new Set<string>();
  let m: RegExpExecArray | null;
  const numbered = / (\d+[a-z]?(?:\/\d+[a-z]?)*) (?:duong |pho )?([a-z]+) ([a-z]+)/g;
  while ((m = numbered.exec(f))) {
    if (!NOT_STREET.has(m[2]!)) streets.add(`${m[2]} ${m[3]}`);
    numbered.lastIndex = m.index + 1;
  }
  const street = / (?:duong|pho) ([a-z]+) ([a-z]+)/g;
  while ((m = street.exec(f))) if (!NOT_STREET.has(m[1]!)) streets.add(`${m[1]} ${m[2]}`);
  // House numbers: "312/46", "47B", or two digits or more not followed by a unit.
  const num = / (\d+[a-z]?(?:\/\d+[a-z]?)*)(?= ([a-z]+)?)/g;
  while ((m = num.exec(f))) {
    const n = m[1]!;
    if ((n.includes('/') || /[a-z]$/.test(n) || n.length >= 2) && !UNITS.has(m[2] ?? '')) numbers.add(n);
  }
  const out = new Set<string>();
  for (const st of streets) {
    out.add(`street|${st}`);
    for (const n of numbers) out.add(`${n}|${st}`);
  }
  return out;
}
