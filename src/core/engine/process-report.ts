import { sql } from 'kysely';
import type { Selectable } from 'kysely';
import type { Db, DbOrTx, InboundMessageTable } from '../../db/schema.ts';
import { insertRecords, jsonParam, type RecordColumns } from '../../db/records.ts';
import { cellOf } from '../places/geo.ts';
import { clip } from './text.ts';
import { GROUPING, hotspotCounts } from './grouping.ts';
import type { AreaIndex } from '../places/area-index.ts';
import type { Gazetteer } from '../places/gazetteer.ts';
import type { TopicModel } from './topic.ts';
import { loadCategories, type CategoryInfo } from './catalog.ts';
import { newCode } from '../tickets/codes.ts';
import { AppError } from '../errors.ts';
import type { DomainEvent } from '../events.ts';
import { decide, placedSurely, type PipelineDeps, type PipelineState, type PipelineStep, PIPELINE } from './pipeline.ts';
import { REPORT_LIMITS, type InboundReport } from '../report-input.ts';
import { listSlaPolicies, pickSlaTargets, scheduleSlaMany, slaDeadlines, type SlaTargets, type SlaTicket } from '../sla/sla.ts';
import { appendEvents, countJoinedReports, mergedKeysSql, type NewEvent } from '../tickets/event-log.ts';
import { streetNames } from '../places/place-reader.ts';
import { splitContinuations, writeStoredContinuations, type Item } from './continuations.ts';
import { queueOutbound, type Notices } from '../tickets/outbound.ts';
import { enqueueMany } from '../../db/jobs.ts';
import { reopenTicket } from '../tickets/feedback.ts';
import { REOPEN_TRANSITION } from '../staff/policy.ts';

/** Job that fetches one photo a provider holds for a report (an MMS, a Messenger image). */
export const MEDIA_FETCH_JOB = 'media.fetch';

/** What the pipeline knows of the city: its units, their names old and new, and its topics. */
export interface Engine {
  areas: AreaIndex;
  gazetteer: Gazetteer;
  topics: TopicModel | null;
}

export interface ProcessDeps {
  db: Db;
  engine: Engine;
  /** Parses a stored raw payload into the report model, for channels that store raw first. */
  parse: (channel: string, payload: unknown) => InboundReport;
  steps?: readonly PipelineStep[];
  /** The categories in force, when the caller caches them (they change rarely). */
  categories?: () => Promise<CategoryInfo[]>;
  /** Acknowledgements to reporters on channels that write back (absent: none). */
  notices?: Notices;
}

export interface ProcessResult {
  inboundId: number;
  reportId: number;
  ticketId: number;
  /** What the pipeline decided; null when the message had been processed before. */
  state: PipelineState | null;
}

export interface BatchResult {
  /** One per inbound message, in the order asked. */
  results: ProcessResult[];
  /** The events written, to publish after commit. */
  events: DomainEvent[];
}

/**
 * Turns one stored inbound message into a report on a ticket (see `processInboundBatch`).
 * Idempotent: a message already processed returns its earlier result and no events.
 */
export async function processInbound(deps: ProcessDeps, inboundId: number): Promise<ProcessResult & { events: DomainEvent[] }> {
  const { results, events } = await processInboundBatch(deps, [inboundId]);
  return { ...results[0]!, events };
}

const TICKET_COLUMNS: RecordColumns = {
  code: 'text', status: 'text', category_code: 'text', area_code: 'text', department_code: 'text', title: 'text',
  lat: 'double precision', lng: 'double precision', address: 'text', needs_triage: 'boolean', priority: 'text',
  received_at: 'timestamptz', last_report_at: 'timestamptz', cell: 'bigint', hotspot_count: 'integer',
  report_count: 'integer', reporter_count: 'integer', triage_due_at: 'timestamptz', due_at: 'timestamptz', place_keys: 'jsonb',
  area_candidates: 'jsonb',
};

