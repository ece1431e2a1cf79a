import { sql } from 'kysely';
import { jsonParam } from '../../db/records.ts';
import type { DbOrTx } from '../../db/schema.ts';
import type { Reason } from '../../wire/staff-api.ts';
import { boxAround, cellOf, cellsAround, distanceMetres } from '../places/geo.ts';
import { normaliseAddress } from '../places/gazetteer.ts';
import { dice, fold, mergeKeys, placeKeys, saysPersists, shingles } from './text.ts';
import { isOpen, OPEN_STATUSES, REOPEN_WINDOW_DAYS } from '../tickets/statuses.ts';
import { REOPEN_TRANSITION } from '../staff/policy.ts';

/** `reopen`: the reporter of a resolved ticket says its problem goes on; the report reopens it. */
export type Relation = 'new' | 'same_citizen' | 'duplicate' | 'reopen';


/** Same-incident radius of a category without one (a category of another city's list in a replay). */
export const DEFAULT_RADIUS_M = 100;
/** The widest radius another topic's ticket is looked for within (the lookup's box is three of the report's own). */
const MAX_RADIUS_M = 300;
/**
 * The incident window of a category without one: a report joins an open ticket within a week of
 * its latest report and a month of its first (a condition, reported again while it lasts).
 */
export const DEFAULT_WINDOW_H = 168;
export const DEFAULT_SPAN_H = 720;

export const GROUPING = {
  /** A citizen's repeat on the same topic joins their ticket within this many hours of their last report. */
  sameCitizenHours: 72,
  /** A citizen's repeat about the same house joins across topics when the topic is this unsure... */
  vagueTopicMax: 0.6,
  /** ...and within this many hours. */
  vagueSameCitizenHours: 12,
  /** Beyond this distance a citizen's second report is a different place, hence a different problem. */
  sameCitizenMaxMetres: 1000,
  /** A closed ticket still takes the same citizen's repeat for this many days. */
  closedGraceDays: 3,
  /** Reports without a point: same unit, same topic and this much text/address similarity... */
  textMatchMin: 0.35,
  /**
   * Alike texts alone (no shared point, house, landmark or street) are weak evidence of one
   * place: they join a ticket only this many hours after its latest report, however long the
   * category's window.
   */
  wordsOnlyHours: 24,
  /**
   * The unit alone (neither side names a place against the other) reaches this far back, for the
   * only such ticket; as far as the category's window for a report that says its problem goes on
   * ("vẫn chưa sửa": a repeat of something reported, not a second lamp out in the ward).
   */
  unitOnlyHours: 24,
  /**
   * A ticket whose words left several units, one of them where a report's point lies, is the
   * unit's one open ticket on the topic for that report only this many hours after its latest
   * report (a GPS report minutes after a call that named the street and the former district):
   * it may lie in another unit.
   */
  unsureUnitOnlyHours: 3,
  /**
   * A point this near a landmark of the city's list is at that landmark (a market, a school, a
   * bridge: their grounds run to a couple of hundred metres, and the list gives one point for each).
   */
  landmarkReachM: 250,
  /** A place with this many tickets closed in the lookback becomes a hotspot. */
  hotspotMin: 2,
  hotspotLookbackDays: 60,
};

export interface GroupInput {
  citizenId: number | null;
  /** The report's place keys (`placeKeys` of its address and text); derived when absent. */
  keys?: ReadonlySet<string>;
  category: string | null;
  /** The category's same-incident radius in metres (`categories.duplicate_radius_m`); DEFAULT_RADIUS_M when absent. */
  radiusM?: number;
  /**
   * Every category's radius and window, for tickets on another of its topics: their incident's
   * radius, and the shorter of the two windows (a flood is over by the next day, whatever the
   * report that finds its ticket is about).
   */
  topicRules?: Readonly<Record<string, { radiusM: number; windowH: number }>>;
  /**
   * Another citizen's report joins an open ticket on the category within `windowH` hours of the
   * ticket's latest report and `spanH` of its first (`categories.duplicate_window_h`,
   * `duplicate_span_h`); DEFAULT_WINDOW_H and DEFAULT_SPAN_H when absent.
   */
  windowH?: number;
  spanH?: number;
  /** How sure the classifier was (1 when the reporter chose). */
  categoryConfidence?: number;
  /** Other categories it may be about (`Classification.alternatives`): their tickets take it on plain place evidence only. */
  alternatives?: readonly string[];
  /**
   * Other categories whose tickets are looked up (the model's next readings of the report, however
   * unlikely: `Classification.nearTopics`): a ticket on one of them takes the report on plain place
   * evidence only, and only when the ticket's own words may be about the report's topic (read by
   * the `TopicsOf` given to the decision). Absent: not looked up.
   */
  crossTopics?: readonly string[];
  areaCode: string | null;
  /** The units the words may mean when they name none for sure (an old ward split, a district). */
  areaCandidates?: readonly string[];
  lat?: number | undefined;
  lng?: number | undefined;
  /** The city's landmarks near its point (`lm|…` keys, `PlaceReader.landmarksNear` within GROUPING.landmarkReachM). */
  landmarksNear?: readonly string[];
  /** Where the city's landmarks its words name lie (a ticket's point near one is at its place). */
  landmarkPoints?: readonly { key: string; lat: number; lng: number }[];
  text: string;
  address?: string | undefined;
  receivedAt: Date;
  /**
   * The ticket the reporter chose ("this is my problem too", `InboundReport.ticket`): taken when it
   * is still open and agrees with the report on topic and place (`decideChosen`), else the report
   * is grouped as usual and the reasons say why the choice was not followed.
   */
  chosenTicket?: string | undefined;
}

export interface GroupDecision {
  ticketId: number | null;
  relation: Relation;
  score: number;
  reasons: Reason[];
}

const hours = (d: Date, h: number) => new Date(d.getTime() - h * 3_600_000);
const windowOf = (g: GroupInput) => g.windowH ?? DEFAULT_WINDOW_H;
/** The units a report may be in: its own, or the candidates its words left. */
const unitsOf = (g: GroupInput): string[] => (g.areaCode ? [g.areaCode] : [...(g.areaCandidates ?? [])]);
/** Keys that place a report wherever its unit is: a house on a street, an alley, a landmark. */
const strongKeys = (g: GroupInput): string[] => [...(g.keys ?? [])].filter((k) => !k.startsWith('street|')).slice(0, 16);
/** The keys a report's candidates are looked up by: its strong keys, and the landmarks near its point. */
const lookupKeys = (g: GroupInput): string[] => [...new Set([...strongKeys(g), ...(g.landmarksNear ?? [])])];
/** The street keys of a report: how a ticket its words left without a unit is found. */
const streetKeys = (g: GroupInput): string[] => [...(g.keys ?? [])].filter((k) => k.startsWith('street|')).slice(0, 8);
const spanOf = (g: GroupInput) => g.spanH ?? DEFAULT_SPAN_H;
/**
 * The categories whose tickets may take a report: its own first, then its alternatives; a report
 * whose topic is unsure (none decided) only its alternatives, the topics the model still gives it.
 */
