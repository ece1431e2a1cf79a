import type { AreaGeometry } from './map.ts';

export type { ChannelInfo, QueueItem } from '../../src/wire/staff-api.ts';
import type { ChannelInfo } from '../../src/wire/staff-api.ts';

// The shapes of the console and ward API answers (src/http/console-api.ts).

export interface Named {
  code: string;
  name: string;
}

export interface Meta {
  categories: Named[];
  areas: Named[];
  /** Every registered channel, with its name and colours: the views know no channel of their own. */
  channels: ChannelInfo[];
  statuses: string[];
  priorities: string[];
}


export interface Attachment {
  key: string;
  content_type: string;
  size: number;
  sha256: string;
}

export interface Reason {
  step: string;
  code: string;
  message: string;
  score?: number;
}

export interface Report {
  id: number;
  code: string;
  channel: string;
  citizen_id: number | null;
  text: string;
  category_code: string | null;
  category_source: string | null;
  category_confidence: number | null;
  area_code: string | null;
  area_source: string | null;
  lat: number | null;
  lng: number | null;
  address: string | null;
  attachments: Attachment[] | null;
  relation: string | null;
  score: number | null;
  reasons: Reason[] | null;
  received_at: string;
}

export interface TicketEventRow {
  id: number;
  seq: number;
  type: string;
  actor: string;
  reason: string | null;
  data: Record<string, unknown> | null;
  public: boolean;
  created_at: string;
}

export interface Citizen {
  id: number;
  display_name: string | null;
  identities: { id: number; kind: string; value: string }[];
  history: { code: string; status: string; title: string; channel: string; received_at: string }[];
}

export interface Ticket {
  id: number;
  code: string;
  status: string;
  title: string;
  priority: string;
  category: Named | null;
  area: Named | null;
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
  /** The deadline of the first stage (triage); `due_at` is the resolve deadline. */
  triage_due_at: string | null;
  due_at: string | null;
  resolved_at: string | null;
  closed_at: string | null;
  dispatched_area: string | null;
  dispatched_at: string | null;
  merged_into: number | null;
  claimed_by: string | null;
  claimed_by_name: string | null;
}

export interface TicketDetail {
  ticket: Ticket;
  reports: Report[];
  events: TicketEventRow[];
  citizens: Citizen[];
}

export interface AreaShape {
  code: string;
  name: string;
  geometry: AreaGeometry | null;
}

/** Statuses whose SLA clock has stopped. */
