import type { ColumnType, Generated, Insertable, Kysely, Selectable, Transaction } from 'kysely';
import type { Attachment, Reason } from '../wire/staff-api.ts';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
type Json<T> = ColumnType<T, string | T, string | T>;

export interface AreaTable {
  code: string;
  name: string;
  short_name: string;
  kind: Generated<string>;
  name_folded: string;
  geometry: Json<unknown>;
  min_lng: number;
  min_lat: number;
  max_lng: number;
  max_lat: number;
  source: Generated<string>;
  updated_at: DefaultTimestamp;
}

export interface DepartmentTable {
  code: string;
  name: string;
  name_en: Generated<string>;
  kind: Generated<string>;
}

export interface CategoryTable {
  code: string;
  name: string;
  name_en: Generated<string>;
  department_code: string | null;
  keywords: Json<string[]>;
  /** Unused since SLA targets live in sla_policies (kept: migrations are frozen). */
  sla_minutes: Generated<number>;
  /** Same-incident radius in metres (grouping). */
  duplicate_radius_m: Generated<number>;
  duplicate_window_h: Generated<number>;
  duplicate_span_h: Generated<number>;
  sort: Generated<number>;
  active: Generated<boolean>;
}

export interface CitizenTable {
  id: Generated<number>;
  display_name: string | null;
  merged_into: number | null;
  created_at: DefaultTimestamp;
}

export interface CitizenIdentityTable {
  id: Generated<number>;
  citizen_id: number;
  kind: string;
  value: string;
  created_at: DefaultTimestamp;
}

export interface InboundMessageTable {
  id: Generated<number>;
  channel: string;
  external_id: string;
  /** The hotline number, fanpage or mailbox it came in on; null where the channel has one. */
  endpoint: string | null;
  code: string;
  payload: Json<unknown>;
  report: Json<unknown> | null;
  request_hash: string | null;
  received_at: Timestamp;
  processed_at: NullableTimestamp;
  attempts: Generated<number>;
  error: string | null;
  report_id: number | null;
}

export interface TicketTable {
  id: Generated<number>;
  code: string;
  status: Generated<string>;
  category_code: string | null;
  area_code: string | null;
  department_code: string | null;
  priority: Generated<string>;
  title: string;
  lat: number | null;
  lng: number | null;
  address: string | null;
  report_count: Generated<number>;
  reporter_count: Generated<number>;
  needs_triage: Generated<boolean>;
  received_at: Timestamp;
  triage_due_at: NullableTimestamp;
  due_at: NullableTimestamp;
  resolved_at: NullableTimestamp;
  closed_at: NullableTimestamp;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
  /** Geo cell of the ticket's point (see core/geo.ts), for candidate lookup. */
  cell: number | null;
  last_report_at: NullableTimestamp;
  hotspot_count: Generated<number>;
  merged_into: number | null;
  claimed_by: number | null;
  claimed_at: NullableTimestamp;
  dispatched_area: string | null;
  dispatched_at: NullableTimestamp;
  acknowledged_at: NullableTimestamp;
  /** Place keys its reports named (core/text.ts placeKeys), first named first; null before 0007. */
  place_keys: Json<string[]> | null;
  /** Without a unit: the units its words may mean (0013); null once it has one. */
  area_candidates: Json<string[]> | null;
  /** When a resident last reopened it (0023); its SLA clock runs from here, else from received_at. */
  reopened_at: NullableTimestamp;
  /** How many times residents reopened it (0023): the SLA round of its alerts. */
  reopen_count: Generated<number>;
}

export interface OutboundMessageTable {
  id: Generated<number>;
  ticket_id: number;
  report_id: number;
  channel: string;
  /** 'reply' (an agent's answer) or 'resolved' (the notification that the problem is handled). */
  kind: string;
  body: string;
  status: Generated<string>;
  attempts: Generated<number>;
  error: string | null;
  created_by: number | null;
  created_at: DefaultTimestamp;
  sent_at: NullableTimestamp;
  /** The provider's id for the sent message (a Twilio MessageSid, a Messenger mid); 0014. */
  provider_id: string | null;
  /** As the provider last reported it: queued, sent, delivered, undelivered, failed, read. */
  delivery_status: string | null;
  delivered_at: NullableTimestamp;
  /** Where it went (a phone number, a page-scoped id, an address). */
  to_address: string | null;
  /** SMS segments it took. */
  segments: number | null;
}

/** Someone who asked a channel to stop writing to them (0014). */
export interface ChannelOptOutTable {
  channel: string;
  address: string;
  opted_out: boolean;
  keyword: string | null;
  updated_at: DefaultTimestamp;
}

/** Public reports counted per client address or contact in a fixed window (0016: src/intake/intake-limits.ts). */
export interface IntakeLimitTable {
  key: string;
  window_start: Date;
  count: number;
}