const categoriesOf = (g: GroupInput): string[] => (g.category ? [g.category, ...(g.alternatives ?? []).filter((c) => c !== g.category)] : [...(g.alternatives ?? [])]);
/** The other topics whose tickets are looked up for a report (one with a topic of its own only). */
const crossTopicsOf = (g: GroupInput): string[] => (g.category ? (g.crossTopics ?? []).filter((c) => !categoriesOf(g).includes(c)).slice(0, CROSS_TOPICS_MAX) : []);
/** Whether an open ticket is still within a report's incident window (its latest report, and its first). */
const inWindow = (g: GroupInput, t: { received_at: Date; last_report_at: Date }) => {
  const at = g.receivedAt.getTime();
  return t.received_at.getTime() <= at && t.last_report_at.getTime() >= at - windowOf(g) * 3_600_000 && t.received_at.getTime() >= at - spanOf(g) * 3_600_000;
};
const place = (address: string | null | undefined, text: string) => normaliseAddress(`${address ?? ''} ${text}`);
/** How a report's words join its ticket's place text (the same for stored and batch reports). */
const wordsOf = (address: string | null | undefined, text: string) => ` ${address ?? ''} ${text}`;
/** The place keys of a report read without the city's street list (another city's, or a test's). */
export const reportKeys = (address: string | null | undefined, text: string) => placeKeys(`${address ?? ''} ${text}`);
/** A stored report's place keys: as read when it arrived, or from its words for one from before 0011. */
export const storedKeys = (r: { address: string | null; text: string; place_keys?: string[] | null }): string[] =>
  Array.isArray(r.place_keys) ? r.place_keys : [...reportKeys(r.address, r.text)];

/**
 * A candidate's words are read from its first reports only: enough to compare texts, and
 * bounded however many reports (or however long ones) a ticket has gathered.
 */
export const WORDS_REPORTS_MAX = 8;

/**
 * What the topic model makes of a candidate's words: each category's probability, or null when
 * it does not know enough of them to say (`classify.ts`, `topicsOfWords`).
 */
export type TopicsOf = (words: string) => ReadonlyMap<string, number> | null;

/** Other topics looked up for a report, at most (each is one more lookup row). */
export const CROSS_TOPICS_MAX = 2;

/**
 * A ticket's words give a report's topic this much, and it may be about it. Lower than a report's
 * own ALTERNATIVE_MIN: naive Bayes is surest on the longest texts, and a ticket's words are its
 * first reports' together ("ổ gà sâu, mưa xuống đọng nước" reads 0.9 flood, 0.09 road). Another
 * problem at the same place reads below 0.001 (chosen on the development sets).
 */
export const CROSS_TOPIC_MIN = 0.01;

/** How grouping reads a candidate's words: the syllable pairs of their normalised place text. */
export type ShinglesOf = (words: string) => ReadonlySet<string>;

/** Candidates' words remembered, the least recently used forgotten first, and only short ones. */
const SHINGLES_REMEMBERED = 512;
const SHINGLES_WORDS_MAX = 8_000;
const remembered = new Map<string, ReadonlySet<string>>();

/**
 * Shared by every lookup of the process: in a storm each report is compared with the same hot
 * tickets, whose first reports' words (what is compared) do not change; reading them again for
 * every report made a text-only report's decision grow with the number of candidates.
 */
const SHINGLES: ShinglesOf = (words) => {
  const hit = remembered.get(words);
  if (hit) {
    remembered.delete(words);
    remembered.set(words, hit);
    return hit;
  }
  const set = shingles(place(null, words));
  if (words.length <= SHINGLES_WORDS_MAX) {
    remembered.set(words, set);
    if (remembered.size > SHINGLES_REMEMBERED) remembered.delete(remembered.keys().next().value!);
  }
  return set;
};

/** A ticket as grouping sees it. */
export interface CandidateTicket {
  /** Negative for a ticket opened earlier in the same batch and not yet written. */
  id: number;
  code: string;
  category_code: string | null;
  area_code: string | null;
  lat: number | null;
  lng: number | null;
  cell: number | null;
  status: string;
  received_at: Date;
  /** Its latest report (the incident window runs from here). */
  last_report_at: Date;
  closed_at: Date | null;
  resolved_at: Date | null;
  /** What its first reports say about the place, in report order (WORDS_REPORTS_MAX). */
  words: string;
  /** What its first report says (the words that set its topic), when `words` was read. */
  firstWords?: string;
  /** How many reports `words` holds. */
  wordReports: number;
  /** The place keys its reports named (stored on the ticket, TICKET_PLACE_KEYS_MAX at most). */
  keys: Set<string>;
  /** Without a unit: the units its words may mean (an old ward divided, a district). */
  candidates: readonly string[];
}

/** One of the citizen's recent reports, with its ticket. */
export interface CitizenReport {
  ticket: CandidateTicket;
  received_at: Date;
  /** Its place keys (`storedKeys`). */
  keys: readonly string[];
}

/** What a ticket whose words named no unit for sure loses against one in the unit, on the same street. */
const UNSURE_UNIT = 0.05;

/** How strongly two places are one, by their strongest shared evidence (keys: core/places/place-reader.ts). */
export const EVIDENCE = { house: 0.9, landmark: 0.85, alley: 0.8, nearHouse: 0.8, landmarkPoint: 0.7, street: 0.55, unit: 0.4 } as const;
/** How much nearer house numbers add to `EVIDENCE.nearHouse` (below the landmark's, never a house's). */
const NEAR_HOUSE_RANK = 0.04;

interface KeyPlace {
  houses: Set<string>;
  /**
   * Where along each street it is, in house numbers: plain house numbers ("45" of "45|le loi";
   * not "42/7") and the numbers alleys open at ("hẻm 40", the 42 of "42/7": `alley|42|le van sy`).
   */
  numbers: Map<string, number[]>;
  streets: Set<string>;
  alleys: Set<string>;
  landmarks: Set<string>;
}

function placeOfKeys(keys: Iterable<string>): KeyPlace {
  const p: KeyPlace = { houses: new Set(), numbers: new Map(), streets: new Set(), alleys: new Set(), landmarks: new Set() };
  for (const k of keys) {
    const bar = k.indexOf('|');
    const head = k.slice(0, bar);
    const rest = k.slice(bar + 1);
    if (head === 'street') p.streets.add(rest);
    else if (head === 'lm') p.landmarks.add(rest);
    else if (head === 'alley') {
      p.alleys.add(rest);
      const a = /^(\d+)[a-z]?\|(.+)$/.exec(rest);
      if (a) p.numbers.set(a[2]!, [...(p.numbers.get(a[2]!) ?? []), Number(a[1])]);
    }
    else {
      p.houses.add(k);
      const n = /^(\d+)[a-z]?$/.exec(head);
      if (n) p.numbers.set(rest, [...(p.numbers.get(rest) ?? []), Number(n[1])]);
    }
  }
  return p;
}

