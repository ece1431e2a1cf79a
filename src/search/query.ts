import { cleanText, clip } from '../core/engine/text.ts';

/** The longest search string read (UTF-16 units); the rest is dropped before anything else. */
export const QUERY_MAX = 200;
/** The most words a search uses (the others are dropped). */
export const TERMS_MAX = 8;
/** The longest word a search uses (a 200-digit "word" is cut here). */
export const TERM_MAX = 32;

/** A search string made safe: bounded, cleaned, split into words, folded for the engines. */
export interface SearchQuery {
  /** The string as used: cleaned, at most QUERY_MAX units. */
  text: string;
  /** Its words without diacritics, lower case, [a-z0-9] only, at most TERMS_MAX of TERM_MAX. */
  terms: string[];
  /** The same words as typed (lower case, with their diacritics), in the same order. */
  accented: string[];
}

/**
 * A letter without its diacritics, in lower case: "Ữ" -> "u", "đ"/"Đ" -> "d" (Unicode does
 * not decompose đ). One unit in, one string out, so positions can be mapped back (snippets).
 */
export function foldChar(ch: string): string {
  const code = ch.charCodeAt(0);
  if (code < 128) return code >= 65 && code <= 90 ? String.fromCharCode(code + 32) : ch;
  if (ch === 'đ' || ch === 'Đ') return 'd';
  return ch.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

/** A text folded as the search documents are (unaccent, lower, đ -> d). Callers bound its length. */
export function foldText(text: string): string {
  let out = '';
  for (const ch of text) out += foldChar(ch);
  return out;
}

/**
 * Reads a search string of any content (quotes, SQL, emoji, lone surrogates, NUL, 10,000
 * characters): cut to QUERY_MAX first, then cleaned and split on anything but letters and
 * digits. No word survives that could reach a query as syntax: terms are [a-z0-9] only.
 * Single letters are dropped when other words remain ("p 12" keeps "12").
 */
export function parseSearchQuery(raw: string): SearchQuery {
  const text = cleanText(clip(raw, QUERY_MAX)).replace(/\ufffd/g, ' ').trim();
  const words = text.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  const pairs: { term: string; accented: string }[] = [];
  for (const w of words) {
    const term = foldText(w).replace(/[^a-z0-9]/g, '').slice(0, TERM_MAX);
    if (!term) continue;
    const accented = w.slice(0, TERM_MAX * 2).replace(/[^\p{L}\p{N}]/gu, '');
    if (!pairs.some((p) => p.term === term && p.accented === accented)) pairs.push({ term, accented });
  }
  const kept = pairs.length > 1 ? pairs.filter((p) => p.term.length > 1 || /\d/.test(p.term)) : pairs;
  const chosen = (kept.length ? kept : pairs).slice(0, TERMS_MAX);
  return { text, terms: chosen.map((p) => p.term), accented: chosen.map((p) => p.accented) };
}

/** A piece of a ticket's text around what matched, with the matching words' ranges in it. */
export interface Snippet {
  text: string;
  /** [start, end) offsets into `text` (UTF-16 units) of the words that matched. */
  highlights: [number, number][];
}

const SNIPPET_BEFORE = 60;
const SNIPPET_LENGTH = 220;
/** How much of a document a snippet is looked for in. */
const SNIPPET_SCAN = 4000;

/**
 * The snippet of `body` for `terms`: the words that start with a term (folded), the window
 * around the first of them. No match (a typo hit): the text's start. Linear in the text.
 */
export function snippetOf(body: string, terms: string[]): Snippet {
  const text = clip(body, SNIPPET_SCAN);
  // Words of the text with their folded form and offsets.
  const words: { start: number; end: number; folded: string }[] = [];
  let cur: { start: number; folded: string } | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    const f = foldChar(ch);
    const isWord = /[a-z0-9]/.test(f) && f.length === 1;
    if (isWord) {
      if (cur) cur.folded += f;
      else cur = { start: i, folded: f };
    } else if (cur) {
      words.push({ ...cur, end: i });
      cur = null;
    }
  }
  if (cur) words.push({ ...cur, end: text.length });
  const hits = words.filter((w) => terms.some((t) => w.folded.startsWith(t)));
  const from = hits.length ? Math.max(0, hits[0]!.start - SNIPPET_BEFORE) : 0;
  // Start and end on word boundaries.
  const startWord = words.find((w) => w.end > from);
  const start = from === 0 || !startWord ? 0 : startWord.start;
  let end = Math.min(text.length, start + SNIPPET_LENGTH);
  const cut = words.find((w) => w.start < end && w.end > end);
  if (cut) end = cut.start;
  return {
    text: text.slice(start, end).trimEnd(),
    highlights: hits.filter((w) => w.start >= start && w.end <= end).map((w) => [w.start - start, w.end - start]),
  };
}
