import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../src/core/events.ts';
import { appendEvents } from '../src/core/tickets/event-log.ts';
import { upsertUser } from '../src/core/staff/users.ts';
import type { Runtime } from '../src/runtime.ts';
import { TEST_DB } from './support/db.ts';
import { PLACES, PNG_1PX, reportBody } from './support/factories.ts';
import { postReport, signIn, staffClient, testRuntime } from './support/runtime.ts';

// What an outside review and the crash drills found (issue S), each reproduced as a request a
// stranger or a member of staff can send, on both databases.

let rt: Runtime;
let agent: ReturnType<typeof staffClient>;
let benThanh: ReturnType<typeof staffClient>;
let saiGon: ReturnType<typeof staffClient>;

beforeAll(async () => {
  rt = await testRuntime();
  const db = rt.handle.db;
  await upsertUser(db, { username: 'h-agent', password: 'password-1', role: 'agent' });
  await upsertUser(db, { username: 'h-benthanh', password: 'password-2', role: 'ward_officer', areaCodes: [PLACES.benThanh.code] });
  await upsertUser(db, { username: 'h-saigon', password: 'password-3', role: 'ward_officer', areaCodes: [PLACES.saiGon.code] });
  agent = staffClient(rt, await signIn(rt, 'h-agent', 'password-1'));
  benThanh = staffClient(rt, await signIn(rt, 'h-benthanh', 'password-2'));
  saiGon = staffClient(rt, await signIn(rt, 'h-saigon', 'password-3'));
});
afterAll(async () => {
  await rt?.close();
});

const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as any });

/** Files a report through the app API, waits for the pipeline, returns its report and ticket codes. */
async function file(body: Record<string, unknown>): Promise<{ report: string; ticket: string }> {
  const res = await postReport(rt, body);
  expect(res.status).toBe(201);
  const { code } = (await res.json()) as { code: string };
  await rt.worker.idle();
  const s = (await (await rt.app.request(`/api/v1/reports/${code}`)).json()) as { ticket: string };
  return { report: code, ticket: s.ticket };
}

async function ticketRow(code: string) {
  return rt.handle.db.selectFrom('tickets').selectAll().where('code', '=', code).executeTakeFirstOrThrow();
}

/** A multipart body whose boundary is declared but whose parts are broken. */
const brokenMultipart = {
  body: '--XyZ\r\nContent-Disposition: form-data; name="text"\r\n\r\nNgập\r\n--XyZ\r\nContent-Disposition: form-da',
  headers: { 'content-type': 'multipart/form-data; boundary=XyZ' },
};
/** JSON nested 5,000 levels deep, well inside every body limit. */
const deepJson = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;

