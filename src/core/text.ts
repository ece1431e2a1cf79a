/**
 * Vietnamese text normalisation: Unicode NFC, then a folded form (no diacritics, đ -> d,
 * lower case, single spaces) kept beside the original, so text typed with or without accents
 * compares the same.
 */
export function nfc(text: string): string {
  return text.normalize('NFC').replace(/\s+/g, ' ').trim();
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
