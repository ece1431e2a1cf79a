import { Hono } from 'hono';
import type { Context } from 'hono';
import {
  AppError, bodyLimit, canonicalCode, cleanText, defineChannel, FEEDBACK_LIMITS, formFiles, formText, isAppError, isSameOrigin, issueFormToken, pageCsp, payloadHash,
  readForm, readPoint, REPORT_LIMITS, serveStaticFile, sizeLabel, storeCheckedPhotos, unavailableError, validateFeedback, validateReport, verifyFormToken, type ChannelContext,
  type FeedbackAnswer, type FieldProblem, type NearbyTicket,
} from '../../src/intake/channel-kit.ts';
import { REPORT_FORM_JS, reportForm, trackingPage, trackLookupPage, unavailablePage, type FeedbackView, type FormError, type FormValues } from './pages.ts';

const STATUS_FOR: Record<number, 400 | 403 | 404 | 409 | 413 | 415 | 422 | 429 | 503> = {
  400: 400, 403: 403, 404: 404, 409: 409, 413: 413, 415: 415, 422: 422, 429: 429, 503: 503,
};

/** Refuses a form posted from another site (the Origin or Sec-Fetch-Site says so). */
function checkSameSite(c: Context, ctx: ChannelContext): void {
  if (!isSameOrigin(c.req.url, { origin: c.req.header('origin'), secFetchSite: c.req.header('sec-fetch-site') }, ctx.config.PUBLIC_URL)) {
    throw new AppError('csrf_origin_mismatch', 403, 'cross-site form post refused', 'Yêu cầu bị từ chối vì không gửi từ trang này.');
  }
}

/** Refuses a body that is not a form. */
function checkFormType(c: Context): void {
  const type = c.req.header('content-type') ?? '';
  if (!type.startsWith('multipart/form-data') && !type.startsWith('application/x-www-form-urlencoded')) {
    throw new AppError('content_type_unsupported', 415, 'send the form as multipart/form-data', 'Định dạng dữ liệu không được hỗ trợ.');
  }
}

const isAnswer = (v: string | undefined): v is FeedbackAnswer => v === 'confirmed' || v === 'reopened';

