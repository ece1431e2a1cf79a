import { Hono } from 'hono';
import { AppError } from '../../core/errors.ts';
import {
  dismissQuarantined, finishRetry, listQuarantine, noteRawDownload, QUARANTINE_STATUSES, quarantinedMessage, retryable, type QuarantineStatus,
} from '../../core/inbound/quarantine.ts';
import { rolesThatCan } from '../../core/staff/policy.ts';
import { requireUser, type AuthEnv } from '../auth.ts';
import type { ConsoleKit } from './context.ts';
import { presentQuarantine } from './presenters.ts';
import { Dismissal, readBody } from './validators.ts';

/** The path's id, or 404 (never a database error for "abc"). */
function quarantineId(raw: string): number {
  if (!/^\d{1,10}$/.test(raw) || Number(raw) > 2_147_483_647) throw new AppError('quarantine_not_found', 404, `no quarantined message ${raw.slice(0, 20)}`, 'Không tìm thấy thư bị giữ lại.');
  return Number(raw);
}

/**
 * Messages the channels could not read (core/inbound/quarantine.ts), for admins: the list, one
 * with its audit log, the raw message, a retry through its channel, a dismissal. The core
 * service asks the policy (`quarantine.manage`) on every call; the route's guard only answers early.
 */
export function quarantineRoutes(kit: ConsoleKit): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const { db } = kit.deps;
  const admins = requireUser(...rolesThatCan('quarantine.manage'));

  app.get('/api/console/quarantine', admins, async (c) => {
    const status = c.req.query('status') ?? 'held';
    if (!(QUARANTINE_STATUSES as readonly string[]).includes(status)) {
      throw new AppError('quarantine_status_invalid', 422, `status must be one of ${QUARANTINE_STATUSES.join(', ')}`, 'Trạng thái không hợp lệ.');
    }
    const rows = await listQuarantine(db, kit.actor(c), status as QuarantineStatus);
    return c.json({ items: rows.map((r) => presentQuarantine(r)) });
  });

  app.get('/api/console/quarantine/:id', admins, async (c) => {
    const { events, ...row } = await quarantinedMessage(db, kit.actor(c), quarantineId(c.req.param('id')));
    return c.json(presentQuarantine(row, events));
  });

  app.get('/api/console/quarantine/:id/raw', admins, async (c) => {
    const id = quarantineId(c.req.param('id'));
    const row = await noteRawDownload(db, kit.actor(c), id);
    const bytes = await kit.deps.files.get(row.raw_key!);
    if (!bytes) throw new AppError('quarantine_raw_missing', 409, `the raw message ${row.raw_key} is not in the file store`, 'Không tìm thấy bản gốc của thư này.');
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      // A download, never rendered: what could not be parsed may be anything.
      'Content-Type': 'message/rfc822', 'Content-Disposition': `attachment; filename="quarantine-${id}.eml"`,
      'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'private, no-store',
    });
  });

  app.post('/api/console/quarantine/:id/retry', admins, async (c) => {
    const id = quarantineId(c.req.param('id'));
    const actor = kit.actor(c);
    const row = await retryable(db, actor, id);
    const retry = kit.deps.retryQuarantined;
    if (!retry) throw new AppError('quarantine_channel_unavailable', 409, `channel ${row.channel} cannot process messages again here`, 'Kênh này hiện không thể xử lý lại thư.');
    const result = await retry(row.channel, {
      id, externalId: row.external_id, endpoint: row.endpoint, place: row.place, rawKey: row.raw_key!, receivedAt: row.received_at,
    });
    await finishRetry(db, actor, id, result);
    const { events, ...after } = await quarantinedMessage(db, actor, id);
    return c.json(presentQuarantine(after, events));
  });

  app.post('/api/console/quarantine/:id/dismiss', admins, async (c) => {
    const id = quarantineId(c.req.param('id'));
    const b = await readBody(c, Dismissal);
    await dismissQuarantined(db, kit.actor(c), id, b.reason);
    const { events, ...after } = await quarantinedMessage(db, kit.actor(c), id);
    return c.json(presentQuarantine(after, events));
  });
  return app;
}
