// Who may do what, once: the console API, the socket rooms, the core services and the console's
// own buttons all ask `can(actor, action, ticket)`. Imports only import-free vocabulary, so the
// browser imports it too.
import { ROLES, type Role } from '../../wire/staff-api.ts';
import { isOpen, type TicketStatus } from '../tickets/statuses.ts';

/** Who acts: a signed-in member of staff (the session user satisfies this). */
export interface Actor {
  id: number;
  username: string;
  role: Role;
  areaCodes: string[];
}

/** The name an actor has in the audit logs (`ticket_events.actor`, `citizen_events.actor`). */
export const actorName = (a: Pick<Actor, 'username'>): string => `user:${a.username}`;
/** The pipeline's own name in the audit logs. */
export const SYSTEM_ACTOR = 'system';

export type Action =
  | 'console.use' // the agents' console
  | 'dashboard.use' // the supervisors' dashboard (load, SLA rankings, exports)
  | 'ward.use' // the ward forces' view
  | 'units.all' // every unit's tickets and events (else only those of one's own units)
  | 'citizens.see' // who the reporters are (identities, other reports)
  | 'ticket.read' | 'ticket.claim' | 'ticket.release_any' | 'ticket.update' | 'ticket.note' | 'ticket.reply'
  | 'ticket.triage' | 'ticket.dispatch' | 'ticket.acknowledge' | 'ticket.start' | 'ticket.resolve' | 'ticket.close' | 'ticket.reject'
  | 'report.move' | 'ticket.merge' | 'identity.unlink' | 'identity.link'
  | 'report.log' // file a report for a caller (what a citizen says on the phone, typed by an agent)
  | 'quarantine.manage'; // messages a channel could not read: list, download raw, retry, dismiss

const AGENT: readonly Action[] = [
  'console.use', 'units.all', 'citizens.see', 'ticket.read', 'ticket.claim', 'ticket.update', 'ticket.note', 'ticket.reply',
  'ticket.triage', 'ticket.dispatch', 'ticket.close', 'ticket.reject', 'report.move', 'ticket.merge', 'identity.unlink', 'identity.link', 'report.log',
];
const FIELD: readonly Action[] = ['ward.use', 'ticket.read', 'ticket.note', 'ticket.acknowledge', 'ticket.start', 'ticket.resolve'];

const GRANTS: Record<Role, ReadonlySet<Action>> = {
  agent: new Set(AGENT),
  ward_officer: new Set(FIELD),
  supervisor: new Set([...AGENT, ...FIELD, 'ticket.release_any', 'dashboard.use']),
  admin: new Set([...AGENT, ...FIELD, 'ticket.release_any', 'dashboard.use', 'quarantine.manage']),
};

/** What staff read for each role. */
export const ROLE_VI: Record<Role, string> = {
  agent: 'điện thoại viên',
  supervisor: 'giám sát viên',
  ward_officer: 'cán bộ phường',
  admin: 'quản trị viên',
};

/** A status change: the statuses it may come from, and the action that makes it. */
export const TRANSITIONS: Record<Exclude<TicketStatus, 'new'>, { from: readonly TicketStatus[]; action: Action }> = {
  triaged: { from: ['new'], action: 'ticket.triage' },
  dispatched: { from: ['new', 'triaged', 'dispatched'], action: 'ticket.dispatch' },
  acknowledged: { from: ['dispatched'], action: 'ticket.acknowledge' },
  in_progress: { from: ['acknowledged', 'dispatched'], action: 'ticket.start' },
  resolved: { from: ['dispatched', 'acknowledged', 'in_progress'], action: 'ticket.resolve' },
  closed: { from: ['resolved'], action: 'ticket.close' },
  rejected: { from: ['new', 'triaged', 'dispatched'], action: 'ticket.reject' },
};
const TARGET = new Map(Object.values(TRANSITIONS).map((t) => [t.action, t]));