const REPORT_COLUMNS: RecordColumns = {
  code: 'text', inbound_id: 'integer', channel: 'text', endpoint: 'text', citizen_id: 'integer', ticket_id: 'integer', text: 'text',
  text_folded: 'text', category_code: 'text', category_source: 'text', category_confidence: 'double precision',
  area_code: 'text', area_source: 'text', lat: 'double precision', lng: 'double precision', address: 'text',
  attachments: 'jsonb', relation: 'text', score: 'double precision', reasons: 'jsonb', place_keys: 'jsonb', received_at: 'timestamptz',
  thread_key: 'text',
};

/** A ticket this batch opens: the report that opened it and what the batch's reports bring to it. */
interface Opening extends Joining {
  n: number;
  code: string;
  /** Its reports' citizens, and how many came anonymous (each its own reporter). */
  citizens: Set<number>;
  anonymous: number;
  reports: number;
}

/**
 * Turns stored inbound messages into reports on tickets, in one transaction: the pipeline
 * decides for all of them in arrival order (each as if the ones before were already written),
 * then the reports, the tickets (new or joined) and the audit events are written together,
 * a statement per table rather than per report. Idempotent: messages already processed return
 * their earlier result. If anything fails nothing is written; callers retry message by message
 * so one bad message cannot hold back the others.
 */
export async function processInboundBatch(deps: ProcessDeps, inboundIds: number[]): Promise<BatchResult> {
  // Before the transaction: a cache miss reads through the caller's handle, and on PGlite the
  // transaction holds the only connection, so that read would wait for itself forever.
  const cached = deps.categories ? await deps.categories() : null;
  const ids = [...new Set(inboundIds)].sort((a, b) => a - b);
  if (ids.length === 0) return { results: [], events: [] };
  return deps.db.transaction().execute(async (tx) => {
    // In id order, so two batches sharing a message lock it in the same order.
    const rows = await tx.selectFrom('inbound_messages').selectAll().where('id', 'in', ids).orderBy('id').forUpdate().execute();
    const missing = ids.find((id) => !rows.some((r) => r.id === id));
    if (missing !== undefined) throw new AppError('inbound_not_found', 404, `inbound message ${missing} not found`);
    const results = new Map<number, ProcessResult>();
    const done = rows.filter((r) => r.processed_at && r.report_id);
    if (done.length > 0) {
      const earlier = await tx.selectFrom('reports').select(['id', 'ticket_id', 'inbound_id']).where('id', 'in', done.map((r) => r.report_id!)).execute();
      for (const r of earlier) results.set(r.inbound_id, { inboundId: r.inbound_id, reportId: r.id, ticketId: r.ticket_id, state: null });
    }
    const todo = rows.filter((r) => !(r.processed_at && r.report_id));
    let events: DomainEvent[] = [];
    if (todo.length > 0) {
      const categories: CategoryInfo[] = cached ?? await loadCategories(tx);
      const items: Item[] = todo.map((row) => ({ row, input: (row.report as InboundReport | null) ?? deps.parse(row.channel, row.payload), receivedAt: new Date(row.received_at) }));
      const split = await splitContinuations(tx, items);
      const fresh = split.fresh.map((i) => i.row);
      const states = await decide(split.fresh.map((i) => ({ input: i.input, receivedAt: i.receivedAt })), { db: tx, ...deps.engine, categories }, deps.steps ?? PIPELINE);
      const continued = [
        ...await writeStoredContinuations(tx, split.intoStored),
        ...await placeContinued(tx, split.intoStored.map((c) => c.reportId), { db: tx, ...deps.engine, categories }),
      ];
      for (const c of split.intoStored) results.set(c.item.row.id, { inboundId: c.item.row.id, reportId: c.reportId, ticketId: c.ticketId, state: null });
      events = await write(tx, fresh, states, results, deps.notices, continued, split.intoFresh);
      await fetchMedia(tx, [
        ...split.fresh.map((i) => ({ i, reportId: results.get(i.row.id)!.reportId })),
        ...split.intoStored.map((c) => ({ i: c.item, reportId: c.reportId })),
      ]);
    }
    return { results: ids.map((id) => results.get(id)!), events };
  });
}

