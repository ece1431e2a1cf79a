import { sql } from 'kysely';
import type { DbOrTx, Reason } from '../db/schema.ts';
import type { AreaIndex } from './area-index.ts';
import type { CategoryInfo } from './catalog.ts';
import { classify } from './classify.ts';
import type { Gazetteer } from './gazetteer.ts';
import type { TopicModel } from './topic.ts';
import { findGroup, type Relation } from './grouping.ts';
import { cellOf } from './geo.ts';
import { identitiesOf } from './identity.ts';
import { mergeCitizens } from './citizens.ts';
import type { InboundReport } from './report-input.ts';
import { fold, nfc } from './text.ts';


/** What the pipeline decided for one report, each step adding its reasons. */
export interface PipelineState {
  input: InboundReport;
  receivedAt: Date;
  citizenId: number | null;
  text: string;
  textFolded: string;
  category: { code: string | null; source: string; confidence: number };
  area: { code: string | null; source: 'gps' | 'address' | 'text' | 'none'; candidates: string[] };
  departmentCode: string | null;
  group: { ticketId: number | null; relation: Relation; score: number };
  reasons: Reason[];
}

export interface PipelineDeps {
  db: DbOrTx;
  areas: AreaIndex;
  gazetteer: Gazetteer;
  categories: CategoryInfo[];
  topics: TopicModel | null;
}

export type PipelineStep = { name: string; run: (s: PipelineState, d: PipelineDeps) => Promise<void> | void };


/** identify: links the report to a citizen through normalised identifiers. */
const identify: PipelineStep = {
  name: 'identify',
  async run(s, { db }) {
    const { identities, rejected } = identitiesOf(s.input.citizen);
    for (const kind of rejected) s.reasons.push({ step: 'identify', code: 'identity_invalid', message: `ignored an invalid ${kind}` });
    if (identities.length === 0) {
      s.reasons.push({ step: 'identify', code: 'citizen_anonymous', message: 'no usable identifier' });
      return;
    }
    // Two reports from a new number processed at once must not create two citizens: serialise
    // on each identifier (sorted, so two locks never deadlock) until the transaction ends.
    for (const key of identities.map((i) => `${i.kind}:${i.value}`).sort()) {
      await sql`select pg_advisory_xact_lock(hashtext(${key}))`.execute(db);
    }
    const found = await db.selectFrom('citizen_identities')
      .innerJoin('citizens', 'citizens.id', 'citizen_identities.citizen_id')
      .select(['citizen_identities.citizen_id', 'citizen_identities.kind', 'citizens.merged_into'])
      .where((eb) => eb.or(identities.map((i) => eb.and([eb('citizen_identities.kind', '=', i.kind), eb('citizen_identities.value', '=', i.value)]))))
      .execute();
    const ids = [...new Set(found.map((f) => f.merged_into ?? f.citizen_id))].sort((a, b) => a - b);
    let citizenId = ids[0];
    if (citizenId === undefined) {
      const row = await db.insertInto('citizens').values({ display_name: s.input.citizen.name?.trim() || null, merged_into: null })
        .returning('id').executeTakeFirstOrThrow();
      citizenId = row.id;
      s.reasons.push({ step: 'identify', code: 'citizen_new', message: `new citizen from ${identities.map((i) => i.kind).join(', ')}` });
    } else {
      s.reasons.push({ step: 'identify', code: 'citizen_known', message: `known by ${[...new Set(found.map((f) => f.kind))].join(', ')}` });
      if (ids.length > 1) {
        const why = `identifiers ${identities.map((i) => i.kind).join(' + ')} arrived together in one report`;
        await mergeCitizens(db, citizenId, ids.slice(1), 'system', why);
        s.reasons.push({ step: 'identify', code: 'citizen_merged', message: `merged ${ids.length} citizens: ${why}` });
      }
    }
    for (const i of identities) {
      await db.insertInto('citizen_identities').values({ citizen_id: citizenId, kind: i.kind, value: i.value })
        .onConflict((oc) => oc.columns(['kind', 'value']).doNothing()).execute();
    }
    s.citizenId = citizenId;
  },
};

