import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkApiKey, issueApiKey, listApiKeys, revokeApiKey } from '../../src/core/staff/api-keys.ts';
import type { Runtime } from '../../src/runtime.ts';
import { PLACES, reportBody } from '../../test/support/factories.ts';
import { postReport, testRuntime } from '../../test/support/runtime.ts';
import { dateWindow, parseIsoDate } from './params.ts';
import { escapeText } from './xml.ts';

// Open311 GeoReport v2 (http://wiki.open311.org/GeoReport_v2) against the spec's examples: the
// sample POST (api_key, jurisdiction_id, service_code, lat/long, address_string, email,
// device_id, account_id, first_name, last_name, phone, description, media_url) moved to HCMC,
// and the sample answers' shapes in JSON and XML.

let rt: Runtime;
let key: string;
beforeAll(async () => {
  rt = await testRuntime({ PUBLIC_URL: 'https://phananh.example.vn', OPEN311_JURISDICTION_ID: 'hcmc.gov.vn' });
  key = (await issueApiKey(rt.handle.db, 'Ứng dụng thử nghiệm')).key;
});
afterAll(async () => {
  await rt?.close();
});

const V2 = '/open311/v2';
const get = (path: string) => rt.app.request(`${V2}/${path}`);

/** The spec's sample POST, moved to Bến Thành. */
function sample(over: Record<string, string | undefined> = {}): Record<string, string> {
  const fields: Record<string, string | undefined> = {
    api_key: key, jurisdiction_id: 'hcmc.gov.vn', service_code: 'ngap_nuoc',
    lat: String(PLACES.benThanh.lat), long: String(PLACES.benThanh.lng), address_string: 'Chợ Bến Thành, Quận 1',
    email: 'tran.thi.mai@example.com', device_id: 'tt222111', account_id: '123456', first_name: 'Mai', last_name: 'Trần Thị',
    phone: '0912345678', description: 'Nước ngập sâu trước cửa Nam chợ Bến Thành, xe máy chết máy hàng loạt',
    media_url: 'https://cdn.example.org/requests/media/638344.jpg', ...over,
  };
  return Object.fromEntries(Object.entries(fields).filter((e): e is [string, string] => e[1] !== undefined));
}

function post(fields: Record<string, string>, format: 'json' | 'xml' = 'json', headers: Record<string, string> = {}) {
  return rt.app.request(`${V2}/requests.${format}`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(fields).toString(),
  });
}