type Point = { lat: number; lng: number };
/** An existing ticket this batch's reports join: what they change on it. */
/** What a batch's reports change on a ticket. */
interface Joining {
  lastReportAt: Date;
  point: Point | null;
  /** Its place keys once the batch's reports are on it. */
  keys: string[];
  /** The unit a report is sure of, for a ticket that has none. */
  area: string | null;
}

/**
 * Writes what the pipeline decided for `todo` (same order as `states`), a statement per table:
 * the new tickets, the reports, the joined tickets' changes, the messages marked processed,
 * the timeline. Fills `results`; returns the events written.
 */
async function write(
  tx: DbOrTx, todo: Selectable<InboundMessageTable>[], states: PipelineState[], results: Map<number, ProcessResult>,
  notices: Notices | undefined, continued: NewEvent[], intoFresh: { item: Item; inboundId: number }[],
): Promise<DomainEvent[]> {
  const timelineOf = (more: NewEvent[]) => appendEvents(tx, [...continued, ...more]);
  if (todo.length === 0) return timelineOf([]);
  // Without a group step every report opens its own ticket.
  for (const [n, s] of states.entries()) {
    if (s.group.ticketId === null) s.group = { ...s.group, ticketId: -1_000_000 - n, newTicketCode: newCode('TK') };
  }
  const { openings, joined } = planTickets(states);
  const realId = await openTickets(tx, states, openings);
  const ticketOf = (s: PipelineState) => (s.group.ticketId! > 0 ? s.group.ticketId! : realId.get(s.group.ticketId!)!);
  const reportId = await insertReports(tx, todo, states, ticketOf);
  await updateJoined(tx, joined);
  await routeEarlierReports(tx, states.flatMap((s, n) => (s.group.placesTicket ? [{ ticket: ticketOf(s), report: reportId.get(todo[n]!.id)!, area: s.area.code! }] : [])));
  await learnStreets(tx, states);
  await countJoinedReports(tx, states.flatMap((s, n) => (s.group.newTicketCode || !joined.has(s.group.ticketId!) ? []
    : [{ ticketId: s.group.ticketId!, reportId: reportId.get(todo[n]!.id)!, citizenId: s.citizenId }])));
  await markProcessed(tx, todo, states, reportId);
  for (const [n, s] of states.entries()) {
    const inboundId = todo[n]!.id;
    results.set(inboundId, { inboundId, reportId: reportId.get(inboundId)!, ticketId: ticketOf(s), state: s });
  }
  // Messages of this batch that continue one of its reports: processed with that report.
  for (const c of intoFresh) {
    const first = results.get(c.inboundId)!;
    results.set(c.item.row.id, { ...first, inboundId: c.item.row.id, state: null });
  }
  if (intoFresh.length) {
    const rows = intoFresh.map((c) => ({ id: c.item.row.id, report_id: results.get(c.inboundId)!.reportId }));
    await sql`
      update inbound_messages set processed_at = now(), report_id = v.report_id, error = null
      from jsonb_to_recordset(cast(${jsonParam(rows)} as jsonb)) as v(id int, report_id int)
      where inbound_messages.id = v.id`.execute(tx);
  }
  const reopened = await reopenResolved(tx, todo, states, ticketOf);
  if (notices) {
    await queueOutbound(tx, todo.flatMap((m, n) => notices.sends(m.channel)
      ? [{ ticket_id: ticketOf(states[n]!), report_id: reportId.get(m.id)!, channel: m.channel, kind: 'received' as const, body: notices.received(m.code), created_by: null }]
      : []));
  }
  return timelineOf([...timeline(todo, states, ticketOf), ...reopened]);
}

/**
 * Reports that reopen their reporter's resolved ticket (`decideReopen`): the ticket goes back to
 * the queue as a resident's reopening on the tracking page does, the message as the reason, its
 * photos with it. A ticket an agent moved on meanwhile (closed, say) is left as it is: the report
 * has joined it, and the agent reads it there.
 */
