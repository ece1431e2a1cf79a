// What the staff API answers, shared by the server (src/core, src/http) and the browser
// (web/lib). No imports, so browser code, which type-checks without Node types, can import it
// too. The server builds these shapes field by field (src/http/console/presenters.ts), never
// by spreading a database row, so a new column is not sent until it is named here.

export const ROLES = ['agent', 'supervisor', 'ward_officer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** The signed-in member of staff, as every layer above core sees them. */
export interface SessionUser {
  id: number;
  username: string;
  displayName: string;
  role: Role;
  areaCodes: string[];
}

export interface Named {
  code: string;
  name: string;
}

/** A channel as the console and ward view name it (every registered one: old reports may come from one now off). */
export interface ChannelInfo {
  name: string;
  label: { vi: string; en: string; background: string; text: string };
  enabled: boolean;
}

/** GET /api/console/meta: the lists the views fill their menus from. */
export interface ConsoleMeta {
  categories: Named[];
  areas: Named[];
  /** Every registered channel, with its name and colours: the views know no channel of their own. */
  channels: ChannelInfo[];
  statuses: string[];
  priorities: string[];
}

/** A stored file: a photo, or a PDF an email brought (content-addressed: `key` is derived from `sha256`). */
export interface Attachment {
  key: string;
  content_type: string;
  size: number;
  sha256: string;
  /** A ward's result photo: taken before or after the work. */
  taken?: 'before' | 'after';
  /** A ward's result photo residents see on the tracking page (the "after" ones). */
  public?: boolean;
  /** The name its sender gave it (email attachments), when one was given. */
  name?: string;
}

/**
 * One message of a report as its sender wrote it (channels that keep one, such as email): its
 * own words, the quoted history it carried (split on the server; the console folds it away),
 * and its files with their names.
 */
export interface MessageView {
  /** The inbound message's code. */
  code: string;
  received_at: string;
  subject: string | null;
  /** The sender as the message names them ("Name <address>"). */
  from: string | null;
  /** When the sender's client says it was written. */
  sent_at: string | null;
  /** Its text part, or its HTML made safe as text, without the quoted history. */
  text: string;
  /** The quoted history (earlier messages of the conversation); empty when there was none. */
  quoted: string;
  /** text: from the text part; html: from the HTML part made text; none: it had no words. */
  body_from: string;
  attachments: Attachment[];
}

/** Why the engine decided what it did, one step at a time (identify, classify, locate, route, group). */
export interface Reason {
  step: string;
  /** Stable (src/core/engine/reason-codes.ts REASON_CODES): what the console says in Vietnamese. */
  code: string;
  /** As the engine wrote it, in English (operators, replay). */
  message: string;
  score?: number;
  /** What the message names (units, categories, numbers), read back by the console API for the Vietnamese text. */
  args?: Record<string, string | number | string[]>;
}

/** What every view of a ticket names. */
interface TicketBasics {
  id: number;
  code: string;
  status: string;
  title: string;
  priority: string;
  category: Named | null;
  area: Named | null;
}

/**
 * The SLA stage a ticket has still to reach first (triage, dispatch, acknowledge, resolve: the
 * SLA module's stages) and its deadline under the ticket's policy; null once it is settled.
 */
export interface NextStage {
  stage: string;
  due_at: string;
}

/** One ticket of the live queue. */
export interface QueueItem extends TicketBasics {
  dispatched_area: string | null;
  channels: string[];
  report_count: number;
  reporter_count: number;
  needs_triage: boolean;
  hotspot_count: number;
  received_at: string;
  /** When its SLA clock started: its receipt, or its last reopening by a resident; `due_at` counts from here. */
  sla_started_at: string;
  due_at: string | null;
  /** The nearest deadline: what the queue's badge counts down (red once it is past). */
  next_stage: NextStage | null;
  claimed_by: string | null;
  /** Present when the queue was searched (`q`): how the ticket matched, and where. */
  search?: QueueSearchHit;
}

/** Why a searched ticket was found: its words as typed, without diacritics, or by likeness (typos). */
export interface QueueSearchHit {
  match: 'exact' | 'unaccented' | 'typo';
  /** A piece of its text; `highlights` are [start, end) offsets of the matching words in it. */
  snippet: { text: string; highlights: [number, number][] };
}

export interface TicketView extends TicketBasics {
  /** The unit it lies in (`area` names it); the unit in charge is `dispatched_area`, else this. */
  area_code: string | null;
  address: string | null;
  lat: number | null;
  lng: number | null;
  report_count: number;
  reporter_count: number;
  needs_triage: boolean;
  hotspot_count: number;
  received_at: string;
  /** When its SLA clock started: its receipt, or its last reopening by a resident; the deadlines count from here. */
  sla_started_at: string;
  /** How many times residents reopened it. */
  reopen_count: number;
  /** The deadline of the first stage (triage); `due_at` is the resolve deadline. */
  triage_due_at: string | null;
  due_at: string | null;
  resolved_at: string | null;
  closed_at: string | null;
  dispatched_area: string | null;
  dispatched_at: string | null;
  merged_into: number | null;
  /** The claiming agent's username and display name. */
  claimed_by: string | null;
  claimed_by_name: string | null;
  /** The nearest deadline (see NextStage). */
  next_stage: NextStage | null;
  /**
   * What the signed-in user may do to this ticket now, as the one policy answers it
   * (src/core/staff/policy.ts `allowedActions`: `ticket.claim`, `ticket.update`, `ticket.close`, ...).
   * The console offers these and nothing else.
   */
  allowed: string[];
}

/** One report of a ticket, from whichever channel, with the engine's decisions and reasons. */
export interface ReportView {
  id: number;
  code: string;
  channel: string;
  citizen_id: number | null;
  text: string;
  category_code: string | null;
  category_source: string;
  category_confidence: number;
  area_code: string | null;
  area_source: string;
  lat: number | null;
  lng: number | null;
  address: string | null;
  attachments: Attachment[];
  relation: string;
  score: number;
  reasons: Reason[];
  received_at: string;
  /** The call a phone report came from, as the phone line's status callbacks told it (null: none recorded). */
  call: { status: string | null; duration_s: number | null; queue_s: number | null } | null;
  /** The messages it was made of, as their senders wrote them, oldest first (empty where the channel keeps none: SMS, forms). */
  messages: MessageView[];
}

/** One entry of a ticket's event log; `seq` orders it among every event (the realtime resume point). */
export interface TicketEventView {
  id: number;
  seq: number;
  type: string;
  actor: string;
  reason: string | null;
  data: Record<string, unknown> | null;
  public: boolean;
  created_at: string;
}

/** A citizen behind a ticket's reports, with the identifiers that link them (staff who may see people only). */
export interface CitizenView {
  id: number;
  display_name: string | null;
  identities: { id: number; kind: string; value: string }[];
  /** Their other reports, newest first (at most 20). */
  history: { code: string; status: string; title: string; channel: string; received_at: string }[];
}

/**
 * A message to a citizen about the ticket (an acknowledgement, a notice, an agent's answer) and
 * what became of it. `status`: queued, sent, published (on the tracking page), retrying,
 * undeliverable; `delivery_status`: what the provider last said (queued, sent, delivered, read,
 * undelivered, failed).
 */
export interface OutboundView {
  id: number;
  report_code: string;
  channel: string;
  /** received, dispatched, resolved, reply, private_reply */
  kind: string;
  status: string;
  delivery_status: string | null;
  error: string | null;
  segments: number | null;
  created_at: string;
  sent_at: string | null;
  delivered_at: string | null;
}

/** GET /api/console/tickets/:code */
export interface TicketDetail {
  ticket: TicketView;
  reports: ReportView[];
  events: TicketEventView[];
  citizens: CitizenView[];
  /** Messages to the citizens, oldest first (staff who may see people; others get none). */
  messages: OutboundView[];
}

/** GET /api/console/places/resolve?q=: the unit an address places a report in, as the pipeline would. */
export interface PlaceResolution {
  /** The unit, when the address decides it. */
  area: Named | null;
  /** Every unit it may mean (one when decided; several when ambiguous). */
  candidates: Named[];
  /** Of a former ward divided between units, the one it most likely went to (for an agent to confirm). */
  likely: Named | null;
  /** gps, address, text or none */
  source: string;
  /** The locate step's reason codes (`area_old_address`, `area_ambiguous`, ...). */
  reasons: string[];
}

/** GET /api/console/callers?phone=: who a caller is, by their number, and what of theirs is not closed yet. */
export interface CallerLookup {
  /** The number as stored (E.164), or null when what was typed is not a phone number. */
  phone: string | null;
  /** The citizen known by it, or null (a first call). */
  citizen: {
    id: number;
    name: string | null;
    /** Their tickets still open or resolved but not closed, newest first (at most 10). */
    open_tickets: { code: string; status: string; title: string }[];
    /** Their last reports, newest first (at most 5). */
    reports: { code: string; ticket: string; status: string; title: string; channel: string; received_at: string }[];
  } | null;
}

/** POST /api/console/reports: a report an agent typed for a caller, stored and waiting for the worker. */
export interface LoggedReport {
  /** The report's code (`PA-…`): what the caller is told. */
  code: string;
  /** True when this call (or Idempotency-Key) was already logged: nothing new was stored. */
  replay: boolean;
  received_at: string;
  /** The call it was logged for, if any. */
  call: string | null;
}

type Ring = number[][];
/** The GeoJSON geometries a unit can have. */
export type AreaGeometry = { type: 'Polygon'; coordinates: Ring[] } | { type: 'MultiPolygon'; coordinates: Ring[][] };

/** GET /api/console/areas/:code/shape */
export interface AreaShape {
  code: string;
  name: string;
  geometry: AreaGeometry | null;
}

/** What every staff action answers: the events it wrote, in order. */
export interface ActionResult {
  ok: true;
  events: { seq: number; type: string }[];
}

/** GET /api/console/quarantine: a message a channel could not read, held for admins. */
export interface QuarantineView {
  id: number;
  channel: string;
  /** The mailbox (or other endpoint) it came in on. */
  endpoint: string | null;
  /** Where it lies at the provider: for email, the mailbox's UIDVALIDITY and UID. */
  uid_validity: string | null;
  uid: number | null;
  received_at: string;
  sender: string | null;
  size: number | null;
  error: { code: string; message: string };
  /** held, retried, dismissed */
  status: string;
  attempts: number;
  /** Whether the raw message is kept (downloadable, retryable). */
  raw: boolean;
  /** What the last successful retry made of it (`outcome`: stored, duplicate, bounce...; `code`: the report's). */
  outcome: { outcome: string; code: string | null } | null;
  created_at: string;
  updated_at: string;
  /** Its audit log (only in the answer about one message). */
  events?: { type: string; actor: string; data: Record<string, unknown> | null; created_at: string }[];
}