async function inboundCount() {
  return Number((await rt.handle.db.selectFrom('inbound_messages').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
}

type Request311 = Record<string, unknown> & { service_request_id: string; status: string; status_notes: string };

describe('discovery and services', () => {
  it('discovery names the endpoint, the spec and both formats', async () => {
    const doc = (await (await get('discovery.json')).json()) as any;
    expect(doc.endpoints).toEqual([expect.objectContaining({
      specification: 'http://wiki.open311.org/GeoReport_v2', url: 'https://phananh.example.vn/open311/v2', type: 'production', formats: ['text/xml', 'application/json'],
    })]);
    const xml = await (await get('discovery.xml')).text();
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<discovery><changeset>/);
    expect(xml).toContain('<formats><format>text/xml</format><format>application/json</format></formats>');
  });

  it('lists the categories as services, in Vietnamese, in JSON and XML', async () => {
    const res = await get('services.json');
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const services = (await res.json()) as Record<string, unknown>[];
    const flood = services.find((s) => s.service_code === 'ngap_nuoc');
    expect(flood).toEqual({
      service_code: 'ngap_nuoc', service_name: 'Ngập nước', description: expect.stringContaining('Ngập nước'), metadata: false, type: 'realtime',
      keywords: expect.stringContaining('ngap nuoc, '), group: 'Công ty TNHH MTV Thoát nước đô thị',
    });
    const xmlRes = await get('services.xml');
    expect(xmlRes.headers.get('content-type')).toBe('text/xml; charset=utf-8');
    const xml = await xmlRes.text();
    expect(xml).toContain('<service><service_code>ngap_nuoc</service_code><service_name>Ngập nước</service_name>');
    expect(xml).toContain('<metadata>false</metadata><type>realtime</type>');
    expect(xml.match(/<service>/g)).toHaveLength(services.length);
  });

  it('defines a service with no extra attributes (metadata false), and 404 for an unknown one', async () => {
    expect(await (await get('services/ngap_nuoc.json')).json()).toEqual({ service_code: 'ngap_nuoc', attributes: [] });
    expect(await (await get('services/ngap_nuoc.xml')).text()).toContain('<service_definition><service_code>ngap_nuoc</service_code><attributes/></service_definition>');
    expect((await get('services/ufo.json')).status).toBe(404);
  });

  it('refuses another jurisdiction_id with 404 in the spec format', async () => {
    const res = await get('services.xml?jurisdiction_id=sfgov.org');
    expect(res.status).toBe(404);
    expect(await res.text()).toMatch(/<errors><error><code>404<\/code><description>jurisdiction_unknown: [^<]+<\/description><\/error><\/errors>/);
    expect((await get('services.json?jurisdiction_id=HCMC.gov.vn')).status).toBe(200);
  });
});

describe('POST requests', () => {
  let created: string;

  it('takes the spec sample through intake and answers [{service_request_id, service_notice, account_id}]', async () => {
    const res = await post(sample());
    expect(res.status).toBe(201);
    const body = (await res.json()) as Record<string, unknown>[];
    // The id is public (the stored message's number); the tracking code, the resident's key to
    // their own page, goes only to the client that posted, in the notice.
    expect(body).toEqual([{ service_request_id: expect.stringMatching(/^[1-9][0-9]*$/), service_notice: expect.stringMatching(/Tổng đài 1022 đã tiếp nhận phản ánh, mã PA-[0-9A-Z]{8}/), account_id: '123456' }]);
    created = body[0]!.service_request_id as string;
    // Stored raw first, without the key: the client it identified instead.
    const row = await rt.handle.db.selectFrom('inbound_messages').select(['channel', 'payload', 'code']).where('id', '=', Number(created)).executeTakeFirstOrThrow();
    expect(body[0]!.service_notice).toContain(row.code);
    expect(row.channel).toBe('open311');
    expect(JSON.stringify(row.payload)).not.toContain(key);
    expect(row.payload).toMatchObject({ client: { name: 'Ứng dụng thử nghiệm' }, fields: { service_code: 'ngap_nuoc', account_id: '123456' } });
    await rt.worker.idle();
    const [r] = (await (await get(`requests/${created}.json`)).json()) as Request311[];
    expect(r).toMatchObject({
      service_request_id: created, status: 'open', service_code: 'ngap_nuoc', service_name: 'Ngập nước',
      description: sample().description, agency_responsible: PLACES.benThanh.name, address: 'Chợ Bến Thành, Quận 1',
      lat: PLACES.benThanh.lat, long: PLACES.benThanh.lng, media_url: sample().media_url, address_id: null, zipcode: null,
    });
    expect(r!.status_notes).toMatch(/^Đã tiếp nhận|^Đã phân loại|^Đã chuyển/);
    expect(Date.parse(r!.expected_datetime as string)).toBeGreaterThan(Date.parse(r!.requested_datetime as string));
    // The reporter's name and contacts never come back.
    expect(JSON.stringify(r)).not.toMatch(/Trần Thị|Mai|0912345678|tran\.thi\.mai|tt222111/);
  });

  it('answers a retry of the same request with the same id and stores nothing new', async () => {
    const before = await inboundCount();
    const again = await post(sample());
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(((await again.json()) as { service_request_id: string }[])[0]!.service_request_id).toBe(created);
    const keyed = await post(sample({ description: 'Đèn đường hư trước nhà số 12', service_code: 'chieu_sang' }), 'json', { 'Idempotency-Key': 'client-42' });
    const conflict = await post(sample({ description: 'Nội dung khác hẳn' }), 'json', { 'Idempotency-Key': 'client-42' });
    expect(keyed.status).toBe(201);
    expect(conflict.status).toBe(409);
    expect(await conflict.json()).toEqual([{ code: 409, description: expect.stringMatching(/^idempotency_key_conflict: /) }]);
    expect(await inboundCount()).toBe(before + 1);
  });

  it('gives the poster, who holds the tracking code as a token, the public id (GET tokens/:token)', async () => {
    const row = await rt.handle.db.selectFrom('inbound_messages').select('code').where('id', '=', Number(created)).executeTakeFirstOrThrow();
    const res = await get(`tokens/${row.code}.json`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([{ service_request_id: created, token: row.code }]);
  });

  it('answers in XML when posted to requests.xml', async () => {
    const res = await post(sample({ description: 'Rác thải <đổ> bừa bãi & "bốc mùi" ở hẻm', service_code: 'rac_thai', account_id: undefined }), 'xml');
    expect(res.status).toBe(201);
    const xml = await res.text();
    const id = /<service_request_id>([0-9]+)<\/service_request_id>/.exec(xml)?.[1];
    expect(xml).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<service_requests><request><service_request_id>[0-9]+</);
    expect(xml).toContain('<account_id/>');
    await rt.worker.idle();
    const back = await (await get(`requests/${id}.xml`)).text();
    // The client's own words come back escaped.
    expect(back).toContain('<description>Rác thải &lt;đổ&gt; bừa bãi &amp; &quot;bốc mùi&quot; ở hẻm</description>');
  });

  const refusals: [string, () => Response | Promise<Response>, number, string][] = [
    ['a wrong api_key', () => post(sample({ api_key: 'x'.repeat(43) })), 403, 'api_key_invalid'],
    ['no api_key', () => post(sample({ api_key: undefined })), 403, 'api_key_missing'],
    ['no service_code', () => post(sample({ service_code: undefined })), 400, 'service_code_missing'],
    ['an unknown service_code', () => post(sample({ service_code: 'ufo' })), 400, 'service_code_unknown'],
    ['no location', () => post(sample({ lat: undefined, long: undefined, address_string: undefined })), 400, 'location_missing'],
    ['only an address_id', () => post(sample({ lat: undefined, long: undefined, address_string: undefined, address_id: '545483' })), 400, 'location_missing'],
    ['no description', () => post(sample({ description: undefined })), 400, 'description_missing'],
    ['a latitude out of range', () => post(sample({ lat: '91' })), 400, 'coordinates_invalid'],
    ['lat without long', () => post(sample({ long: undefined })), 400, 'coordinates_invalid'],
    ['an invalid email', () => post(sample({ email: 'not-an-email' })), 400, 'contact_email_invalid'],
    ['a media_url that is not http(s)', () => post(sample({ media_url: 'javascript:alert(1)' })), 400, 'media_url_invalid'],
    ['a description over 5000 characters', () => post(sample({ description: 'ngập '.repeat(1100) })), 400, 'field_too_long'],
    ['another jurisdiction', () => post(sample({ jurisdiction_id: 'sfgov.org' })), 404, 'jurisdiction_unknown'],
    ['a JSON body', () => rt.app.request(`${V2}/requests.json`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(sample()) }), 415, 'content_type_unsupported'],
    ['a body over 64 KB', () => post(sample({ address_string: 'x'.repeat(70 * 1024) })), 413, 'payload_too_large'],
  ];
  for (const [what, send, status, code] of refusals) {
    it(`answers ${status} ${code} in the spec format for ${what}, and stores nothing`, async () => {
      const before = await inboundCount();
      const res = await send();
      expect(res.status).toBe(status);
      expect(await res.json()).toEqual([{ code: status, description: expect.stringMatching(new RegExp(`^${code}: `)) }]);
      expect(await inboundCount()).toBe(before);
    });
  }

  it('answers 403 in XML for a bad key on requests.xml (the spec example)', async () => {
    const res = await post(sample({ api_key: 'wrong' }), 'xml');
    expect(res.status).toBe(403);
    expect(await res.text()).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<errors><error><code>403<\/code><description>api_key_invalid: /);
  });
});

