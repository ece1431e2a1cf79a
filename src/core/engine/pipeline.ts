import { sql } from 'kysely';
import { jsonParam } from '../../db/records.ts';
import type { DbOrTx } from '../../db/schema.ts';
import type { Reason } from '../../wire/staff-api.ts';
import type { AreaIndex } from '../places/area-index.ts';
import type { CategoryInfo } from './catalog.ts';
import { classify, topicsOfWords } from './classify.ts';
import { newCode } from '../tickets/codes.ts';
import { yieldTurn } from '../next-turn.ts';
import type { AddressMatch, Gazetteer } from '../places/gazetteer.ts';
import { landmarkKey, streetNames, type Landmark } from '../places/place-reader.ts';
import type { TopicModel } from './topic.ts';
import { GroupBatch, GROUPING, type GroupInput, type Relation, type TopicsOf } from './grouping.ts';
import { cellOf } from '../places/geo.ts';
import { identitiesOf, type Identity } from '../citizens/identity.ts';
import { mergeCitizens } from '../citizens/merge.ts';
import type { InboundReport } from '../report-input.ts';
import { fold, nfc } from './text.ts';

/** What the pipeline decided for one report, each step adding its reasons. */
export interface PipelineState {
  input: InboundReport;
  receivedAt: Date;
  citizenId: number | null;
  text: string;
  textFolded: string;
  category: { code: string | null; source: string; confidence: number; alternatives: string[]; nearTopics?: string[] };
  /** `likely`: of the candidates, the one the words most likely mean, and why (`AddressMatch.likely`). */
  area: { code: string | null; source: 'gps' | 'address' | 'text' | 'ticket' | 'none'; candidates: string[]; likely?: string; likelyWhy?: string };
  departmentCode: string | null;
  /** The category's same-incident radius in metres (route reads it with the department). */
  radiusM: number | undefined;
  /** The category's incident window: hours after a ticket's latest report, and after its first. */
  windowH: number | undefined;
  spanH: number | undefined;
  /**
   * The ticket: an existing one's id, or a negative placeholder for one opened in this batch
   * (by this report when `newTicketCode` is set, else by an earlier one).
   */
  group: { ticketId: number | null; relation: Relation; score: number; newTicketCode: string | null; placesTicket?: boolean };
  /** The place keys of the report (its address and text). */
  placeKeys: string[];
  /** The city's landmarks it names (a unit when no ward is named). */
  landmarks: Landmark[];
  /** The city's landmarks near its point (`lm|…` keys): what a ticket known by words may call its place. */
  landmarksNear: string[];
  /** The place keys of its ticket once this report is on it (what the ticket stores). */
  ticketKeys: string[];
  reasons: Reason[];
}

export interface PipelineDeps {
  db: DbOrTx;
  areas: AreaIndex;
  gazetteer: Gazetteer;
  categories: CategoryInfo[];
  topics: TopicModel | null;
}

/**
 * One named step, run over a batch of reports in arrival order (a batch of one is the plain
 * case). Steps that look things up do it once for the whole batch; their decisions for each
 * report are the same as if the reports had come one at a time.
 */
export type PipelineStep = { name: string; run: (batch: PipelineState[], d: PipelineDeps) => Promise<void> | void };

/** Reports decided between two looks at the event loop: a batch must not hold up requests. */
const SLICE = 8;

/**
 * Runs `f` over the batch in order, letting the event loop serve what waits (HTTP requests
 * above all) every SLICE reports, so the acknowledgement latency stays low while a large batch
 * is decided.
 */
export async function inSlices<T>(items: readonly T[], f: (item: T, n: number) => void): Promise<void> {
  for (let n = 0; n < items.length; n++) {
    if (n > 0 && n % SLICE === 0) await yieldTurn();
    f(items[n]!, n);
  }
}

