import { fold } from '../engine/text.ts';
import { HEURISTIC_READER, streetKey, type PlaceReader } from './place-reader.ts';
import { PlaceSuggester } from './suggest.ts';

/** A unit in force (post-July-2025 in HCMC). */
export interface GazetteerUnit {
  code: string;
  name: string;
  /** The name without its unit prefix ("Bến Thành"), when the importer knows it. */
  short_name?: string;
}

/** A ward of the former system, with its district. */
export interface OldWard {
  code: string;
  name: string;
  district: string;
}

/** One old -> new row; an old ward split between several new units has several rows, each partial. */
export interface WardMapping {
  old_code: string | null;
  old_name: string;
  old_district: string;
  new_code: string;
  partial: boolean;
}

/**
 * Where a street runs in one former district: the units in force along it there, by name (the
 * city's street table, seed/hcmc/street-units.json). Each must be one of the units the
 * district's former wards became.
 */
export interface StreetUnits {
  street: string;
  district: string;
  units: string[];
}

/**
 * A ward merged into another before the former-ward list's date that residents still write
 * ("Phường 7, Quận 10", merged into Phường 6 on 1 Jan 2025): its district, its name, and the
 * ward(s) of the list it became (two when it was divided).
 */
export interface FormerWardMerge {
  district: string;
  ward: string;
  into: string[];
}

export interface AddressMatch {
  /** The unit when the address decides it, else null. */
  code: string | null;
  /** Every unit the address may mean (one when decided). */
  candidates: string[];
  source: 'new_name' | 'old_address' | 'old_district' | 'bare_name' | 'none';
  ambiguous: boolean;
  reason: string;
  /**
   * Of several candidates, the one the words most likely mean, for an agent to confirm when
   * nothing else decides: of a former ward divided between units, the one that kept its code or
   * its name; else the one a street the words name is named after ("đường Phú Định, phường 16
   * quận 8": Phường Phú Định).
   */
  likely?: string;
  /** Why `likely` (for the decision's reasons). */
  likelyWhy?: string;
}

interface WardMention {
  key: string;
  kind: string;
  /** Position and length in the normalised text, to keep district lookup off the ward's own words. */
  at: number;
  len: number;
}

/** Ward mentions read from one text (see Gazetteer#findWards). */
const WARD_MENTIONS_MAX = 16;

const PREFIX = /^(phuong|xa|thi tran|dac khu|quan|huyen|thanh pho|thi xa)\s+/;

// Residents' abbreviations, applied to folded text (punctuation already turned into spaces).
const ABBREVIATIONS: [RegExp, string][] = [
  [/\b(?:p|f|ph|phuong)\s?(\d{1,2})\b/g, 'phuong $1'],
  [/\b(?:q|quan)\s?(\d{1,2})\b/g, 'quan $1'],
  [/\btp\s?hcm\b|\bhcm\b|\bhcmc\b|\bsai gon cu\b/g, 'thanh pho ho chi minh'],
  [/\btp\b/g, 'thanh pho'],
  [/\btx\b/g, 'thi xa'],
  [/\btt\b/g, 'thi tran'],
  [/\bp\b|\bf\b/g, 'phuong'],
  [/\bq\b/g, 'quan'],
  [/\bx\b/g, 'xa'],
  [/\bh\b/g, 'huyen'],
  [/\bkp\b/g, 'khu pho'],
  [/\bhxh\b/g, 'hem xe hoi'],
  [/\bsn\b/g, 'so nha'],
];


/** Folded address with abbreviations expanded: "P.12, Q.3" -> "phuong 12 quan 3". */
export function normaliseAddress(text: string): string {
  let s = ` ${fold(text)} `;
  for (const [re, to] of ABBREVIATIONS) s = s.replace(re, to);
  return s.replace(/\s+/g, ' ').trim();
}

/** A letter only Vietnamese spelled with its marks has: a text with none says nothing of them. */
const VIETNAMESE_MARKS = /[àáảãạăắằẳẵặâấầẩẫậđèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵ]/iu;
/** A unit's kind before its name, as written ("Xã Thạnh An"). */
const UNIT_PREFIX = /^(phường|xã|thị trấn|đặc khu)\s+/u;
const bare = (name: string) => fold(name).replace(PREFIX, '');
const kindOf = (name: string) => PREFIX.exec(fold(name))?.[1] ?? '';

