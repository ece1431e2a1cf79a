import { randomUUID } from 'node:crypto';
import { Hono, type Context } from 'hono';
import {
  AppError, bodyLimit, cleanText, defineChannel, FEEDBACK_LIMITS, formFiles, formText, readForm, readJsonObject, readPoint, REPORT_LIMITS, storeCheckedPhotos,
  SUGGEST_QUERY_MAX, validateFeedback, validateReport, type ChannelContext, type PublicPlaces, type RawReportFields,
} from '../../src/intake/channel-kit.ts';
import { openApiDocument } from './openapi.ts';

const JSON_LIMIT = 256 * 1024;

function tooLarge(): never {
  throw new AppError('payload_too_large', 413, 'request body is too large', 'Dữ liệu gửi lên quá lớn.');
}

/**
 * The report fields of a JSON or multipart body, its photos, and what identifies the request
 * for idempotency (the body as sent; photos are added by their content once read).
 */
async function readBody(c: Context): Promise<{ fields: RawReportFields; photos: File[]; hashable: Record<string, unknown> }> {
  const type = (c.req.header('content-type') ?? '').toLowerCase();
  if (type.startsWith('application/json')) {
    const body = await readJsonObject(c);
    return { fields: body as RawReportFields, photos: [], hashable: body };
  }
  if (type.startsWith('multipart/form-data')) {
    const form = await readForm(c);
    const one = (k: string) => formText(form, `citizen[${k}]`) ?? formText(form, k);
    const fields = {
      text: formText(form, 'text'), category: formText(form, 'category'), lat: formText(form, 'lat'), lng: formText(form, 'lng'),
      address: formText(form, 'address'), ticket: formText(form, 'ticket'),
      citizen: { name: one('name'), phone: one('phone'), email: one('email'), national_id: one('national_id'), zalo_id: one('zalo_id') },
    };
    return { fields, photos: formFiles(form, 'photos', 'photo'), hashable: fields };
  }
  throw new AppError('content_type_unsupported', 415, 'send application/json or multipart/form-data', 'Định dạng dữ liệu không được hỗ trợ.');
}