function routes(ctx: ChannelContext): Hono {
  const app = new Hono();
  const map = ctx.places?.map ?? null;
  const page = async (values: FormValues = {}, error?: FormError, nearby?: NearbyTicket[]) =>
    reportForm(ctx.city, await ctx.categories(), issueFormToken(ctx.secret), sizeLabel(ctx.config.UPLOAD_MAX_BYTES, ','), values, error, {
      map: map && ctx.places ? { ...map, ...ctx.places.mapAssets() } : null, nearbyStep: Boolean(ctx.places), ...(nearby ? { nearby } : {}),
    });
  // With the map on, the form's images include the tile server's.
  const csp = (c: Context) => {
    if (map) c.header('Content-Security-Policy', pageCsp([map.origin]));
  };

  app.get('/', async (c) => {
    csp(c);
    return c.html(await page());
  });
  app.get(REPORT_FORM_JS.path, (c) => serveStaticFile(c, REPORT_FORM_JS));

  app.post('/report',
    bodyLimit({
      maxSize: ctx.config.UPLOAD_MAX_BYTES * REPORT_LIMITS.photosMax + 1024 * 1024,
      onError: async (c) => {
        csp(c);
        return c.html(await page({}, { code: 'payload_too_large', message: 'Dữ liệu gửi lên quá lớn (ảnh tổng cộng quá nhiều).' }), 413);
      },
    }),
    async (c) => {
      // Whatever goes wrong, the resident gets the form again with what they typed (when it
      // could be read) and the Vietnamese message, never a JSON error page.
      let values: FormValues = {};
      try {
        checkSameSite(c, ctx);
        checkFormType(c);
        const form = await readForm(c);
        // Browsers submit a textarea's line breaks as CRLF but count them as one character for
        // maxlength; cleanText counts them as the user saw them.
        const one = (k: string) => {
          const v = formText(form, k);
          return v === undefined ? undefined : cleanText(v.slice(0, 4 * REPORT_LIMITS.textMax));
        };
        values = {
          text: one('text'), category: one('category'), address: one('address'), lat: one('lat'), lng: one('lng'),
          name: one('name'), phone: one('phone'), email: one('email'), ticket: one('ticket'),
        };
        if (!verifyFormToken(ctx.secret, one('_token'))) {
          throw new AppError('csrf_token_invalid', 403, 'form token missing or expired', 'Biểu mẫu đã hết hạn, vui lòng gửi lại.');
        }
        // Without JavaScript, a step before sending: the open tickets of the category near the
        // point typed in (nothing is stored; the form comes back with what was typed).
        if (one('_step') === 'nearby' && ctx.places) {
          const { lat, lng } = readPoint(values.lat, values.lng);
          const tickets = values.category ? await ctx.places.nearby({ lat, lng, category: values.category.slice(0, REPORT_LIMITS.categoryMax) }) : null;
          if (!tickets) {
            throw new AppError('category_unknown', 422, 'choose a category to see nearby tickets', 'Vui lòng chọn lĩnh vực để xem phản ánh gần đây.', {
              fields: [{ field: 'category', code: 'category_unknown', message: 'Vui lòng chọn lĩnh vực để xem phản ánh gần đây.' }],
            });
          }
          csp(c);
          return c.html(await page(values, undefined, tickets));
        }
        // Every field and photo checked at once; then counted against the limits; only then stored.
        const { report, photos } = await validateReport({
          text: values.text, category: values.category, address: values.address, lat: values.lat, lng: values.lng, ticket: values.ticket,
          citizen: { name: values.name, phone: values.phone, email: values.email },
        }, formFiles(form, 'photos'), ctx);
        await ctx.limits.check(c, report.citizen);
        const attachments = await storeCheckedPhotos(photos, ctx);
        // A browser resubmitting the same form (double click, back + resend) carries the same token and fields.
        const payload = { ...values, photos: attachments.map((a) => a.sha256) };
        const accepted = await ctx.intake.accept({
          channel: 'web', externalId: `${one('_token')}:${payloadHash(payload)}`, payload,
          report: { ...report, attachments },
        });
        return c.redirect(`/track/${accepted.code}?new=1`, 303);
      } catch (err) {
        if (!isAppError(err) || !STATUS_FOR[err.status]) throw err;
        const fields = Array.isArray(err.details?.fields) ? (err.details.fields as FieldProblem[]) : [];
        const retryAfter = err.details?.retry_after_seconds;
        if (err.status === 429 && typeof retryAfter === 'number') c.header('Retry-After', String(retryAfter));
        csp(c);
        return c.html(await page(values, { code: err.code, message: err.messageVi, fields }), STATUS_FOR[err.status]);
      }
    });

  app.get('/track', async (c) => {
    const code = c.req.query('code')?.trim();
    if (!code) return c.html(trackLookupPage(ctx.city));
    const s = await ctx.publicStatus(code);
    if (!s) return c.html(trackLookupPage(ctx.city, code, true), 404);
    return c.redirect(`/track/${s.code}`, 303);
  });

  const feedbackView = (more: Partial<FeedbackView> = {}): FeedbackView => ({
    token: issueFormToken(ctx.secret), photoLimit: sizeLabel(ctx.config.UPLOAD_MAX_BYTES, ','), ...more,
  });

  app.get('/track/:code', async (c) => {
    const s = await ctx.publicStatus(c.req.param('code'));
    if (!s) return c.html(trackLookupPage(ctx.city, c.req.param('code'), true), 404);
    // The code is the secret that opens the page: no shared cache keeps it.
    c.header('Cache-Control', 'private, no-cache');
    const done = c.req.query('feedback');
    return c.html(trackingPage(ctx.city, s, c.req.query('new') === '1', feedbackView({ done: isAnswer(done) ? done : undefined })));
  });

  // The holder of a report's code answers the resolution of its ticket (core/tickets/feedback.ts):
  // "fixed", or "not fixed" with a reason and photos, which reopens it. CSRF-protected as the
  // report form is; 303 back to the page with a notice, or the page again with the message and
  // what was written. Every check before anything is stored: a refused answer stores no photo.
  /** The tracking page again with a refused answer's message and what the resident wrote. */
  const refusedAnswer = async (c: Context, code: string, err: AppError, reason?: string) => {
    const s = await ctx.publicStatus(code);
    if (!s) return c.html(trackLookupPage(ctx.city, code, true), 404);
    const fields = Array.isArray(err.details?.fields) ? (err.details.fields as FieldProblem[]) : [];
    c.header('Cache-Control', 'private, no-cache');
    return c.html(trackingPage(ctx.city, s, false, feedbackView({ error: { code: err.code, message: err.messageVi, fields }, reason })), STATUS_FOR[err.status] ?? 400);
  };
  const answer = (kind: FeedbackAnswer) => async (c: Context) => {
    const code = c.req.param('code') ?? '';
    let reason: string | undefined;
    try {
      checkSameSite(c, ctx);
      checkFormType(c);
      const form = await readForm(c);
      const given = formText(form, 'reason');
      reason = given === undefined ? undefined : cleanText(given.slice(0, 4 * FEEDBACK_LIMITS.reasonMax));
      if (!verifyFormToken(ctx.secret, formText(form, '_token')?.slice(0, 200))) {
        throw new AppError('csrf_token_invalid', 403, 'form token missing or expired', 'Biểu mẫu đã hết hạn, vui lòng gửi lại.');
      }
      if (kind === 'reopened') {
        const checked = await validateFeedback(reason, formFiles(form, 'photos'), ctx);
        if (!(await ctx.feedback.check(code, kind))) {
          await ctx.feedback.answer(code, kind, { reason: checked.reason, attachments: await storeCheckedPhotos(checked.photos, ctx) });
        }
      } else await ctx.feedback.answer(code, kind);
      return c.redirect(`/track/${canonicalCode(code) ?? code}?feedback=${kind}#feedback`, 303);
    } catch (err) {
      const down = unavailableError(err);
      if (down) {
        // The page that shows the answer's form reads the database too: a plain page, and the answer again later.
        c.header('Retry-After', String(down.details?.retry_after_seconds));
        return c.html(unavailablePage(ctx.city, canonicalCode(code) ?? ''), 503);
      }
      if (!isAppError(err) || !STATUS_FOR[err.status]) throw err;
      return refusedAnswer(c, code, err, reason);
    }
  };
  const tooLarge = (c: Context) => refusedAnswer(c, c.req.param('code') ?? '',
    new AppError('payload_too_large', 413, 'request body is too large', 'Dữ liệu gửi lên quá lớn (ảnh tổng cộng quá nhiều).'));
  app.post('/track/:code/confirm', bodyLimit({ maxSize: 64 * 1024, onError: tooLarge }), answer('confirmed'));
  app.post('/track/:code/reopen', bodyLimit({ maxSize: ctx.config.UPLOAD_MAX_BYTES * FEEDBACK_LIMITS.photosMax + 1024 * 1024, onError: tooLarge }), answer('reopened'));

  // A photo of the tracking page: the resident's own report's, or the ward's public result's,
  // found through the code's public status (the same rules as the page), never any other file.
  app.get('/track/:code/photos/:dir/:file', async (c) => {
    const notFound = () => new AppError('photo_not_found', 404, 'no such photo for this code', 'Không tìm thấy ảnh.');
    const key = `${c.req.param('dir')}/${c.req.param('file')}`;
    if (key.length > 80 || !/^[0-9a-f]{2}\/[0-9a-f]{64}\.[a-z0-9]{2,5}$/.test(key)) throw notFound();
    const s = await ctx.publicStatus(c.req.param('code'));
    const photo = s && [...(s.report?.photos ?? []), ...(s.result?.photos ?? [])].find((p) => p.url.endsWith(`/photos/${key}`));
    if (!photo) throw notFound();
    const bytes = await ctx.files.get(key);
    if (!bytes) throw notFound();
    return c.body(bytes as Uint8Array<ArrayBuffer>, 200, {
      'Content-Type': photo.content_type, 'Cache-Control': 'private, max-age=86400', 'Content-Security-Policy': "default-src 'none'",
    });
  });
  return app;
}

/** The public web portal: report form and tracking pages, at the site's root. Always on. */
export const webForm = defineChannel({
  name: 'web',
  label: { vi: 'Cổng web', en: 'Web portal', background: '#eceff3', text: '#263238' },
  basePath: '/',
  routes,
  // A resident reads replies and results on the report's tracking page.
  replies: 'tracking_page',
});
