import { Hono } from 'hono';
import { loadCategories } from '../../core/engine/catalog.ts';
import { rolesThatCan } from '../../core/staff/policy.ts';
import { isTicketStatus, PRIORITIES, TICKET_STATUSES } from '../../core/tickets/statuses.ts';
import { exactLookup, listQueue, queueScope, reportMessages, ticketDetail } from '../../core/tickets/queue.ts';
import { AppError, isAppError } from '../../core/errors.ts';
import { parseSearchQuery } from '../../search/query.ts';
import { SEARCH_DEPTH_MAX } from '../../search/search.ts';
import { mergeTickets } from '../../core/tickets/regroup.ts';
import {
  addNote, changeStatus, claimTicket, dispatchTicket, releaseTicket, replyToCitizens, updateTicket, type TicketChanges,
} from '../../core/tickets/workflow.ts';
import type { ConsoleMeta } from '../../wire/staff-api.ts';
import { requireUser, type AuthEnv } from '../auth.ts';
import type { ConsoleKit } from './context.ts';
import { presentQueueItem, presentTicketDetail } from './presenters.ts';
import { dayParam, Dispatch, Merge, Note, offsetParam, readBody, Reply, shortParam, StaffStatus, TicketPatch } from './validators.ts';

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
    const filters = {
      status, channel: shortParam(q.channel), category: shortParam(q.category), area: shortParam(q.area),
      from: dayParam(shortParam(q.from), 'from'), to: dayParam(shortParam(q.to), 'to', true),
    };
    const text = q.q ? parseSearchQuery(q.q) : null;
    if (!text?.text) return c.json({ items: (await listQueue(db, actor, filters)).map((r) => presentQueueItem(r)) });
    // A tracking code or (staff who see people) a phone number is looked up exactly; other words are searched.
    const lookup = exactLookup(actor, text.text);
    if (lookup) return c.json({ items: (await listQueue(db, actor, { ...filters, lookup })).map((r) => presentQueueItem(r)) });
    const { hits, more } = await kit.deps.search.search(text, { ...queueScope(actor, status), ...filters },
      { limit: SEARCH_PAGE, offset: offsetParam(q.offset, SEARCH_DEPTH_MAX - SEARCH_PAGE) })
      .catch((err: unknown) => {
        if (isAppError(err)) throw err;
        throw new AppError('search_unavailable', 503, `the search engine did not answer: ${(err as Error).message}`.slice(0, 300), 'Tìm kiếm tạm thời không hoạt động, vui lòng thử lại sau.');
      });
    const byId = new Map(hits.map((h) => [h.ticketId, h]));
    const rows = await listQueue(db, actor, { ...filters, ids: hits.map((h) => h.ticketId) });
    return c.json({ items: rows.map((r) => presentQueueItem(r, byId.get(r.id))), more });
  });

  app.get('/api/console/tickets/:code', anyone, async (c) => {
    const detail = await ticketDetail(db, kit.actor(c), c.req.param('code'));
    const reader = kit.deps.messages;
    const stored = reader ? await reportMessages(db, kit.actor(c), detail.reports, (ch) => reader.reads(ch)) : [];
    return c.json(presentTicketDetail(detail, stored, reader));
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
