import { sql } from 'kysely';
import type { Db } from '../db/schema.ts';
import { cellOf } from './geo.ts';
import { GROUPING, hotspotCount } from './grouping.ts';
import type { AreaIndex } from './area-index.ts';
import type { Gazetteer } from './gazetteer.ts';
import type { TopicModel } from './topic.ts';
import { loadCategories, type CategoryInfo } from './catalog.ts';
import { newCode } from './codes.ts';
import { AppError } from './errors.ts';
import type { DomainEvent } from './events.ts';
import { decide, type PipelineState, type PipelineStep, PIPELINE } from './pipeline.ts';
import type { InboundReport } from './report-input.ts';
import { scheduleSla, slaDeadlines, slaTargets } from './sla.ts';
import { appendEvents, recountTicket, type NewEvent } from './tickets.ts';

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
}

export interface ProcessResult {
  reportId: number;
  ticketId: number;
  state: PipelineState | null;
  events: DomainEvent[];
}

/**
 * Turns one stored inbound message into a report on a ticket, in one transaction: the
 * pipeline decides, then the report, the ticket (new or joined) and the audit events are
 * written together. Idempotent: a message already processed returns its earlier result.
 */
export async function processInbound(deps: ProcessDeps, inboundId: number): Promise<ProcessResult> {
  // Before the transaction: a cache miss reads through the caller's handle, and on PGlite the
  // transaction holds the only connection, so that read would wait for itself forever.
  const cached = deps.categories ? await deps.categories() : null;
  return deps.db.transaction().execute(async (tx) => {
    const inbound = await tx.selectFrom('inbound_messages').selectAll().where('id', '=', inboundId).forUpdate().executeTakeFirst();
    if (!inbound) throw new AppError('inbound_not_found', 404, `inbound message ${inboundId} not found`);
    if (inbound.processed_at && inbound.report_id) {
      const r = await tx.selectFrom('reports').select(['id', 'ticket_id']).where('id', '=', inbound.report_id).executeTakeFirstOrThrow();
      return { reportId: r.id, ticketId: r.ticket_id, state: null, events: [] };
    }
    const input = (inbound.report as InboundReport | null) ?? deps.parse(inbound.channel, inbound.payload);
    const categories: CategoryInfo[] = cached ?? await loadCategories(tx);
    const receivedAt = new Date(inbound.received_at);
    const s = await decide(input, receivedAt, { db: tx, ...deps.engine, categories }, deps.steps ?? PIPELINE);

    const events: NewEvent[] = [];
    let ticketId = s.group.ticketId;
    if (ticketId === null) {
      const hotspot = s.category.code && input.lat !== undefined && input.lng !== undefined
        ? await hotspotCount(tx, s.category.code, input.lat, input.lng, receivedAt) : 0;
      if (hotspot >= GROUPING.hotspotMin) {
        s.reasons.push({ step: 'group', code: 'hotspot', message: `${hotspot} tickets on this topic here were closed in the last ${GROUPING.hotspotLookbackDays} days`, score: hotspot });
      }
      const priority = hotspot >= GROUPING.hotspotMin ? 'high' : 'normal';
      const slaPolicy = await slaTargets(tx, s.category.code, priority);
      const deadlines = slaDeadlines(receivedAt, slaPolicy);
      const ticket = await tx.insertInto('tickets').values({
        code: newCode('TK'),
        status: 'new',
        category_code: s.category.code,
        area_code: s.area.code,
        department_code: s.departmentCode,
        title: s.text.slice(0, 140),
        lat: input.lat ?? null,
        lng: input.lng ?? null,
        address: input.address ?? null,
        needs_triage: !s.category.code || !s.area.code || s.reasons.some((r) => r.code === 'category_contradicted'),
        priority,
        received_at: receivedAt,
        last_report_at: receivedAt,
        cell: input.lat !== undefined && input.lng !== undefined ? cellOf(input.lat, input.lng) : null,
        hotspot_count: hotspot,
        triage_due_at: deadlines.triage,
        due_at: deadlines.resolve,
      }).returning('id').executeTakeFirstOrThrow();
      ticketId = ticket.id;
      await scheduleSla(tx, { id: ticketId, status: 'new', received_at: receivedAt, category_code: s.category.code, priority }, slaPolicy);
      events.push({ ticketId, type: 'ticket.created', actor: 'system', public: true, data: { channel: inbound.channel, category: s.category.code } });
      if (s.area.code || s.departmentCode) {
        events.push({ ticketId, type: 'ticket.routed', actor: 'system', public: true, data: { area: s.area.code, department: s.departmentCode, candidates: s.area.candidates } });
      }
    }
    const report = await tx.insertInto('reports').values({
      code: inbound.code,
      inbound_id: inbound.id,
      channel: inbound.channel,
      citizen_id: s.citizenId,
      ticket_id: ticketId,
      text: s.text,
      text_folded: s.textFolded,
      category_code: s.category.code,
      category_source: s.category.source,
      category_confidence: s.category.confidence,
      area_code: s.area.code,
      area_source: s.area.source,
      lat: input.lat ?? null,
      lng: input.lng ?? null,
      address: input.address ?? null,
      attachments: JSON.stringify(input.attachments ?? []),
      relation: s.group.relation,
      score: s.group.score,
      reasons: JSON.stringify(s.reasons),
      received_at: receivedAt,
    }).returning('id').executeTakeFirstOrThrow();
    // The resident's report comes first in the timeline, then what the system did with it.
    events.unshift({
      ticketId, type: s.group.relation === 'new' ? 'report.received' : 'report.grouped', actor: 'system',
      public: true, data: { report: inbound.code, channel: inbound.channel, relation: s.group.relation, score: s.group.score },
    });
    if (s.group.relation !== 'new') {
      await tx.updateTable('tickets').set((eb) => ({
        last_report_at: sql<Date>`greatest(${eb.ref('last_report_at')}, ${receivedAt})`,
      })).where('id', '=', ticketId).execute();
      // A ticket known only by words takes the first GPS point a later report brings.
      if (input.lat !== undefined && input.lng !== undefined) {
        await tx.updateTable('tickets').set({ lat: input.lat, lng: input.lng, cell: cellOf(input.lat, input.lng) })
          .where('id', '=', ticketId).where('lat', 'is', null).execute();
      }
    }
    await recountTicket(tx, ticketId);
    await tx.updateTable('inbound_messages')
      .set({ processed_at: new Date(), report_id: report.id, error: null })
      .where('id', '=', inbound.id).execute();
    const published = await appendEvents(tx, events);
    return { reportId: report.id, ticketId, state: s, events: published };
  });
}