/** What a provider said about a message after it arrived (a call's status, a recording); 0014. */
export interface ChannelEventTable {
  id: Generated<number>;
  channel: string;
  external_id: string;
  kind: string;
  data: Json<Record<string, unknown>>;
  received_at: DefaultTimestamp;
}

/** A message a channel could not read, kept raw with its error for admins (0015). */
export interface ChannelQuarantineTable {
  id: Generated<number>;
  channel: string;
  endpoint: string | null;
  external_id: string;
  /** Where it lies at the provider (a mailbox's UIDVALIDITY and UID). */
  place: Json<Record<string, unknown>>;
  /** The raw message in the file store (null: not downloaded, e.g. too large). */
  raw_key: string | null;
  size: number | null;
  sender: string | null;
  error_code: string;
  error_message: string;
  /** held, retried (processed again and no longer held), dismissed. */
  status: Generated<string>;
  attempts: Generated<number>;
  /** What the last retry made of it. */
  outcome: Json<Record<string, unknown>> | null;
  received_at: Timestamp;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

/** Who did what to a quarantined message (0015). */
export interface QuarantineEventTable {
  id: Generated<number>;
  quarantine_id: number;
  type: string;
  actor: string;
  data: Json<Record<string, unknown>> | null;
  created_at: DefaultTimestamp;
}

/** Small values a channel keeps by key across runs (a mailbox's cursor); 0015. */
export interface ChannelStateTable {
  channel: string;
  key: string;
  value: Json<unknown>;
  updated_at: DefaultTimestamp;
}

export interface ReportTable {
  id: Generated<number>;
  code: string;
  inbound_id: number;
  channel: string;
  /** As its inbound message's. */
  endpoint: string | null;
  citizen_id: number | null;
  ticket_id: number;
  text: string;
  text_folded: string;
  category_code: string | null;
  category_source: Generated<string>;
  category_confidence: Generated<number>;
  area_code: string | null;
  area_source: Generated<string>;
  lat: number | null;
  lng: number | null;
  address: string | null;
  attachments: Json<Attachment[]>;
  relation: Generated<string>;
  score: Generated<number>;
  reasons: Json<Reason[]>;
  /** Place keys read from its words when it arrived (core/places/place-reader.ts); null before 0011. */
  place_keys: Json<string[]> | null;
  /** A conversation whose next message within minutes continues this report (0014). */
  thread_key: string | null;
  received_at: Timestamp;
  created_at: DefaultTimestamp;
}

/** A street seen in a unit: reports placed there by their point that named it (migration 0012). */
export interface StreetUnitTable {
  street: string;
  area_code: string;
  reports: Generated<number>;
  last_seen_at: DefaultTimestamp;
}

export interface TicketEventTable {
  id: Generated<number>;
  ticket_id: number;
  type: string;
  actor: string;
  reason: string | null;
  data: Json<Record<string, unknown>>;
  public: Generated<boolean>;
  created_at: DefaultTimestamp;
}

export interface CitizenEventTable {
  id: Generated<number>;
  citizen_id: number;
  type: string;
  actor: string;
  reason: string | null;
  data: Json<Record<string, unknown>>;
  created_at: DefaultTimestamp;
}

export interface UserTable {
  id: Generated<number>;
  username: string;
  display_name: string;
  password_hash: string;
  role: string;
  area_codes: Json<string[]>;
  disabled: Generated<boolean>;
  created_at: DefaultTimestamp;
}

/** A staff sign-in; `id` is the SHA-256 (hex) of the cookie token, never the token itself. */
export interface SessionTable {
  id: string;
  user_id: number;
  csrf_token: string;
  created_at: DefaultTimestamp;
  last_seen_at: DefaultTimestamp;
  expires_at: Timestamp;
}

/** One sign-in attempt under a rate-limit key (`user:<name>` or `client:<ip>`). */
export interface LoginAttemptTable {
  id: Generated<number>;
  key: string;
  at: DefaultTimestamp;
}

export interface JobTable {
  id: Generated<number>;
  kind: string;
  key: string | null;
  payload: Json<Record<string, unknown>>;
  run_at: DefaultTimestamp;
  attempts: Generated<number>;
  max_attempts: Generated<number>;
  locked_by: string | null;
  locked_until: NullableTimestamp;
  last_error: string | null;
  done_at: NullableTimestamp;
  failed_at: NullableTimestamp;
  created_at: DefaultTimestamp;
}

/** SLA targets in minutes from receipt; null category or priority means "any" (both null: the default). */
export interface SlaPolicyTable {
  id: Generated<number>;
  category_code: string | null;
  priority: string | null;
  triage_minutes: Generated<number>;
  dispatch_minutes: Generated<number>;
  acknowledge_minutes: Generated<number>;
  resolve_minutes: Generated<number>;
  updated_by: string | null;
  updated_at: DefaultTimestamp;
}

/** A fired SLA warning or breach; unique per (ticket, stage, kind), so none fires twice. */
export interface SlaAlertTable {
  id: Generated<number>;
  ticket_id: number;
  /** 'triage' | 'dispatch' | 'acknowledge' | 'resolve' */
  stage: string;
  /** 'warning' | 'breach' */
  kind: string;
  due_at: Timestamp;
  fired_at: DefaultTimestamp;
  /** The ticket's `reopen_count` when it fired (0023): each round's stages fire once. */
  round: Generated<number>;
}

/** A key an Open311 client posts with (0017); `key_hash` is the SHA-256 (hex) of the key, never the key. */
export interface ApiKeyTable {
  id: Generated<number>;
  name: string;
  key_hash: string;
  created_at: DefaultTimestamp;
  last_used_at: NullableTimestamp;
  revoked_at: NullableTimestamp;
}

/** A supervisor's export (migration 0020): a background job writes `file` under DATA_DIR/exports. */
export interface ExportTable {
  id: Generated<number>;
  user_id: number;
  /** 'units' | 'departments' | 'trend' | 'open' | 'tickets' */
  what: string;
  /** 'csv' | 'xlsx' */
  format: string;
  first_day: string;
  last_day: string;
  /** 'queued' | 'running' | 'done' | 'failed' */
  status: Generated<string>;
  /** 0..1 */
  progress: Generated<number>;
  rows: Generated<number>;
  /** Its name under DATA_DIR/exports once written. */
  file: string | null;
  error: string | null;
  created_at: DefaultTimestamp;
  finished_at: NullableTimestamp;
  expires_at: Timestamp;
}

/** A ticket's search document (migration 0018), kept by triggers; see src/search/postgres-engine.ts. */
export interface TicketSearchTable {
  ticket_id: number;
  body: string;
  folded: string;
  /** tsvector, read as its text form. */
  tsv: string;
  updated_at: DefaultTimestamp;
  /** What a search filters on, copies of the ticket's kept by triggers (0027). */
  status: string;
  merged: boolean;
  /** coalesce(dispatched_area, area_code). */
  unit: string | null;
  area_code: string | null;
  category_code: string | null;
  received_at: Date;
  /** Every channel the ticket's reports came on, sorted. */
  channels: string[];
}

/** Where a search engine fed from the event log has got to (ticket_events.id); 0018. */
export interface SearchCursorTable {
  engine: string;
  last_event_id: Generated<number>;
  updated_at: DefaultTimestamp;
}

/**
 * The dashboard's rollup (migration 0026), kept by triggers through deltas (0028): per grain ('d' city day, 'm' city
 * month from `day`), dimension ('unit' | 'dept' | 'cat' | 'city') and code ('' for none).
 */
export interface DashboardRollupTable {
  grain: string;
  /** YYYY-MM-DD: the day, or the first day of the month. */
  day: string;
  dim: string;
  code: string;
  volume: number;
  handled: number;
  within: number;
  reopened: number;
  /** Handled tickets per bucket of minutes to resolve (src/core/dashboard/rollup.ts). */
  hist: number[];
}

/** Contributions to dashboard_rollup not yet compacted into it (migration 0028): same columns, no key. */
export type DashboardRollupDeltaTable = DashboardRollupTable;

export interface Database {
  areas: AreaTable;
  departments: DepartmentTable;
  categories: CategoryTable;
  citizens: CitizenTable;
  citizen_identities: CitizenIdentityTable;
  citizen_events: CitizenEventTable;
  inbound_messages: InboundMessageTable;
  tickets: TicketTable;
  reports: ReportTable;
  street_units: StreetUnitTable;
  ticket_events: TicketEventTable;
  users: UserTable;
  sessions: SessionTable;
  login_attempts: LoginAttemptTable;
  jobs: JobTable;
  sla_policies: SlaPolicyTable;
  sla_alerts: SlaAlertTable;
  outbound_messages: OutboundMessageTable;
  channel_opt_outs: ChannelOptOutTable;
  channel_events: ChannelEventTable;
  api_keys: ApiKeyTable;
  intake_limits: IntakeLimitTable;
  exports: ExportTable;
  ticket_search: TicketSearchTable;
  search_cursors: SearchCursorTable;
  dashboard_rollup: DashboardRollupTable;
  dashboard_rollup_delta: DashboardRollupDeltaTable;
  channel_quarantine: ChannelQuarantineTable;
  quarantine_events: QuarantineEventTable;
  channel_state: ChannelStateTable;
}

/** The database handle every module uses: Kysely on PGlite or on a PostgreSQL server. */
export type Db = Kysely<Database>;
/** A handle that may be inside a transaction. */
export type DbOrTx = Db | Transaction<Database>;

export type Ticket = Selectable<TicketTable>;
export type Report = Selectable<ReportTable>;
export type Category = Selectable<CategoryTable>;
export type Area = Selectable<AreaTable>;
export type NewTicket = Insertable<TicketTable>;
