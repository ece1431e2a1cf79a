import { Hono, type Context } from 'hono';
import { AppError } from '../../core/errors.ts';
import { REPORT_LIMITS } from '../../core/report-input.ts';
import { staffText } from '../../core/staff/staff-text.ts';
import { rolesThatCan } from '../../core/staff/policy.ts';
import { listQueue } from '../../core/tickets/queue.ts';
import { listSlaPolicies } from '../../core/sla/sla.ts';
import { FIELD_STATUSES } from '../../core/tickets/statuses.ts';
import { changeStatus } from '../../core/tickets/workflow.ts';
import { checkPhoto, photoTooLarge } from '../../intake/file-store.ts';
import { formFiles, formText, readForm } from '../../intake/request-body.ts';
import type { Attachment } from '../../wire/staff-api.ts';
import { requireUser, type AuthEnv } from '../auth.ts';
import type { ConsoleKit } from './context.ts';
import { presentQueueItem } from './presenters.ts';
import { parseFields, readBody, Resolution } from './validators.ts';

/** The ward forces' tasks and their three steps: acknowledge, start, resolve (with photos). */
export function wardRoutes(kit: ConsoleKit): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const { db, onStatus } = kit.deps;
  const field = requireUser(...rolesThatCan('ward.use'));

  app.get('/api/ward/tasks', field, async (c) => {
    const rows = await listQueue(db, kit.actor(c), { status: [...FIELD_STATUSES] });
    // Resolved in the last 24 hours stays listed, below the open tasks.
    const today = Date.now() - 24 * 3600_000;
    const policies = await listSlaPolicies(db);
    return c.json({ items: rows.filter((r) => r.status !== 'resolved' || r.received_at.getTime() > today).map((r) => presentQueueItem(r, policies)) });
  });

  app.post('/api/ward/tickets/:code/acknowledge', field, async (c) =>
    kit.done(c, await changeStatus(db, await kit.ticketId(c.req.param('code')), kit.actor(c), 'acknowledged', { onStatus })));
  app.post('/api/ward/tickets/:code/start', field, async (c) =>
    kit.done(c, await changeStatus(db, await kit.ticketId(c.req.param('code')), kit.actor(c), 'in_progress', { onStatus })));

  app.post('/api/ward/tickets/:code/resolve', field, async (c) => {
    const { note, photos } = await readResolution(c);
    // Checked before the photos are read and stored (changeStatus checks it again).
    staffText('result', note, true);
    if (photos.length > REPORT_LIMITS.photosMax) throw new AppError('too_many_photos', 422, `at most ${REPORT_LIMITS.photosMax} photos`, `Chỉ gửi tối đa ${REPORT_LIMITS.photosMax} ảnh.`);
    const { files, uploadMaxBytes } = kit.deps;
    const attachments: Attachment[] = [];
    for (const f of photos) {
      if (f.size > uploadMaxBytes) throw photoTooLarge(f.name, uploadMaxBytes);
      const bytes = new Uint8Array(await f.arrayBuffer());
      const t = await checkPhoto(bytes, uploadMaxBytes, f.name);
      // The ward view names the photos taken before the work `before-…`: those stay with staff;
      // the others (after the work) are the result residents see on the tracking page.
      const taken = f.name.startsWith('before-') ? 'before' : 'after';
      attachments.push({ ...(await files.put(bytes, t.mime, t.ext)), taken, public: taken === 'after' });
    }
    return kit.done(c, await changeStatus(db, await kit.ticketId(c.req.param('code')), kit.actor(c), 'resolved', { note, attachments, onStatus, notice: kit.deps.notice }));
  });
  return app;
}

/** What was done and the photos: a form (multipart, from the phone) or JSON (note only). */
async function readResolution(c: Context): Promise<{ note: string | undefined; photos: File[] }> {
  const type = c.req.header('content-type') ?? '';
  if (type.startsWith('multipart/form-data') || type.startsWith('application/x-www-form-urlencoded')) {
    const form = await readForm(c);
    const { note } = parseFields(Resolution, { note: formText(form, 'note') });
    return { note, photos: formFiles(form, 'photos').filter((f) => f.size > 0) };
  }
  return { note: (await readBody(c, Resolution)).note, photos: [] };
}
