import type { DomainEvent } from '../../core/events.ts';
import type { QuarantineRow } from '../../core/inbound/quarantine.ts';
import type { QueueRow, TicketRecord } from '../../core/tickets/queue.ts';
import type { SearchHit } from '../../search/search.ts';
import type { AddressPlace } from '../../core/engine/pipeline.ts';
import type { Accepted } from '../../intake/intake-service.ts';
import type { MessageReader } from './context.ts';
import { allowedActions, type Actor } from '../../core/staff/policy.ts';
import { nextStage, type SlaPolicy } from '../../core/sla/sla.ts';
import { reasonArgs } from '../../core/engine/reason-codes.ts';
import type { CitizenSummary } from '../../core/citizens/card.ts';
import type {
  ActionResult, AreaGeometry, CallerLookup, AreaShape, Attachment, CitizenView, MessageView, LoggedReport, Named, NextStage, Reason, OutboundView, PlaceResolution, QuarantineView, QueueItem, ReportView, TicketDetail,
  TicketEventView, TicketView,
} from '../../wire/staff-api.ts';

// What the console and ward API answer, decided field by field (src/wire/staff-api.ts has the
// shapes): a column added to a table is not sent until it is named here.

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);
const named = (code: string | null, name: string | null | undefined): Named | null => (code ? { code, name: name ?? code } : null);

/** The nearest SLA deadline of a ticket under the policies in force. */
function presentNextStage(t: Parameters<typeof nextStage>[0], policies: readonly SlaPolicy[]): NextStage | null {
  const n = nextStage(t, policies);
  return n ? { stage: n.stage, due_at: n.dueAt.toISOString() } : null;
}

export function presentQueueItem(r: QueueRow, policies: readonly SlaPolicy[], hit?: SearchHit): QueueItem {
  return {
    id: r.id, code: r.code, status: r.status, title: r.title, priority: r.priority,
    category: named(r.category_code, r.category_name), area: named(r.area_code, r.area_name),
    dispatched_area: r.dispatched_area, channels: r.channels ?? [], report_count: r.report_count, reporter_count: r.reporter_count,
    needs_triage: r.needs_triage, hotspot_count: r.hotspot_count, received_at: r.received_at.toISOString(),
    sla_started_at: (r.reopened_at ?? r.received_at).toISOString(), due_at: iso(r.due_at), next_stage: presentNextStage(r, policies), claimed_by: r.claimed_by,
    ...(hit ? { search: { match: hit.match, snippet: { text: hit.snippet.text, highlights: hit.snippet.highlights } } } : {}),
  };
}

/** An engine's reason, field by field, with what its message names (for the console's Vietnamese). */
function presentReason(x: Reason): Reason {
  return {
    step: x.step, code: x.code, message: x.message, ...(typeof x.score === 'number' ? { score: x.score } : {}),
    args: reasonArgs(x.code, x.message),
  };
}

/** A stored file, field by field (the name where its sender gave one). */
export function presentAttachment(a: Attachment): Attachment {
  return { key: a.key, content_type: a.content_type, size: a.size, sha256: a.sha256, ...(typeof a.name === 'string' && a.name ? { name: a.name } : {}) };
}

/** A report's stored messages, as their channel reads them. */
export interface StoredMessage {
  report_id: number;
  code: string;
  channel: string;
  payload: unknown;
  received_at: Date;
}

/** The messages a report was made of, as their senders wrote them (channels that can say; others none). */
function presentMessages(stored: StoredMessage[], reader: MessageReader | undefined): Map<number, MessageView[]> {
  const out = new Map<number, MessageView[]>();
  for (const m of stored) {
    const read = reader?.read(m.channel, m.payload);
    if (!read) continue;
    const view: MessageView = {
      code: m.code, received_at: m.received_at.toISOString(), subject: read.subject, from: read.from, sent_at: read.sent_at,
      text: read.text, quoted: read.quoted, body_from: read.body_from, attachments: read.attachments.map(presentAttachment),
    };
    out.set(m.report_id, [...(out.get(m.report_id) ?? []), view]);
  }
  return out;
}

/**
 * One ticket as `actor` sees it: with what they may do to it now (the one policy) and its
 * nearest deadline under `policies`.
 */
