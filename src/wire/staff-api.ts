// What the staff API answers, shared by the server (src/core) and the browser (web/lib). No
// imports, so browser code, which type-checks without Node types, can import it too.

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

/** A channel as the console and ward view name it (every registered one: old reports may come from one now off). */
export interface ChannelInfo {
  name: string;
  label: { vi: string; en: string; background: string; text: string };
  enabled: boolean;
}

/** One ticket of the live queue. */
export interface QueueItem {
  id: number;
  code: string;
  status: string;
  title: string;
  priority: string;
  category: { code: string; name: string } | null;
  area: { code: string; name: string } | null;
  dispatched_area: string | null;
  channels: string[];
  report_count: number;
  reporter_count: number;
  needs_triage: boolean;
  hotspot_count: number;
  received_at: string;
  due_at: string | null;
  claimed_by: string | null;
}
