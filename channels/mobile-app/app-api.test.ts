import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../../src/runtime.ts';
import { PLACES, PNG_1PX, reportBody } from '../../test/support/factories.ts';
import { postReport, testRuntime } from '../../test/support/runtime.ts';

let rt: Runtime;
beforeAll(async () => {
  rt = await testRuntime();
});
afterAll(async () => {
  await rt?.close();
});

async function counts() {
  const db = rt.handle.db;
  const one = async (t: 'inbound_messages' | 'reports' | 'tickets') =>
    Number((await db.selectFrom(t).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  return { inbound: await one('inbound_messages'), reports: await one('reports'), tickets: await one('tickets') };
}

describe('POST /api/v1/reports', () => {
  it('takes a report with half an emoji (a lone surrogate) and an emoji where the title is cut, and makes it a ticket', async () => {
    const text = `${'Nước ngập sâu trước chợ Bến Thành '.repeat(5).slice(0, 139)}🙏 mong xử lý sớm \ud83d`;
    const res = await postReport(rt, reportBody({ text }));
    expect(res.status).toBe(201);
    const { code } = (await res.json()) as { code: string };
    await rt.worker.idle();
    const row = await rt.handle.db.selectFrom('reports').innerJoin('tickets', 'tickets.id', 'reports.ticket_id')
      .select(['tickets.title', 'reports.text']).where('reports.code', '=', code).executeTakeFirstOrThrow();
    expect(row.title).toBe(text.slice(0, 139)); // not half of the 🙏
    expect(row.text.endsWith('sớm \ufffd')).toBe(true);
  });

  it('stores a report, answers 201 with a code, and routes a GPS point to its ward', async () => {
    const res = await postReport(rt, reportBody());
    expect(res.status).toBe(201);
    const body = (await res.json()) as { code: string; status: string };
    expect(body.code).toMatch(/^PA-[0-9A-Z]{8}$/);
    expect(body.status).toBe('received');
    await rt.worker.idle();
    const status = await (await rt.app.request(`/api/v1/reports/${body.code}`)).json() as Record<string, any>;
    expect(status.area).toEqual({ code: PLACES.benThanh.code, name: PLACES.benThanh.name });
    expect(status.category.code).toBe('ngap_nuoc');
    expect(status.ticket).toMatch(/^TK-/);
    expect(JSON.stringify(status)).not.toMatch(/Nguyễn Văn Thử|0903/);
  });

  it('replays the same Idempotency-Key and body with the first answer and stores nothing new', async () => {
    const body = reportBody();
    const first = await (await postReport(rt, body, { 'Idempotency-Key': 'same-key-1' })).json() as { code: string };
    const before = await counts();
    const again = await postReport(rt, body, { 'Idempotency-Key': 'same-key-1' });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(((await again.json()) as { code: string }).code).toBe(first.code);
    await rt.worker.idle();
    const after = await counts();
    expect(after.inbound).toBe(before.inbound);
  });

  it('refuses a reused Idempotency-Key with a different body (409)', async () => {
    await postReport(rt, reportBody(), { 'Idempotency-Key': 'same-key-2' });
    const res = await postReport(rt, reportBody({ text: 'Một nội dung khác hẳn' }), { 'Idempotency-Key': 'same-key-2' });
    expect(res.status).toBe(409);
    expect(((await res.json()) as any).error.code).toBe('idempotency_key_conflict');
  });

  it('accepts a point outside every area and leaves the ticket unrouted for triage', async () => {
    const res = await postReport(rt, reportBody({ ...PLACES.outside, text: 'Đèn đường hư ở đầu hẻm' }));
    expect(res.status).toBe(201);
    const { code } = (await res.json()) as { code: string };
    await rt.worker.idle();
    const status = await (await rt.app.request(`/api/v1/reports/${code}`)).json() as Record<string, any>;
    expect(status.area).toBeNull();
    const ticket = await rt.handle.db.selectFrom('tickets').select(['needs_triage', 'area_code']).where('code', '=', status.ticket).executeTakeFirstOrThrow();
    expect(ticket).toEqual({ needs_triage: true, area_code: null });
  });

  it('takes multipart with photos and records the attachments', async () => {
    const form = new FormData();
    form.set('text', 'Rác thải đổ bừa bãi trước chợ Bình Tây');
    form.set('lat', String(PLACES.binhTay.lat));
    form.set('lng', String(PLACES.binhTay.lng));
    form.append('photos', new File([PNG_1PX], 'a.png', { type: 'image/png' }));
    const res = await rt.app.request('/api/v1/reports', { method: 'POST', body: form });
    expect(res.status).toBe(201);
    expect(((await res.json()) as any).photos).toBe(1);
    await rt.worker.idle();
    const r = await rt.handle.db.selectFrom('reports').select('attachments').orderBy('id', 'desc').executeTakeFirstOrThrow();
    expect(r.attachments).toEqual([expect.objectContaining({ content_type: 'image/png', size: PNG_1PX.length })]);
  });

  const bad: [string, () => Response | Promise<Response>, number, string][] = [
    ['malformed JSON', () => postReport(rt, '{"text":'), 400, 'invalid_json'],
    ['a JSON array', () => postReport(rt, '[1,2]'), 400, 'invalid_json'],
    ['no description', () => postReport(rt, reportBody({ text: '   ' })), 422, 'report_text_missing'],
    ['text over 5000 characters', () => postReport(rt, reportBody({ text: 'ngập '.repeat(1200) })), 422, 'report_text_too_long'],
    ['coordinates that are not numbers', () => postReport(rt, reportBody({ lat: 'abc' })), 422, 'coordinates_invalid'],
    ['a latitude without longitude', () => postReport(rt, reportBody({ lng: undefined })), 422, 'coordinates_invalid'],
    ['an unknown category', () => postReport(rt, reportBody({ category: 'ufo' })), 422, 'category_unknown'],
    ['an invalid phone', () => postReport(rt, reportBody({ citizen: { phone: '12' } })), 422, 'contact_phone_invalid'],
    ['a plain-text body', () => rt.app.request('/api/v1/reports', { method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain' } }), 415, 'content_type_unsupported'],
    ['a photo that is not an image', async () => {
      const form = new FormData();
      form.set('text', 'Ngập nước');
      form.append('photos', new File([Buffer.from('%PDF-1.4 not an image')], 'x.jpg', { type: 'image/jpeg' }));
      return rt.app.request('/api/v1/reports', { method: 'POST', body: form });
    }, 415, 'photo_type_unsupported'],
    ['a photo over 10 MB', async () => {
      const form = new FormData();
      form.set('text', 'Ngập nước');
      const big = Buffer.alloc(10 * 1024 * 1024 + 10);
      PNG_1PX.copy(big);
      form.append('photos', new File([big], 'big.png', { type: 'image/png' }));
      return rt.app.request('/api/v1/reports', { method: 'POST', body: form });
    }, 413, 'photo_too_large'],
    ['a JSON body over 256 KB (declared length)', () => rt.app.request('/api/v1/reports', {
      method: 'POST', body: JSON.stringify(reportBody({ address: 'x'.repeat(300 * 1024) })), headers: { 'content-type': 'application/json', 'content-length': String(300 * 1024 + 200) },
    }), 413, 'payload_too_large'],
    ['a JSON body over 256 KB (streamed, no length)', () => rt.app.request('/api/v1/reports', {
      method: 'POST', body: new Blob([JSON.stringify(reportBody({ address: 'x'.repeat(300 * 1024) }))]).stream(), headers: { 'content-type': 'application/json' }, duplex: 'half',
    } as RequestInit), 413, 'payload_too_large'],
    ['six photos', async () => {
      const form = new FormData();
      form.set('text', 'Ngập nước');
      for (let i = 0; i < 6; i++) form.append('photos', new File([PNG_1PX], `${i}.png`, { type: 'image/png' }));
      return rt.app.request('/api/v1/reports', { method: 'POST', body: form });
    }, 422, 'too_many_photos'],
  ];
  for (const [what, send, status, code] of bad) {
    it(`answers ${status} ${code} for ${what} and writes nothing`, async () => {
      await rt.worker.idle();
      const before = await counts();
      const res = await send();
      expect(res.status).toBe(status);
      const body = (await res.json()) as { error: { code: string; message: string; message_vi: string } };
      expect(body.error.code).toBe(code);
      expect(body.error.message_vi).toBeTruthy();
      expect(await counts()).toEqual(before);
    });
  }
});

describe('GET /api/v1/reports/:code', () => {
  it('answers 404 report_not_found for an unknown code', async () => {
    const res = await rt.app.request('/api/v1/reports/PA-00000000');
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.code).toBe('report_not_found');
  });
});

describe('GET /api/v1/openapi.json', () => {
  it('describes the report routes', async () => {
    const doc = (await (await rt.app.request('/api/v1/openapi.json')).json()) as any;
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/v1/reports', '/api/v1/reports/{code}']));
  });
});