/** A step that decides each report on its own, from the report and the city's data. */
const perReport = (name: string, run: (s: PipelineState, d: PipelineDeps) => void): PipelineStep => ({
  name,
  run: (batch, d) => inSlices(batch, (s) => run(s, d)),
});

/**
 * Serialises on each key until the transaction ends, taking the locks in one fixed order (by
 * their hash) so that two transactions never wait for each other.
 */
async function lockKeys(db: DbOrTx, keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  await sql`select pg_advisory_xact_lock(h) from (
    select distinct hashtext(k) as h from jsonb_array_elements_text(cast(${jsonParam(keys)} as jsonb)) as k order by h) as locks`.execute(db);
}

const identityKey = (i: Identity) => `${i.kind}:${i.value}`;

/** identify: links each report to a citizen through normalised identifiers. */
const identify: PipelineStep = {
  name: 'identify',
  async run(batch, { db }) {
    const wanted = batch.map((s) => {
      const { identities, rejected } = identitiesOf(s.input.citizen);
      for (const kind of rejected) s.reasons.push({ step: 'identify', code: 'identity_invalid', message: `ignored an invalid ${kind}` });
      if (identities.length === 0) s.reasons.push({ step: 'identify', code: 'citizen_anonymous', message: 'no usable identifier' });
      return identities;
    });
    const all = [...new Map(wanted.flat().map((i) => [identityKey(i), i])).values()];
    if (all.length === 0) return;
    // Two reports from a new number processed at once must not create two citizens.
    await lockKeys(db, all.map(identityKey));
    const found = await db.selectFrom('citizen_identities')
      .innerJoin('citizens', 'citizens.id', 'citizen_identities.citizen_id')
      .select(['citizen_identities.citizen_id', 'citizen_identities.kind', 'citizen_identities.value', 'citizens.merged_into'])
      .where((eb) => eb.or(all.map((i) => eb.and([eb('citizen_identities.kind', '=', i.kind), eb('citizen_identities.value', '=', i.value)]))))
      .execute();
    /** Identifier -> citizen, as stored and as this batch links them. */
    const known = new Map(found.map((f) => [`${f.kind}:${f.value}`, f.merged_into ?? f.citizen_id]));
    /** Citizens merged by this batch -> the one they were merged into. */
    const mergedInto = new Map<number, number>();
    const current = (id: number): number => {
      for (let next = mergedInto.get(id); next !== undefined; next = mergedInto.get(id)) id = next;
      return id;
    };

    // Ids for the citizens this batch may create, from the table's own sequence (one statement
    // whatever their number; an id left unused is a harmless gap).
    const mayCreate = wanted.filter((ids) => ids.length > 0 && !ids.some((i) => known.has(identityKey(i)))).length;
    const fresh = mayCreate === 0 ? [] : (await sql<{ id: number }>`
      select nextval(pg_get_serial_sequence('citizens', 'id'))::int as id from generate_series(1, ${mayCreate})`.execute(db)).rows.map((r) => r.id).sort((a, b) => a - b);
    let newCitizens: { id: number; display_name: string | null; merged_into: null }[] = [];
    let newIdentities: { citizen_id: number; kind: string; value: string }[] = [];
    const flush = async () => {
      if (newCitizens.length) await db.insertInto('citizens').values(newCitizens).execute();
      if (newIdentities.length) await db.insertInto('citizen_identities').values(newIdentities).onConflict((oc) => oc.columns(['kind', 'value']).doNothing()).execute();
      newCitizens = [];
      newIdentities = [];
    };

    for (const [n, s] of batch.entries()) {
      const identities = wanted[n]!;
      if (identities.length === 0) continue;
      const hits = identities.filter((i) => known.has(identityKey(i)));
      const ids = [...new Set(hits.map((i) => current(known.get(identityKey(i))!)))].sort((a, b) => a - b);
      let citizenId = ids[0];
      if (citizenId === undefined) {
        citizenId = fresh.shift()!;
        newCitizens.push({ id: citizenId, display_name: s.input.citizen.name?.trim() || null, merged_into: null });
        s.reasons.push({ step: 'identify', code: 'citizen_new', message: `new citizen from ${identities.map((i) => i.kind).join(', ')}` });
      } else {
        s.reasons.push({ step: 'identify', code: 'citizen_known', message: `known by ${[...new Set(hits.map((i) => i.kind))].join(', ')}` });
        if (ids.length > 1) {
          const why = `identifiers ${identities.map((i) => i.kind).join(' + ')} arrived together in one report`;
          await flush(); // the merge moves rows, so the batch's own must be there
          await mergeCitizens(db, citizenId, ids.slice(1), 'system', why);
          for (const other of ids.slice(1)) mergedInto.set(other, citizenId);
          s.reasons.push({ step: 'identify', code: 'citizen_merged', message: `merged ${ids.length} citizens: ${why}` });
        }
      }
      for (const i of identities) {
        if (known.has(identityKey(i))) continue;
        known.set(identityKey(i), citizenId);
        newIdentities.push({ citizen_id: citizenId, kind: i.kind, value: i.value });
      }
      s.citizenId = citizenId;
    }
    await flush();
    for (const s of batch) if (s.citizenId !== null) s.citizenId = current(s.citizenId);
  },
};