describe('GET requests', () => {
  let appCode: string;
  /** The app report's public id. */
  let appId: string;
  let grouped: string;

  beforeAll(async () => {
    // A resident reports by the app; an Open311 client reports the same flood: one ticket.
    appCode = ((await (await postReport(rt, reportBody({ lat: PLACES.saiGon.lat, lng: PLACES.saiGon.lng, text: 'Ngập nước sâu đường Đồng Khởi, xe chết máy' }))).json()) as { code: string }).code;
    await rt.worker.idle();
    const res = await post(sample({ lat: String(PLACES.saiGon.lat), long: String(PLACES.saiGon.lng), description: 'Đường Đồng Khởi ngập nước sâu', address_string: 'Đồng Khởi' }));
    grouped = ((await res.json()) as { service_request_id: string }[])[0]!.service_request_id;
    await rt.worker.idle();
    appId = String((await rt.handle.db.selectFrom('reports').select('inbound_id').where('code', '=', appCode).executeTakeFirstOrThrow()).inbound_id);
  });

  it('a report grouped into another request names it and stays open until that ticket is resolved', async () => {
    const ticket = await rt.handle.db.selectFrom('reports').select('ticket_id').where('inbound_id', 'in', [Number(appId), Number(grouped)]).execute();
    expect(new Set(ticket.map((t) => t.ticket_id)).size).toBe(1);
    // The first report's ticket closes as merged elsewhere would not matter: the grouped one follows the live ticket.
    const [r] = (await (await get(`requests/${grouped}.json`)).json()) as Request311[];
    expect(r!.status).toBe('open');
    expect(r!.status_notes).toContain(`cùng sự việc với yêu cầu số ${appId}`);
    expect(r!.status_notes).not.toMatch(/xử lý xong/);
    await rt.handle.db.updateTable('tickets').set({ status: 'resolved', resolved_at: new Date('2026-12-06T03:05:00Z'), updated_at: new Date() })
      .where('id', '=', ticket[0]!.ticket_id).execute();
    const [done] = (await (await get(`requests/${grouped}.json`)).json()) as Request311[];
    expect(done).toMatchObject({ status: 'closed', agency_responsible: PLACES.saiGon.name });
    expect(done!.status_notes).toContain(`${PLACES.saiGon.name} đã xử lý xong lúc 10:05 ngày 06/12/2026`);
  });

  it('lists requests with the filters of the spec and never a resident\'s words or contacts', async () => {
    const all = (await (await get('requests.json')).json()) as Request311[];
    const ids = all.map((r) => r.service_request_id);
    expect(ids).toEqual(expect.arrayContaining([appId, grouped]));
    // Tracking codes open residents' own pages (their words, photos, the answers): never listed.
    expect(JSON.stringify(all)).not.toMatch(/PA-[0-9A-Z]{8}|TK-[0-9A-Z]{8}/);
    const app = all.find((r) => r.service_request_id === appId)!;
    expect(app.description).toBeNull();
    expect(app.media_url).toBeNull();
    const text = JSON.stringify(all);
    expect(text).not.toMatch(/Nguyễn Văn Thử|0903|Đồng Khởi, xe chết máy|Trần Thị|0912345678/);
    const closed = (await (await get('requests.json?status=closed')).json()) as Request311[];
    expect(closed.map((r) => r.service_request_id).sort()).toEqual([appId, grouped].sort());
    const open = (await (await get('requests.json?status=open&service_code=ngap_nuoc')).json()) as Request311[];
    expect(open.every((r) => r.status === 'open' && r.service_code === 'ngap_nuoc')).toBe(true);
    expect(open.length).toBeGreaterThan(0);
    const byId = (await (await get(`requests.json?service_request_id=${grouped},${appId},${appCode},99999999&status=open`)).json()) as Request311[];
    expect(byId.map((r) => r.service_request_id)).toEqual([grouped, appId]);
    const paged = (await (await get('requests.json?page_size=1&page=2')).json()) as Request311[];
    expect(paged).toEqual([all[1]]);
    const past = (await (await get('requests.json?start_date=2020-01-01T00:00:00Z&end_date=2020-03-01T00:00:00Z')).json()) as Request311[];
    expect(past).toEqual([]);
    const xml = await (await get('requests.xml?status=closed')).text();
    expect(xml.match(/<request>/g)).toHaveLength(2);
    expect(xml).toContain('<status>closed</status>');
  });

  const bad: [string, string, number, string][] = [
    ['a window over 90 days', 'requests.json?start_date=2026-01-01&end_date=2026-06-01', 400, 'date_range_too_long'],
    ['a date that is not ISO 8601', 'requests.json?start_date=06/12/2026', 400, 'date_invalid'],
    ['a status other than open or closed', 'requests.json?status=fixed', 400, 'status_invalid'],
    ['a page size over 1000', 'requests.json?page_size=1001', 400, 'paging_invalid'],
    ['an unknown id', 'requests/99999999.json', 404, 'request_not_found'],
    ['a tracking code (not a public id)', 'requests/PA-00000000.json', 404, 'request_not_found'],
    ['an unknown token', 'tokens/PA-00000000.json', 404, 'token_not_found'],
    ['an id that is not a code', 'requests/%3Cscript%3E.xml', 404, 'request_not_found'],
  ];
  for (const [what, path, status, code] of bad) {
    it(`answers ${status} ${code} for ${what}`, async () => {
      const res = await get(path);
      expect(res.status).toBe(status);
      const body = await res.text();
      if (path.includes('.xml')) expect(body).toContain(`<code>${status}</code><description>${code}: `);
      else expect(JSON.parse(body)).toEqual([{ code: status, description: expect.stringMatching(new RegExp(`^${code}: `)) }]);
    });
  }
});