/** Whether both name some and none in common. */
const differ = (x: Set<string>, y: Set<string>) => x.size > 0 && y.size > 0 && ![...x].some((v) => y.has(v));

/** One landmark named more or less fully ("chợ Bến Thành", "chợ Bến Thành cũ"; "Vincom", "Vincom Lê Văn Việt"). */
const sameLandmark = (x: string, y: string) => x === y || x.startsWith(`${y} `) || y.startsWith(`${x} `);

/** Whether a landmark of one is one of the other's. */
const shareLandmark = (a: KeyPlace, b: KeyPlace) => [...a.landmarks].some((x) => [...b.landmarks].some((y) => sameLandmark(x, y)));

/** Whether both name landmarks and none of one is one of the other's. */
const landmarksDiffer = (a: KeyPlace, b: KeyPlace) => a.landmarks.size > 0 && b.landmarks.size > 0 && !shareLandmark(a, b);

/**
 * Whether both name a spot along their common street (a house, an alley, a landmark) and, their
 * strongest evidence being the street, none in common: "780 Nguyễn Thị Định" and "Nguyễn Thị
 * Định, in front of the port gate" may be a kilometre apart.
 */
const spotsDiffer = (a: KeyPlace, b: KeyPlace) => {
  const spots = (p: KeyPlace) => p.houses.size + p.alleys.size + p.landmarks.size > 0;
  return spots(a) && spots(b) && !shareLandmark(a, b);
};

/** Whether two places name different streets, or different landmarks, and nothing in common. */
function placesDiffer(a: KeyPlace, b: KeyPlace): boolean {
  return differ(a.streets, b.streets) || landmarksDiffer(a, b);
}

/**
 * The strongest evidence two places share: the same house, landmark or alley, a house number
 * near the other's on the same street (within a quarter of the radius in numbers: a number is
 * about two metres of one side of a street), or the same street. Negative when both name house
 * numbers on their common street and none is near: the same long street, another place.
 */
function comparePlaces(a: KeyPlace, b: KeyPlace, radiusM: number): { strength: number; why: string } {
  for (const h of a.houses) if (b.houses.has(h)) return { strength: EVIDENCE.house, why: 'same house number and street' };
  for (const l of a.landmarks) if (b.landmarks.has(l)) return { strength: EVIDENCE.landmark, why: `same landmark (${l})` };
  for (const al of a.alleys) if (b.alleys.has(al)) return { strength: EVIDENCE.alley, why: 'same alley of the same street' };
  const tolerance = Math.max(6, Math.round(radiusM / 4));
  let far = false;
  let nearest = Infinity;
  for (const [street, ns] of a.numbers) {
    const other = b.numbers.get(street);
    if (!other) continue;
    for (const x of ns) for (const y of other) nearest = Math.min(nearest, Math.abs(x - y));
    far = true;
  }
  // The nearer number ranks first among tickets near the report ("110 to 132" is 120's before 148's).
  if (nearest <= tolerance) return { strength: EVIDENCE.nearHouse + NEAR_HOUSE_RANK * (1 - nearest / (tolerance + 1)), why: 'a near house number on the same street' };
  if (far) return { strength: -1, why: 'house numbers far apart on the same street' };
  for (const st of a.streets) if (b.streets.has(st)) return { strength: EVIDENCE.street, why: 'same street' };
  return { strength: 0, why: '' };
}

/**
 * A ticket's first words as the topic model reads a report's: folded, without the streets they
 * name (a street known for its floods makes a pothole there read as a flood).
 */
function topicWordsOf(c: CandidateTicket): string {
  let words = ` ${fold(c.firstWords ?? c.words)} `;
  for (const street of placeOfKeys(c.keys).streets) words = words.replaceAll(` ${street} `, ' ');
  return words.trim();
}

/**
 * The landmark of the city's list where one side's point lies and the other's words name (a GPS
 * photo "ngập quá" beside the market a caller named; a call naming the school where an app
 * report's point is): its key, or null. Only when one side has no point (two points decide by
 * their distance).
 */
function pointAtLandmark(g: GroupInput, hasPoint: boolean, c: CandidateTicket): string | null {
  const theirPoint = c.lat !== null && c.lng !== null;
  if (hasPoint && !theirPoint) return (g.landmarksNear ?? []).find((k) => c.keys.has(k)) ?? null;
  if (!hasPoint && theirPoint) {
    const at = (g.landmarkPoints ?? []).find((l) => distanceMetres(l.lat, l.lng, c.lat!, c.lng!) <= GROUPING.landmarkReachM);
    return at?.key ?? null;
  }
  return null;
}

/**
 * Decides the ticket a report belongs to from what the lookups found: (a) the same citizen's
 * ticket on the topic, whatever the channel (`mine`: their recent reports, newest first);
 * (b) another citizen's ticket on the same incident nearby and recent (`nearby`). Pure.
 */