describe('one anonymous request cannot hold the event loop', () => {
  it('answers an email of 100,000 dots between two at signs with 422 at once (it held the loop 12.7 s)', async () => {
    const started = performance.now();
    const res = await json(await postReport(rt, reportBody({ citizen: { email: `a@${'.'.repeat(100_000)}@` } })));
    expect(res).toMatchObject({ status: 422, body: { error: { code: 'contact_email_invalid' } } });
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it.each([
    ['phone', { phone: '0'.repeat(20_000) }, 'contact_phone_invalid'],
    ['national_id', { national_id: '1'.repeat(20_000) }, 'contact_national_id_invalid'],
    ['name', { name: 'Nguyễn '.repeat(5000) }, 'contact_name_too_long'],
    ['facebook_id', { facebook_id: '9'.repeat(20_000) }, 'contact_id_invalid'],
  ])('refuses an over-long %s with 422 before any pattern reads it', async (_what, citizen, code) => {
    const res = await json(await postReport(rt, reportBody({ citizen })));
    expect(res).toMatchObject({ status: 422, body: { error: { code } } });
  });

  it('refuses a category or a coordinate of 20,000 characters with 422', async () => {
    expect((await json(await postReport(rt, reportBody({ category: 'x'.repeat(20_000) })))).body.error.code).toBe('category_unknown');
    expect((await json(await postReport(rt, reportBody({ lat: '1'.repeat(20_000), lng: 106.7 })))).body.error.code).toBe('coordinates_invalid');
  });
});

describe('control characters and broken Unicode are cleaned at the edge', () => {
  it('stores a report whose text, contact and raw body carry NUL bytes and lone surrogates, without them', async () => {
    const res = await postReport(rt, {
      text: 'Nước ngập\u0000 sâu trước chợ Bến Thành \ud83d', address: '12 Lê Lợi\u0000', ...PLACES.benThanh,
      citizen: { name: 'Lan\u0000', phone: '0903\u0000 123 999' }, ['extra\u0000key']: 'giá trị\u0000',
    });
    expect(res.status).toBe(201);
    const { code } = (await res.json()) as { code: string };
    await rt.worker.idle();
    const report = await rt.handle.db.selectFrom('reports').select(['text', 'address']).where('code', '=', code).executeTakeFirstOrThrow();
    expect(report).toEqual({ text: 'Nước ngập sâu trước chợ Bến Thành \ufffd', address: '12 Lê Lợi' });
  });

  it('takes a web form with a NUL byte and redirects to its tracking page', async () => {
    const page = await (await rt.app.request('/')).text();
    const token = /name="_token" value="([^"]+)"/.exec(page)![1]!;
    const form = new FormData();
    form.set('_token', token);
    form.set('text', 'Đèn đường\u0000 hư cả tuần nay trên đường Lê Lợi');
    const res = await rt.app.request('/report', { method: 'POST', body: form });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/^\/track\/PA-/);
  });

  it('stores a staff note with a NUL byte and a move reason with half an emoji', async () => {
    const a = await file(reportBody({ text: 'Nước ngập sâu đường Lê Thánh Tôn', lat: 10.7760, lng: 106.7010, category: 'ngap_nuoc' }));
    const b = await file(reportBody({ text: 'Ngập nước đường Lê Thánh Tôn', lat: 10.7761, lng: 106.7011, category: 'ngap_nuoc' }));
    expect(b.ticket).toBe(a.ticket);
    expect((await agent.post(`/api/console/tickets/${a.ticket}/notes`, { text: 'Đã gọi\u0000 lại' })).status).toBe(200);
    const moved = await json(await agent.post(`/api/console/reports/${b.report}/move`, { reason: 'khác vụ \ud83d' }));
    expect(moved.status).toBe(200);
    const t = await ticketRow(a.ticket);
    const events = await rt.handle.db.selectFrom('ticket_events').select(['type', 'data', 'reason']).where('ticket_id', '=', t.id).orderBy('id').execute();
    expect(events.find((e) => e.type === 'ticket.note')!.data).toEqual({ text: 'Đã gọi lại' });
    expect(events.find((e) => e.type === 'report.moved')!.reason).toBe('khác vụ \ufffd');
  });
});

