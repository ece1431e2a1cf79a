import { Hono, type Context } from 'hono';
import { sql } from 'kysely';
import { listQueue, ticketDetail, type QueueFilters } from '../core/tickets/queue.ts';
import { unlinkIdentity } from '../core/citizens/merge.ts';
import { canonicalCode } from '../core/tickets/codes.ts';
import { AppError } from '../core/errors.ts';
import type { DomainEvent, EventBus } from '../core/events.ts';
import { mergeTickets, moveReportToNewTicket } from '../core/tickets/regroup.ts';
import { REPORT_LIMITS } from '../core/report-input.ts';
import { loadCategories } from '../core/engine/catalog.ts';
import {
  addNote, changeStatus, claimTicket, dispatchTicket, releaseTicket, replyToCitizens, updateTicket,
  type ResolvedNotice, type StatusHook, type TicketChanges,
} from '../core/tickets/workflow.ts';
import type { Attachment, Db } from '../db/schema.ts';
import { checkPhoto, photoTooLarge, type FileStore } from '../intake/file-store.ts';
import { bodyLimit } from '../intake/body-limit.ts';
import { formFiles, formText, readForm, readJsonObject } from '../intake/request-body.ts';
import { staffText } from '../core/staff/staff-text.ts';
import { cleanText } from '../core/engine/text.ts';
import { rolesThatCan, type Actor } from '../core/staff/policy.ts';
import { FIELD_STATUSES, isTicketStatus, PRIORITIES, TICKET_STATUSES } from '../core/tickets/statuses.ts';
import { requireUser, type AuthEnv } from './auth.ts';
import type { ChannelInfo } from '../wire/staff-api.ts';


export interface ConsoleApiDeps {
  db: Db;
  channels: ChannelInfo[];
  events: EventBus;
  files: FileStore;
  uploadMaxBytes: number;
  /** Called inside the transaction of every status change (SLA timers). */
  onStatus?: StatusHook;
  /** The city's wording of the notice a reporter gets when their report is resolved. */
  notice?: ResolvedNotice;
}


const actorOf = (c: Context<AuthEnv>): Actor => c.get('user');

/** The JSON body of a staff request (see readJsonObject). */
const body = (c: Context) => readJsonObject(c);

/**
 * A string field of a staff request, cleaned (no control characters, NFC): codes and words
 * alike. How long a note, a reply or a reason may be is the core service's rule (`staffText`);
 * the body limit bounds everything else.
 */
const text = (v: unknown, field: string, required = true): string | undefined => {
  if (v === undefined || v === null || v === '') {
    if (required) throw new AppError('field_missing', 422, `${field} is required`, 'Thiếu thông tin bắt buộc.', { field });
    return undefined;
  }
  if (typeof v !== 'string') throw new AppError('field_invalid', 422, `${field} must be a string`, 'Dữ liệu không hợp lệ.', { field });
  return cleanText(v);
};

/** A database id from a path or a body: a positive 32-bit integer, else `notFound()`'s error. */
const idOf = (v: unknown, notFound: () => AppError): number => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d{1,10}$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 2_147_483_647) throw notFound();
  return n;
};

/** A short filter or code from a query string: cleaned, and at most `max` characters. */
const shortParam = (v: string | undefined, max = 64): string | undefined => {
  if (!v) return undefined;
  const s = cleanText(v.slice(0, max * 4)).trim().slice(0, max);
  return s || undefined;
};

/** Body limits: JSON commands are small; the ward's resolution carries photos. */
const JSON_MAX_BYTES = 64 * 1024;

/**
 * The agents' console and the ward forces' API (see the console contract in the README). Every
 * change goes through a core service that writes the audit log; the events it returns are
 * published here, after commit, for realtime and notifications.
 */
