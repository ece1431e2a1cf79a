import type { SessionUser } from '../lib/api.ts';
import type { Realtime } from '../lib/realtime.ts';
import type { ConsoleMeta, TicketDetail } from '../../src/wire/staff-api.ts';

// What the console's modules share: who is signed in, the server's lists, the socket, and the
// open ticket with its panel.

export interface OpenTicket {
  code: string;
  detail: TicketDetail | null;
  root: HTMLElement;
  head: HTMLElement;
  presence: HTMLElement;
  classify: HTMLFormElement;
  dispatch: HTMLFormElement;
  reports: HTMLElement;
  location: HTMLElement;
  citizens: HTMLElement;
  /** What was sent to the citizens and what became of it. */
  messages: HTMLElement;
  reply: HTMLFormElement;
  note: HTMLFormElement;
  merge: HTMLFormElement;
  events: HTMLElement;
  /** Form fields the agent changed since the last load: not overwritten by live refreshes. */
  dirty: Set<string>;
  loading: number;
}

/** Set once at start (me, meta, realtime: main.ts) and as the agent works (open: ticket.ts). */
export const ctx = { open: null } as { me: SessionUser; meta: ConsoleMeta; realtime: Realtime; open: OpenTicket | null };

export const areaName = (code: string | null) => (code ? ctx.meta.areas.find((a) => a.code === code)?.name ?? code : '—');
export const categoryName = (code: string | null) => (code ? ctx.meta.categories.find((c) => c.code === code)?.name ?? code : '—');
export const names = { area: areaName, category: categoryName };

export const ticketPath = (code: string, rest = '') => `/api/console/tickets/${encodeURIComponent(code)}${rest}`;

/** Dispatched on `document` after an action changed something (or found the ticket changed): main.ts refetches. */
export const CHANGED = 'console:changed';