describe('a malformed body is a 4xx with a stable code, never a 500', () => {
  it('answers a broken multipart body to the app API with 400 form_invalid', async () => {
    const res = await json(await rt.app.request('/api/v1/reports', { method: 'POST', ...brokenMultipart }));
    expect(res).toMatchObject({ status: 400, body: { error: { code: 'form_invalid' } } });
  });

  it('answers a broken multipart body to the web form with the form again, in Vietnamese', async () => {
    const res = await rt.app.request('/report', { method: 'POST', ...brokenMultipart });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await res.text();
    expect(page).toContain('data-error-code="form_invalid"');
    expect(page).toContain('Không đọc được dữ liệu biểu mẫu gửi lên.');
  });

  it('answers a broken multipart body to sign-in and to the ward resolution with 400', async () => {
    const login = await rt.app.request('/login', { method: 'POST', ...brokenMultipart, headers: { ...brokenMultipart.headers, accept: 'application/json' } });
    expect(login.status).toBe(400);
    expect(((await login.json()) as any).error.code).toBe('form_invalid');
    const { ticket } = await file(reportBody({ text: 'Cây đổ chắn đường Lê Lợi', category: 'cay_xanh' }));
    const resolve = await json(await benThanh.raw(`/api/ward/tickets/${ticket}/resolve`, { method: 'POST', ...brokenMultipart }));
    expect(resolve).toMatchObject({ status: 400, body: { error: { code: 'form_invalid' } } });
  });

  it('answers JSON nested 5,000 deep with 400 json_too_deep on the app API, the console and sign-in', async () => {
    expect(await json(await postReport(rt, deepJson))).toMatchObject({ status: 400, body: { error: { code: 'json_too_deep' } } });
    const { ticket } = await file(reportBody({ text: 'Rác đổ trước số 30 Lê Lợi', category: 'rac_thai' }));
    const note = await json(await agent.raw(`/api/console/tickets/${ticket}/notes`, { method: 'POST', body: deepJson, headers: { 'content-type': 'application/json' } }));
    expect(note).toMatchObject({ status: 400, body: { error: { code: 'json_too_deep' } } });
    const login = await json(await rt.app.request('/login', { method: 'POST', body: deepJson, headers: { 'content-type': 'application/json' } }));
    expect(login).toMatchObject({ status: 400, body: { error: { code: 'json_too_deep' } } });
  });

  it('answers an identity or report id beyond any stored one with 404/422, not a database error', async () => {
    expect((await agent.post('/api/console/identities/99999999999/unlink', { reason: 'x' })).status).toBe(404);
    const { ticket } = await file(reportBody({ text: 'Ổ gà lớn giữa đường Lê Lợi', category: 'giao_thong' }));
    expect((await json(await agent.post(`/api/console/tickets/${ticket}/reply`, { text: 'Cảm ơn', report: 99999999999 }))).body.error.code).toBe('field_invalid');
    expect((await agent.get('/api/console/areas/%00/shape')).status).toBe(404);
    expect((await agent.get('/api/console/queue?q=%00ngap&area=%00')).status).toBe(200);
  });
});

describe('every staff body and text is bounded', () => {
  it('refuses a staff request body over 64 KB with 413 before reading it', async () => {
    const { ticket } = await file(reportBody({ text: 'Đèn đường tắt cả đoạn Lê Lợi', category: 'chieu_sang' }));
    const res = await json(await agent.post(`/api/console/tickets/${ticket}/notes`, { text: 'x'.repeat(70 * 1024) }));
    expect(res).toMatchObject({ status: 413, body: { error: { code: 'payload_too_large' } } });
  });

  it('refuses notes, replies, reasons and instructions over their limits with 422, storing nothing', async () => {
    const { ticket } = await file(reportBody({ text: 'Lấn chiếm vỉa hè trước số 50 Lê Lợi', category: 'lan_chiem' }));
    const t = await ticketRow(ticket);
    const before = await rt.handle.db.selectFrom('ticket_events').select('id').where('ticket_id', '=', t.id).execute();
    const cases: [string, unknown, string][] = [
      [`/api/console/tickets/${ticket}/notes`, { text: 'x'.repeat(4001) }, 'note_too_long'],
      [`/api/console/tickets/${ticket}/reply`, { text: 'x'.repeat(2001) }, 'reply_too_long'],
      [`/api/console/tickets/${ticket}/dispatch`, { instructions: 'x'.repeat(2001) }, 'instructions_too_long'],
      [`/api/console/tickets/${ticket}/status`, { status: 'rejected', note: 'x'.repeat(30_000) }, 'reason_too_long'],
    ];
    for (const [path, body, code] of cases) {
      expect(await json(await agent.post(path, body)), path).toMatchObject({ status: 422, body: { error: { code } } });
    }
    const after = await rt.handle.db.selectFrom('ticket_events').select('id').where('ticket_id', '=', t.id).execute();
    expect(after).toEqual(before);
  });
});

describe('idempotency of multipart reports', () => {
  it('refuses a retry with another photo of the same size under the same key (409), and replays the same photo', async () => {
    const other = new Uint8Array(PNG_1PX);
    other[other.length - 20] = other[other.length - 20]! ^ 0xff; // another picture, same length, still a PNG by its magic bytes
    const send = (photo: Uint8Array) => {
      const form = new FormData();
      form.set('text', 'Ngập nước trước chợ Bến Thành');
      form.append('photos', new File([new Uint8Array(photo)], 'anh.png', { type: 'image/png' }));
      return rt.app.request('/api/v1/reports', { method: 'POST', body: form, headers: { 'idempotency-key': 'multipart-photo-1' } });
    };
    const first = await send(new Uint8Array(PNG_1PX));
    expect(first.status).toBe(201);
    const again = await send(new Uint8Array(PNG_1PX));
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await json(await send(other))).body.error.code).toBe('idempotency_key_conflict');
  });
});