describe('API keys', () => {
  it('keeps only a hash, records use, and a revoked key stops working at once (403)', async () => {
    const issued = await issueApiKey(rt.handle.db, 'Hệ thống quận cũ');
    expect(issued.key).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const row = await rt.handle.db.selectFrom('api_keys').selectAll().where('id', '=', issued.id).executeTakeFirstOrThrow();
    expect(row.key_hash).not.toContain(issued.key);
    expect(row.last_used_at).toBeNull();
    await expect(issueApiKey(rt.handle.db, 'Hệ thống quận cũ')).rejects.toMatchObject({ code: 'api_key_name_taken' });
    expect(await checkApiKey(rt.handle.db, issued.key)).toEqual({ id: issued.id, name: 'Hệ thống quận cũ' });
    const listed = (await listApiKeys(rt.handle.db)).find((k) => k.id === issued.id)!;
    expect(listed.lastUsedAt).toBeInstanceOf(Date);
    expect(listed).not.toHaveProperty('key');
    expect(await revokeApiKey(rt.handle.db, { name: 'Hệ thống quận cũ' })).toEqual({ id: issued.id, name: 'Hệ thống quận cũ' });
    const res = await post(sample({ api_key: issued.key }));
    expect(res.status).toBe(403);
    await expect(revokeApiKey(rt.handle.db, { id: issued.id })).rejects.toMatchObject({ code: 'api_key_not_found' });
  });
});