/**
 * Address text -> unit, through the units in force and, where the city has them, the former
 * wards and districts with the old -> new mapping. Pure and built once from data files.
 */
export class Gazetteer {
  readonly #units: { code: string; key: string; kind: string; name: string }[];
  readonly #oldByDistrict = new Map<string, OldWard[]>();
  readonly #districtKeys: string[];
  readonly #mapping = new Map<string, string[]>();
  readonly #wholeDistrict = new Map<string, string[]>();
  readonly #oldWardKeys: string[];
  readonly #oldByName = new Map<string, OldWard[]>();
  /** Every ward name a mention may carry, longest first (built once). */
  readonly #wardNames: string[];
  /** Initials of ward names of three syllables or more ("bhh a", "bhha" -> "binh hung hoa a"), where one name has them. */
  readonly #wardInitials = new Map<string, string>();
  /** "district|ward" (folded, bare) of a ward merged before the list's date -> the wards it became. */
  readonly #merged = new Map<string, string[]>();
  /** Folded street -> folded former district -> the units in force along it there. */
  readonly #streetUnits = new Map<string, Map<string, Set<string>>>();
  /** How a place is read from words (the city's streets and landmarks, when the profile has them). */
  places: PlaceReader = HEURISTIC_READER;
  /** Address suggestions (units, former wards; the city's streets and landmarks when loadGazetteer has them). */
  suggester: PlaceSuggester;

  /**
   * `districtAliases`: district names residents still write that now mean another (folded, e.g.
   * HCMC's "quan 2" -> "thu duc"); the city profile gives them.
   */
  /**
   * `merges`: wards merged before the former-ward list's date that residents still write (HCMC:
   * "P7 Q3" is Võ Thị Sáu since 2020, "P7 Q10" Phường 6 since 2025).
   */
  constructor(units: GazetteerUnit[], oldWards: OldWard[] = [], mapping: WardMapping[] = [], private readonly districtAliases: Record<string, string> = {}, merges: readonly FormerWardMerge[] = []) {
    this.#units = units.map((u) => ({ code: u.code, key: bare(u.short_name ?? u.name), kind: kindOf(u.name), name: u.name }));
    this.suggester = new PlaceSuggester({ units, oldWards, mapping });
    for (const w of oldWards) {
      const d = bare(w.district);
      this.#oldByDistrict.set(d, [...(this.#oldByDistrict.get(d) ?? []), w]);
      const k = bare(w.name);
      this.#oldByName.set(k, [...(this.#oldByName.get(k) ?? []), w]);
    }
    for (const m of mapping) {
      if (m.old_code === null) {
        const d = bare(m.old_district);
        this.#wholeDistrict.set(d, [...new Set([...(this.#wholeDistrict.get(d) ?? []), m.new_code])]);
        continue;
      }
      this.#mapping.set(m.old_code, [...new Set([...(this.#mapping.get(m.old_code) ?? []), m.new_code])]);
    }
    this.#districtKeys = [...new Set([...this.#oldByDistrict.keys(), ...this.#wholeDistrict.keys()])].sort((a, b) => b.length - a.length);
    this.#oldWardKeys = [...this.#oldByName.keys()].filter((k) => !/^\d+$/.test(k)).sort((a, b) => b.length - a.length);
    this.#wardNames = [...new Set([...this.#units.map((u) => u.key), ...this.#oldWardKeys])].sort((a, b) => b.length - a.length);
    const initials = new Map<string, Set<string>>();
    for (const name of this.#wardNames) {
      const w = name.split(' ');
      const suffix = w.length > 1 && /^[a-d]$/.test(w[w.length - 1]!) ? w.pop()! : '';
      if (w.length < 3 || !w.every((x) => /^[a-z]+$/.test(x))) continue;
      const abbr = w.map((x) => x[0]).join('');
      for (const form of suffix ? [`${abbr} ${suffix}`, `${abbr}${suffix}`] : [abbr]) initials.set(form, (initials.get(form) ?? new Set()).add(name));
    }
    for (const [abbr, names] of initials) if (names.size === 1) this.#wardInitials.set(abbr, [...names][0]!);
    for (const m of merges) {
      const d = this.districtAliases[fold(m.district)] ?? bare(m.district);
      this.#merged.set(`${d}|${bare(m.ward)}`, m.into.map(bare));
    }
  }