export function decideGroup(g: GroupInput, mine: CitizenReport[], nearby: CandidateTicket[], shinglesOf: ShinglesOf = SHINGLES, topicsOf: TopicsOf | null = null): GroupDecision {
  // No topic and none likely: left for triage. An unsure topic with likely ones: only a ticket on
  // one of those, at plainly the same place, takes it (the `related` path below).
  if (categoriesOf(g).length === 0) return { ticketId: null, relation: 'new', score: 0, reasons: [{ step: 'group', code: 'group_skipped', message: 'no category: not grouped' }] };
  const hasPoint = g.lat !== undefined && g.lng !== undefined;

  const hereKeys = g.keys ?? reportKeys(g.address, g.text);
  for (const { ticket: t, received_at, keys: theirKeys } of mine) {
    if (g.areaCode && t.area_code && t.area_code !== g.areaCode) continue;
    if (hasPoint && t.lat !== null && t.lng !== null && distanceMetres(g.lat!, g.lng!, t.lat, t.lng) > GROUPING.sameCitizenMaxMetres) continue;
    if (t.category_code !== g.category) {
      // The same person about the same house within hours, where the topic model was unsure
      // or said "other": one complaint worded two ways, not two problems.
      const vague = g.category === 'khac' || t.category_code === 'khac' || t.category_code === null || (g.categoryConfidence ?? 1) < GROUPING.vagueTopicMax;
      const theirs = new Set(theirKeys);
      const sameHouse = [...hereKeys].some((k) => !k.startsWith('street|') && theirs.has(k));
      if (!vague || !sameHouse || g.receivedAt.getTime() - received_at.getTime() > GROUPING.vagueSameCitizenHours * 3_600_000) continue;
    }
    return {
      ticketId: t.id, relation: 'same_citizen', score: t.category_code === g.category ? 1 : 0.8,
      reasons: [{ step: 'group', code: 'same_citizen', message: `same citizen, ${t.category_code === g.category ? 'same topic' : 'same house, topic unclear'} as ticket ${t.code}`, score: 1 }],
    };
  }

  if (nearby.length === 0) return { ticketId: null, relation: 'new', score: 0, reasons: [{ step: 'group', code: 'group_new', message: 'no open ticket on this topic nearby' }] };
  const ownRadius = g.radiusM ?? DEFAULT_RADIUS_M;
  const hereShingles = shingles(place(g.address, g.text));
  const herePlace = placeOfKeys(hereKeys);
  const units = unitsOf(g);
  const unitOnly: CandidateTicket[] = [];
  const persists = saysPersists(g.text);
  let unitOnlyWhy = `within ${GROUPING.unitOnlyHours} h`;
  type Match = { id: number; code: string; score: number; why: string };
  let best: Match | null = null;
  /** The best ticket on another of its categories, taken only when none on its own is. */
  let related: Match | null = null;
  for (const c of nearby) {
    const sameTopic = c.category_code === g.category;
    // Another topic: one the report may be about, or one whose ticket's first words (those that set
    // its topic, not a later report's taken on another of its topics) may be about the report's (a
    // pothole holding rainwater read as a flood, then a neighbour's "ổ gà").
    const cross = !sameTopic && !(g.alternatives ?? []).includes(c.category_code ?? '');
    if (cross && !(g.category && c.wordReports > 0 && (topicsOf?.(topicWordsOf(c))?.get(g.category) ?? 0) >= CROSS_TOPIC_MIN)) continue;
    const there = placeOfKeys(c.keys);
    // The incident is the ticket's: another topic's ticket is at the report's place within that
    // topic's radius (a photo of a flooded street 150 m from the flood's first report, sent as "roads").
    const rules = sameTopic ? undefined : g.topicRules?.[c.category_code ?? ''];
    const radius = rules ? Math.min(Math.max(ownRadius, rules.radiusM), MAX_RADIUS_M) : ownRadius;
    const shared = comparePlaces(herePlace, there, radius);
    let score = 0;
    let why = '';
    /** Decided by the place (a point, a house, an alley, a landmark, a street), not by the words alone. */
    let byPlace = true;
    let atLandmark: string | null = null;
    const since = g.receivedAt.getTime() - c.last_report_at.getTime();
    if (rules && since > rules.windowH * 3_600_000) continue;
    if (hasPoint && c.lat !== null && c.lng !== null) {
      const d = distanceMetres(g.lat!, g.lng!, c.lat, c.lng);
      if (d <= radius) {
        score = 0.6 + 0.4 * (1 - d / radius);
        why = `${Math.round(d)} m from ticket ${c.code} (radius ${radius} m)`;
      } else if (shared.strength >= EVIDENCE.house && d <= 3 * radius) {
        score = 0.6;
        why = `${shared.why} as ticket ${c.code}, ${Math.round(d)} m apart`;
      }
    } else if (shared.strength < 0) {
      // Both name house numbers on one street, far apart: two places.
    } else if (shared.strength < EVIDENCE.alley && !placesDiffer(herePlace, there) && (atLandmark = pointAtLandmark(g, hasPoint, c)) !== null) {
      // One side's point at the landmark the other's words name, whatever unit each was placed in.
      score = EVIDENCE.landmarkPoint;
      why = hasPoint ? `its point lies at ${atLandmark.slice(3)}, which ticket ${c.code} names` : `the point of ticket ${c.code} lies at ${atLandmark.slice(3)}, which the report names`;
    } else if (!g.areaCode || !c.area_code || c.area_code === g.areaCode) {
      // Its unit, or for a ticket whose words named none for sure, one of the units they may mean.
      const sameUnit = c.area_code !== null ? units.includes(c.area_code) : c.candidates.some((u) => units.includes(u));
      const sim = () => dice(hereShingles, shinglesOf(c.words));
      if (shared.strength >= EVIDENCE.alley) {
        score = shared.strength;
        why = `${shared.why} as ticket ${c.code}`;
      } else if (shared.strength === EVIDENCE.street && sameUnit
        // The same street in the same unit within the category's window (a dead lamp reported
        // again days later), except days later by another spot along it: another place (within
        // hours, landmarks are what each saw of one event: "near X", "traffic up to Y").
        && (since <= GROUPING.wordsOnlyHours * 3_600_000 || !spotsDiffer(herePlace, there))) {
        // Place, topic and time decide; how alike the texts are only ranks the candidates (and a
        // ticket whose unit is sure ranks before one that may be in the unit).
        const t = sim();
        score = EVIDENCE.street + 0.2 * t - (c.area_code === null ? UNSURE_UNIT : 0);
        why = `${shared.why} as ticket ${c.code}, ${c.area_code === null ? 'one of its units' : 'same unit'}, text ${Math.round(t * 100)}% alike`;
      } else if (shared.strength === EVIDENCE.street && c.area_code === null && since <= GROUPING.wordsOnlyHours * 3_600_000 && !landmarksDiffer(herePlace, there)) {
        // A ticket whose words named no unit for sure, on the same street within hours: the
        // same event seen again (a street's stretches in other units are told apart by hours).
        const t = sim();
        score = EVIDENCE.street + 0.2 * t - UNSURE_UNIT;
        why = `${shared.why} as ticket ${c.code} (its unit unknown), text ${Math.round(t * 100)}% alike`;
      } else if (sameUnit && c.area_code !== null && since <= GROUPING.wordsOnlyHours * 3_600_000) {
        // Alike words in the unit, within hours (not in a unit a ticket's words may only mean).
        const t = sim();
        if (t >= GROUPING.textMatchMin) {
          score = t;
          byPlace = false;
          why = `same unit, text/address ${Math.round(t * 100)}% alike ticket ${c.code}`;
        } else if (sameTopic && g.areaCode !== null && since <= GROUPING.unitOnlyHours * 3_600_000 && !placesDiffer(herePlace, there)) {
          unitOnly.push(c);
        }
      } else if (hasPoint && sameTopic && sameUnit && c.area_code === null && g.areaCode !== null && since <= GROUPING.unsureUnitOnlyHours * 3_600_000 && !placesDiffer(herePlace, there)) {
        // A report placed by its point, within hours of a ticket whose words left several units,
        // this one among them (a caller named the street and the former district; a neighbour
        // sent a photo from the app). Words alone in the unit are not enough for such a ticket.
        unitOnly.push(c);
        unitOnlyWhy = `(one of the units its words may mean) within ${GROUPING.unsureUnitOnlyHours} h`;
      } else if (persists && sameTopic && sameUnit && c.area_code !== null && g.areaCode !== null && !placesDiffer(herePlace, there)) {
        // Days later, "still not fixed" in the unit of the one open ticket on the topic there.
        unitOnly.push(c);
        unitOnlyWhy = `within ${windowOf(g)} h, the report saying its problem goes on`;
      }
    }
    if (score <= 0) continue;
    if (sameTopic) {
      if (!best || score > best.score) best = { id: c.id, code: c.code, score, why };
    } else if (byPlace && (score >= EVIDENCE.alley || (!cross && since <= GROUPING.wordsOnlyHours * 3_600_000)) && (!related || score > related.score)) {
      // Another of its topics: the place must be plainly the same (a near point, the same house,
      // alley or landmark; for one of its alternatives the same street within hours), not merely
      // the unit.
      related = { id: c.id, code: c.code, score, why: `${why}, on ${c.category_code}${cross ? `, whose words may be about ${g.category}` : ''}` };
    }
  }
  if (!best && related && unitOnly.length === 0) best = related;
  // Nothing names the place more closely than the unit on either side, or only one side does:
  // the one open ticket on the topic in the unit within hours is the incident; two or more, and
  // which one is a guess (left apart for an agent).
  if (!best && unitOnly.length === 1) {
    const c = unitOnly[0]!;
    best = { id: c.id, code: c.code, score: EVIDENCE.unit, why: `the only open ticket on the topic in the unit ${unitOnlyWhy} (${c.code}), no place named against it` };
  }
  if (best) {
    return {
      ticketId: best.id, relation: 'duplicate', score: best.score,
      reasons: [{ step: 'group', code: 'duplicate', message: `same incident: ${best.why}${best === related ? '' : ', same topic'}, within ${windowOf(g)} h of its latest report`, score: best.score }],
    };
  }
  return { ticketId: null, relation: 'new', score: 0, reasons: [{ step: 'group', code: 'group_new', message: 'no open ticket on this incident' }] };
}