export function consoleApi(deps: ConsoleApiDeps): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const { db } = deps;
  const tooLarge = () => { throw new AppError('payload_too_large', 413, 'request body is too large', 'Dữ liệu gửi lên quá lớn.'); };
  const jsonLimit = bodyLimit({ maxSize: JSON_MAX_BYTES, onError: tooLarge });
  const photosLimit = bodyLimit({ maxSize: deps.uploadMaxBytes * REPORT_LIMITS.photosMax + 1024 * 1024, onError: tooLarge });
  for (const prefix of ['/api/console/*', '/api/ward/*']) {
    app.use(prefix, (c, next) => {
      if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
      const photos = c.req.path.endsWith('/resolve') && (c.req.header('content-type') ?? '').startsWith('multipart/');
      return (photos ? photosLimit : jsonLimit)(c, next);
    });
  }
  const publish = (events: DomainEvent[]) => deps.events.publish(events);
  const ticketId = async (raw: string) => {
    const code = canonicalCode(raw);
    const t = code ? await db.selectFrom('tickets').select('id').where('code', '=', code).executeTakeFirst() : undefined;
    if (!t) throw new AppError('ticket_not_found', 404, `no ticket ${raw.slice(0, 40)}`, 'Không tìm thấy hồ sơ.');
    return t.id;
  };
  const ok = (c: Context, events: DomainEvent[]) => {
    publish(events);
    return c.json({ ok: true, events: events.map((e) => ({ seq: e.seq, type: e.type })) });
  };

  const staff = requireUser(...rolesThatCan('console.use'));
  const anyone = requireUser();
  const field = requireUser(...rolesThatCan('ward.use'));

  // Every signed-in user: the ward view names channels too.
  app.get('/api/console/meta', anyone, async (c) => {
    const [categories, areas] = await Promise.all([
      loadCategories(db),
      db.selectFrom('areas').select(['code', 'name']).orderBy('name').execute(),
    ]);
    return c.json({
      categories: categories.map((x) => ({ code: x.code, name: x.name })), areas, channels: deps.channels, statuses: TICKET_STATUSES,
      priorities: PRIORITIES,
    });
  });

  app.get('/api/console/queue', staff, async (c) => {
    const q = c.req.query();
    const status = q.status ? q.status.slice(0, 200).split(',').filter(isTicketStatus) : undefined;
    const f: QueueFilters = { status, channel: shortParam(q.channel), category: shortParam(q.category), area: shortParam(q.area), q: shortParam(q.q, 200) };
    return c.json({ items: await listQueue(db, actorOf(c), f) });
  });

  app.get('/api/console/tickets/:code', anyone, async (c) => c.json(await ticketDetail(db, actorOf(c), c.req.param('code'))));

  app.get('/api/console/areas/:code/shape', anyone, async (c) => {
    const code = c.req.param('code');
    const a = /^[\w.-]{1,64}$/.test(code) ? await db.selectFrom('areas').select(['code', 'name', 'geometry']).where('code', '=', code).executeTakeFirst() : undefined;
    if (!a) throw new AppError('area_unknown', 404, 'no such area', 'Không tìm thấy địa bàn.');
    c.header('Cache-Control', 'private, max-age=3600');
    return c.json(a);
  });

  app.get('/api/console/photos/:dir/:file', anyone, async (c) => {
    const key = `${c.req.param('dir')}/${c.req.param('file')}`;
    if (!/^[0-9a-f]{2}\/[0-9a-f]{64}\.[a-z0-9]{2,5}$/.test(key)) throw new AppError('photo_not_found', 404, 'no such photo', 'Không tìm thấy ảnh.');
    // Only photos of a ticket the user may read: a report's, or a resolution's (before/after).
    const owner = await db.selectFrom('reports').innerJoin('tickets', 'tickets.id', 'reports.ticket_id').select('tickets.code')
      .where(sql<boolean>`reports.attachments @> ${JSON.stringify([{ key }])}::jsonb`).executeTakeFirst();
    const event = owner ? undefined : await db.selectFrom('ticket_events').innerJoin('tickets', 'tickets.id', 'ticket_events.ticket_id').select('tickets.code')
      .where(sql<boolean>`ticket_events.data @> ${JSON.stringify({ attachments: [{ key }] })}::jsonb`).executeTakeFirst();
    const code = owner?.code ?? event?.code;
    if (!code) throw new AppError('photo_not_found', 404, 'no such photo', 'Không tìm thấy ảnh.');
    await ticketDetail(db, actorOf(c), code);
    const bytes = await deps.files.get(key);
    if (!bytes) throw new AppError('photo_not_found', 404, 'no such photo', 'Không tìm thấy ảnh.');
    const ext = key.split('.').pop() ?? '';
    const type = { jpg: 'image/jpeg', png: 'image/png', webp: 'image/webp', gif: 'image/gif', heic: 'image/heic', avif: 'image/avif' }[ext] ?? 'application/octet-stream';
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, { 'Content-Type': type, 'Cache-Control': 'private, max-age=86400' });
  });

  app.post('/api/console/tickets/:code/claim', staff, async (c) => ok(c, await claimTicket(db, await ticketId(c.req.param('code')), actorOf(c))));
  app.post('/api/console/tickets/:code/release', staff, async (c) => ok(c, await releaseTicket(db, await ticketId(c.req.param('code')), actorOf(c))));

  app.patch('/api/console/tickets/:code', staff, async (c) => {
    const b = await body(c);
    const changes: TicketChanges = {
      category: text(b.category, 'category', false),
      areaCode: text(b.area, 'area', false),
      priority: text(b.priority, 'priority', false) as TicketChanges['priority'],
    };
    return ok(c, await updateTicket(db, await ticketId(c.req.param('code')), actorOf(c), changes, deps.onStatus));
  });

  app.post('/api/console/tickets/:code/dispatch', staff, async (c) => {
    const b = await body(c);
    const instructions = text(b.instructions, 'instructions', false);
    return ok(c, await dispatchTicket(db, await ticketId(c.req.param('code')), actorOf(c), { areaCode: text(b.area, 'area', false), instructions, onStatus: deps.onStatus }));
  });

  app.post('/api/console/tickets/:code/reply', staff, async (c) => {
    const b = await body(c);
    const report = b.report === undefined || b.report === null ? undefined
      : idOf(b.report, () => new AppError('field_invalid', 422, 'report must be a report id', 'Dữ liệu không hợp lệ.', { field: 'report' }));
    return ok(c, await replyToCitizens(db, await ticketId(c.req.param('code')), actorOf(c), text(b.text, 'text')!, report));
  });

  app.post('/api/console/tickets/:code/notes', anyone, async (c) => {
    const b = await body(c);
    return ok(c, await addNote(db, await ticketId(c.req.param('code')), actorOf(c), text(b.text, 'text')!));
  });

  app.post('/api/console/tickets/:code/status', staff, async (c) => {
    const b = await body(c);
    const status = text(b.status, 'status');
    if (status !== 'closed' && status !== 'rejected') throw new AppError('status_invalid', 422, 'status must be closed or rejected', 'Trạng thái không hợp lệ.');
    return ok(c, await changeStatus(db, await ticketId(c.req.param('code')), actorOf(c), status, { note: text(b.note, 'note', false), onStatus: deps.onStatus }));
  });

  app.post('/api/console/reports/:code/move', staff, async (c) => {
    const b = await body(c);
    const code = canonicalCode(c.req.param('code'));
    const r = code ? await db.selectFrom('reports').select('id').where('code', '=', code).executeTakeFirst() : undefined;
    if (!r) throw new AppError('report_not_found', 404, 'no such report', 'Không tìm thấy phản ánh.');
    const moved = await moveReportToNewTicket(db, r.id, actorOf(c), text(b.reason, 'reason')!);
    publish(moved.events);
    return c.json({ ok: true, ticket: moved.ticketCode });
  });

  app.post('/api/console/tickets/:code/merge', staff, async (c) => {
    const b = await body(c);
    const into = await ticketId(text(b.into, 'into')!);
    return ok(c, (await mergeTickets(db, await ticketId(c.req.param('code')), into, actorOf(c), text(b.reason, 'reason')!)).events);
  });

  app.post('/api/console/identities/:id/unlink', staff, async (c) => {
    const b = await body(c);
    const id = idOf(c.req.param('id'), () => new AppError('identity_not_found', 404, 'no such identity', 'Không tìm thấy định danh.'));
    const r = await unlinkIdentity(db, id, actorOf(c), text(b.reason, 'reason')!);
    return c.json({ ok: true, citizen: r.citizenId, reports: r.movedReports.length });
  });

  // Ward forces
  app.get('/api/ward/tasks', field, async (c) => {
    const items = await listQueue(db, actorOf(c), { status: [...FIELD_STATUSES] });
    const today = Date.now() - 24 * 3600_000;
    return c.json({ items: items.filter((i) => i.status !== 'resolved' || new Date(i.received_at).getTime() > today) });
  });
  app.post('/api/ward/tickets/:code/acknowledge', field, async (c) => ok(c, await changeStatus(db, await ticketId(c.req.param('code')), actorOf(c), 'acknowledged', { onStatus: deps.onStatus })));
  app.post('/api/ward/tickets/:code/start', field, async (c) => ok(c, await changeStatus(db, await ticketId(c.req.param('code')), actorOf(c), 'in_progress', { onStatus: deps.onStatus })));
  app.post('/api/ward/tickets/:code/resolve', field, async (c) => {
    const type = c.req.header('content-type') ?? '';
    let note: string | undefined;
    let photos: File[] = [];
    if (type.startsWith('multipart/form-data') || type.startsWith('application/x-www-form-urlencoded')) {
      const form = await readForm(c);
      note = text(formText(form, 'note'), 'note', false);
      photos = formFiles(form, 'photos').filter((f) => f.size > 0);
    } else {
      note = text((await body(c)).note, 'note', false);
    }
    // Checked before the photos are read and stored (changeStatus checks it again).
    staffText('result', note, true);
    if (photos.length > REPORT_LIMITS.photosMax) throw new AppError('too_many_photos', 422, `at most ${REPORT_LIMITS.photosMax} photos`, `Chỉ gửi tối đa ${REPORT_LIMITS.photosMax} ảnh.`);
    const attachments: Attachment[] = [];
    for (const f of photos) {
      if (f.size > deps.uploadMaxBytes) throw photoTooLarge(f.name, deps.uploadMaxBytes);
      const bytes = new Uint8Array(await f.arrayBuffer());
      const t = await checkPhoto(bytes, deps.uploadMaxBytes, f.name);
      attachments.push(await deps.files.put(bytes, t.mime, t.ext));
    }
    return ok(c, await changeStatus(db, await ticketId(c.req.param('code')), actorOf(c), 'resolved', { note, attachments, onStatus: deps.onStatus, notice: deps.notice }));
  });
  return app;
}
