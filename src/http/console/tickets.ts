import { Hono } from 'hono';
import { loadCategories } from '../../core/engine/catalog.ts';
import { rolesThatCan } from '../../core/staff/policy.ts';
import { isTicketStatus, PRIORITIES, TICKET_STATUSES } from '../../core/tickets/statuses.ts';
import { exactLookup, listQueue, queueScope, reportMessages, ticketDetail, type QueueRow } from '../../core/tickets/queue.ts';
import { AppError, isAppError } from '../../core/errors.ts';
import { parseSearchQuery } from '../../search/query.ts';
import { SEARCH_DEPTH_MAX, type SearchHit } from '../../search/search.ts';
import { mergeTickets } from '../../core/tickets/regroup.ts';
import {
  addNote, changeStatus, claimTicket, dispatchTicket, releaseTicket, replyToCitizens, updateTicket, type TicketChanges,
} from '../../core/tickets/workflow.ts';
import type { ConsoleMeta } from '../../wire/staff-api.ts';
import { listSlaPolicies } from '../../core/sla/sla.ts';
import { requireUser, type AuthEnv } from '../auth.ts';
import type { ConsoleKit } from './context.ts';
import { presentQueueItem, presentTicketDetail } from './presenters.ts';
import { dayParam, Dispatch, Merge, Note, offsetParam, readBody, Reply, shortParam, StaffStatus, TicketPatch } from './validators.ts';

/**
 * The queue's saved views (`view=`): mine (claimed by the asker), unclaimed, triage (waiting
 * for an agent's triage), breached (the stage due next is past its deadline), unit (grouped by
 * the unit in charge). Any other value is the whole queue.
 */
export const QUEUE_VIEWS = ['mine', 'unclaimed', 'triage', 'breached', 'unit'] as const;

/** Unit names in Vietnamese alphabetical order. */
const VI = new Intl.Collator('vi');

/** Search hits per page of the queue (`offset` pages on). */
const SEARCH_PAGE = 100;