async function reopenResolved(tx: DbOrTx, todo: Selectable<InboundMessageTable>[], states: PipelineState[], ticketOf: (s: PipelineState) => number): Promise<NewEvent[]> {
  const out: NewEvent[] = [];
  for (const [n, s] of states.entries()) {
    if (s.group.relation !== 'reopen') continue;
    const id = ticketOf(s);
    const t = await tx.selectFrom('tickets').select('status').where('id', '=', id).forUpdate().executeTakeFirst();
    if (!t || !(REOPEN_TRANSITION.from as readonly string[]).includes(t.status)) continue;
    const m = todo[n]!;
    out.push(await reopenTicket(tx, id, s.text, s.input.attachments ?? [], { report: m.code, channel: m.channel, citizenId: s.citizenId, via: 'message' }, s.receivedAt));
  }
  return out;
}

/** The steps that read a report's topic and place, without identity or grouping. */
const PLACE_STEPS = PIPELINE.filter((s) => s.name !== 'identify' && s.name !== 'group');

/**
 * A follow-up often carries what the first message lacked ("ở 124 NTMK p Bàn Cờ" after "ngập
 * nước"): a ticket still new and alone with its report, and without a unit or a topic, is read
 * again on the report's whole text, and takes the unit, topic and department found. A ticket an
 * agent has touched, or that other reports joined, keeps what it has (its grouping stands).
 */
async function placeContinued(tx: DbOrTx, reportIds: number[], deps: PipelineDeps): Promise<NewEvent[]> {
  if (reportIds.length === 0) return [];
  const rows = await tx.selectFrom('reports').innerJoin('tickets', 'tickets.id', 'reports.ticket_id')
    .select(['reports.id', 'reports.text', 'reports.address', 'reports.lat', 'reports.lng', 'reports.category_code', 'reports.category_source', 'reports.received_at',
      'tickets.id as ticket_id', 'tickets.area_code', 'tickets.category_code as ticket_category'])
    .where('reports.id', 'in', [...new Set(reportIds)]).where('tickets.status', '=', 'new').where('tickets.report_count', '=', 1)
    .where((eb) => eb.or([eb('tickets.area_code', 'is', null), eb('tickets.category_code', 'is', null)])).execute();
  const events: NewEvent[] = [];
  for (const r of rows) {
    const [s] = await decide([{
      input: {
        text: r.text, address: r.address ?? undefined, lat: r.lat ?? undefined, lng: r.lng ?? undefined, citizen: {}, attachments: [],
        category: r.category_source === 'reporter' ? r.category_code ?? undefined : undefined,
      },
      receivedAt: new Date(r.received_at),
    }], deps, PLACE_STEPS);
    const area = r.area_code ?? s!.area.code;
    const category = r.ticket_category ?? s!.category.code;
    if (area === r.area_code && category === r.ticket_category) continue;
    const department = category ? deps.categories.find((c) => c.code === category)?.department_code ?? null : null;
    await tx.updateTable('reports').set({
      area_code: area, area_source: r.area_code ? undefined : s!.area.source, category_code: category,
      ...(r.ticket_category ? {} : { category_source: s!.category.source, category_confidence: s!.category.confidence }),
    }).where('id', '=', r.id).execute();
    await tx.updateTable('tickets').set({
      area_code: area, category_code: category, department_code: department,
      area_candidates: area ? null : s!.area.candidates, needs_triage: !area || !category, updated_at: new Date(),
    }).where('id', '=', r.ticket_id).execute();
    events.push({ ticketId: r.ticket_id, type: 'ticket.routed', actor: 'system', public: true, data: { area, department, candidates: s!.area.candidates, after: 'report.continued' } });
  }
  return events;
}

/** One job per photo a provider holds for a report: fetched after commit, never in the way of the ticket. */
async function fetchMedia(tx: DbOrTx, items: { i: Item; reportId: number }[]): Promise<void> {
  await enqueueMany(tx, items.flatMap(({ i, reportId }) => (i.input.media ?? []).slice(0, REPORT_LIMITS.mediaMax)
    .map((m, k) => ({
      kind: MEDIA_FETCH_JOB, key: `media:${i.row.id}:${k}`, maxAttempts: 6,
      payload: { reportId, channel: i.row.channel, url: m.url, contentType: m.contentType ?? null },
    }))));
}

/**
 * Which tickets the batch opens (keyed by their placeholder ids, below zero) and which existing
 * ones it joins, with what each report brings: counts, the latest report, a point, place keys.
 */