/** normalise: NFC text plus its accent-folded form. */
const normalise = perReport('normalise', (s, { gazetteer }) => {
  s.text = nfc(s.input.text);
  s.textFolded = fold(s.text);
  // Read with its line breaks (an e-mail's subject, greeting and body are sentences apart), and
  // the address and the text as two sentences: "72 Cô Giang, Cầu Ông Lãnh" then "Đèn đường…".
  const place = gazetteer.places.read(`${s.input.address ?? ''}\n${s.input.text}`);
  s.placeKeys = [...place.keys];
  s.landmarks = place.landmarks;
  const { lat, lng } = s.input;
  s.landmarksNear = lat !== undefined && lng !== undefined ? (gazetteer.places.landmarksNear?.(lat, lng, GROUPING.landmarkReachM) ?? []).map(landmarkKey) : [];
});

/** Words before a unit's, a former ward's or a district's name ("p. Sơn Kỳ", "q.Tân Phú", "xã Tân Kiên"). */
const UNIT_CUES = new Set(['p', 'phuong', 'f', 'q', 'quan', 'xa', 'huyen', 'tp', 'tx', 'thi', 'pho']);
/** The folded names of a gazetteer's units, former wards and districts, made once. */
const unitNameSets = new WeakMap<Gazetteer, { names: Set<string>; longest: number }>();
function unitNamesOf(gazetteer: Gazetteer): { names: Set<string>; longest: number } {
  let u = unitNameSets.get(gazetteer);
  if (!u) {
    const names = new Set(gazetteer.names().filter((n) => n.includes(' ')));
    u = { names, longest: Math.max(1, ...[...names].map((n) => n.split(' ').length)) };
    unitNameSets.set(gazetteer, u);
  }
  return u;
}

/**
 * The words that say what the problem is: the text without the streets it names (a street's
 * name says where, and a street the examples mention for its floods made a pothole there read
 * as a flood), nor the units it names after their cue ("p. Sơn Kỳ, q.Tân Phú": the examples of
 * one topic happened to name that district).
 */
function topicWords(s: PipelineState, gazetteer: Gazetteer): string {
  let text = ` ${s.textFolded} `;
  for (const street of streetNames(s.placeKeys)) text = text.replaceAll(` ${street} `, ' ');
  const { names, longest } = unitNamesOf(gazetteer);
  const words = text.trim().split(' ');
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    out.push(words[i]!);
    if (!UNIT_CUES.has(words[i]!)) continue;
    for (let n = Math.min(longest, words.length - i - 1); n >= 2; n--) {
      if (names.has(words.slice(i + 1, i + 1 + n).join(' '))) {
        i += n;
        break;
      }
    }
  }
  return out.join(' ');
}

