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