describe('dispatch and the unit a ticket belongs to', () => {
  it('refuses to dispatch a resolved ticket and leaves it where it was, with no event', async () => {
    const { ticket } = await file(reportBody({ text: 'Cây xanh gãy cành trên đường Lê Lợi', category: 'cay_xanh' }));
    expect((await agent.post(`/api/console/tickets/${ticket}/dispatch`, {})).status).toBe(200);
    expect((await benThanh.raw(`/api/ward/tickets/${ticket}/resolve`, { method: 'POST', body: JSON.stringify({ note: 'Đã cắt cành' }), headers: { 'content-type': 'application/json' } })).status).toBe(200);
    const before = await ticketRow(ticket);
    const events = await rt.handle.db.selectFrom('ticket_events').select('id').where('ticket_id', '=', before.id).execute();
    const refused = await json(await agent.post(`/api/console/tickets/${ticket}/dispatch`, { area: PLACES.saiGon.code }));
    expect(refused).toMatchObject({ status: 409, body: { error: { code: 'ticket_status_invalid' } } });
    const after = await ticketRow(ticket);
    expect({ area: after.area_code, dispatched: after.dispatched_area, at: after.dispatched_at }).toEqual({ area: before.area_code, dispatched: before.dispatched_area, at: before.dispatched_at });
    expect(await rt.handle.db.selectFrom('ticket_events').select('id').where('ticket_id', '=', before.id).execute()).toEqual(events);
    expect((await saiGon.get(`/api/console/tickets/${ticket}`)).status).toBe(403);
  });

  it('keeps a dispatched ticket with its ward force when an agent changes its unit: access, events and lists agree', async () => {
    const { ticket } = await file(reportBody({ text: 'Đèn tín hiệu giao thông hỏng ở ngã tư Lê Lợi', category: 'giao_thong' }));
    expect((await agent.post(`/api/console/tickets/${ticket}/dispatch`, {})).status).toBe(200);
    expect((await agent.patch(`/api/console/tickets/${ticket}`, { area: PLACES.saiGon.code })).status).toBe(200);
    const published: DomainEvent[] = [];
    const off = rt.events.on('*', (e) => published.push(e));
    try {
      expect((await agent.post(`/api/console/tickets/${ticket}/notes`, { text: 'Người dân: 0903 111 222' })).status).toBe(200);
    } finally {
      off();
    }
    // The note goes to the ward in charge (Bến Thành), which can read it; Sài Gòn neither hears nor reads it.
    expect(published.map((e) => [e.type, e.areaCode])).toEqual([['ticket.note', PLACES.benThanh.code]]);
    expect((await benThanh.get(`/api/console/tickets/${ticket}`)).status).toBe(200);
    expect((await saiGon.get(`/api/console/tickets/${ticket}`)).status).toBe(403);
    const tasks = async (c: typeof saiGon) => (await json(await c.get('/api/ward/tasks'))).body.items.map((i: any) => i.code);
    expect(await tasks(benThanh)).toContain(ticket);
    expect(await tasks(saiGon)).not.toContain(ticket);
    // Dispatching it again moves it.
    expect((await agent.post(`/api/console/tickets/${ticket}/dispatch`, { area: PLACES.saiGon.code })).status).toBe(200);
    expect((await saiGon.get(`/api/console/tickets/${ticket}`)).status).toBe(200);
    expect((await benThanh.get(`/api/console/tickets/${ticket}`)).status).toBe(403);
    expect(await tasks(benThanh)).not.toContain(ticket);
  });
});