const classifyStep = perReport('classify', (s, { topics, gazetteer }) => {
  const c = classify(topicWords(s, gazetteer), s.input.category, topics);
  s.category = { code: c.code, source: c.source, confidence: c.confidence, alternatives: c.alternatives, nearTopics: c.nearTopics };
  s.reasons.push(...c.reasons);
});

/** A street running through more units than this says too little about where a report is. */
const STREET_UNITS_MAX = 64;
/**
 * Where a street has been seen places a report only among this many candidates: a name whose
 * units run to dozens is several streets of one name across the merged province (Cách Mạng Tháng
 * Tám in Saigon, Thủ Dầu Một, Bà Rịa…), and a sighting of one of them says nothing of which one
 * the words mean (such a report still finds its incident's ticket among all its candidates).
 */
const STREET_LEARNED_CANDIDATES_MAX = 32;

/**
 * locate: GPS point first, then the gazetteer on the address, then on the text itself; words
 * that leave several units are narrowed by where the streets they name have been seen.
 */
const locate: PipelineStep = {
  name: 'locate',
  async run(batch, d) {
    await inSlices(batch, (s) => {
      locateOne(s, d);
      narrowAlongStreets(s, d);
    });
    const unsure = new Set(batch.filter((s) => s.area.code === null && s.area.candidates.length > 1 && streetsOf(s).length > 0));
    if (unsure.size === 0) return;
    const streets = [...new Set([...unsure].flatMap(streetsOf))];
    const seen = await d.db.selectFrom('street_units').select(['street', 'area_code']).where('street', 'in', streets).execute();
    const unitsOf = new Map<string, Set<string>>();
    const learn = (street: string, unit: string) => unitsOf.set(street, (unitsOf.get(street) ?? new Set()).add(unit));
    for (const r of seen) learn(r.street, r.area_code);
    // In arrival order: a report placed for sure earlier in this batch teaches the later ones.
    for (const s of batch) {
      if (placedSurely(s)) {
        for (const st of streetsOf(s)) learn(st, s.area.code!);
        continue;
      }
      if (!unsure.has(s) || s.area.candidates.length > STREET_LEARNED_CANDIDATES_MAX) continue;
      const named = streetsOf(s);
      const learned = s.area.candidates.filter((c) => named.some((st) => unitsOf.get(st)?.has(c)));
      if (learned.length !== 1) continue;
      const code = learned[0]!;
      s.area = { code, source: 'text', candidates: [code] };
      s.reasons.push({ step: 'locate', code: 'area_street', message: `text: ${named.join(', ')} seen in ${d.areas.get(code)?.name ?? code} (reports placed by their point or their ward), the only one of its candidates`, score: 0.7 });
    }
  },
};

/**
 * Placed by its point, or by words that name its ward for sure (a unit's own name, a former
 * ward with its district): where the streets it names run.
 */
export const placedSurely = (s: PipelineState): boolean =>
  s.area.code !== null && (s.area.source === 'gps' || s.reasons.some((r) => r.step === 'locate' && (r.code === 'area_new_name' || r.code === 'area_old_address')));

/** The streets a report names. */
const streetsOf = (s: PipelineState) => streetNames(s.placeKeys).slice(0, 8);

