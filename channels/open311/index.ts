import { Hono, type Context } from 'hono';
import {
  AppError, bodyLimit, defineChannel, formText, OPEN_STATUSES, payloadHash, readForm, REPORT_LIMITS, TICKET_STATUSES,
  validateReportFields, type ChannelContext, type InboundReport,
} from '../../src/intake/channel-kit.ts';
import { dateWindow, idsParam, intParam, PAGE_MAX, PAGE_SIZE_MAX, statusParam } from './params.ts';
import { createdDoc, discoveryDoc, requestsDoc, serviceDefinitionDoc, servicesDoc, tokenDoc } from './presenter.ts';
import { badField, guarded, respond, respondError, splitFormat, type Format } from './respond.ts';

const CHANNEL = 'open311';
/** A service request is a few fields: a form over this is not one. */
const BODY_LIMIT = 64 * 1024;
const FIELD_MAX = {
  api_key: 100, jurisdiction_id: 100, service_code: REPORT_LIMITS.categoryMax, lat: REPORT_LIMITS.coordinateMax, long: REPORT_LIMITS.coordinateMax,
  address_string: REPORT_LIMITS.addressMax, address_id: 200, description: REPORT_LIMITS.textMax, media_url: REPORT_LIMITS.mediaUrlMax,
  email: 254, device_id: 200, account_id: 200, first_name: REPORT_LIMITS.nameMax, last_name: REPORT_LIMITS.nameMax, phone: 40,
} as const;
type Field = keyof typeof FIELD_MAX;
/** What is stored of a POST (never the key: the client it identified instead). */
type PostedFields = Partial<Record<Exclude<Field, 'api_key'>, string>>;
interface StoredPayload {
  client: { id: number; name: string };
  fields: PostedFields;
}

/** The configured jurisdiction: OPEN311_JURISDICTION_ID, else PUBLIC_URL's host, else the city's domain. */
export function jurisdictionOf(config: ChannelContext['config']): string {
  if (config.OPEN311_JURISDICTION_ID) return config.OPEN311_JURISDICTION_ID;
  return config.PUBLIC_URL ? new URL(config.PUBLIC_URL).hostname : 'hcmc.gov.vn';
}

/** The report a stored POST makes (the fields were validated before it was stored). */
function toReport(fields: PostedFields): Omit<InboundReport, 'attachments'> & { attachments: [] } {
  const name = [fields.last_name, fields.first_name].filter(Boolean).join(' ') || undefined;
  return {
    text: fields.description ?? '',
    category: fields.service_code,
    lat: fields.lat === undefined ? undefined : Number(fields.lat),
    lng: fields.long === undefined ? undefined : Number(fields.long),
    address: fields.address_string,
    citizen: { name, phone: fields.phone, email: fields.email },
    attachments: [],
  };
}

