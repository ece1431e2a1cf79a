import { randomUUID } from 'node:crypto';
import { Hono } from 'hono';
import { bodyLimit } from '../../src/intake/body-limit.ts';
import { AppError } from '../../src/core/errors.ts';
import type { ChannelAdapter, ChannelContext } from '../../src/intake/channel-adapter.ts';
import { storePhotos, validateReportFields, type RawReportFields } from '../../src/intake/report-validation.ts';
import { REPORT_LIMITS } from '../../src/core/report-input.ts';
import { openApiDocument } from './openapi.ts';

const JSON_LIMIT = 256 * 1024;

function tooLarge(): never {
  throw new AppError('payload_too_large', 413, 'request body is too large', 'Dữ liệu gửi lên quá lớn.');
}

async function readBody(c: { req: { header(n: string): string | undefined; json(): Promise<unknown>; parseBody(o: { all: true }): Promise<Record<string, unknown>> } }):
  Promise<{ fields: RawReportFields; photos: File[]; hashable: unknown }> {
  const type = (c.req.header('content-type') ?? '').toLowerCase();
  if (type.startsWith('application/json')) {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new AppError('invalid_json', 400, 'request body is not valid JSON', 'Dữ liệu gửi lên không đúng định dạng JSON.');
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw new AppError('invalid_json', 400, 'request body must be a JSON object', 'Dữ liệu gửi lên phải là một đối tượng JSON.');
    }
    return { fields: body as RawReportFields, photos: [], hashable: body };
  }
  if (type.startsWith('multipart/form-data')) {
    const form = await c.req.parseBody({ all: true });
    const one = (k: string) => {
      const v = form[k];
      return Array.isArray(v) ? v[0] : v;
    };
    const photoField = form['photos'] ?? form['photo'];
    const photos = (Array.isArray(photoField) ? photoField : photoField ? [photoField] : []).filter((p): p is File => p instanceof File);
    const fields: RawReportFields = {
      text: one('text'), category: one('category'), lat: one('lat'), lng: one('lng'), address: one('address'),
      citizen: {
        name: one('citizen[name]') ?? one('name'), phone: one('citizen[phone]') ?? one('phone'), email: one('citizen[email]') ?? one('email'),
        national_id: one('citizen[national_id]') ?? one('national_id'), zalo_id: one('citizen[zalo_id]') ?? one('zalo_id'),
      },
    };
    const hashable = { ...fields, photos: await Promise.all(photos.map(async (p) => `${p.name}:${p.size}`)) };
    return { fields, photos, hashable };
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
    const report = await validateReportFields(fields, ctx);
    const attachments = await storePhotos(photos, ctx);
    const accepted = await ctx.intake.accept({
      channel: 'app', externalId: key ?? randomUUID(), payload: hashable, report: { ...report, attachments },
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

  app.get('/api/v1/categories', async (c) => {
    const cats = await ctx.categories();
    return c.json({ categories: cats.map((x) => ({ code: x.code, name: x.name, name_en: x.name_en })) });
  });

  app.get('/api/v1/openapi.json', (c) => c.json(openApiDocument(ctx.config.PUBLIC_URL)));
  return app;
}

/** The "Call Center 1022" mobile app's JSON API. Always on. */
export const mobileApp: ChannelAdapter = {
  name: 'app',
  enabled: () => true,
  routes,
};