/**
 * A reporter's follow-up saying the problem goes on ("vẫn chưa sửa", `saysPersists`) about one of
 * their tickets resolved in the last REOPEN_WINDOW_DAYS (`theirs`, most recently resolved first)
 * reopens it rather than opening another: the one in the report's unit (or either has none), near
 * its point when both have one, on its topic (or the report's topic is unsure, or one of its
 * alternatives). A report naming neither topic nor place fits any: it reopens only when the
 * reporter has one such ticket. Null: not a reopening. Pure.
 */
export function decideReopen(g: GroupInput, theirs: readonly CandidateTicket[]): GroupDecision | null {
  if (theirs.length === 0 || !saysPersists(g.text)) return null;
  const at = g.receivedAt.getTime();
  const hasPoint = g.lat !== undefined && g.lng !== undefined;
  const fits = theirs.filter((t) => {
    if (!(REOPEN_TRANSITION.from as readonly string[]).includes(t.status) || t.resolved_at === null) return false;
    const since = at - t.resolved_at.getTime();
    if (since < 0 || since > REOPEN_WINDOW_DAYS * 86_400_000) return false;
    if (g.areaCode && t.area_code && t.area_code !== g.areaCode) return false;
    if (hasPoint && t.lat !== null && t.lng !== null && distanceMetres(g.lat!, g.lng!, t.lat, t.lng) > GROUPING.sameCitizenMaxMetres) return false;
    const unsure = g.category === null || g.category === 'khac' || (g.categoryConfidence ?? 1) < GROUPING.vagueTopicMax;
    return t.category_code === null || t.category_code === g.category || unsure || (g.alternatives ?? []).includes(t.category_code);
  });
  const placed = g.areaCode !== null || hasPoint || g.category !== null;
  const t = fits[0];
  if (!t || (!placed && fits.length > 1)) return null;
  const days = Math.max(0, Math.floor((at - t.resolved_at!.getTime()) / 86_400_000));
  return {
    ticketId: t.id, relation: 'reopen', score: 1,
    reasons: [{
      step: 'group', code: 'reopen', score: 1,
      message: `the reporter of ticket ${t.code}, resolved ${days === 0 ? 'today' : `${days} d ago`}, says its problem goes on: reopened`,
    }],
  };
}

interface TicketRow {
  id: number; code: string; category_code: string | null; area_code: string | null;
  lat: number | null; lng: number | null; cell: number | null; status: string;
  received_at: Date; last_report_at: Date | null; closed_at: Date | null; resolved_at: Date | null;
  /** Null on a ticket from before keys were stored: derived from its words when read. */
  place_keys?: string[] | null;
  area_candidates?: string[] | null;
}

const toCandidate = (r: TicketRow): CandidateTicket => ({
  id: r.id, code: r.code, category_code: r.category_code, area_code: r.area_code,
  lat: r.lat, lng: r.lng, cell: r.cell === null ? null : Number(r.cell), status: r.status,
  received_at: new Date(r.received_at), last_report_at: new Date(r.last_report_at ?? r.received_at),
  closed_at: r.closed_at && new Date(r.closed_at), resolved_at: r.resolved_at && new Date(r.resolved_at),
  words: '', wordReports: 0, keys: new Set(r.place_keys ?? []), candidates: r.area_code === null ? (r.area_candidates ?? []) : [],
});

const OPEN_SQL = sql.join([...OPEN_STATUSES]);

/**
 * The box around a report's point beyond which no ticket with a point can be its incident
 * (`decideGroup` looks no further than three times the category's radius): a dense city has
 * many open tickets on a topic in the nine cells around a point, and only the near ones count.
 */
function reach(g: GroupInput, category: string | null = g.category): { lat_min: number; lat_max: number; lng_min: number; lng_max: number } | Record<string, never> {
  if (g.lat === undefined || g.lng === undefined || categoriesOf(g).length === 0) return {};
  const own = g.radiusM ?? DEFAULT_RADIUS_M;
  // Another topic's ticket: within its radius (a shared house is found by the key lookup).
  const metres = category === g.category ? 3 * own : Math.max(own, Math.min(g.topicRules?.[category ?? '']?.radiusM ?? own, MAX_RADIUS_M));
  return boxAround(g.lat, g.lng, metres * 1.01);
}

/**
 * Grouping for a batch of reports decided in order, as if each were written before the next
 * is looked at: two statements fetch every report's candidates (the same indexed lookups,
 * per report, through LATERAL joins), and what the batch decides is kept in memory, so a
 * later report can join a ticket an earlier one opened or joined.
 */
export class GroupBatch {
  /** Per input: the citizen's stored reports in its window, newest first. */
  readonly #mine = new Map<number, { ticketId: number; received_at: Date; keys: readonly string[] }[]>();
  /** Per input: ids of the stored open tickets near it on its topic. */
  readonly #nearby = new Map<number, number[]>();
  /** Per input saying its problem goes on: ids of its citizen's tickets resolved within REOPEN_WINDOW_DAYS, latest resolved first. */
  readonly #resolved = new Map<number, number[]>();
  /** Tickets as stored (words included for the nearby ones)... */
  readonly #stored = new Map<number, CandidateTicket>();
  /** ...and as this batch has changed or opened them. */
  readonly #touched = new Map<number, CandidateTicket>();
  /** The tickets reporters chose, by code: their id and whether they were merged into another. */
  readonly #chosen = new Map<string, { id: number; merged: boolean }>();
  /** The batch's reports so far, for the citizen lookup of later ones. */
  readonly #reports: { citizenId: number | null; ticketId: number; received_at: Date; keys: readonly string[] }[] = [];
  #placeholder = 0;