function routes(ctx: ChannelContext): Hono {
  const app = new Hono();
  const jurisdiction = jurisdictionOf(ctx.config);
  const checkJurisdiction = (given: string | undefined) => {
    if (given !== undefined && given.trim() !== '' && given.trim().slice(0, 100).toLowerCase() !== jurisdiction.toLowerCase()) {
      throw new AppError('jurisdiction_unknown', 404, `jurisdiction_id not found: this endpoint serves ${jurisdiction}`);
    }
  };
  const endpoint = (c: Context) => `${ctx.config.PUBLIC_URL ?? new URL(c.req.url).origin}/open311/v2`;

  /** Routes `/<name>.json` and `/<name>.xml` to one handler with the format. */
  const both = (method: 'get' | 'post', name: string, handler: (c: Context, format: Format) => Promise<Response>) => {
    for (const format of ['json', 'xml'] as const) {
      app[method](`/${name}.${format}`, (c) => guarded(c, format, ctx.log, () => handler(c, format)));
    }
  };

  both('get', 'discovery', async (c, format) =>
    respond(c, format, discoveryDoc(endpoint(c), `${ctx.city.hotline} — ${ctx.config.PUBLIC_URL ?? new URL(c.req.url).origin}`)));

  both('get', 'services', async (c, format) => {
    checkJurisdiction(c.req.query('jurisdiction_id'));
    return respond(c, format, servicesDoc(await ctx.publicRecords.services()));
  });

  app.get('/services/:file', (c) => {
    const file = splitFormat(c.req.param('file'));
    return guarded(c, file?.format ?? 'json', ctx.log, async () => {
      checkJurisdiction(c.req.query('jurisdiction_id'));
      if (!file || !(await ctx.categories()).some((x) => x.code === file.name)) throw new AppError('service_not_found', 404, 'no service with this service_code');
      return respond(c, file.format, serviceDefinitionDoc(file.name));
    });
  });

  both('get', 'requests', async (c, format) => {
    checkJurisdiction(c.req.query('jurisdiction_id'));
    const q = (k: string) => c.req.query(k);
    // Many ids override every other filter (the spec's rule).
    const ids = q('service_request_id');
    if (ids !== undefined && ids.trim() !== '') return respond(c, format, requestsDoc(await ctx.publicRecords.byId(idsParam(ids), CHANNEL)));
    const window = dateWindow(q('start_date'), q('end_date'));
    const status = statusParam(q('status'));
    const pageSize = intParam(q('page_size'), 'page_size', 1, PAGE_SIZE_MAX, PAGE_SIZE_MAX);
    const page = intParam(q('page'), 'page', 1, PAGE_MAX, 1);
    const code = q('service_code')?.trim();
    if (code && code.length > FIELD_MAX.service_code) throw badField('service_code_unknown', 'service_code not found', 'service_code');
    const open = OPEN_STATUSES as readonly string[];
    const statuses = status?.length === 1 ? TICKET_STATUSES.filter((s) => open.includes(s) === (status[0] === 'open')) : undefined;
    const reports = await ctx.publicRecords.list({
      from: window.from, to: window.to, category: code || undefined, statuses, limit: pageSize, offset: (page - 1) * pageSize,
    }, CHANNEL);
    return respond(c, format, requestsDoc(reports));
  });

  app.get('/requests/:file', (c) => {
    const file = splitFormat(c.req.param('file'));
    const format = file?.format ?? 'json';
    return guarded(c, format, ctx.log, async () => {
      checkJurisdiction(c.req.query('jurisdiction_id'));
      const notFound = () => new AppError('request_not_found', 404, 'no service request with this id');
      if (!file) throw notFound();
      const found = (await ctx.publicRecords.byId([file.name], CHANNEL))[0];
      if (!found) throw notFound();
      return respond(c, format, requestsDoc([found]));
    });
  });

  // A request accepted while the database was away has no id yet: its poster holds a token (the
  // tracking code) and asks here for the id once the message is stored (the spec's tokens resource).
  app.get('/tokens/:file', (c) => {
    const file = splitFormat(c.req.param('file'));
    const format = file?.format ?? 'json';
    return guarded(c, format, ctx.log, async () => {
      checkJurisdiction(c.req.query('jurisdiction_id'));
      const id = file ? await ctx.publicRecords.idOfCode(file.name) : null;
      if (file && !id && (await ctx.publicStatus(file.name))?.code.startsWith('PA-')) {
        return respond(c, format, tokenDoc(null, file.name));
      }
      if (!file || !id) throw new AppError('token_not_found', 404, 'no service request with this token');
      return respond(c, format, tokenDoc(id, file.name));
    });
  });

  for (const format of ['json', 'xml'] as const) {
    app.post(`/requests.${format}`,
      bodyLimit({ maxSize: BODY_LIMIT, onError: (c) => respondError(c, format, new AppError('payload_too_large', 413, `request body is larger than ${BODY_LIMIT} bytes`)) }),
      (c) => guarded(c, format, ctx.log, () => createRequest(c, format)));
  }

  async function createRequest(c: Context, format: Format): Promise<Response> {
    const type = (c.req.header('content-type') ?? '').toLowerCase();
    if (!type.startsWith('application/x-www-form-urlencoded') && !type.startsWith('multipart/form-data')) {
      throw new AppError('content_type_unsupported', 415, 'send the service request as application/x-www-form-urlencoded');
    }
    const form = await readForm(c);
    const fields: Partial<Record<Field, string>> = {};
    for (const [name, max] of Object.entries(FIELD_MAX) as [Field, number][]) {
      const v = formText(form, name) ?? (name === 'api_key' ? c.req.query('api_key') : undefined);
      if (v === undefined || v.trim() === '') continue;
      if (v.length > max) throw badField('field_too_long', `${name} is longer than ${max} characters`, name);
      fields[name] = v.trim();
    }
    // The key first: a client without a working one learns nothing about its fields.
    const client = await ctx.apiClient(fields.api_key);
    if (!client) {
      throw new AppError(fields.api_key ? 'api_key_invalid' : 'api_key_missing', 403,
        fields.api_key ? 'invalid or revoked api_key: cannot create the service request' : 'api_key is required to create a service request');
    }
    checkJurisdiction(fields.jurisdiction_id);
    if (!fields.service_code) throw badField('service_code_missing', 'service_code is required', 'service_code');
    if (!(await ctx.categories()).some((x) => x.code === fields.service_code)) throw badField('service_code_unknown', `service_code not found: ${fields.service_code}`, 'service_code');
    const hasPoint = fields.lat !== undefined || fields.long !== undefined;
    if (!hasPoint && !fields.address_string) {
      throw badField('location_missing', fields.address_id
        ? 'address_id is not known here: send lat and long, or address_string'
        : 'a location is required: lat and long, or address_string', 'lat');
    }
    if (!fields.description) throw badField('description_missing', 'description is required (what is wrong, and where)', 'description');
    if (fields.media_url && !/^https?:\/\/[^\s]+$/i.test(fields.media_url)) throw badField('media_url_invalid', 'media_url must be an http(s) URL', 'media_url');
    const { api_key: _key, ...posted } = fields;
    const base = toReport(posted);
    // The shared checks (coordinates in range, phone, email, lengths), with their stable codes.
    const report = await validateReportFields({
      text: base.text, category: base.category, lat: posted.lat, lng: posted.long, address: base.address,
      citizen: { name: base.citizen.name, phone: base.citizen.phone, email: base.citizen.email },
    }, ctx);
    const payload: StoredPayload = { client: { id: client.id, name: client.name }, fields: posted };
    const idem = c.req.header('idempotency-key')?.trim();
    if (idem !== undefined && (idem.length === 0 || idem.length > 200)) throw badField('idempotency_key_invalid', 'Idempotency-Key must be 1 to 200 characters');
    // Per client: a retry carries its Idempotency-Key, or else the same fields (the same request).
    const accepted = await ctx.intake.accept({
      channel: CHANNEL, externalId: `${client.id}:${idem ?? payloadHash(payload.fields)}`, payload, report: { ...report, attachments: [] },
    });
    const base311 = ctx.config.PUBLIC_URL ?? new URL(c.req.url).origin;
    const notice = `${ctx.city.hotline} đã tiếp nhận phản ánh, mã ${accepted.code}. Theo dõi kết quả tại ${base311}/track/${accepted.code}.`;
    if (accepted.replay) c.header('Idempotent-Replayed', 'true');
    // The id is the stored message's number; spooled (the database away) there is none yet, and
    // the client gets a token to ask for it (GET tokens/:token). The tracking code itself is the
    // resident's key to their page: it goes only to this client, in the notice.
    const id = accepted.inboundId > 0 ? String(accepted.inboundId) : await ctx.publicRecords.idOfCode(accepted.code).catch(() => null);
    return respond(c, format, createdDoc(id, id ? null : accepted.code, notice, posted.account_id ?? null), 201);
  }

  // Anything else under /open311/v2 answers in the spec's format too.
  app.all('*', (c) => {
    const format = c.req.path.endsWith('.xml') ? 'xml' : 'json';
    return respondError(c, format, new AppError('not_found', 404, 'no such GeoReport v2 resource (see discovery.json)'));
  });
  return app;
}

/**
 * Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) at /open311/v2: other city systems
 * and third-party apps list services and requests, and post requests with an API key an admin
 * issued. Always on; a POST goes through the same intake as every channel.
 */
export const open311 = defineChannel({
  name: CHANNEL,
  label: { vi: 'Open311', en: 'Open311 API', background: '#ede7f6', text: '#4527a0' },
  basePath: '/open311/v2',
  routes,
  parse: (payload) => toReport((payload as StoredPayload).fields ?? {}),
  // A client reads the outcome with GET requests/:id; the resident, on the tracking page.
  replies: 'tracking_page',
});