function planTickets(states: PipelineState[]): { openings: Map<number, Opening>; joined: Map<number, Joining> } {
  const openings = new Map<number, Opening>();
  const joined = new Map<number, Joining>();
  for (const [n, s] of states.entries()) {
    const id = s.group.ticketId!;
    const point = s.input.lat !== undefined && s.input.lng !== undefined ? { lat: s.input.lat, lng: s.input.lng } : null;
    // The group step says what the ticket's keys become; without one, the report's own.
    const keys = s.ticketKeys.length ? s.ticketKeys : s.placeKeys;
    if (s.group.newTicketCode) openings.set(id, { n, code: s.group.newTicketCode, lastReportAt: s.receivedAt, point, citizens: new Set(), anonymous: 0, reports: 0, keys, area: s.area.code });
    const opening = openings.get(id);
    if (opening) {
      opening.reports++;
      if (s.citizenId === null) opening.anonymous++;
      else opening.citizens.add(s.citizenId);
      if (s.group.newTicketCode) continue;
    }
    const t = opening ?? joined.get(id) ?? { lastReportAt: s.receivedAt, point: null, keys, area: null };
    if (s.receivedAt > t.lastReportAt) t.lastReportAt = s.receivedAt;
    t.keys = keys;
    // A ticket known only by words takes the first GPS point a later report brings, and one
    // whose words named no unit for sure the first unit a later report is sure of.
    t.point ??= point;
    t.area ??= s.area.code;
    if (id > 0) joined.set(id, t);
  }
  return { openings, joined };
}

/** New tickets: hotspot check, priority, SLA deadlines, one INSERT for all, their SLA timers. Returns placeholder id -> real id. */
async function openTickets(tx: DbOrTx, states: PipelineState[], openings: Map<number, Opening>): Promise<Map<number, number>> {
  const realId = new Map<number, number>();
  const opened = [...openings.values()];
  if (opened.length === 0) return realId;
  const located = opened.filter((o) => states[o.n]!.category.code && states[o.n]!.input.lat !== undefined && states[o.n]!.input.lng !== undefined);
  const counts = await hotspotCounts(tx, located.map((o) => {
    const s = states[o.n]!;
    return { category: s.category.code!, radiusM: s.radiusM, lat: s.input.lat!, lng: s.input.lng!, at: s.receivedAt };
  }));
  const hotspot = new Map(located.map((o, k) => [o.n, counts[k]!]));
  const policies = await listSlaPolicies(tx);
  const plans = opened.map((o) => {
    const s = states[o.n]!;
    const count = hotspot.get(o.n) ?? 0;
    if (count >= GROUPING.hotspotMin) {
      s.reasons.push({ step: 'group', code: 'hotspot', message: `${count} tickets on this topic here were closed in the last ${GROUPING.hotspotLookbackDays} days`, score: count });
    }
    const priority = count >= GROUPING.hotspotMin ? 'high' : 'normal';
    return { o, s, count, priority, targets: pickSlaTargets(policies, s.category.code, priority) };
  });
  const inserted = await insertRecords<{ id: number; code: string }>(tx, 'tickets', TICKET_COLUMNS, plans.map(({ o, s, count, priority, targets }) => {
    const deadlines = slaDeadlines(s.receivedAt, targets);
    return {
      code: o.code,
      status: 'new',
      category_code: s.category.code,
      area_code: o.area,
      department_code: s.departmentCode,
      title: clip(s.text, 140),
      lat: o.point?.lat ?? null,
      lng: o.point?.lng ?? null,
      address: s.input.address ?? null,
      needs_triage: !s.category.code || !o.area || s.reasons.some((r) => r.code === 'category_contradicted' || r.code === 'area_likely'),
      priority,
      received_at: s.receivedAt,
      last_report_at: o.lastReportAt,
      cell: o.point ? cellOf(o.point.lat, o.point.lng) : null,
      hotspot_count: count,
      // Counted here: recounting would write every new ticket a second time.
      report_count: o.reports,
      reporter_count: o.citizens.size + o.anonymous,
      triage_due_at: deadlines.triage,
      due_at: deadlines.resolve,
      place_keys: o.keys,
      // Without a unit, the units its words may mean: where a later report finds it.
      area_candidates: o.area ? null : s.area.candidates,
    };
  }), ['id', 'code']);
  const byCode = new Map(inserted.map((r) => [r.code, r.id]));
  for (const [placeholder, o] of openings) realId.set(placeholder, byCode.get(o.code)!);
  await scheduleSlaMany(tx, plans.map(({ o, s, priority, targets }): { ticket: SlaTicket; targets: SlaTargets } => ({
    ticket: { id: realId.get(states[o.n]!.group.ticketId!)!, status: 'new', received_at: s.receivedAt, category_code: s.category.code, priority },
    targets,
  })));
  return realId;
}