export function presentTicketDetail(
  d: TicketRecord, actor: Actor, policies: readonly SlaPolicy[], stored: StoredMessage[] = [], reader?: MessageReader,
): TicketDetail {
  const byReport = presentMessages(stored, reader);
  const t = d.ticket;
  const ticket: TicketView = {
    id: t.id, code: t.code, status: t.status, title: t.title, priority: t.priority,
    category: d.category, area: d.area, area_code: t.area_code, address: t.address, lat: t.lat, lng: t.lng,
    report_count: t.report_count, reporter_count: t.reporter_count, needs_triage: t.needs_triage, hotspot_count: t.hotspot_count,
    received_at: t.received_at.toISOString(), sla_started_at: (t.reopened_at ?? t.received_at).toISOString(), reopen_count: t.reopen_count,
    triage_due_at: iso(t.triage_due_at), due_at: iso(t.due_at),
    resolved_at: iso(t.resolved_at), closed_at: iso(t.closed_at),
    dispatched_area: t.dispatched_area, dispatched_at: iso(t.dispatched_at), merged_into: t.merged_into,
    claimed_by: d.claimedBy?.username ?? null, claimed_by_name: d.claimedBy?.display_name ?? null,
    next_stage: presentNextStage(t, policies), allowed: allowedActions(actor, t),
  };
  const reports = d.reports.map((r): ReportView => ({
    id: r.id, code: r.code, channel: r.channel, citizen_id: r.citizen_id, text: r.text,
    category_code: r.category_code, category_source: r.category_source, category_confidence: r.category_confidence,
    area_code: r.area_code, area_source: r.area_source, lat: r.lat, lng: r.lng, address: r.address,
    attachments: (r.attachments ?? []).map(presentAttachment), relation: r.relation, score: r.score, reasons: (r.reasons ?? []).map(presentReason),
    received_at: r.received_at.toISOString(),
    call: r.call ? { status: r.call.status, duration_s: r.call.duration_s, queue_s: r.call.queue_s } : null,
    messages: byReport.get(r.id) ?? [],
  }));
  const events = d.events.map((e): TicketEventView => ({
    id: e.id, seq: e.id, type: e.type, actor: e.actor, reason: e.reason, data: e.data, public: e.public, created_at: e.created_at.toISOString(),
  }));
  const citizens = d.citizens.map((c): CitizenView => ({
    id: c.id, display_name: c.display_name,
    identities: c.identities.map((i) => ({ id: i.id, kind: i.kind, value: i.value })),
    history: c.history.map((h) => ({ code: h.code, status: h.status, title: h.title, channel: h.channel, received_at: h.received_at.toISOString() })),
  }));
  const messages = d.messages.map((m): OutboundView => ({
    id: m.id, report_code: m.report_code, channel: m.channel, kind: m.kind, status: m.status, delivery_status: m.delivery_status,
    error: m.error, segments: m.segments, created_at: m.created_at.toISOString(), sent_at: iso(m.sent_at), delivered_at: iso(m.delivered_at),
  }));
  return { ticket, reports, events, citizens, messages };
}

/** Where an address places a report; `nameOf` names a unit code (the city's units). */
export function presentPlace(p: AddressPlace, nameOf: (code: string) => string | undefined): PlaceResolution {
  const unit = (code: string | null): Named | null => (code ? { code, name: nameOf(code) ?? code } : null);
  return {
    area: unit(p.code), candidates: p.candidates.map((c) => unit(c)!), likely: unit(p.likely), source: p.source,
    reasons: p.reasons.map((r) => r.code),
  };
}

/** Who a caller is by their number (`phone`: as normalised; null when it is not one), field by field. */
export function presentCaller(phone: string | null, s: CitizenSummary | null): CallerLookup {
  return {
    phone,
    citizen: s ? {
      id: s.citizenId, name: s.name,
      open_tickets: s.openTickets.map((t) => ({ code: t.code, status: t.status, title: t.title })),
      reports: s.reports.map((r) => ({ code: r.code, ticket: r.ticketCode, status: r.status, title: r.title, channel: r.channel, received_at: r.receivedAt })),
    } : null,
  };
}

/** A report an agent logged for a caller: its code, as intake gave it. */
export function presentLogged(a: Accepted, call: string | null): LoggedReport {
  return { code: a.code, replay: a.replay, received_at: a.receivedAt.toISOString(), call };
}

export function presentAreaShape(a: { code: string; name: string; geometry: unknown }): AreaShape {
  return { code: a.code, name: a.name, geometry: (a.geometry as AreaGeometry | null) ?? null };
}

/** A staff action's answer: the events it wrote, by sequence and type. */
export function presentAction(events: DomainEvent[]): ActionResult {
  return { ok: true, events: events.map((e) => ({ seq: e.seq, type: e.type })) };
}

/** A quarantined message as admins see it (its audit log when given). */
export function presentQuarantine(q: QuarantineRow, events?: { type: string; actor: string; data: Record<string, unknown> | null; created_at: Date }[]): QuarantineView {
  const place = q.place ?? {};
  const outcome = q.outcome as { outcome?: unknown; code?: unknown } | null;
  return {
    id: Number(q.id), channel: q.channel, endpoint: q.endpoint,
    uid_validity: place.uidValidity !== undefined ? String(place.uidValidity) : null, uid: typeof place.uid === 'number' ? place.uid : null,
    received_at: q.received_at.toISOString(), sender: q.sender, size: q.size, error: { code: q.error_code, message: q.error_message },
    status: q.status, attempts: q.attempts, raw: q.raw_key !== null,
    outcome: outcome ? { outcome: String(outcome.outcome ?? ''), code: typeof outcome.code === 'string' ? outcome.code : null } : null,
    created_at: q.created_at.toISOString(), updated_at: q.updated_at.toISOString(),
    ...(events ? { events: events.map((e) => ({ type: e.type, actor: e.actor, data: e.data, created_at: e.created_at.toISOString() })) } : {}),
  };
}