  /** The folded names of units, former wards and districts (a street of one of these names needs a cue). */
  names(): string[] {
    return [...this.#wardNames, ...this.#districtKeys];
  }

  /**
   * The units in force that cover a former district, by its name as written ("Quận 2" is Thủ Đức
   * City's part now): the new units of its former wards.
   */
  unitsOfDistrict(name: string): string[] {
    const folded = fold(name);
    const key = this.districtAliases[folded] ?? bare(name);
    return [...new Set([...(this.#wholeDistrict.get(key) ?? []), ...this.#unitsOfOldWards(key)])];
  }

  /** The units in force a former district's wards became. */
  #unitsOfOldWards(district: string): string[] {
    return [...new Set((this.#oldByDistrict.get(district) ?? []).flatMap((o) => this.#mapping.get(o.code) ?? []))];
  }

  /**
   * The units the streets a text names may lie in (a street runs through the districts that
   * list it; two streets named, as at a corner, narrow it to the units both may be in).
   */
  unitsOfStreets(streets: readonly string[]): string[] {
    let units: Set<string> | null = null;
    for (const st of streets) {
      const here = new Set((this.places.districtsOf?.(st) ?? []).flatMap((d) => this.unitsOfDistrict(d)));
      if (here.size === 0) continue;
      const both: Set<string> = units === null ? here : new Set([...units].filter((u) => here.has(u)));
      if (both.size > 0) units = both;
    }
    return units ? [...units].sort() : [];
  }

  /**
   * Learns where streets run, district by district (`StreetUnits`); returns what it could not
   * place (a district it does not know, a unit none of the district's former wards became), for
   * the loader to refuse.
   */
  addStreetUnits(entries: readonly StreetUnits[]): string[] {
    const unknown: string[] = [];
    for (const e of entries) {
      const district = this.districtAliases[fold(e.district)] ?? bare(e.district);
      const inDistrict = this.unitsOfDistrict(e.district);
      const key = streetKey(e.street);
      const byDistrict = this.#streetUnits.get(key) ?? new Map<string, Set<string>>();
      const units = byDistrict.get(district) ?? new Set<string>();
      for (const name of e.units) {
        const unit = this.#units.find((u) => inDistrict.includes(u.code) && u.key === bare(name) && (!kindOf(name) || u.kind === kindOf(name)));
        if (unit) units.add(unit.code);
        else unknown.push(`${e.street}: ${name} is no unit of ${e.district}`);
      }
      if (units.size > 0) this.#streetUnits.set(key, byDistrict.set(district, units));
    }
    return unknown;
  }

  /**
   * Of an ambiguous reading's candidates, those the named streets run through, as the street
   * table says: a candidate stays when a street named runs through it, or lies in a former
   * district the street list gives the street and the table does not cover (the table may be
   * shorter than the list). Two streets named (a corner) keep the units both run through. Empty
   * when the table says nothing about them.
   */
  unitsAlong(streets: readonly string[], candidates: readonly string[]): string[] {
    let kept: Set<string> | null = null;
    for (const st of streets.slice(0, 8)) {
      const table = this.#streetUnits.get(st);
      if (!table) continue;
      const along = new Set([...table.values()].flatMap((u) => [...u]));
      for (const d of this.places.districtsOf?.(st) ?? []) {
        const key = this.districtAliases[fold(d)] ?? bare(d);
        if (!table.has(key)) for (const u of this.unitsOfDistrict(d)) along.add(u);
      }
      const here = new Set(candidates.filter((c) => along.has(c)));
      if (here.size === 0) continue; // another district's street of that name
      const both: Set<string> = kept === null ? here : new Set([...kept].filter((u) => here.has(u)));
      if (both.size > 0) kept = both;
    }
    const units = kept;
    return units ? candidates.filter((c) => units.has(c)) : [];
  }

  /**
   * Of several candidates, the one unit the street table gives a named street, when it lists that
   * street in one former district only and there in one unit: the table keeps the main streets,
   * so words naming such a street alone most likely mean it rather than a namesake elsewhere in
   * the merged city ("Hải Thượng Lãn Ông": Chợ Lớn, not the street of that name in Vũng Tàu). A
   * guess for an agent to confirm, not a decision.
   */
  mainStreetUnit(streets: readonly string[], candidates: readonly string[]): { likely: string; likelyWhy: string } | null {
    for (const st of streets.slice(0, 8)) {
      const table = this.#streetUnits.get(st);
      if (!table || table.size !== 1) continue;
      const units = [...table.values()][0]!;
      if (units.size !== 1) continue;
      const unit = [...units][0]!;
      if (!candidates.includes(unit)) continue;
      const name = this.#units.find((u) => u.code === unit)?.name ?? unit;
      return { likely: unit, likelyWhy: `the city's street table has ${st} in one former district only, there in ${name}: likely ${name}, one of its candidates` };
    }
    return null;
  }

  /**
   * Finds the unit an address (or free text) names. `streets`: the folded names of the streets
   * it names (the place reader's), whose words are no bare unit name ("Đình Phong Phú" is a
   * street, not the former ward Phong Phú).
   */
  match(text: string, streets: readonly string[] = []): AddressMatch {
    // "ai đi hướng Q6 thì tránh": a district after "hướng"/"phía" is where traffic goes, not where
    // the report is.
    const s = ` ${normaliseAddress(text)} `.replace(/ (huong|phia)( ve)? (?:quan|huyen|thanh pho|thi xa) /g, ' $1$2 toi ')
      // "phường BHH A": a ward by its initials
      .replace(/ (phuong|xa) ([a-z]{3,6})(?: ([a-d]))?(?= )/g, (all, kind: string, abbr: string, suffix?: string) => {
        const name = (suffix ? this.#wardInitials.get(`${abbr} ${suffix}`) : undefined) ?? this.#wardInitials.get(abbr);
        return name ? ` ${kind} ${name}${suffix && !name.endsWith(` ${suffix}`) ? ` ${suffix}` : ''}` : all;
      });
    const m = this.#match(s, streets);
    if (!m.ambiguous) return m;
    const spelled = this.#spelled(text, m.candidates);
    if (spelled) return { ...m, code: spelled.code, candidates: [spelled.code], ambiguous: false, reason: `${m.reason}, spelled ${spelled.name}` };
    // Likely, not decided: grouping still looks in every candidate (the name may be a landmark's
    // or a street's named after a neighbouring unit).
    const named = this.#namedAmong(s, streets, m.candidates);
    if (named) return { ...m, likely: named.code, likelyWhy: `the words also name ${named.name}, one of its candidates` };
    if (m.likely) return m;
    const namesake = this.namesake(m.candidates, streets);
    return namesake ? { ...m, ...namesake } : m;
  }

  /**
   * Of candidates whose names fold alike ("Xã Thanh An", "Xã Thạnh An"), the one a text written
   * with diacritics spells exactly; a text without any says nothing between them.
   */
  #spelled(text: string, candidates: readonly string[]): { code: string; name: string } | null {
    const nfc = text.normalize('NFC');
    if (!VIETNAMESE_MARKS.test(nfc)) return null;
    const lower = ` ${nfc.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ' ')} `;
    const units = this.#units.filter((u) => candidates.includes(u.code));
    const hits = units.filter((u) => lower.includes(` ${u.name.normalize('NFC').toLowerCase().replace(UNIT_PREFIX, '')} `));
    const hit = hits.length === 1 ? hits[0]! : null;
    return hit && units.some((u) => u !== hit && u.key === hit.key) ? hit : null;
  }

  /**
   * Of several candidates, the unit a named street bears the name of: a ward is often named after
   * the road through it (đường Phú Định, Phường Phú Định), so it is a likely guess, not a decision.
   */
  namesake(candidates: readonly string[], streets: readonly string[]): { likely: string; likelyWhy: string } | null {
    const hits = this.#units.filter((u) => candidates.includes(u.code) && streets.includes(u.key));
    if (hits.length !== 1) return null;
    return { likely: hits[0]!.code, likelyWhy: `the street ${hits[0]!.key} bears the name of ${hits[0]!.name}, one of its candidates` };
  }

  /**
   * Of an ambiguous reading's candidates, the one unit whose own name the words also give, outside
   * the streets they name and the ward and district mentions ("nhà thờ Chợ Quán, quận 5": Phường
   * Chợ Quán); not a name inside a longer former ward's ("Bình Hưng Hòa A").
   */
  #namedAmong(s: string, streets: readonly string[], candidates: readonly string[]): { code: string; name: string } | null {
    let free = s;
    for (const st of streets) free = free.replaceAll(` ${st} `, ` ${'_'.repeat(st.length)} `);
    const longer = this.#oldWardKeys.filter((k) => k.includes(' ') && free.includes(` ${k} `));
    // Unprefixed: a prefixed name is the ward or district mention that made the candidates.
    const unprefixed = (key: string) => !new RegExp(` (?:quan|huyen|thanh pho|thi xa|phuong|xa|thi tran|dac khu) ${key} `).test(free) && free.includes(` ${key} `);
    const hits = this.#units.filter((u) => candidates.includes(u.code) && u.key.includes(' ') && !this.#districtKeys.includes(u.key)
      && unprefixed(u.key) && !longer.some((k) => k !== u.key && k.includes(u.key)));
    return hits.length === 1 ? hits[0]! : null;
  }

  #match(s: string, streets: readonly string[]): AddressMatch {
    const wards = this.#findWards(s);
    const district = this.#findDistrict(s, wards);
    if (district && wards.length === 0) {
      // "Thảo Điền, Quận 2": a former ward of that district named without its prefix.
      const named = (this.#oldByDistrict.get(district) ?? []).filter((o) => !/^\d+$/.test(bare(o.name)) && s.includes(` ${bare(o.name)} `));
      for (const o of named) wards.push({ key: bare(o.name), kind: '', at: s.indexOf(` ${bare(o.name)} `), len: bare(o.name).length });
    }

    for (const w of wards) {
      if (district) {
        const own = (this.#oldByDistrict.get(district) ?? []).some((o) => bare(o.name) === w.key);
        const keys = own ? [w.key] : this.#merged.get(`${district}|${w.key}`) ?? [w.key];
        const olds = (this.#oldByDistrict.get(district) ?? []).filter((o) => keys.includes(bare(o.name)));
        const codes = [...new Set(olds.flatMap((o) => this.#mapping.get(o.code) ?? []))];
        const merged = own || keys[0] === w.key ? '' : ` (merged into ${keys.join(' and ')} before 2025)`;
        if (codes.length) return this.#result(codes, 'old_address', `old ward ${w.key}, district ${district}${merged}`, olds.length === 1 ? this.#successor(olds[0]!, codes) : undefined);
      }
      const unit = this.#units.filter((u) => u.key === w.key && (!w.kind || !u.kind || u.kind === w.kind || w.kind === 'phuong' && u.kind === 'xa'));
      if (unit.length === 1 && unit[0]) return this.#result([unit[0].code], 'new_name', `names ${unit[0].name}`);
      if (!/^\d+$/.test(w.key)) {
        const olds = this.#oldByName.get(w.key) ?? [];
        const codes = [...new Set(olds.flatMap((o) => this.#mapping.get(o.code) ?? []))];
        if (codes.length) return this.#result(codes, 'old_address', `old ward ${w.key}`, olds.length === 1 ? this.#successor(olds[0]!, codes) : undefined);
      }
    }
    if (district) {
      const whole = this.#wholeDistrict.get(district);
      if (whole) return this.#result(whole, 'old_district', `district ${district}`);
      // No ward named, or one the district no longer had by 2025 ("P7 Q3", merged in 2020).
      const codes = this.#unitsOfOldWards(district);
      if (codes.length) return this.#result(codes, 'old_district', wards.length === 0 ? `district ${district} only` : `district ${district}, ward ${wards[0]!.key} not one of its wards`);
    }
    // A unit's name without a prefix ("chợ Bến Thành"): only names of two syllables or more.
    let free = s;
    for (const st of streets) free = free.replaceAll(` ${st} `, ` ${'_'.repeat(st.length)} `);
    // Not a direction ("ai đi phía quận Bình Thạnh thì né").
    const toward = (key: string) => / (?:huong|phia)(?: ve)?(?: toi)? $/.test(free.slice(0, free.indexOf(` ${key} `) + 1));
    const allHits = this.#units.filter((u) => u.key.includes(' ') && free.includes(` ${u.key} `) && !toward(u.key));
    // "Bà Điểm, Hóc Môn": a ward and, without its prefix, the former district it was in.
    const bareHits = allHits.filter((h) => !allHits.some((o) => o !== h && this.unitsOfDistrict(h.key).includes(o.code)));
    const longest = bareHits.sort((a, b) => b.key.length - a.key.length);
    // A former ward's name, longer than any unit's it holds ("Tân Phú Trung" holds "Tân Phú"):
    // the units it became; not a direction ("về hướng Thủ Thiêm").
    const formerWard = this.#oldWardKeys.find((k) => k.includes(' ') && free.includes(` ${k} `) && !/ (?:huong|phia) $/.test(free.slice(0, free.indexOf(` ${k} `) + 1)));
    if (formerWard && !longest.some((h) => h.key.length >= formerWard.length)) {
      const codes = [...new Set((this.#oldByName.get(formerWard) ?? []).flatMap((o) => this.#mapping.get(o.code) ?? []))];
      if (codes.length) return this.#result(codes, 'bare_name', `mentions the former ward ${formerWard}`);
    }
    if (longest.length && longest[0] && longest.every((h) => longest[0]!.key.includes(h.key))) {
      // "Nguyễn Hữu Cảnh (Bình Thạnh)": a bare name that is also a former district's means either.
      const district = this.unitsOfDistrict(longest[0].key);
      if (district.length > 1 && !/ (?:phuong|xa) $/.test(s.slice(0, s.indexOf(` ${longest[0].key} `) + 1))) {
        return this.#result([...new Set([longest[0].code, ...district])], 'bare_name', `mentions ${longest[0].name}, also a former district's name`);
      }
      return this.#result([longest[0].code], 'bare_name', `mentions ${longest[0].name}`);
    }
    return { code: null, candidates: [], source: 'none', ambiguous: false, reason: 'no unit named' };
  }

  #result(codes: string[], source: AddressMatch['source'], reason: string, likely?: string): AddressMatch {
    const ambiguous = codes.length > 1;
    const why = `most of the former ward went to ${this.#units.find((u) => u.code === likely)?.name ?? likely} (it kept the ward's code or name)`;
    return { code: ambiguous ? null : (codes[0] ?? null), candidates: codes, source, ambiguous, reason, ...(ambiguous && likely ? { likely, likelyWhy: why } : {}) };
  }

  /**
   * The unit a divided former ward most likely went to: the one that kept its statistics code
   * (a new unit takes the code of the ward it was built around), else the one that kept its name.
   */
  #successor(old: OldWard, codes: string[]): string | undefined {
    if (codes.includes(old.code)) return old.code;
    return this.#units.find((u) => codes.includes(u.code) && u.key === bare(old.name))?.code;
  }

  #findDistrict(s: string, wards: WardMention[]): string | null {
    for (const [alias, to] of Object.entries(this.districtAliases)) if (s.includes(` ${alias} `)) return to;
    const m = / quan (\d{1,2}) /.exec(s);
    if (m && this.#oldByDistrict.has(m[1]!)) return m[1]!;
    for (const key of this.#districtKeys) {
      if (/^\d+$/.test(key)) continue;
      if (new RegExp(` (?:quan|huyen|thanh pho|thi xa) ${key} `).test(s)) return key;
    }
    // "Phường 12, Bình Thạnh": a district named without its prefix, outside the ward mentions.
    if (wards.length) {
      let rest = s;
      for (const w of wards) rest = rest.slice(0, w.at) + ' '.repeat(w.len + 1) + rest.slice(w.at + w.len + 1);
      for (const key of this.#districtKeys) if (!/^\d+$/.test(key) && key.includes(' ') && rest.includes(` ${key} `)) return key;
    }
    return null;
  }

  /**
   * The ward mentions of an address, at most WARD_MENTIONS_MAX (from four times as many unit
   * words): an address names one ward, a text a few; crafted text repeating "p " thousands of
   * times would otherwise cost a scan of every ward name per repetition.
   */
  #findWards(s: string): WardMention[] {
    const out: WardMention[] = [];
    const re = / (phuong|xa|thi tran|dac khu) /g;
    let m: RegExpExecArray | null;
    const names = this.#wardNames;
    for (let seen = 0; seen < WARD_MENTIONS_MAX * 4 && out.length < WARD_MENTIONS_MAX && (m = re.exec(s)); seen++) {
      const rest = s.slice(m.index + m[0].length);
      const num = /^(\d{1,2}) /.exec(rest);
      if (num) {
        out.push({ key: num[1]!, kind: m[1]!, at: m.index, len: m[0].length + num[1]!.length });
        continue;
      }
      const name = names.find((n) => rest.startsWith(`${n} `));
      if (name) out.push({ key: name, kind: m[1]!, at: m.index, len: m[0].length + name.length });
      re.lastIndex = m.index + m[0].length - 1;
    }
    return out;
  }
}