/** One INSERT for every report, with its decisions and reasons. Returns inbound id -> report id. */
async function insertReports(tx: DbOrTx, todo: Selectable<InboundMessageTable>[], states: PipelineState[], ticketOf: (s: PipelineState) => number): Promise<Map<number, number>> {
  const reports = await insertRecords<{ id: number; inbound_id: number }>(tx, 'reports', REPORT_COLUMNS, states.map((s, n) => {
    const inbound = todo[n]!;
    return {
      code: inbound.code,
      inbound_id: inbound.id,
      channel: inbound.channel,
      endpoint: inbound.endpoint,
      citizen_id: s.citizenId,
      ticket_id: ticketOf(s),
      text: s.text,
      text_folded: s.textFolded,
      category_code: s.category.code,
      category_source: s.category.source,
      category_confidence: s.category.confidence,
      area_code: s.area.code,
      area_source: s.area.source,
      lat: s.input.lat ?? null,
      lng: s.input.lng ?? null,
      address: s.input.address ?? null,
      attachments: s.input.attachments ?? [],
      relation: s.group.relation,
      score: s.group.score,
      reasons: s.reasons,
      place_keys: s.placeKeys,
      received_at: s.receivedAt,
      thread_key: s.input.thread?.key ?? null,
    };
  }), ['id', 'inbound_id']);
  return new Map(reports.map((r) => [r.inbound_id, r.id]));
}

/** Streets seen in a unit: each report placed for sure (`placedSurely`) that names streets (at most 4 of its own). */
async function learnStreets(tx: DbOrTx, states: PipelineState[]): Promise<void> {
  const seen = new Map<string, { street: string; area_code: string; n: number; at: string }>();
  for (const s of states) {
    if (!placedSurely(s)) continue;
    const unit = s.area.code!;
    for (const street of streetNames(s.placeKeys).slice(0, 4)) {
      const key = `${street}|${unit}`;
      const e = seen.get(key) ?? { street, area_code: unit, n: 0, at: s.receivedAt.toISOString() };
      e.n++;
      if (s.receivedAt.toISOString() > e.at) e.at = s.receivedAt.toISOString();
      seen.set(key, e);
    }
  }
  if (seen.size === 0) return;
  await sql`
    insert into street_units (street, area_code, reports, last_seen_at)
    select v.street, v.area_code, v.n, v.at from jsonb_to_recordset(cast(${jsonParam([...seen.values()])} as jsonb)) as v(street text, area_code text, n int, at timestamptz)
    on conflict (street, area_code) do update set reports = street_units.reports + excluded.reports,
      last_seen_at = greatest(street_units.last_seen_at, excluded.last_seen_at)`.execute(tx);
}

