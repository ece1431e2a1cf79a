// Suggestions for an address box while a resident types: the units in force, the former wards
// (old addresses still route), the city's landmarks and streets, matched on folded words (with
// or without diacritics, "p12 q3" as "phường 12 quận 3"). Built once from the gazetteer's data;
// a lookup is one pass over the names, bounded in the query's length and in the results.

import { fold } from '../engine/text.ts';
import type { GazetteerUnit, OldWard, WardMapping } from './gazetteer.ts';
import { normaliseAddress } from './gazetteer.ts';
import { SUGGESTION_KINDS, type PlaceSuggestion } from '../../wire/public-api.ts';

export { SUGGESTION_KINDS, type PlaceSuggestion, type SuggestionKind } from '../../wire/public-api.ts';

/** Longest query read (characters); a longer one is refused by the caller, this is the last guard. */
export const SUGGEST_QUERY_MAX = 80;
/** Most suggestions one lookup returns. */
export const SUGGEST_RESULTS_MAX = 8;
/** Fewest folded characters a lookup needs: one letter matches half the city. */
const QUERY_MIN = 2;

interface Entry extends PlaceSuggestion {
  /** Names it is known by, as folded words. */
  keys: string[][];
  rank: number;
}

/**
 * Whether the query's words start consecutive words of a name ("ng th minh" in "nguyen thi minh
 * khai"): 2 from its first word, 1 further in, 0 not at all. Linear in the name's words.
 */
function matchWords(q: readonly string[], name: readonly string[]): number {
  for (let i = 0; i + q.length <= name.length; i++) {
    let all = true;
    for (let j = 0; j < q.length && all; j++) all = name[i + j]!.startsWith(q[j]!);
    if (all) return i === 0 ? 2 : 1;
  }
  return 0;
}

/** The data suggestions are made of (the gazetteer's, and the city's streets and landmarks). */
export interface SuggestData {
  units: GazetteerUnit[];
  oldWards?: OldWard[];
  mapping?: WardMapping[];
  streets?: { name: string; district?: string }[];
  landmarks?: { name: string; aliases?: string[]; unit_code: string; lat?: number; lng?: number }[];
}

const PREFIX = /^(phuong|xa|thi tran|dac khu)\s+/;

/** Address suggestions over a city's places. */
export class PlaceSuggester {
  readonly #entries: Entry[] = [];

  constructor(data: SuggestData) {
    const unitName = new Map(data.units.map((u) => [u.code, u.name]));
    const unitOf = (code: string | undefined) => (code && unitName.has(code) ? { code, name: unitName.get(code)! } : null);
    const add = (e: Omit<Entry, 'rank' | 'keys'> & { keys: string[] }) =>
      this.#entries.push({ ...e, keys: [...new Set(e.keys)].filter(Boolean).map((k) => k.split(' ')), rank: SUGGESTION_KINDS.indexOf(e.kind) });
    for (const u of data.units) {
      const folded = fold(u.name);
      add({ kind: 'unit', label: u.name, value: u.name, unit: { code: u.code, name: u.name }, keys: [folded, folded.replace(PREFIX, '')] });
    }
    const successors = new Map<string, string[]>();
    for (const m of data.mapping ?? []) {
      if (m.old_code && unitName.has(m.new_code)) successors.set(m.old_code, [...new Set([...(successors.get(m.old_code) ?? []), m.new_code])]);
    }
    for (const w of data.oldWards ?? []) {
      const now = successors.get(w.code) ?? [];
      if (now.length === 0) continue;
      const value = `${w.name}, ${w.district}`;
      const folded = normaliseAddress(value);
      add({
        kind: 'former_ward', value, unit: now.length === 1 ? unitOf(now[0]) : null,
        label: `${value} (cũ) – nay thuộc ${now.map((c) => unitName.get(c)!).join(', ')}`,
        keys: [folded, fold(w.name).replace(PREFIX, '')],
      });
    }
    for (const l of data.landmarks ?? []) {
      const unit = unitOf(l.unit_code);
      if (!unit) continue;
      const point = Number.isFinite(l.lat) && Number.isFinite(l.lng) ? { point: { lat: l.lat!, lng: l.lng! } } : {};
      add({ kind: 'landmark', label: `${l.name} (${unit.name})`, value: l.name, unit, ...point, keys: [l.name, ...(l.aliases ?? [])].map(fold) });
    }
    // A street of one name in several former districts is offered once per district.
    const seen = new Set<string>();
    for (const s of data.streets ?? []) {
      const key = fold(s.name);
      if (!key || seen.has(`${key}|${s.district ?? ''}`)) continue;
      seen.add(`${key}|${s.district ?? ''}`);
      const name = /^\d/.test(s.name) || /^(đường|phố)\s/i.test(s.name) ? s.name : `Đường ${s.name}`;
      add({
        kind: 'street', label: s.district ? `${name}, ${s.district} (cũ)` : name, value: s.district ? `${name}, ${s.district}` : name, unit: null,
        keys: s.district ? [key, `${key} ${normaliseAddress(s.district)}`] : [key],
      });
    }
  }

  /** How many places it knows. */
  get size(): number {
    return this.#entries.length;
  }

  /**
   * At most `max` places whose words start with what `query` says (each folded word of the
   * query the start of a word of the place's name, in order: "ng th minh kh"), best first: a
   * name that starts with the query before one that has it further in, then by kind, then
   * shorter names.
   */
  suggest(query: string, max: number = SUGGEST_RESULTS_MAX): PlaceSuggestion[] {
    const q = normaliseAddress(query.slice(0, SUGGEST_QUERY_MAX));
    if (q.length < QUERY_MIN) return [];
    const words = q.split(' ');
    const hits: { e: Entry; score: number }[] = [];
    for (const e of this.#entries) {
      let best = 0;
      for (const k of e.keys) {
        best = Math.max(best, matchWords(words, k));
        if (best === 2) break;
      }
      if (best > 0) hits.push({ e, score: best });
    }
    hits.sort((a, b) => b.score - a.score || a.e.rank - b.e.rank || a.e.value.length - b.e.value.length || a.e.value.localeCompare(b.e.value, 'vi'));
    return hits.slice(0, Math.min(max, SUGGEST_RESULTS_MAX)).map(({ e }) => ({ kind: e.kind, label: e.label, value: e.value, unit: e.unit, ...(e.point ? { point: e.point } : {}) }));
  }
}