function locateOne(s: PipelineState, { areas, gazetteer }: PipelineDeps): void {
  const { lat, lng } = s.input;
  if (lat !== undefined && lng !== undefined) {
    const a = areas.locate(lat, lng);
    if (a) {
      s.area = { code: a.code, source: 'gps', candidates: [a.code] };
      s.reasons.push({ step: 'locate', code: 'area_gps', message: `point lies in ${a.name}`, score: 1 });
      return;
    }
    s.reasons.push({ step: 'locate', code: 'area_outside', message: 'point lies outside every unit' });
  }
  // A landmark of the city's list places a report whose words name no ward, several, or a
  // ward only by a bare name (the landmark is the more precise).
  const landmark = s.landmarks[0];
  const byLandmark = (m: AddressMatch | null) => {
    if (!landmark || !areas.get(landmark.unit_code)) return false;
    if (m && m.code && m.source !== 'bare_name') return false;
    if (m && !m.code && m.candidates.length > 0 && !m.candidates.includes(landmark.unit_code)) return false;
    s.area = { code: landmark.unit_code, source: 'text', candidates: [landmark.unit_code] };
    s.reasons.push({ step: 'locate', code: 'area_landmark', message: `text: names ${landmark.name} -> ${areas.get(landmark.unit_code)!.name}`, score: 0.8 });
    return true;
  };
  for (const [source, text] of [['address', s.input.address], ['text', s.text]] as const) {
    if (!text) continue;
    const m = gazetteer.match(text, streetNames(s.placeKeys));
    if (m.source === 'none') continue;
    if (byLandmark(m)) return;
    const names = m.candidates.map((c) => areas.get(c)?.name ?? c);
    if (m.code) {
      s.area = { code: m.code, source, candidates: m.candidates };
      const score = m.source === 'bare_name' ? 0.6 : 0.9;
      s.reasons.push({ step: 'locate', code: `area_${m.source}`, message: `${source}: ${m.reason} -> ${names[0]}`, score });
    } else {
      s.area = { code: null, source: 'none', candidates: m.candidates, ...(m.likely ? { likely: m.likely, likelyWhy: m.likelyWhy ?? '' } : {}) };
      s.reasons.push({ step: 'locate', code: 'area_ambiguous', message: `${source}: ${m.reason} -> one of ${names.join(', ')}` });
    }
    return;
  }
  if (byLandmark(null)) return;
  // No unit named: the streets named still say which units it may be in (their districts'),
  // enough to look for the incident's ticket there, not to route.
  const streets = streetNames(s.placeKeys);
  const units = gazetteer.unitsOfStreets(streets);
  if (units.length > 0 && units.length <= STREET_UNITS_MAX) {
    s.area = { code: null, source: 'none', candidates: units, ...gazetteer.namesake(units, streets) };
    s.reasons.push({ step: 'locate', code: 'area_ambiguous', message: `text: street ${streets.join(', ')} -> one of ${units.map((c) => areas.get(c)?.name ?? c).join(', ')}` });
    return;
  }
  s.reasons.push({ step: 'locate', code: 'area_unknown', message: 'no unit found; left for triage' });
}

/**
 * Words that leave several units ("Hậu Giang, quận 6", or a street alone) keep those the streets
 * they name run through, by the city's street table: one places the report (`area_street_table`),
 * several stay candidates (the likely one recomputed among them); never a silent guess.
 */
function narrowAlongStreets(s: PipelineState, { areas, gazetteer }: PipelineDeps): void {
  if (s.area.code !== null || s.area.candidates.length < 2) return;
  const streets = streetNames(s.placeKeys);
  const along = gazetteer.unitsAlong(streets, s.area.candidates);
  if (along.length === 0 || along.length === s.area.candidates.length) return;
  const names = along.map((c) => areas.get(c)?.name ?? c);
  if (along.length === 1) {
    s.area = { code: along[0]!, source: 'text', candidates: along };
    s.reasons.push({ step: 'locate', code: 'area_street_table', message: `text: ${streets.join(', ')} runs through ${names[0]} alone of its candidates (the city's street table)`, score: 0.75 });
    return;
  }
  const likely = s.area.likely && along.includes(s.area.likely) ? { likely: s.area.likely, likelyWhy: s.area.likelyWhy ?? '' } : gazetteer.namesake(along, streets) ?? gazetteer.mainStreetUnit(streets, along);
  s.area = { code: null, source: 'none', candidates: along, ...(likely ?? {}) };
  s.reasons.push({ step: 'locate', code: 'area_ambiguous', message: `text: ${streets.join(', ')} runs through ${names.join(', ')} of its candidates (the city's street table)` });
}