describe('replies on the tracking pages', () => {
  it('shows a reply to one reporter on that report\'s page only, and a reply to all on every page', async () => {
    const a = await file(reportBody({ text: 'Bãi rác tự phát đầu hẻm 80 Lê Lợi', category: 'rac_thai', lat: 10.7731, lng: 106.6991 }));
    const b = await file(reportBody({ text: 'Rác đầu hẻm 80 Lê Lợi hôi thối', category: 'rac_thai', lat: 10.7732, lng: 106.6992 }));
    expect(b.ticket).toBe(a.ticket);
    const detail = await json(await agent.get(`/api/console/tickets/${a.ticket}`));
    const reportA = detail.body.reports.find((r: any) => r.code === a.report);
    expect((await agent.post(`/api/console/tickets/${a.ticket}/reply`, { text: 'Chị Lan ơi, tổ thu gom sẽ đến lúc 15 giờ', report: reportA.id })).status).toBe(200);
    expect((await agent.post(`/api/console/tickets/${a.ticket}/reply`, { text: 'Đã chuyển công ty môi trường xử lý' })).status).toBe(200);
    const messages = async (code: string) => ((await (await rt.app.request(`/api/v1/reports/${code}`)).json()) as any).timeline
      .filter((e: any) => e.type === 'ticket.replied').map((e: any) => e.message);
    expect(await messages(a.report)).toEqual(['Chị Lan ơi, tổ thu gom sẽ đến lúc 15 giờ', 'Đã chuyển công ty môi trường xử lý']);
    expect(await messages(b.report)).toEqual(['Đã chuyển công ty môi trường xử lý']);
    expect(await messages(a.ticket)).toEqual(['Đã chuyển công ty môi trường xử lý']);
    const page = await (await rt.app.request(`/track/${b.report}`)).text();
    expect(page).not.toContain('Chị Lan ơi');
  });
});

describe.runIf(TEST_DB === 'postgres')('event ids follow commit order', () => {
  it('holds a second writer of events until the first commits, so no id is visible before a lower one', async () => {
    const { ticket } = await file(reportBody({ text: 'Nắp cống bị mất trên đường Lê Lợi', category: 'giao_thong' }));
    const t = await ticketRow(ticket);
    let releaseFirst!: () => void;
    const gate = new Promise<void>((r) => { releaseFirst = r; });
    let firstIds: number[] = [];
    const first = rt.handle.db.transaction().execute(async (tx) => {
      firstIds = (await appendEvents(tx, [{ ticketId: t.id, type: 'test.first', actor: 'system' }])).map((e) => e.seq);
      await gate;
    });
    while (firstIds.length === 0) await new Promise((r) => setTimeout(r, 10));
    let secondDone = false;
    const second = rt.handle.db.transaction().execute(async (tx) => appendEvents(tx, [{ ticketId: t.id, type: 'test.second', actor: 'system' }]))
      .then((e) => { secondDone = true; return e; });
    await new Promise((r) => setTimeout(r, 300));
    // Without the ordering lock the second would have its (higher) id committed by now, while
    // the first's lower id is still invisible: a client resuming after it would skip the first.
    expect(secondDone).toBe(false);
    const visible = await sql<{ max: number }>`select max(id)::int as max from ticket_events`.execute(rt.handle.db);
    expect(visible.rows[0]!.max).toBeLessThan(firstIds[0]!);
    releaseFirst();
    await first;
    const secondIds = (await second).map((e) => e.seq);
    expect(secondIds[0]).toBeGreaterThan(firstIds[0]!);
  });
});

describe('pages cannot be framed, and run under one Content-Security-Policy', () => {
  it('sends X-Frame-Options: DENY and frame-ancestors \'none\' on every page, with no inline script or style', async () => {
    const { report } = await file(reportBody({ text: 'Cột điện nghiêng trên đường Lê Lợi', category: 'chieu_sang' }));
    for (const path of ['/', '/track', `/track/${report}`, '/login']) {
      const res = await rt.app.request(path);
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).not.toContain('unsafe-inline');
      const page = await res.text();
      expect(page, path).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(page, path).not.toMatch(/<style|\sstyle="/);
    }
    // The stylesheet and the form's script they link are served from here, cacheable by hash.
    const page = await (await rt.app.request('/')).text();
    for (const url of [/href="(\/static\/site\.css\?v=[0-9a-f]+)"/.exec(page)![1]!, /src="(\/static\/report-form\.js\?v=[0-9a-f]+)"/.exec(page)![1]!]) {
      const res = await rt.app.request(url);
      expect(res.status, url).toBe(200);
      expect(res.headers.get('cache-control'), url).toBe('public, max-age=31536000, immutable');
    }
  });
});
