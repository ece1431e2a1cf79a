import { describe, expect, it } from 'vitest';
import { allowedActions, allowedStatuses, can, refusal, rolesThatCan, TICKET_ACTIONS, TRANSITIONS, unitOf, type Action } from '../../src/core/staff/policy.ts';
import { TICKET_STATUSES } from '../../src/core/tickets/statuses.ts';

// One policy answers "may this member of staff do this (to that ticket)?" for the API, the
// socket rooms, the core services and the console's buttons.

const BEN_THANH = '26743';
const SAI_GON = '26740';
const agent = { role: 'agent' as const, areaCodes: [] };
const supervisor = { role: 'supervisor' as const, areaCodes: [] };
const officer = { role: 'ward_officer' as const, areaCodes: [BEN_THANH] };
const ticket = (status: string, area: string | null = BEN_THANH, dispatched: string | null = null) => ({ status, area_code: area, dispatched_area: dispatched });

describe('unitOf', () => {
  it('is the dispatched unit, else the located one', () => {
    expect(unitOf(ticket('dispatched', SAI_GON, BEN_THANH))).toBe(BEN_THANH);
    expect(unitOf(ticket('new', SAI_GON))).toBe(SAI_GON);
    expect(unitOf(ticket('new', null))).toBeNull();
  });
});

describe('can', () => {
  const cases: [string, Parameters<typeof can>[0], Action, ReturnType<typeof ticket> | undefined, ReturnType<typeof refusal>][] = [
    ['an agent uses the console', agent, 'console.use', undefined, null],
    ['a ward officer does not', officer, 'console.use', undefined, 'forbidden'],
    ['a ward officer uses the ward view', officer, 'ward.use', undefined, null],
    ['an agent sees every unit', agent, 'units.all', undefined, null],
    ['a ward officer reads a ticket of their unit', officer, 'ticket.read', ticket('dispatched'), null],
    ['...not one of another unit', officer, 'ticket.read', ticket('dispatched', SAI_GON), 'ticket_forbidden'],
    ['...not one without a unit', officer, 'ticket.read', ticket('new', null), 'ticket_forbidden'],
    ['...one dispatched to their unit wherever it lies', officer, 'ticket.read', ticket('dispatched', SAI_GON, BEN_THANH), null],
    ['...not one dispatched away from their unit', officer, 'ticket.read', ticket('dispatched', BEN_THANH, SAI_GON), 'ticket_forbidden'],
    ['an agent dispatches a new ticket', agent, 'ticket.dispatch', ticket('new'), null],
    ['...not a resolved one', agent, 'ticket.dispatch', ticket('resolved'), 'ticket_status_invalid'],
    ['a ward officer may not dispatch', officer, 'ticket.dispatch', ticket('new'), 'forbidden'],
    ['a ward officer acknowledges a dispatched task', officer, 'ticket.acknowledge', ticket('dispatched'), null],
    ['...not twice', officer, 'ticket.acknowledge', ticket('acknowledged'), 'ticket_status_invalid'],
    ['an agent may not acknowledge for the ward', agent, 'ticket.acknowledge', ticket('dispatched'), 'forbidden'],
    ['a supervisor may', supervisor, 'ticket.acknowledge', ticket('dispatched'), null],
    ['a supervisor takes back anyone\'s claim', supervisor, 'ticket.release_any', ticket('new'), null],
    ['an agent does not', agent, 'ticket.release_any', ticket('new'), 'forbidden'],
    ['a ward officer does not see who reported', officer, 'citizens.see', undefined, 'forbidden'],
    ['a ward officer writes notes on their tasks', officer, 'ticket.note', ticket('in_progress'), null],
    ['an agent logs a report for a caller', agent, 'report.log', undefined, null],
    ['a ward officer does not', officer, 'report.log', undefined, 'forbidden'],
    ['an admin manages quarantined messages', { role: 'admin' as const, areaCodes: [] }, 'quarantine.manage', undefined, null],
    ['a supervisor does not', supervisor, 'quarantine.manage', undefined, 'forbidden'],
    ['an agent does not', agent, 'quarantine.manage', undefined, 'forbidden'],
    ['an agent claims a new ticket', agent, 'ticket.claim', ticket('new'), null],
    ['...not a resolved one', agent, 'ticket.claim', ticket('resolved'), 'ticket_status_invalid'],
    ['...nor reclassifies a closed one', agent, 'ticket.update', ticket('closed'), 'ticket_status_invalid'],
    ['...but still notes on it', agent, 'ticket.note', ticket('closed'), null],
  ];
  it.each(cases)('%s', (_what, actor, action, t, expected) => {
    expect(refusal(actor, action, t)).toBe(expected);
    expect(can(actor, action, t)).toBe(expected === null);
  });

  it('names the roles a route lets in', () => {
    expect(rolesThatCan('console.use')).toEqual(['agent', 'supervisor', 'admin']);
    expect(rolesThatCan('ward.use')).toEqual(['supervisor', 'ward_officer', 'admin']);
    expect(rolesThatCan('report.log')).toEqual(['agent', 'supervisor', 'admin']);
    expect(rolesThatCan('quarantine.manage')).toEqual(['admin']);
  });

  it('has a transition for every status a ticket can be moved to, from known statuses only', () => {
    expect(Object.keys(TRANSITIONS).sort()).toEqual(TICKET_STATUSES.filter((s) => s !== 'new').sort());
    for (const t of Object.values(TRANSITIONS)) for (const from of t.from) expect(TICKET_STATUSES).toContain(from);
  });

  it('offers every transition the policy knows, for exactly the statuses it comes from', () => {
    for (const t of Object.values(TRANSITIONS)) expect(TICKET_ACTIONS).toContain(t.action);
    const admin = { role: 'admin' as const, areaCodes: [] };
    for (const status of TICKET_STATUSES) {
      const expected = Object.entries(TRANSITIONS).filter(([, t]) => (t.from as readonly string[]).includes(status)).map(([to]) => to);
      expect(allowedStatuses(admin, ticket(status)).sort()).toEqual(expected.sort());
      expect(allowedActions(admin, ticket(status))).toEqual(TICKET_ACTIONS.filter((a) => can(admin, a, ticket(status))));
    }
    expect(allowedActions(officer, ticket('dispatched', SAI_GON))).toEqual([]);
  });
});