/**
 * The one status change no member of staff makes: a resident's reopening (the holder of a
 * report's code on the tracking page or the app, or the engine reading a reporter's "vẫn chưa
 * sửa" on any channel), within REOPEN_WINDOW_DAYS of the resolution. Back to `triaged`, not to
 * `dispatched`: the ticket keeps its unit and category, and an agent reads why and dispatches it
 * again (to the same ward, or to another when the reason shows the job is someone else's), which
 * stamps the dispatch on the timeline and restarts the ward's part of the work in view of all.
 */
export const REOPEN_TRANSITION = { from: ['resolved'], to: 'triaged', event: 'ticket.reopened' } as const satisfies {
  from: readonly TicketStatus[]; to: TicketStatus; event: string;
};

/**
 * Actions on a ticket that only make sense while it is being handled: a resolved, closed or
 * rejected ticket is not claimed, classified, merged or split.
 */
const WHILE_OPEN: ReadonlySet<Action> = new Set<Action>(['ticket.claim', 'ticket.update', 'ticket.merge', 'report.move']);

/**
 * Everything one may do to one ticket, as the console's buttons ask it (`allowedActions`): the
 * ticket-scoped actions and every transition's action, read from TRANSITIONS so that a new
 * transition is offered without this list changing.
 */
export const TICKET_ACTIONS: readonly Action[] = [...new Set<Action>([
  'ticket.claim', 'ticket.release_any', 'ticket.update', 'ticket.note', 'ticket.reply', 'report.move', 'ticket.merge',
  ...Object.values(TRANSITIONS).map((t) => t.action),
])];

/** What the policy reads of a ticket. */
export interface PolicyTicket {
  status: string;
  area_code: string | null;
  dispatched_area: string | null;
}

/**
 * The unit a ticket belongs to: the one it was dispatched to, else the one it lies in. Access,
 * socket rooms, replay and ward lists all go by it; a dispatched ticket stays with its ward
 * force until it is dispatched again, whatever its located unit says. (SQL: `unitSql`.)
 */
export function unitOf(t: Pick<PolicyTicket, 'area_code' | 'dispatched_area'>): string | null {
  return t.dispatched_area ?? t.area_code;
}

/** Why `actor` may not do `action` (to `ticket`), as a stable code; null when it may. */
export type Refusal = 'forbidden' | 'ticket_forbidden' | 'ticket_status_invalid';

export function refusal(actor: Pick<Actor, 'role' | 'areaCodes'>, action: Action, ticket?: PolicyTicket): Refusal | null {
  const grants = GRANTS[actor.role];
  if (!grants?.has(action)) return 'forbidden';
  if (!ticket) return null;
  if (!grants.has('units.all')) {
    const unit = unitOf(ticket);
    if (unit === null || !actor.areaCodes.includes(unit)) return 'ticket_forbidden';
  }
  const t = TARGET.get(action);
  if (t && !(t.from as readonly string[]).includes(ticket.status)) return 'ticket_status_invalid';
  if (WHILE_OPEN.has(action) && !isOpen(ticket.status)) return 'ticket_status_invalid';
  return null;
}

/** True when `actor` may do `action` (to `ticket`: its unit and status count). */
export const can = (actor: Pick<Actor, 'role' | 'areaCodes'>, action: Action, ticket?: PolicyTicket): boolean =>
  refusal(actor, action, ticket) === null;

/**
 * What `actor` may do to `ticket` now, its unit and status counted: the one answer the console
 * API sends with each ticket, so that the browser offers only these (TICKET_ACTIONS order).
 */
export const allowedActions = (actor: Pick<Actor, 'role' | 'areaCodes'>, ticket: PolicyTicket): Action[] =>
  TICKET_ACTIONS.filter((a) => can(actor, a, ticket));

/** The statuses `actor` may move `ticket` to now (each transition's action allowed). */
export const allowedStatuses = (actor: Pick<Actor, 'role' | 'areaCodes'>, ticket: PolicyTicket): TicketStatus[] =>
  (Object.keys(TRANSITIONS) as (keyof typeof TRANSITIONS)[]).filter((to) => can(actor, TRANSITIONS[to].action, ticket));

/** The roles granted `action` (for the routes that let only them in). */
export const rolesThatCan = (action: Action): Role[] => ROLES.filter((r) => GRANTS[r].has(action));
