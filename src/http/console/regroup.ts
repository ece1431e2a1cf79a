import { Hono } from 'hono';
import { linkIdentity, unlinkIdentity } from '../../core/citizens/merge.ts';
import { AppError } from '../../core/errors.ts';
import { rolesThatCan } from '../../core/staff/policy.ts';
import { canonicalCode } from '../../core/tickets/codes.ts';
import { moveReportToNewTicket } from '../../core/tickets/regroup.ts';
import { requireUser, type AuthEnv } from '../auth.ts';
import type { ConsoleKit } from './context.ts';
import { Linked, pathId, readBody, Reasoned } from './validators.ts';

/** Correcting the engine: a report moved out of its ticket, an identifier unlinked from a citizen or linked to one. */
export function regroupRoutes(kit: ConsoleKit): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const { db } = kit.deps;
  const staff = requireUser(...rolesThatCan('console.use'));

  app.post('/api/console/reports/:code/move', staff, async (c) => {
    const b = await readBody(c, Reasoned);
    const code = canonicalCode(c.req.param('code'));
    const r = code ? await db.selectFrom('reports').select('id').where('code', '=', code).executeTakeFirst() : undefined;
    if (!r) throw new AppError('report_not_found', 404, 'no such report', 'Không tìm thấy phản ánh.');
    const moved = await moveReportToNewTicket(db, r.id, kit.actor(c), b.reason);
    kit.deps.events.publish(moved.events);
    return c.json({ ok: true, ticket: moved.ticketCode });
  });

  app.post('/api/console/identities/:id/unlink', staff, async (c) => {
    const b = await readBody(c, Reasoned);
    const id = pathId(c.req.param('id'), () => new AppError('identity_not_found', 404, 'no such identity', 'Không tìm thấy định danh.'));
    const r = await unlinkIdentity(db, id, kit.actor(c), b.reason);
    return c.json({ ok: true, citizen: r.citizenId, reports: r.movedReports.length });
  });

  // An identifier the agent learned is this citizen's (a phone given on a call about their Messenger report).
  app.post('/api/console/citizens/:id/identities', staff, async (c) => {
    const b = await readBody(c, Linked);
    const id = pathId(c.req.param('id'), () => new AppError('citizen_not_found', 404, 'no such citizen', 'Không tìm thấy người phản ánh.'));
    const r = await linkIdentity(db, id, b.kind, b.value, kit.actor(c), b.reason);
    return c.json({ ok: true, citizen: r.citizenId, merged: r.merged });
  });
  return app;
}