/** The console's menus, the live queue and everything an agent does to a ticket. */
export function ticketRoutes(kit: ConsoleKit): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const { db, onStatus } = kit.deps;
  const staff = requireUser(...rolesThatCan('console.use'));
  const anyone = requireUser();

  // Every signed-in user: the ward view names channels too.
  app.get('/api/console/meta', anyone, async (c) => {
    const [categories, areas] = await Promise.all([
      loadCategories(db),
      db.selectFrom('areas').select(['code', 'name']).orderBy('name').execute(),
    ]);
    const meta: ConsoleMeta = {
      categories: categories.map((x) => ({ code: x.code, name: x.name })), areas: areas.map((a) => ({ code: a.code, name: a.name })),
      channels: kit.deps.channels, statuses: [...TICKET_STATUSES], priorities: [...PRIORITIES],
    };
    return c.json(meta);
  });

  app.get('/api/console/queue', staff, async (c) => {
    const q = c.req.query();
    const actor = kit.actor(c);
    const status = q.status ? q.status.slice(0, 200).split(',').filter(isTicketStatus) : undefined;
    const view = (QUEUE_VIEWS as readonly string[]).includes(q.view ?? '') ? q.view as (typeof QUEUE_VIEWS)[number] : null;
    const policies = await listSlaPolicies(db);
    const now = Date.now();
    const filters = {
      status, channel: shortParam(q.channel), category: shortParam(q.category), area: shortParam(q.area),
      from: dayParam(shortParam(q.from), 'from'), to: dayParam(shortParam(q.to), 'to', true),
      ...(view === 'mine' ? { claimedBy: actor.id } : view === 'unclaimed' ? { claimedBy: null } : {}),
      ...(view === 'triage' ? { needsTriage: true } : {}), ...(view === 'unit' ? { byUnit: true } : {}),
      // Breached: the stage a ticket has still to reach is past due (the badge is red), in SQL before the limit.
      ...(view === 'breached' ? { breached: { policies, now: new Date(now) }, limit: 500 } : {}),
    };
    const text = q.q ? parseSearchQuery(q.q) : null;
    const names = view === 'unit' ? new Map((await db.selectFrom('areas').select(['code', 'name']).execute()).map((a) => [a.code, a.name])) : new Map<string, string>();
    const present = (rows: QueueRow[], hits?: Map<number, SearchHit>) => {
      const items = rows.map((r) => presentQueueItem(r, policies, hits?.get(r.id)));
      // Soonest deadline first: the stage each ticket has still to reach (a search keeps its ranking);
      // by unit, the units in Vietnamese alphabetical order (Bến before Bình), those without one last.
      if (hits) return items;
      const due = (i: (typeof items)[number]) => (i.next_stage ? Date.parse(i.next_stage.due_at) : Infinity);
      const byDue = (a: (typeof items)[number], b: (typeof items)[number]) => (due(a) - due(b)) || 0; // two without a stage (Infinity) are equal
      if (view !== 'unit') return items.sort(byDue);
      const unitName = (i: (typeof items)[number]) => { const u = i.dispatched_area ?? i.area?.code; return u ? names.get(u) ?? u : null; };
      return items.sort((a, b) => {
        const [x, y] = [unitName(a), unitName(b)];
        if (x !== y) return x === null ? 1 : y === null ? -1 : VI.compare(x, y);
        return byDue(a, b);
      });
    };
    if (!text?.text) return c.json({ items: present(await listQueue(db, actor, filters)) });
    // A tracking code or (staff who see people) a phone number is looked up exactly; other words are searched.
    const lookup = exactLookup(actor, text.text);
    if (lookup) return c.json({ items: present(await listQueue(db, actor, { ...filters, lookup })) });
    const { hits, more, capped } = await kit.deps.search.search(text, { ...queueScope(actor, status), ...filters },
      { limit: SEARCH_PAGE, offset: offsetParam(q.offset, SEARCH_DEPTH_MAX - SEARCH_PAGE) })
      .catch((err: unknown) => {
        if (isAppError(err)) throw err;
        throw new AppError('search_unavailable', 503, `the search engine did not answer: ${(err as Error).message}`.slice(0, 300), 'Tìm kiếm tạm thời không hoạt động, vui lòng thử lại sau.');
      });
    const byId = new Map(hits.map((h) => [h.ticketId, h]));
    const rows = await listQueue(db, actor, { ...filters, byUnit: false, ids: hits.map((h) => h.ticketId) });
    return c.json({ items: present(rows, byId), more, ...(capped ? { capped: true } : {}) });
  });

  app.get('/api/console/tickets/:code', anyone, async (c) => {
    const actor = kit.actor(c);
    const detail = await ticketDetail(db, actor, c.req.param('code'));
    const reader = kit.deps.messages;
    const stored = reader ? await reportMessages(db, actor, detail.reports, (ch) => reader.reads(ch)) : [];
    return c.json(presentTicketDetail(detail, actor, await listSlaPolicies(db), stored, reader));
  });

  app.post('/api/console/tickets/:code/claim', staff, async (c) => kit.done(c, await claimTicket(db, await kit.ticketId(c.req.param('code')), kit.actor(c))));
  app.post('/api/console/tickets/:code/release', staff, async (c) => kit.done(c, await releaseTicket(db, await kit.ticketId(c.req.param('code')), kit.actor(c))));

  app.patch('/api/console/tickets/:code', staff, async (c) => {
    const b = await readBody(c, TicketPatch);
    const changes: TicketChanges = { category: b.category, areaCode: b.area, priority: b.priority as TicketChanges['priority'] };
    return kit.done(c, await updateTicket(db, await kit.ticketId(c.req.param('code')), kit.actor(c), changes, onStatus));
  });

  app.post('/api/console/tickets/:code/dispatch', staff, async (c) => {
    const b = await readBody(c, Dispatch);
    return kit.done(c, await dispatchTicket(db, await kit.ticketId(c.req.param('code')), kit.actor(c), { areaCode: b.area, instructions: b.instructions, onStatus, notices: kit.deps.notices }));
  });

  app.post('/api/console/tickets/:code/reply', staff, async (c) => {
    const b = await readBody(c, Reply);
    const sends = (channel: string) => kit.deps.notices?.sends(channel) ?? false;
    return kit.done(c, await replyToCitizens(db, await kit.ticketId(c.req.param('code')), kit.actor(c), b.text, {
      reportId: b.report, via: b.via, private: b.private, sends,
    }));
  });

  app.post('/api/console/tickets/:code/notes', anyone, async (c) => {
    const b = await readBody(c, Note);
    return kit.done(c, await addNote(db, await kit.ticketId(c.req.param('code')), kit.actor(c), b.text));
  });

  app.post('/api/console/tickets/:code/status', staff, async (c) => {
    const b = await readBody(c, StaffStatus);
    return kit.done(c, await changeStatus(db, await kit.ticketId(c.req.param('code')), kit.actor(c), b.status, { note: b.note, onStatus }));
  });

  app.post('/api/console/tickets/:code/merge', staff, async (c) => {
    const b = await readBody(c, Merge);
    const into = await kit.ticketId(b.into);
    return kit.done(c, (await mergeTickets(db, await kit.ticketId(c.req.param('code')), into, kit.actor(c), b.reason)).events);
  });
  return app;
}