/** normalise: NFC text plus its accent-folded form. */
const normalise: PipelineStep = {
  name: 'normalise',
  run(s) {
    s.text = nfc(s.input.text);
    s.textFolded = fold(s.text);
  },
};

const classifyStep: PipelineStep = {
  name: 'classify',
  run(s, { topics }) {
    const c = classify(s.text, s.input.category, topics);
    s.category = { code: c.code, source: c.source, confidence: c.confidence };
    s.reasons.push(...c.reasons);
  },
};

/** locate: GPS point first, then the gazetteer on the address, then on the text itself. */
const locate: PipelineStep = {
  name: 'locate',
  run(s, { areas, gazetteer }) {
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
    for (const [source, text] of [['address', s.input.address], ['text', s.text]] as const) {
      if (!text) continue;
      const m = gazetteer.match(text);
      if (m.source === 'none') continue;
      const names = m.candidates.map((c) => areas.get(c)?.name ?? c);
      if (m.code) {
        s.area = { code: m.code, source, candidates: m.candidates };
        const score = m.source === 'bare_name' ? 0.6 : 0.9;
        s.reasons.push({ step: 'locate', code: `area_${m.source}`, message: `${source}: ${m.reason} -> ${names[0]}`, score });
      } else {
        s.area = { code: null, source: 'none', candidates: m.candidates };
        s.reasons.push({ step: 'locate', code: 'area_ambiguous', message: `${source}: ${m.reason} -> one of ${names.join(', ')}` });
      }
      return;
    }
    s.reasons.push({ step: 'locate', code: 'area_unknown', message: 'no unit found; left for triage' });
  },
};

/** route: category -> responsible department. */
const route: PipelineStep = {
  name: 'route',
  run(s, { categories }) {
    const c = categories.find((x) => x.code === s.category.code);
    s.departmentCode = c?.department_code ?? null;
    if (s.departmentCode) s.reasons.push({ step: 'route', code: 'department_by_category', message: `${s.category.code} -> ${s.departmentCode}` });
  },
};

/** group: the same citizen's ticket on the topic, else another citizen's on the same incident. */
const group: PipelineStep = {
  name: 'group',
  async run(s, { db }) {
    // The first two reports of one incident, processed at once, must not open two tickets.
    if (s.category.code) {
      const place = s.area.code ?? (s.input.lat !== undefined && s.input.lng !== undefined ? String(cellOf(s.input.lat, s.input.lng)) : 'none');
      await sql`select pg_advisory_xact_lock(hashtext(${`group:${s.category.code}:${place}`}))`.execute(db);
    }
    const d = await findGroup(db, {
      citizenId: s.citizenId, category: s.category.code, categoryConfidence: s.category.source === 'reporter' ? 1 : s.category.confidence, areaCode: s.area.code,
      lat: s.input.lat, lng: s.input.lng, text: s.text, address: s.input.address, receivedAt: s.receivedAt,
    });
    s.group = { ticketId: d.ticketId, relation: d.relation, score: d.score };
    s.reasons.push(...d.reasons);
  },
};

/** The ordered steps every report goes through. */
export const PIPELINE: readonly PipelineStep[] = [identify, normalise, classifyStep, locate, route, group];

/** Runs the pipeline and returns the decisions; writes only citizens and identities. */
export async function decide(input: InboundReport, receivedAt: Date, deps: PipelineDeps, steps: readonly PipelineStep[] = PIPELINE): Promise<PipelineState> {
  const s: PipelineState = {
    input, receivedAt, citizenId: null, text: input.text, textFolded: '',
    category: { code: null, source: 'none', confidence: 0 },
    area: { code: null, source: 'none', candidates: [] },
    departmentCode: null,
    group: { ticketId: null, relation: 'new', score: 0 },
    reasons: [],
  };
  for (const step of steps) await step.run(s, deps);
  return s;
}