/** The tickets reports joined: their latest report, a first point, their place keys; one UPDATE. */
async function updateJoined(tx: DbOrTx, joined: Map<number, Joining>): Promise<void> {
  if (joined.size === 0) return;
  const changes = [...joined].map(([id, t]) => ({
    id, at: t.lastReportAt.toISOString(), lat: t.point?.lat ?? null, lng: t.point?.lng ?? null, cell: t.point ? cellOf(t.point.lat, t.point.lng) : null, keys: t.keys, area: t.area,
  }));
  // Keys are added to what the row holds now (another batch may have added some meanwhile).
  await sql`
    update tickets set last_report_at = greatest(tickets.last_report_at, v.at),
      lat = case when tickets.lat is null then v.lat else tickets.lat end,
      lng = case when tickets.lat is null then v.lng else tickets.lng end,
      cell = case when tickets.lat is null then v.cell else tickets.cell end,
      area_code = coalesce(tickets.area_code, v.area),
      area_candidates = case when coalesce(tickets.area_code, v.area) is null then tickets.area_candidates end,
      place_keys = ${mergedKeysSql(sql`tickets.place_keys`, sql`v.keys`)}
    from jsonb_to_recordset(cast(${jsonParam(changes)} as jsonb)) as v(id int, at timestamptz, lat double precision, lng double precision, cell bigint, keys jsonb, area text)
    where tickets.id = v.id`.execute(tx);
}

/**
 * A ticket's reports that named no unit for sure, before a later report gave the ticket one
 * (`placesTicket`): they are routed with their incident, as a report joining a placed ticket is
 * (`area_from_ticket`). Only reports before the placing one (the later ones had the ticket's unit
 * when they were decided, and kept their own reading where their words named other units), and
 * only while the ticket holds the placing report's unit (another session may have given it one
 * first: a guess for an agent to confirm, or an agent's choice). A report another session has
 * locked (an agent moving it) is skipped, not waited for: this transaction holds the ticket, and
 * that session may be waiting for it.
 */
async function routeEarlierReports(tx: DbOrTx, placings: { ticket: number; report: number; area: string }[]): Promise<void> {
  if (placings.length === 0) return;
  await sql`
    with v as (
      select * from jsonb_to_recordset(cast(${jsonParam(placings)} as jsonb)) as v(ticket int, report int, area text)
    ), earlier as (
      select r.id, v.area from reports r
      join v on r.ticket_id = v.ticket and r.id < v.report
      join tickets t on t.id = v.ticket and t.area_code = v.area
      where r.area_code is null
      for update of r skip locked
    )
    update reports set area_code = earlier.area, area_source = 'ticket',
      reasons = reports.reasons || jsonb_build_array(jsonb_build_object('step', 'group', 'code', 'area_from_ticket_later',
        'message', 'unit its ticket got from a later report: ' || earlier.area))
    from earlier where reports.id = earlier.id`.execute(tx);
}

/**
 * Marks the messages processed, with their reports. A message stored raw keeps the report its
 * channel parsed from it: the contact a reply goes to and the identities an agent may unlink
 * are read from there later.
 */
async function markProcessed(tx: DbOrTx, todo: Selectable<InboundMessageTable>[], states: PipelineState[], reportId: Map<number, number>): Promise<void> {
  const processed = todo.map((m, n) => ({ id: m.id, report_id: reportId.get(m.id)!, report: m.report === null ? states[n]!.input : null }));
  await sql`
    update inbound_messages set processed_at = now(), report_id = v.report_id, error = null,
      report = coalesce(inbound_messages.report, v.report)
    from jsonb_to_recordset(cast(${jsonParam(processed)} as jsonb)) as v(id int, report_id int, report jsonb)
    where inbound_messages.id = v.id`.execute(tx);
}

/** Per report: the resident's report first in the timeline, then what the system did with it. */
function timeline(todo: Selectable<InboundMessageTable>[], states: PipelineState[], ticketOf: (s: PipelineState) => number): NewEvent[] {
  return states.flatMap((s, n): NewEvent[] => {
    const inbound = todo[n]!;
    const ticketId = ticketOf(s);
    const out: NewEvent[] = [{
      ticketId, type: s.group.relation === 'new' ? 'report.received' : 'report.grouped', actor: 'system',
      public: true, data: { report: inbound.code, channel: inbound.channel, relation: s.group.relation, score: s.group.score },
    }];
    if (s.group.newTicketCode) {
      out.push({ ticketId, type: 'ticket.created', actor: 'system', public: true, data: { channel: inbound.channel, category: s.category.code } });
      if (s.area.code || s.departmentCode) {
        out.push({ ticketId, type: 'ticket.routed', actor: 'system', public: true, data: { area: s.area.code, department: s.departmentCode, candidates: s.area.candidates } });
      }
    }
    return out;
  });
}
