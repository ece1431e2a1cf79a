import { Hono } from 'hono';
import { sql } from 'kysely';
import { cleanText } from '../../core/engine/text.ts';
import { locateAddress } from '../../core/engine/pipeline.ts';
import { AppError } from '../../core/errors.ts';
import { REPORT_LIMITS } from '../../core/report-input.ts';
import { rolesThatCan } from '../../core/staff/policy.ts';
import { ticketDetail } from '../../core/tickets/queue.ts';
import { contentDisposition, servedAs } from '../../intake/file-store.ts';
import type { Attachment } from '../../wire/staff-api.ts';
import { requireUser, type AuthEnv } from '../auth.ts';
import type { ConsoleKit } from './context.ts';
import { presentAreaShape, presentPlace } from './presenters.ts';

/** A unit's outline for the map, where an address lies, and the files (photos, PDFs) of the tickets a user may read. */
export function placeRoutes(kit: ConsoleKit): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const { db, places } = kit.deps;
  const anyone = requireUser();
  const staff = requireUser(...rolesThatCan('console.use'));

  // The unit an address places a report in, as the pipeline would (the phone form's live hint).
  app.get('/api/console/places/resolve', staff, async (c) => {
    const raw = c.req.query('q') ?? '';
    if (raw.length > REPORT_LIMITS.addressMax) {
      throw new AppError('address_too_long', 422, `q is longer than ${REPORT_LIMITS.addressMax} characters`, 'Địa chỉ quá dài.', { field: 'q', max: REPORT_LIMITS.addressMax });
    }
    const q = cleanText(raw).trim();
    const place = q ? await locateAddress(q, { db, ...places }) : { code: null, candidates: [], likely: null, source: 'none' as const, reasons: [] };
    c.header('Cache-Control', 'private, max-age=60');
    return c.json(presentPlace(place, (code) => places.areas.get(code)?.name));
  });

  app.get('/api/console/areas/:code/shape', anyone, async (c) => {
    const code = c.req.param('code');
    const a = /^[\w.-]{1,64}$/.test(code) ? await db.selectFrom('areas').select(['code', 'name', 'geometry']).where('code', '=', code).executeTakeFirst() : undefined;
    if (!a) throw new AppError('area_unknown', 404, 'no such area', 'Không tìm thấy địa bàn.');
    c.header('Cache-Control', 'private, max-age=3600');
    return c.json(presentAreaShape(a));
  });

  // A stored file of a ticket the user may read (a report's photo or PDF, a resolution's photo):
  // served as its bytes say it is, named as its sender named it. /photos/ is the older path.
  for (const [path, what] of [['/api/console/files/:dir/:file', 'file'], ['/api/console/photos/:dir/:file', 'photo']] as const) {
    app.get(path, anyone, async (c) => {
      const notFound = () => what === 'photo'
        ? new AppError('photo_not_found', 404, 'no such photo', 'Không tìm thấy ảnh.')
        : new AppError('file_not_found', 404, 'no such file', 'Không tìm thấy tệp.');
      const key = `${c.req.param('dir')}/${c.req.param('file')}`;
      if (!/^[0-9a-f]{2}\/[0-9a-f]{64}\.[a-z0-9]{2,5}$/.test(key)) throw notFound();
      // Only files of a ticket the user may read: a report's, or a resolution's (before/after).
      const owner = await db.selectFrom('reports').innerJoin('tickets', 'tickets.id', 'reports.ticket_id').select(['tickets.code', 'reports.attachments'])
        .where(sql<boolean>`reports.attachments @> ${JSON.stringify([{ key }])}::jsonb`).executeTakeFirst();
      const event = owner ? undefined : await db.selectFrom('ticket_events').innerJoin('tickets', 'tickets.id', 'ticket_events.ticket_id').select(['tickets.code', 'ticket_events.data'])
        .where(sql<boolean>`ticket_events.data @> ${JSON.stringify({ attachments: [{ key }] })}::jsonb`).executeTakeFirst();
      const code = owner?.code ?? event?.code;
      if (!code) throw notFound();
      await ticketDetail(db, kit.actor(c), code);
      const bytes = await kit.deps.files.get(key);
      if (!bytes) throw notFound();
      const listed = (owner ? owner.attachments : (event?.data as { attachments?: Attachment[] } | null)?.attachments) ?? [];
      const given = listed.find((a) => a.key === key)?.name;
      const type = await servedAs(bytes);
      const name = typeof given === 'string' && given.trim() ? given : `${key.slice(3, 15)}.${type.ext}`;
      return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
        'Content-Type': type.mime, 'Content-Disposition': contentDisposition(type.inline ? 'inline' : 'attachment', name),
        'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'private, max-age=86400',
      });
    });
  }
  return app;
}