  private constructor(private readonly inputs: readonly GroupInput[], private readonly topicsOf: TopicsOf | null) {}

  /**
   * Fetches the candidates of every input (`inputs[i]` is decided by `decide(i)`); `topicsOf`
   * reads other topics' tickets' words (none: those tickets are not taken).
   */
  static async load(db: DbOrTx, inputs: readonly GroupInput[], topicsOf: TopicsOf | null = null): Promise<GroupBatch> {
    const b = new GroupBatch(inputs, topicsOf);
    const iso = (d: Date) => d.toISOString();
    const mineQ = inputs.flatMap((g, i) => (g.category && g.citizenId !== null ? [{
      i, citizen: g.citizenId, since: iso(hours(g.receivedAt, GROUPING.sameCitizenHours)), until: iso(g.receivedAt),
      grace: iso(hours(g.receivedAt, GROUPING.closedGraceDays * 24)),
    }] : []));
    // One row per input and category it may be about (its own, then its alternatives): an
    // equality on the category keeps each lookup on its (category, cell/unit) index.
    const nearQ = inputs.flatMap((g, i) => {
      const areas = unitsOf(g);
      const strong = lookupKeys(g);
      const streets = streetKeys(g);
      if (categoriesOf(g).length === 0 || (areas.length === 0 && strong.length === 0 && streets.length === 0 && (g.lat === undefined || g.lng === undefined))) return [];
      const shared = {
        i, areas, strong, streets, cells: g.lat !== undefined && g.lng !== undefined ? cellsAround(g.lat, g.lng) : null,
        since: iso(hours(g.receivedAt, windowOf(g))), first: iso(hours(g.receivedAt, spanOf(g))), until: iso(g.receivedAt),
        ...reach(g),
      };
      // Its own topic, its alternatives, then the other topics looked up (each with an equality on
      // the category: one row each, the same indexed lookups).
      return [...categoriesOf(g), ...crossTopicsOf(g)].map((category) => ({ ...shared, category, ...reach(g, category) }));
    });
    if (mineQ.length > 0) {
      const rows = await sql<TicketRow & { i: number; r_received_at: Date; text: string; address: string | null; r_place_keys: string[] | null }>`
        with q as (select * from jsonb_to_recordset(cast(${jsonParam(mineQ)} as jsonb))
          as q(i int, citizen int, since timestamptz, until timestamptz, grace timestamptz) limit ${mineQ.length})
        select q.i, x.* from q cross join lateral (
          select t.id, t.code, t.category_code, t.area_code, t.lat, t.lng, t.cell, t.status, t.received_at, t.last_report_at,
            t.closed_at, t.resolved_at, r.received_at as r_received_at, r.text, r.address, r.place_keys as r_place_keys
          from reports r join tickets t on t.id = r.ticket_id
          where r.citizen_id = q.citizen and r.received_at >= q.since and r.received_at <= q.until
            and t.merged_into is null
            and (t.status in (${OPEN_SQL}) or t.closed_at >= q.grace or t.resolved_at >= q.grace)
          order by r.received_at desc
          limit 20) x`.execute(db);
      for (const r of rows.rows) {
        if (!b.#stored.has(r.id)) b.#stored.set(r.id, toCandidate(r));
        const list = b.#mine.get(r.i) ?? [];
        list.push({ ticketId: r.id, received_at: new Date(r.r_received_at), keys: storedKeys({ address: r.address, text: r.text, place_keys: r.r_place_keys }) });
        b.#mine.set(r.i, list);
      }
    }
    // A reporter's "still not fixed": their tickets resolved lately, whenever they reported.
    const resolvedQ = inputs.flatMap((g, i) => (g.citizenId !== null && saysPersists(g.text) ? [{
      i, citizen: g.citizenId, since: iso(hours(g.receivedAt, REOPEN_WINDOW_DAYS * 24)), until: iso(g.receivedAt),
    }] : []));
    if (resolvedQ.length > 0) {
      const rows = await sql<TicketRow & { i: number }>`
        with q as (select * from jsonb_to_recordset(cast(${jsonParam(resolvedQ)} as jsonb))
          as q(i int, citizen int, since timestamptz, until timestamptz) limit ${resolvedQ.length})
        select q.i, x.* from q cross join lateral (
          select t.id, t.code, t.category_code, t.area_code, t.lat, t.lng, t.cell, t.status, t.received_at, t.last_report_at,
            t.closed_at, t.resolved_at, t.place_keys, t.area_candidates
          from tickets t
          where t.id in (select r.ticket_id from reports r where r.citizen_id = q.citizen)
            and t.status in (${sql.join(REOPEN_TRANSITION.from.map((x) => sql.lit(x)))}) and t.merged_into is null
            and t.resolved_at >= q.since and t.resolved_at <= q.until
          order by t.resolved_at desc
          limit 10) x`.execute(db);
      for (const r of rows.rows) {
        if (!b.#stored.has(r.id)) b.#stored.set(r.id, toCandidate(r));
        b.#resolved.set(r.i, [...(b.#resolved.get(r.i) ?? []), r.id]);
        }
      }
    // The tickets reporters chose, by code (unique index); a merged one is not taken.
    const chosen = [...new Set(inputs.flatMap((g) => (g.chosenTicket ? [g.chosenTicket] : [])))];
    if (chosen.length > 0) {
      const rows = await db.selectFrom('tickets')
        .select(['id', 'code', 'category_code', 'area_code', 'lat', 'lng', 'cell', 'status', 'received_at', 'last_report_at', 'closed_at', 'resolved_at', 'place_keys', 'area_candidates', 'merged_into'])
        .where('code', 'in', chosen).execute();
      for (const r of rows) {
        b.#chosen.set(r.code, { id: r.id, merged: r.merged_into !== null });
        if (!b.#stored.has(r.id)) b.#stored.set(r.id, toCandidate(r as TicketRow));
      }
    }
    // `limit` tells the planner how many inputs there are (a function scan is guessed at 100):
    // guessed high, one lookup's plan looked costly enough to be JIT-compiled (~40 ms).
    if (nearQ.length > 0) {
      // Each branch reads its own index (category and cell, category and unit, place keys, unit
      // candidates); the status and received-time conditions are written so that no index can
      // take them (`is true`): at 1,000,000 tickets the planner ANDed into every branch the bitmap
      // of the dashboard's open tickets by received time (migration 0020; 142 rows guessed, 6,764
      // read) or, that one kept out, of every open ticket by status (29,769 read, 3 ms a branch).
      const match = sql`t.category_code = q.category and t.last_report_at >= q.since
        and (t.status in (${OPEN_SQL}) and t.merged_into is null and t.received_at >= q.first and t.received_at <= q.until) is true`;
      const rows = await sql<TicketRow & { inputs: number[] }>`
        with q as (select * from jsonb_to_recordset(cast(${jsonParam(nearQ)} as jsonb))
          as q(i int, category text, areas text[], strong text[], streets text[], cells bigint[], since timestamptz, first timestamptz, until timestamptz,
            lat_min double precision, lat_max double precision, lng_min double precision, lng_max double precision) limit ${nearQ.length}),
        hit as (
          select q.i, c.id from q cross join lateral (select t.id from tickets t where ${match} and t.cell = any(q.cells)
            and t.lat between q.lat_min and q.lat_max and t.lng between q.lng_min and q.lng_max limit 200) c
          union
          select q.i, c.id from q cross join lateral (select t.id from tickets t where ${match} and t.area_code = any(q.areas)
            and (q.lat_min is null or t.lat is null or (t.lat between q.lat_min and q.lat_max and t.lng between q.lng_min and q.lng_max)) limit 200) c
          union
          select q.i, c.id from q cross join lateral (select t.id from tickets t where ${match} and cardinality(q.strong) > 0
            and t.place_keys ?| q.strong limit 50) c
          union
          select q.i, c.id from q cross join lateral (select t.id from tickets t where ${match} and t.area_code is null and cardinality(q.streets) > 0
            and t.place_keys ?| q.streets limit 50) c
          union
          select q.i, c.id from q cross join lateral (select t.id from tickets t where ${match} and t.area_code is null and cardinality(q.areas) > 0
            and t.area_candidates ?| q.areas limit 50) c),
        ids as (select id, jsonb_agg(i) as inputs from hit group by id)
        select t.id, t.code, t.category_code, t.area_code, t.lat, t.lng, t.cell, t.status, t.received_at, t.last_report_at,
          t.closed_at, t.resolved_at, t.place_keys, t.area_candidates, ids.inputs
        from ids join tickets t on t.id = ids.id`.execute(db);
      // What their reports say is read only for the candidates whose decision needs words: those
      // compared by text (no point on one side), or near enough for a same-house match; and for
      // a ticket without stored keys (from before they were stored), whose keys come from them.
      const wanted = new Set<number>();
      const derive = new Set<number>();
      for (const r of rows.rows) {
        b.#stored.set(r.id, toCandidate(r));
        if (!Array.isArray(r.place_keys)) {
          derive.add(r.id);
          wanted.add(r.id);
        }
        for (const i of r.inputs) {
          b.#nearby.set(i, [...(b.#nearby.get(i) ?? []), r.id]);
          const g = inputs[i]!;
          if (g.lat === undefined || g.lng === undefined || r.lat === null || r.lng === null) wanted.add(r.id);
          else if (distanceMetres(g.lat, g.lng, r.lat, r.lng) <= 3 * (g.radiusM ?? DEFAULT_RADIUS_M)) wanted.add(r.id);
        }
      }
      if (wanted.size > 0) {
        const words = await sql<{ ticket_id: number; words: [string | null, string, string[] | null][] }>`
          select t.id as ticket_id, w.words from unnest(${sql.val([...wanted])}::int[]) as t(id) cross join lateral (
            select jsonb_agg(jsonb_build_array(r.address, r.text, r.place_keys) order by r.id) as words
            from (select address, text, place_keys, id from reports where ticket_id = t.id order by id limit ${WORDS_REPORTS_MAX}) r) w
          where w.words is not null`.execute(db);
        for (const w of words.rows) {
          const c = b.#stored.get(w.ticket_id)!;
          c.words = w.words.map(([address, text]) => wordsOf(address, text)).join('');
          c.firstWords = wordsOf(w.words[0]![0], w.words[0]![1]);
          c.wordReports = w.words.length;
          if (derive.has(c.id)) c.keys = new Set(w.words.reduce<string[]>((keys, [address, text, stored]) => mergeKeys(keys, storedKeys({ address, text, place_keys: stored })), []));
        }
      }
    }
    return b;
  }

  #ticket(id: number): CandidateTicket {
    return (this.#touched.get(id) ?? this.#stored.get(id))!;
  }

  /**
   * Decides input `i`, seeing what the batch decided before it. Call in input order, each
   * followed by `record`.
   */
  decide(i: number): GroupDecision {
    const g = this.inputs[i]!;
    if (g.chosenTicket) {
      const found = this.#chosen.get(g.chosenTicket);
      const choice = decideChosen(g, found && !found.merged ? this.#ticket(found.id) : null, found?.merged ?? false);
      if (choice.ticketId !== null) return choice;
      const usual = this.#decideUsual(i);
      return { ...usual, reasons: [...choice.reasons, ...usual.reasons] };
    }
    return this.#decideUsual(i);
  }

  #decideUsual(i: number): GroupDecision {
    const g = this.inputs[i]!;
    // As this batch leaves them (one reopened by an earlier report of the batch is open again).
    const reopen = decideReopen(g, (this.#resolved.get(i) ?? []).map((id) => this.#ticket(id)));
    if (reopen) return reopen;
    if (categoriesOf(g).length === 0) return decideGroup(g, [], []);
    const at = g.receivedAt.getTime();
    let mine: CitizenReport[] = [];
    // The citizen's own tickets are looked up for a report with a topic only (as `load` does).
    if (g.citizenId !== null && g.category) {
      const from = hours(g.receivedAt, GROUPING.sameCitizenHours).getTime();
      const grace = hours(g.receivedAt, GROUPING.closedGraceDays * 24).getTime();
      const takes = (t: CandidateTicket) => isOpen(t.status) || (t.closed_at?.getTime() ?? -Infinity) >= grace || (t.resolved_at?.getTime() ?? -Infinity) >= grace;
      const earlier = this.#reports.filter((r) => r.citizenId === g.citizenId && r.received_at.getTime() >= from && r.received_at.getTime() <= at);
      mine = [...(this.#mine.get(i) ?? []), ...earlier]
        .map((r) => ({ ticket: this.#ticket(r.ticketId), received_at: r.received_at, keys: r.keys }))
        .filter((r) => takes(r.ticket))
        .sort((a, b) => b.received_at.getTime() - a.received_at.getTime())
        .slice(0, 20);
    }
    const cells = g.lat !== undefined && g.lng !== undefined ? new Set(cellsAround(g.lat, g.lng)) : null;
    const nearby = new Map<number, CandidateTicket>();
    for (const id of this.#nearby.get(i) ?? []) nearby.set(id, this.#ticket(id));
    const units = unitsOf(g);
    const strong = lookupKeys(g);
    const streets = streetKeys(g);
    const topics = [...categoriesOf(g), ...crossTopicsOf(g)];
    for (const t of this.#touched.values()) {
      if (!topics.includes(t.category_code ?? '') || !isOpen(t.status) || !inWindow(g, t)) continue;
      if ((cells && t.cell !== null && cells.has(t.cell)) || (t.area_code !== null && units.includes(t.area_code)) || strong.some((k) => t.keys.has(k))
        || (t.area_code === null && (streets.some((k) => t.keys.has(k)) || t.candidates.some((u) => units.includes(u))))) nearby.set(t.id, t);
    }
    return decideGroup(g, mine, [...nearby.values()], SHINGLES, this.topicsOf);
  }

  /** Marks a ticket reopened by a report of this batch (`decideReopen`): open again for the reports after it. */
  reopened(id: number): void {
    this.#touched.set(id, { ...this.#ticket(id), status: REOPEN_TRANSITION.to });
  }

  /** The unit of a ticket as this batch sees it. */
  areaOf(id: number): string | null {
    return this.#ticket(id).area_code;
  }

  /** The units a ticket without one may be in, as its words left them (none: unknown). */
  candidatesOf(id: number): readonly string[] {
    return this.#ticket(id).candidates;
  }

  /** Gives a ticket that has no unit one (a report's likely unit, decided after grouping). */
  adoptArea(id: number, unit: string): void {
    const t = this.#ticket(id);
    if (t.area_code === null) this.#touched.set(id, { ...t, area_code: unit });
  }

  /** The category of a ticket. */
  categoryOf(id: number): string | null {
    return this.#ticket(id).category_code;
  }

  /** The place keys of a ticket as this batch leaves it (to store on it). */
  keysOf(id: number): string[] {
    return [...this.#ticket(id).keys];
  }

  /**
   * Records input `i` on the ticket `decide` chose, or on a new one (given `code`): returns
   * the ticket's id, negative for a ticket this batch opens (its placeholder until written).
   */
  record(i: number, ticketId: number | null, code: string): number {
    const g = this.inputs[i]!;
    const hasPoint = g.lat !== undefined && g.lng !== undefined;
    let t: CandidateTicket;
    if (ticketId === null) {
      t = {
        id: --this.#placeholder, code, category_code: g.category, area_code: g.areaCode,
        lat: hasPoint ? g.lat! : null, lng: hasPoint ? g.lng! : null, cell: hasPoint ? cellOf(g.lat!, g.lng!) : null,
        status: 'new', received_at: g.receivedAt, last_report_at: g.receivedAt, closed_at: null, resolved_at: null, words: '', firstWords: wordsOf(g.address, g.text), wordReports: 0, keys: new Set(),
        candidates: g.areaCode ? [] : [...(g.areaCandidates ?? [])],
      };
    } else {
      t = { ...this.#ticket(ticketId) };
      if (g.receivedAt > t.last_report_at) t.last_report_at = g.receivedAt;
      // A ticket whose words named no unit for sure takes the first unit a later report is sure of.
      t.area_code ??= g.areaCode;
      // A ticket known only by words takes the first GPS point a later report brings.
      if (t.lat === null && hasPoint) Object.assign(t, { lat: g.lat!, lng: g.lng!, cell: cellOf(g.lat!, g.lng!) });
    }
    // The first reports' words, as a stored candidate's are read (WORDS_REPORTS_MAX).
    if (t.wordReports < WORDS_REPORTS_MAX) {
      t.words += wordsOf(g.address, g.text);
      t.wordReports++;
    }
    t.keys = new Set(mergeKeys(t.keys, g.keys ?? reportKeys(g.address, g.text)));
    this.#touched.set(t.id, t);
    this.#reports.push({ citizenId: g.citizenId, ticketId: t.id, received_at: g.receivedAt, keys: [...(g.keys ?? reportKeys(g.address, g.text))] });
    return t.id;
  }
}

/**
 * Whether a report joins the ticket its reporter chose: only while the ticket is open, on the
 * report's topic (or the topic the report leaves open: none chosen, or one of its alternatives),
 * and at its place: within three times the topic's radius of the ticket's point (the farthest
 * `decideGroup` itself looks), or, without a point on one side, in the same unit. Otherwise
 * `ticketId` is null and the reason says why; the report is then grouped as usual.
 */
export function decideChosen(g: GroupInput, t: CandidateTicket | null, merged = false): GroupDecision {
  const refuse = (why: string): GroupDecision => ({
    ticketId: null, relation: 'new', score: 0,
    reasons: [{ step: 'group', code: 'chosen_ticket_refused', message: `the reporter chose ticket ${g.chosenTicket}, but ${why}; grouped as usual` }],
  });
  if (!t) return refuse(merged ? 'it was merged into another ticket' : 'no such ticket');
  if (!isOpen(t.status)) return refuse(`it is ${t.status}`);
  if (g.category && t.category_code !== g.category && !(g.alternatives ?? []).includes(t.category_code ?? '')) {
    return refuse(`it is about ${t.category_code ?? 'no topic'}, the report about ${g.category}`);
  }
  const radius = g.radiusM ?? DEFAULT_RADIUS_M;
  let where: string;
  if (g.lat !== undefined && g.lng !== undefined && t.lat !== null && t.lng !== null) {
    const d = distanceMetres(g.lat, g.lng, t.lat, t.lng);
    if (d > 3 * radius) return refuse(`its point is ${Math.round(d)} m away (more than 3 x ${radius} m)`);
    where = `${Math.round(d)} m away`;
  } else {
    const units = unitsOf(g);
    const theirs = t.area_code ? [t.area_code] : [...t.candidates];
    if (!units.some((u) => theirs.includes(u))) return refuse('the report names no place in its unit');
    where = `in ${t.area_code ?? 'one of its units'}`;
  }
  return {
    ticketId: t.id, relation: 'duplicate', score: 1,
    reasons: [{ step: 'group', code: 'chosen_ticket', message: `the reporter chose ticket ${t.code} (open, ${t.category_code}, ${where})`, score: 1 }],
  };
}

/** Finds the ticket one report belongs to (see `decideGroup`); every lookup is indexed. */
export async function findGroup(db: DbOrTx, g: GroupInput): Promise<GroupDecision> {
  return (await GroupBatch.load(db, [g])).decide(0);
}

/**
 * Counts, per report, the tickets on the same topic at the same place closed recently: a
 * problem that keeps coming back. One statement for the batch.
 */
export async function hotspotCounts(db: DbOrTx, items: { category: string; radiusM?: number; lat: number; lng: number; at: Date }[]): Promise<number[]> {
  if (items.length === 0) return [];
  const q = items.map((x, i) => ({
    i, category: x.category, cells: cellsAround(x.lat, x.lng),
    since: hours(x.at, GROUPING.hotspotLookbackDays * 24).toISOString(),
  }));
  const rows = await sql<{ i: number; lat: number | null; lng: number | null }>`
    with q as (select * from jsonb_to_recordset(cast(${jsonParam(q)} as jsonb)) as q(i int, category text, cells bigint[], since timestamptz))
    select q.i, x.lat, x.lng from q cross join lateral (
      select t.lat, t.lng from tickets t
      where t.category_code = q.category and t.cell = any(q.cells) and t.status in ('resolved', 'closed') and t.last_report_at >= q.since
      limit 500) x`.execute(db);
  const counts = items.map(() => 0);
  for (const r of rows.rows) {
    const x = items[r.i]!;
    if (r.lat !== null && r.lng !== null && distanceMetres(x.lat, x.lng, r.lat, r.lng) <= (x.radiusM ?? DEFAULT_RADIUS_M)) counts[r.i]!++;
  }
  return counts;
}