/** route: category -> responsible department. */
const route = perReport('route', routeOne);

function routeOne(s: PipelineState, { categories }: Pick<PipelineDeps, 'categories'>): void {
  const c = categories.find((x) => x.code === s.category.code);
  s.departmentCode = c?.department_code ?? null;
  s.radiusM = c?.duplicate_radius_m;
  s.windowH = c?.duplicate_window_h;
  s.spanH = c?.duplicate_span_h;
  if (s.departmentCode) s.reasons.push({ step: 'route', code: 'department_by_category', message: `${s.category.code} -> ${s.departmentCode}` });
}

/** What grouping reads of a report, from the earlier steps (the storm bench builds its probes with it too). */
export const groupInput = (s: PipelineState): GroupInput => ({
  citizenId: s.citizenId, keys: new Set(s.placeKeys), category: s.category.code, categoryConfidence: s.category.source === 'reporter' ? 1 : s.category.confidence, alternatives: s.category.alternatives,
  areaCode: s.area.code, areaCandidates: s.area.code ? undefined : s.area.candidates, lat: s.input.lat, lng: s.input.lng,
  landmarksNear: s.landmarksNear, landmarkPoints: s.landmarks.map((l) => ({ key: landmarkKey(l), lat: l.lat, lng: l.lng })), text: s.text, address: s.input.address, receivedAt: s.receivedAt,
  radiusM: s.radiusM, windowH: s.windowH, spanH: s.spanH, chosenTicket: s.input.ticket,
});

/** Each model's reader of tickets' words, made once (it remembers what it read). */
const readers = new WeakMap<TopicModel, TopicsOf | null>();
const topicsOf = (model: TopicModel | null): TopicsOf | null => {
  if (!model) return null;
  if (!readers.has(model)) readers.set(model, topicsOfWords(model));
  return readers.get(model)!;
};

/** Whether words that left these candidate units (none: no unit named at all) allow this unit. */
const allowsUnit = (candidates: readonly string[], unit: string) => candidates.length === 0 || candidates.includes(unit);

/** group: the same citizen's ticket on the topic, else another citizen's on the same incident. */
const group: PipelineStep = {
  name: 'group',
  async run(batch, deps) {
    const { db } = deps;
    // The first two reports of one incident, processed at once, must not open two tickets.
    await lockKeys(db, batch.flatMap((s) => {
      if (!s.category.code) return [];
      const place = s.area.code ?? (s.input.lat !== undefined && s.input.lng !== undefined ? String(cellOf(s.input.lat, s.input.lng)) : 'none');
      return [`group:${s.category.code}:${place}`];
    }));
    // Other topics' tickets (the model's next readings), each with its topic's radius and window.
    const topicRules = Object.fromEntries(deps.categories.map((c) => [c.code, { radiusM: c.duplicate_radius_m, windowH: c.duplicate_window_h }]));
    const grouping = await GroupBatch.load(db, batch.map((s) => ({ ...groupInput(s), crossTopics: s.category.nearTopics ?? [], topicRules })), topicsOf(deps.topics));
    await inSlices(batch, (s, n) => {
      const d = grouping.decide(n);
      const newTicketCode = d.ticketId === null ? newCode('TK') : null;
      // A report that read a unit, joining a ticket that has none, gives it one; when that unit is
      // one the ticket's words may mean, the ticket's earlier reports are routed with it.
      const placesTicket = d.ticketId !== null && s.area.code !== null && grouping.areaOf(d.ticketId) === null
        && allowsUnit(grouping.candidatesOf(d.ticketId), s.area.code);
      s.group = { ticketId: grouping.record(n, d.ticketId, newTicketCode ?? ''), relation: d.relation, score: d.score, newTicketCode, ...(placesTicket ? { placesTicket } : {}) };
      if (d.relation === 'reopen') grouping.reopened(s.group.ticketId!);
      s.ticketKeys = grouping.keysOf(s.group.ticketId!);
      s.reasons.push(...d.reasons);
      // It joined its incident's ticket on another of the topics it may be about: the incident's topic is the report's.
      const topic = d.relation === 'duplicate' ? grouping.categoryOf(s.group.ticketId!) : s.category.code;
      if (topic !== s.category.code) {
        s.reasons.push({ step: 'group', code: 'category_from_ticket', message: `topic of the incident's ticket: ${topic}, ${s.category.code ? `not ${s.category.code}` : 'the report\'s own unsure'}`, score: d.score });
        s.category = { ...s.category, code: topic, source: 'ticket' };
        routeOne(s, deps);
      }
      // Words that named no unit for sure, on a ticket that has one: the report is where its incident is.
      const unit = d.relation === 'duplicate' && s.area.code === null ? grouping.areaOf(s.group.ticketId!) : null;
      if (unit && allowsUnit(s.area.candidates, unit)) {
        s.area = { code: unit, source: 'ticket', candidates: [unit] };
        s.reasons.push({ step: 'group', code: 'area_from_ticket', message: `unit of the incident's ticket: ${unit}`, score: d.score });
      }
      // Still none: the candidate the words most likely mean (where most of a divided former ward
      // went, or the unit a named street is named after), for an agent to confirm (grouping
      // looked in every unit it may be in).
      const likely = s.area.code === null ? s.area.likely : undefined;
      if (likely) {
        const why = s.area.likelyWhy || `likely ${deps.areas.get(likely)?.name ?? likely}`;
        s.area = { code: likely, source: 'text', candidates: s.area.candidates };
        s.reasons.push({ step: 'locate', code: 'area_likely', message: `${why}; an agent confirms`, score: 0.6 });
        grouping.adoptArea(s.group.ticketId!, likely);
      }
    });
  },
};