function routes(ctx: ChannelContext): Hono {
  const app = new Hono();
  const limit = (max: number) => bodyLimit({ maxSize: max, onError: () => tooLarge() });

  app.post('/api/v1/reports', async (c, next) => {
    const multipart = (c.req.header('content-type') ?? '').startsWith('multipart/');
    return limit(multipart ? ctx.config.UPLOAD_MAX_BYTES * REPORT_LIMITS.photosMax + 1024 * 1024 : JSON_LIMIT)(c, next);
  }, async (c) => {
    const key = c.req.header('idempotency-key')?.trim();
    if (key !== undefined && (key.length === 0 || key.length > 200)) {
      throw new AppError('idempotency_key_invalid', 400, 'Idempotency-Key must be 1 to 200 characters', 'Mã chống gửi trùng không hợp lệ.');
    }
    const { fields, photos, hashable } = await readBody(c);
    // Every field and photo checked at once; then counted against the limits; only then stored.
    const { report, photos: checked } = await validateReport(fields, photos, ctx);
    await ctx.limits.check(c, report.citizen);
    const attachments = await storeCheckedPhotos(checked, ctx);
    // Photos count by their content: a retry with another picture under the same key is a
    // different request (409), not a replay.
    const payload = attachments.length ? { ...hashable, photos: attachments.map((a) => a.sha256) } : hashable;
    const accepted = await ctx.intake.accept({
      channel: 'app', externalId: key ?? randomUUID(), payload, report: { ...report, attachments },
    });
    const status = accepted.replay && !accepted.spooled ? await ctx.publicStatus(accepted.code) : null;
    if (accepted.replay) c.header('Idempotent-Replayed', 'true');
    return c.json({
      code: accepted.code,
      status: status?.status ?? 'received',
      status_label: status?.status_label ?? 'Đã tiếp nhận, đang xử lý',
      ticket: status?.ticket ?? null,
      received_at: accepted.receivedAt.toISOString(),
      tracking_url: `${ctx.config.PUBLIC_URL ?? ''}/track/${accepted.code}`,
      photos: attachments.length,
    }, 201);
  });

  app.get('/api/v1/reports/:code', async (c) => {
    const status = await ctx.publicStatus(c.req.param('code'));
    if (!status) throw new AppError('report_not_found', 404, 'no report or ticket with this code', 'Không tìm thấy phản ánh với mã này.');
    return c.json(status);
  });

  // The holder of a report's code answers the resolution of its ticket (core/tickets/feedback.ts),
  // as on the tracking page: the code is the credential, as it is for reading the status. Answers
  // the report's status after the answer.
  app.post('/api/v1/reports/:code/confirm', limit(JSON_LIMIT), async (c) => {
    const { already } = await ctx.feedback.answer(c.req.param('code'), 'confirmed');
    const status = await ctx.publicStatus(c.req.param('code'));
    return c.json({ confirmed: true, already, status });
  });

  app.post('/api/v1/reports/:code/reopen', async (c, next) => {
    const multipart = (c.req.header('content-type') ?? '').startsWith('multipart/');
    return limit(multipart ? ctx.config.UPLOAD_MAX_BYTES * FEEDBACK_LIMITS.photosMax + 1024 * 1024 : JSON_LIMIT)(c, next);
  }, async (c) => {
    const type = (c.req.header('content-type') ?? '').toLowerCase();
    let reason: unknown;
    let photos: File[] = [];
    if (type.startsWith('application/json')) reason = (await readJsonObject(c)).reason;
    else if (type.startsWith('multipart/form-data')) {
      const form = await readForm(c);
      reason = formText(form, 'reason');
      photos = formFiles(form, 'photos', 'photo');
    } else throw new AppError('content_type_unsupported', 415, 'send application/json or multipart/form-data', 'Định dạng dữ liệu không được hỗ trợ.');
    // Every field and photo checked, then whether the answer may be given, and only then stored.
    const checked = await validateFeedback(reason, photos, ctx);
    await ctx.feedback.check(c.req.param('code'), 'reopened');
    await ctx.feedback.answer(c.req.param('code'), 'reopened', { reason: checked.reason, attachments: await storeCheckedPhotos(checked.photos, ctx) });
    const status = await ctx.publicStatus(c.req.param('code'));
    return c.json({ reopened: true, status });
  });

  app.get('/api/v1/categories', async (c) => {
    const cats = await ctx.categories();
    return c.json({ categories: cats.map((x) => ({ code: x.code, name: x.name, name_en: x.name_en })) });
  });

  // Before filing: where a point is, what an address box may mean, and what is already reported
  // near it (the portal's map uses the same three).
  const places = (): PublicPlaces => {
    if (!ctx.places) throw new AppError('places_unavailable', 503, 'place lookups are not available here', 'Chức năng tra cứu địa điểm hiện không khả dụng.');
    return ctx.places;
  };

  app.get('/api/v1/places/locate', (c) => {
    const p = places();
    const { lat, lng } = readPoint(c.req.query('lat'), c.req.query('lng'));
    const unit = p.locate(lat, lng);
    // Units change by decree, not by the minute.
    c.header('Cache-Control', 'public, max-age=3600');
    return c.json({ lat, lng, unit });
  });

  app.get('/api/v1/places/suggest', (c) => {
    const p = places();
    const q = c.req.query('q') ?? '';
    if (q.length > SUGGEST_QUERY_MAX) {
      throw new AppError('query_too_long', 422, `q is longer than ${SUGGEST_QUERY_MAX} characters`, 'Nội dung tìm kiếm quá dài.', { field: 'q', max: SUGGEST_QUERY_MAX });
    }
    c.header('Cache-Control', 'public, max-age=3600');
    return c.json({ suggestions: p.suggest(cleanText(q)) });
  });

  app.get('/api/v1/nearby', async (c) => {
    const p = places();
    const { lat, lng } = readPoint(c.req.query('lat'), c.req.query('lng'));
    const category = c.req.query('category') ?? '';
    const tickets = category && category.length <= REPORT_LIMITS.categoryMax ? await p.nearby({ lat, lng, category }) : null;
    if (tickets === null) throw new AppError('category_unknown', 422, 'unknown category', 'Lĩnh vực phản ánh không hợp lệ.', { field: 'category' });
    // Reports come in all day: a short while only.
    c.header('Cache-Control', 'public, max-age=30');
    return c.json({ tickets });
  });

  app.get('/api/v1/openapi.json', (c) => c.json(openApiDocument(ctx.config.PUBLIC_URL)));
  return app;
}

/** The "Call Center 1022" mobile app's JSON API, at /api/v1. Always on. */
export const mobileApp = defineChannel({
  name: 'app',
  label: { vi: 'Ứng dụng', en: 'Mobile app', background: '#e0f2f1', text: '#00564d' },
  basePath: '/',
  routes,
  // The app shows replies and results from the report's status (GET /api/v1/reports/:code).
  replies: 'tracking_page',
});