describe('params and XML text', () => {
  it('reads ISO 8601 dates with an offset, a +07:00 default, a + sent unencoded, and refuses impossible days', () => {
    expect(parseIsoDate('1994-11-05T08:15:30-05:00', 'd').toISOString()).toBe('1994-11-05T13:15:30.000Z');
    expect(parseIsoDate('1994-11-05T13:15:30Z', 'd').toISOString()).toBe('1994-11-05T13:15:30.000Z');
    expect(parseIsoDate('2026-12-06T08:00:00 07:00', 'd').toISOString()).toBe('2026-12-06T01:00:00.000Z');
    expect(parseIsoDate('2026-12-06', 'd').toISOString()).toBe('2026-12-05T17:00:00.000Z');
    expect(() => parseIsoDate('2026-02-31', 'd')).toThrow(/ISO 8601/);
    expect(() => parseIsoDate(`2026-12-06${'0'.repeat(10_000)}`, 'd')).toThrow(/ISO 8601/);
    expect(() => dateWindow('2026-01-01T00:00:00Z', '2026-04-01T00:00:01Z')).toThrow(/at most 90 days/);
    expect(dateWindow('2026-01-01', '2026-03-31').to.toISOString()).toBe('2026-03-31T17:00:00.000Z');
    const w = dateWindow(undefined, undefined, new Date('2026-12-06T00:00:00Z'));
    expect((w.to.getTime() - w.from.getTime()) / 86_400_000).toBe(90);
  });

  it('escapes markup and replaces what XML 1.0 cannot carry (controls, lone surrogates)', () => {
    expect(escapeText(`a<b>&"c'\u0000\ud83d x 🙏`)).toBe('a&lt;b&gt;&amp;&quot;c&apos;\uFFFD\uFFFD x 🙏');
  });
});