/** The ordered steps every report goes through. */
export const PIPELINE: readonly PipelineStep[] = [identify, normalise, classifyStep, locate, route, group];

/**
 * Runs the pipeline over a batch of reports (in arrival order) and returns the decisions;
 * writes only citizens and identities.
 */
export async function decide(reports: { input: InboundReport; receivedAt: Date }[], deps: PipelineDeps, steps: readonly PipelineStep[] = PIPELINE): Promise<PipelineState[]> {
  const batch = reports.map(({ input, receivedAt }): PipelineState => ({
    input, receivedAt, citizenId: null, text: input.text, textFolded: '',
    category: { code: null, source: 'none', confidence: 0, alternatives: [] },
    area: { code: null, source: 'none', candidates: [] },
    departmentCode: null,
    radiusM: undefined, windowH: undefined, spanH: undefined,
    group: { ticketId: null, relation: 'new', score: 0, newTicketCode: null },
    placeKeys: [], landmarks: [], landmarksNear: [], ticketKeys: [],
    reasons: [],
  }));
  for (const step of steps) await step.run(batch, deps);
  return batch;
}

/** Where an address alone places a report, and why (the agents' live hint while they type one). */
export interface AddressPlace {
  code: string | null;
  candidates: string[];
  likely: string | null;
  source: PipelineState['area']['source'];
  /** The locate step's reasons (codes as in a report's reasons). */
  reasons: Reason[];
}

/**
 * Places an address as the pipeline would place a report that gave only it: the same reading
 * and locate steps (gazetteer, landmarks, streets seen in a unit), nothing written.
 */
export async function locateAddress(address: string, deps: Pick<PipelineDeps, 'db' | 'areas' | 'gazetteer'>): Promise<AddressPlace> {
  const [s] = await decide([{ input: { text: '', address, citizen: {}, attachments: [] }, receivedAt: new Date() }],
    { ...deps, categories: [], topics: null }, [normalise, locate]);
  const area = s!.area;
  return { code: area.code, candidates: area.candidates, likely: area.likely ?? null, source: area.source, reasons: s!.reasons.filter((r) => r.step === 'locate') };
}
