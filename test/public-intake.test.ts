import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertUser } from '../src/core/staff/users.ts';
import { IntakeLimits, INTAKE_LIMIT_WINDOW_MS } from '../src/intake/intake-limits.ts';
import type { Runtime } from '../src/runtime.ts';
import { PLACES, PNG_1PX } from './support/factories.ts';
import { fromAddress, signIn, staffClient, testRuntime } from './support/runtime.ts';

// Issue 16, the residents' side: public intake limited per client address (no contact) or per
// contact, in the database; photos that only look like images refused; every invalid field
// reported at once; the tracking page shows the resident's own report and the ward's result,
// never another reporter's. One runtime for the file, on PGlite and PostgreSQL.

let rt: Runtime;
beforeAll(async () => {
  rt = await testRuntime({ INTAKE_LIMIT_ANONYMOUS_PER_HOUR: '2', INTAKE_LIMIT_CONTACT_PER_HOUR: '3' });
  await upsertUser(rt.handle.db, { username: 'l-agent', password: 'password-1', role: 'agent' });
  await upsertUser(rt.handle.db, { username: 'l-benthanh', password: 'password-2', role: 'ward_officer', areaCodes: [PLACES.benThanh.code] });
});
afterAll(async () => {
  await rt?.close();
});

let n = 0;
const text = () => `Rác thải tràn ra lòng đường Lê Lợi, bốc mùi (${++n})`;

function post(body: Record<string, unknown>, address: string, headers: Record<string, string> = {}) {
  return rt.app.request('/api/v1/reports', {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body),
  }, fromAddress(address));
}

async function stored(): Promise<number> {
  const row = await rt.handle.db.selectFrom('inbound_messages').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** A PNG header declaring `width` x `height` (the rest of the file does not matter to the check). */
function pngOf(width: number, height: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(PNG_1PX);
  new DataView(b.buffer).setUint32(16, width);
  new DataView(b.buffer).setUint32(20, height);
  return b;
}

describe('public intake limits', () => {
  it('refuses the third anonymous report of an address in an hour with 429, Retry-After and a Vietnamese message, storing nothing', async () => {
    expect((await post({ text: text() }, '198.51.100.7')).status).toBe(201);
    expect((await post({ text: text() }, '198.51.100.7')).status).toBe(201);
    const before = await stored();
    const res = await post({ text: text() }, '198.51.100.7');
    expect(res.status).toBe(429);
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    const body = (await res.json()) as { error: { code: string; message_vi: string } };
    expect(body.error.code).toBe('intake_rate_limited');
    expect(body.error.message_vi).toMatch(/quá nhiều phản ánh/);
    expect(await stored()).toBe(before);
    // Another address is counted on its own.
    expect((await post({ text: text() }, '198.51.100.8')).status).toBe(201);
  });

  it('counts an IPv6 client by its /64, whichever address of it they use', async () => {
    expect((await post({ text: text() }, '2001:db8:1:2::a')).status).toBe(201);
    expect((await post({ text: text() }, '2001:db8:1:2:ffff::b')).status).toBe(201);
    expect((await post({ text: text() }, '2001:db8:1:2::c')).status).toBe(429);
    expect((await post({ text: text() }, '2001:db8:1:3::a')).status).toBe(201);
  });

  it('limits reports with a contact per contact, never per address: one office files for many residents', async () => {
    const office = '198.51.100.20';
    // Nine residents' reports from one address, over the anonymous limit of 2.
    for (let i = 0; i < 9; i++) {
      expect((await post({ text: text(), citizen: { phone: `0903 200 ${String(100 + i)}` } }, office)).status).toBe(201);
    }
    // One phone, written three ways, from three addresses: one contact.
    for (const [phone, address] of [['0903 777 001', '198.51.100.21'], ['+84903777001', '198.51.100.22'], ['84 903 777 001', office]]) {
      expect((await post({ text: text(), citizen: { phone } }, address!)).status).toBe(201);
    }
    const res = await post({ text: text(), citizen: { phone: '0903.777.001' } }, '198.51.100.23');
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
    // The contact is counted under a hash: no phone number in the table.
    const keys = await rt.handle.db.selectFrom('intake_limits').select('key').execute();
    expect(keys.map((k) => k.key).join(' ')).not.toMatch(/903/);
  });

  it('never limits signed-in staff', async () => {
    const { cookie } = await signIn(rt, 'l-agent', 'password-1');
    for (let i = 0; i < 3; i++) expect((await post({ text: text() }, '198.51.100.30', { cookie })).status).toBe(201);
  });

  it('re-shows the web form with the input kept and the message when over the limit', async () => {
    const form = async () => {
      const page = await (await rt.app.request('/')).text();
      const token = /name="_token" value="([^"]+)"/.exec(page)![1]!;
      const f = new FormData();
      f.set('_token', token);
      f.set('text', 'Đèn đường hư cả dãy phố, tối om');
      f.set('address', '12 Lê Lợi, phường Bến Thành');
      return rt.app.request('/report', { method: 'POST', body: f }, fromAddress('198.51.100.40'));
    };
    expect((await form()).status).toBe(303);
    expect((await form()).status).toBe(303);
    const before = await stored();
    const res = await form();
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    const page = await res.text();
    expect(page).toContain('data-error-code="intake_rate_limited"');
    expect(page).toContain('Bạn đã gửi quá nhiều phản ánh');
    expect(page).toContain('Đèn đường hư cả dãy phố, tối om</textarea>');
    expect(page).toContain('value="12 Lê Lợi, phường Bến Thành"');
    expect(await stored()).toBe(before);
  });

  it('counts atomically across processes sharing the database, and deletes the counts of ended windows', async () => {
    const db = rt.handle.db;
    const at = new Date('2026-01-01T10:30:00Z');
    // Two processes (two limiters on one database) hit one key 12 times at once: exactly 5 pass.
    const a = new IntakeLimits(db, { anonymousPerHour: 5, contactPerHour: 5 }, () => 'x', () => at);
    const b = new IntakeLimits(db, { anonymousPerHour: 5, contactPerHour: 5 }, () => 'x', () => at);
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? a : b).hit('test:shared', 5)));
    expect(results.filter((r) => r.allowed)).toHaveLength(5);
    expect(results[0]!.retryAfterSeconds).toBe(1800);
    // An hour later: a new window, and the old rows are gone.
    const later = new IntakeLimits(db, { anonymousPerHour: 5, contactPerHour: 5 }, () => 'x', () => new Date(at.getTime() + INTAKE_LIMIT_WINDOW_MS));
    expect((await later.hit('test:shared', 5)).allowed).toBe(true);
    const old = await db.selectFrom('intake_limits').select('key').where('window_start', '<=', at).execute();
    expect(old).toEqual([]);
  });

  it('turns a limit off with 0', async () => {
    const off = new IntakeLimits(rt.handle.db, { anonymousPerHour: 0, contactPerHour: 0 }, () => '192.0.2.99');
    const app = new Hono().post('/', async (c) => {
      await off.check(c, {});
      return c.text('ok');
    });
    for (let i = 0; i < 4; i++) expect((await app.request('/', { method: 'POST' })).status).toBe(200);
    expect(await rt.handle.db.selectFrom('intake_limits').select('key').where('key', 'like', '%192.0.2.99%').execute()).toEqual([]);
  });
});

describe('photos are images only if their header reads', () => {
  const upload = async (bytes: Uint8Array<ArrayBuffer>, name: string, phone: string) => {
    const form = new FormData();
    form.set('text', text());
    form.set('phone', phone);
    form.append('photos', new File([bytes], name, { type: 'image/png' }));
    return rt.app.request('/api/v1/reports', { method: 'POST', body: form }, fromAddress('198.51.100.50'));
  };

  it('refuses a file with an image signature and no readable header (415 photo_undecodable)', async () => {
    const res = await upload(new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, ...'JFIF'.split('').map((c) => c.charCodeAt(0)), 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0xff, 0xd9]), 'hong.jpg', '0903 500 001');
    expect(res.status).toBe(415);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('photo_undecodable');
  });

  it('refuses zero and absurd dimensions (422 photo_dimensions_invalid), accepts a sensible one', async () => {
    for (const [w, h] of [[0, 10], [30_000, 10], [10, 20_001]] as const) {
      const res = await upload(pngOf(w, h), 'anh.png', '0903 500 002');
      expect(res.status, `${w}x${h}`).toBe(422);
      const body = (await res.json()) as { error: { code: string; fields: { field: string }[] } };
      expect(body.error.code).toBe('photo_dimensions_invalid');
      expect(body.error.fields).toEqual([expect.objectContaining({ field: 'photos', code: 'photo_dimensions_invalid' })]);
    }
    expect((await upload(pngOf(4000, 3000), 'anh.png', '0903 500 003')).status).toBe(201);
  });
});

describe('every invalid field at once', () => {
  it('answers one 422 listing each refused field with its code and Vietnamese message, the first code on top', async () => {
    const res = await post({ text: ' ', lat: 'mười', lng: PLACES.benThanh.lng, citizen: { phone: '12', email: 'không-phải-email' } }, '198.51.100.60');
    expect(res.status).toBe(422);
    const { error } = (await res.json()) as { error: { code: string; fields: { field: string; code: string; message: string }[] } };
    expect(error.code).toBe('report_text_missing');
    expect(error.fields).toEqual([
      { field: 'text', code: 'report_text_missing', message: 'Vui lòng mô tả sự việc cần phản ánh.' },
      { field: 'lat', code: 'coordinates_invalid', message: 'Toạ độ vị trí không hợp lệ.' },
      { field: 'phone', code: 'contact_phone_invalid', message: 'Số điện thoại không hợp lệ.' },
      { field: 'email', code: 'contact_email_invalid', message: 'Địa chỉ email không hợp lệ.' },
    ]);
  });

  it('shows each field\'s message next to the field on the web form', async () => {
    const page0 = await (await rt.app.request('/')).text();
    const f = new FormData();
    f.set('_token', /name="_token" value="([^"]+)"/.exec(page0)![1]!);
    f.set('text', '');
    f.set('phone', '12');
    f.set('email', 'sai@');
    f.append('photos', new File([pngOf(0, 0)], 'den.png', { type: 'image/png' }));
    const res = await rt.app.request('/report', { method: 'POST', body: f }, fromAddress('198.51.100.61'));
    expect(res.status).toBe(422);
    const page = await res.text();
    expect(page).toContain('data-error-code="report_text_missing"');
    expect(page).toContain('Có 4 mục cần sửa');
    expect(page).toMatch(/<textarea id="text"[^>]*aria-invalid="true" aria-describedby="text-error"[^>]*><\/textarea><p class="field-message" id="text-error">Vui lòng mô tả sự việc cần phản ánh.<\/p>/);
    expect(page).toMatch(/<input id="phone"[^>]*class="field-error"[^>]*><p class="field-message" id="phone-error">Số điện thoại không hợp lệ.<\/p>/);
    expect(page).toMatch(/<input id="email"[^>]*class="field-error"[^>]*><p class="field-message" id="email-error">Địa chỉ email không hợp lệ.<\/p>/);
    expect(page).toMatch(/<p class="field-message" id="photos-error">Ảnh &quot;den.png&quot; có kích thước không hợp lệ \(0×0 điểm ảnh\). Vui lòng chọn lại ảnh.<\/p>/);
    expect(page).not.toContain('id="address-error"');
    expect(page).toContain('value="12"');
  });
});

describe('the tracking page shows the resident\'s own report', () => {
  /** Files a multipart report with one photo; returns its code once the worker has filed it. */
  async function file(fields: Record<string, string>, photo: Uint8Array<ArrayBuffer>, address: string): Promise<string> {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.set(k, v);
    form.append('photos', new File([photo], 'anh.png', { type: 'image/png' }));
    const res = await rt.app.request('/api/v1/reports', { method: 'POST', body: form }, fromAddress(address));
    expect(res.status).toBe(201);
    const { code } = (await res.json()) as { code: string };
    await rt.worker.idle();
    return code;
  }
  const page = async (code: string) => {
    const res = await rt.app.request(`/track/${code}`);
    expect(res.status).toBe(200);
    return res.text();
  };
  const photoUrls = (html: string) => [...html.matchAll(/<img src="([^"]+)"/g)].map((m) => m[1]!);
  const at = { lat: String(PLACES.benThanh.lat), lng: String(PLACES.benThanh.lng) };

  it('shows two reporters of one ticket each their own text and photos, the ward\'s public result to both, and nothing of the other', async () => {
    const first = await file({ text: 'Cống bị nghẹt trước chợ Bến Thành, nước thải tràn lên vỉa hè', ...at, phone: '0903 611 001', name: 'Phạm Thị Riêng' }, pngOf(40, 30), '198.51.100.70');
    const second = await file({ text: 'Cống nghẹt trước chợ Bến Thành, nước bẩn tràn ra vỉa hè hôi lắm', ...at, phone: '0903 611 002', name: 'Đỗ Văn Khác' }, pngOf(50, 50), '198.51.100.71');
    const db = rt.handle.db;
    const tickets = await db.selectFrom('reports').select(['code', 'ticket_id']).where('code', 'in', [first, second]).execute();
    expect(new Set(tickets.map((t) => t.ticket_id)).size).toBe(1);

    const mine = await page(second);
    expect(mine).toContain('Cống nghẹt trước chợ Bến Thành, nước bẩn tràn ra vỉa hè hôi lắm');
    expect(mine).toContain('<dt>Số người cùng phản ánh</dt><dd>2</dd>');
    for (const other of ['Cống bị nghẹt trước chợ', 'Phạm Thị', '611 001', '0903611001', '84903611001', first, 'Đỗ Văn', '611 002']) {
      expect(mine, other).not.toContain(other);
    }
    // The timeline starts at this resident's report: not the first report, nor the ticket's creation.
    const timeline = /<ol class="timeline">([\s\S]*?)<\/ol>/.exec(mine)![1]!;
    expect(timeline).toMatch(/^<li><time[^>]*>[^<]*<\/time> – Gộp với phản ánh cùng sự việc<\/li>/);
    expect(timeline).not.toContain('Đã tạo hồ sơ xử lý');
    expect(timeline).not.toContain('Đã nhận phản ánh');
    // Its own photo, served under its code; the other reporter's photo is not, under this code.
    const [own] = photoUrls(mine);
    expect(own).toMatch(new RegExp(`^/track/${second}/photos/[0-9a-f]{2}/[0-9a-f]{64}\\.png$`));
    const served = await rt.app.request(own!);
    expect(served.status).toBe(200);
    expect(served.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await served.arrayBuffer())).toEqual(Buffer.from(pngOf(50, 50)));
    const [theirs] = photoUrls(await page(first));
    expect(theirs).not.toBe(own);
    const key = theirs!.split('/photos/')[1];
    expect((await rt.app.request(`/track/${second}/photos/${key}`)).status).toBe(404);
    expect((await rt.app.request(`/track/PA-XXXXXXXX/photos/${key}`)).status).toBe(404);

    // The ward resolves it with a note and an "after" photo: both reporters see the result.
    const ticket = (await db.selectFrom('tickets').select('code').where('id', '=', tickets[0]!.ticket_id).executeTakeFirstOrThrow()).code;
    const agent = staffClient(rt, await signIn(rt, 'l-agent', 'password-1'));
    const ward = staffClient(rt, await signIn(rt, 'l-benthanh', 'password-2'));
    expect((await agent.post(`/api/console/tickets/${ticket}/dispatch`, {})).status).toBe(200);
    const form = new FormData();
    form.set('note', 'Đã nạo vét cống, mặt đường khô ráo');
    form.append('photos', new File([pngOf(60, 40)], 'sau.png', { type: 'image/png' }));
    // Taken before the work (the ward view names them so): kept for staff, not shown to residents.
    form.append('photos', new File([pngOf(61, 41)], 'before-truoc.png', { type: 'image/png' }));
    expect((await ward.raw(`/api/ward/tickets/${ticket}/resolve`, { method: 'POST', body: form })).status).toBe(200);
    for (const code of [first, second]) {
      const html = await page(code);
      const result = /<div class="card result">([\s\S]*?)<\/div>/.exec(html)?.[1] ?? '';
      expect(result).toContain('Kết quả xử lý');
      expect(result).toContain('Đã nạo vét cống, mặt đường khô ráo');
      const [after, ...more] = photoUrls(result);
      expect(more).toEqual([]);
      const before = createHash('sha256').update(pngOf(61, 41)).digest('hex');
      expect((await rt.app.request(`/track/${code}/photos/${before.slice(0, 2)}/${before}.png`)).status).toBe(404);
      expect(after).toMatch(new RegExp(`^/track/${code}/photos/`));
      expect(Buffer.from(await (await rt.app.request(after!)).arrayBuffer())).toEqual(Buffer.from(pngOf(60, 40)));
      expect(html).toContain('<p class="status">Đã xử lý xong</p>');
    }
    // The app API carries the same.
    const api = (await (await rt.app.request(`/api/v1/reports/${second}`)).json()) as { report: { text: string }; result: { message: string } };
    expect(api.report.text).toContain('hôi lắm');
    expect(api.result.message).toBe('Đã nạo vét cống, mặt đường khô ráo');
  });

  it('says "not yet routed" when no unit was found, and not when one was', async () => {
    const nowhere = await file({ text: 'Đèn đường hư, tối om cả đoạn', lat: String(PLACES.outside.lat), lng: String(PLACES.outside.lng) }, pngOf(10, 10), '198.51.100.72');
    const html = await page(nowhere);
    expect(html).toContain('Chưa xác định được đơn vị phụ trách');
    expect(html).not.toContain('Đã xác định đơn vị phụ trách');
    const routed = await file({ text: 'Cây xanh ngã đè lên lề đường Lê Thánh Tôn', ...at }, pngOf(11, 11), '198.51.100.73');
    expect(await page(routed)).not.toContain('Chưa xác định được đơn vị');
  });
});

describe('a resident confirms or reopens a resolved ticket (residents 4)', () => {
  const at = { lat: PLACES.benThanh.lat, lng: PLACES.benThanh.lng };
  let phones = 0;
  // Signed in once for the block (a sign-in hashes a password).
  let agentClient: ReturnType<typeof staffClient> | undefined;
  let wardClient: ReturnType<typeof staffClient> | undefined;
  const agent = async () => (agentClient ??= staffClient(rt, await signIn(rt, 'l-agent', 'password-1')));
  const ward = async () => (wardClient ??= staffClient(rt, await signIn(rt, 'l-benthanh', 'password-2')));

  /** Files a report on its own ticket (its own category, its own phone) and has the ward resolve it; returns its codes. */
  async function resolved(category: string, text: string, phone = `0904 812 ${String(100 + ++phones)}`): Promise<{ code: string; ticket: string; phone: string }> {
    const res = await post({ text, category, ...at, citizen: { phone } }, '198.51.100.90');
    expect(res.status).toBe(201);
    const { code } = (await res.json()) as { code: string };
    await rt.worker.idle();
    const ticket = (await rt.handle.db.selectFrom('reports').innerJoin('tickets', 'tickets.id', 'reports.ticket_id')
      .select('tickets.code').where('reports.code', '=', code).executeTakeFirstOrThrow()).code;
    expect((await (await agent()).post(`/api/console/tickets/${ticket}/dispatch`, {})).status).toBe(200);
    expect((await (await ward()).post(`/api/ward/tickets/${ticket}/resolve`, { note: 'Đã xử lý xong tại hiện trường' })).status).toBe(200);
    return { code, ticket, phone };
  }
  /** Every file stored under DATA_DIR/uploads. */
  const uploads = async () => (await readdir(path.join(rt.config.dataDir, 'uploads'), { recursive: true }).catch(() => [])).sort();
  const ticketRow = (code: string) => rt.handle.db.selectFrom('tickets').selectAll().where('code', '=', code).executeTakeFirstOrThrow();
  const eventsOf = async (code: string, type: string) => {
    const t = await ticketRow(code);
    return rt.handle.db.selectFrom('ticket_events').selectAll().where('ticket_id', '=', t.id).where('type', '=', type).orderBy('id').execute();
  };
  /** The tracking page's answer form token (the forms carry one, as the report form does). */
  const pageToken = async (code: string) => {
    const html = await (await rt.app.request(`/track/${code}`)).text();
    expect(html).toContain('Sự việc đã được khắc phục chưa?');
    return tokenOf(html);
  };
  const tokenOf = (html: string) => /name="_token" value="([^"]+)"/.exec(html)![1]!;
  const answer = (code: string, kind: 'confirm' | 'reopen', form: FormData, headers: Record<string, string> = {}) =>
    rt.app.request(`/track/${code}/${kind}`, { method: 'POST', body: form, headers });
  const formOf = (fields: Record<string, string>, photos: File[] = []) => {
    const f = new FormData();
    for (const [k, v] of Object.entries(fields)) f.set(k, v);
    for (const p of photos) f.append('photos', p);
    return f;
  };

  it('confirms once: a second confirmation changes nothing, and "not fixed" after it is refused', async () => {
    const r = await resolved('chieu_sang', 'Đèn đường trước số 30 Lê Thánh Tôn bị tắt cả tuần');
    const token = await pageToken(r.code);
    // Another site's form is refused before anything is read.
    expect((await answer(r.code, 'confirm', formOf({ _token: token }), { origin: 'https://evil.example' })).status).toBe(403);
    expect((await answer(r.code, 'confirm', formOf({ _token: 'x.y' }))).status).toBe(403);
    expect(await eventsOf(r.ticket, 'ticket.confirmed')).toHaveLength(0);

    const res = await answer(r.code, 'confirm', formOf({ _token: token }));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/track/${r.code}?feedback=confirmed#feedback`);
    const after = await (await rt.app.request(res.headers.get('location')!)).text();
    expect(after).toContain('Cảm ơn bạn đã xác nhận sự việc đã được khắc phục.');
    expect(after).not.toContain('Sự việc đã được khắc phục chưa?');
    expect(after).toContain('Người dân xác nhận đã được khắc phục');
    // Twice (a double click, the app's retry): one event.
    expect((await answer(r.code, 'confirm', formOf({ _token: token }))).status).toBe(303);
    const again = await rt.app.request(`/api/v1/reports/${r.code}/confirm`, { method: 'POST' });
    expect(await again.json()).toMatchObject({ confirmed: true, already: true, status: { feedback: { answer: 'confirmed', open: false } } });
    expect(await eventsOf(r.ticket, 'ticket.confirmed')).toHaveLength(1);
    // The ticket stays resolved (an agent closes it; other reporters may still answer).
    expect((await ticketRow(r.ticket)).status).toBe('resolved');
    const refused = await answer(r.code, 'reopen', formOf({ _token: token, reason: 'Đèn lại tắt' }));
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain('Bạn đã xác nhận sự việc đã được khắc phục cho lần xử lý này');
    expect(await eventsOf(r.ticket, 'ticket.reopened')).toHaveLength(0);
  });

  it('reopens with a reason and a photo: back to the queue with its history, due again, pushed to agents, shown to the agent with why', async () => {
    const r = await resolved('lan_chiem', 'Quán nhậu lấn chiếm hết vỉa hè trước số 12 Lê Lợi');
    const token = await pageToken(r.code);
    const before = await ticketRow(r.ticket);
    const stored = await uploads();
    // Refused: no reason; a file that is not an image; too many photos. Nothing written or stored.
    const missing = await answer(r.code, 'reopen', formOf({ _token: token, reason: '  ' }));
    expect(missing.status).toBe(422);
    expect(await missing.text()).toContain('Vui lòng cho biết sự việc chưa được khắc phục như thế nào.');
    const fake = new File([Buffer.from('GIF89a not really')], 'anh.gif', { type: 'image/gif' });
    const bad = await answer(r.code, 'reopen', formOf({ _token: token, reason: 'Vẫn bày bàn ghế ra vỉa hè' }, [fake]));
    expect([415, 422]).toContain(bad.status);
    const badPage = await bad.text();
    expect(badPage).toContain('Vẫn bày bàn ghế ra vỉa hè');
    expect(badPage).toMatch(/data-error-code="photo_/);
    const four = Array.from({ length: 4 }, (_, i) => new File([pngOf(20 + i, 20)], `a${i}.png`, { type: 'image/png' }));
    expect((await answer(r.code, 'reopen', formOf({ _token: token, reason: 'Vẫn lấn chiếm' }, four))).status).toBe(422);
    expect(await uploads()).toEqual(stored);
    const unchanged = await ticketRow(r.ticket);
    expect(unchanged.status).toBe('resolved');
    expect(unchanged.updated_at).toEqual(before.updated_at);
    expect(await eventsOf(r.ticket, 'ticket.reopened')).toHaveLength(0);

    const pushed: string[] = [];
    const off = rt.events.on('ticket.reopened', (e) => pushed.push(e.ticketCode));
    const photo = new File([pngOf(64, 48)], 'hien-trang.png', { type: 'image/png' });
    const res = await answer(r.code, 'reopen', formOf({ _token: token, reason: 'Tối qua quán vẫn bày bàn ghế kín vỉa hè, người đi bộ phải xuống lòng đường' }, [photo]));
    off();
    expect(res.status).toBe(303);
    expect(pushed).toEqual([r.ticket]);
    const page = await (await rt.app.request(res.headers.get('location')!)).text();
    expect(page).toContain('Đã ghi nhận: sự việc chưa được khắc phục.');
    expect(page).toContain('Người dân báo chưa được khắc phục, hồ sơ được xử lý lại');
    expect(page).toContain('<p class="status">Đã phân loại</p>');

    // Back to the queue, triaged, its clock restarted: due two hours after the reopening, not breached.
    const t = await ticketRow(r.ticket);
    expect(t.status).toBe('triaged');
    expect(t.reopen_count).toBe(1);
    expect(t.reopened_at).not.toBeNull();
    expect(t.due_at!.getTime()).toBe(t.reopened_at!.getTime() + 120 * 60_000);
    expect(t.due_at!.getTime()).toBeGreaterThan(Date.now());
    const timers = await rt.handle.db.selectFrom('jobs').select('key').where('key', 'like', `sla:${t.id}:r1:%`).execute();
    expect(timers.map((j) => j.key)).toEqual([`sla:${t.id}:r1:dispatch:warning`]);

    // The agent sees it in the queue and why, in the ticket's timeline, with the photo.
    const a = await agent();
    const queue = (await (await a.get('/api/console/queue?status=triaged')).json()) as { items: { code: string; status: string }[] };
    // Its countdown counts from the reopening (the console's badge reads sla_started_at with due_at).
    expect(queue.items.find((i) => i.code === r.ticket)).toMatchObject({ status: 'triaged', sla_started_at: t.reopened_at!.toISOString(), due_at: t.due_at!.toISOString() });
    const detail = (await (await a.get(`/api/console/tickets/${r.ticket}`)).json()) as {
      ticket: { reopen_count: number; sla_started_at: string };
      events: { type: string; actor: string; reason: string | null; data: { report?: string; via?: string; from?: string; to?: string; attachments?: { key: string }[] } }[];
    };
    expect(detail.ticket).toMatchObject({ reopen_count: 1, sla_started_at: t.reopened_at!.toISOString() });
    const types = detail.events.map((e) => e.type);
    expect(types.indexOf('ticket.resolved')).toBeLessThan(types.indexOf('ticket.reopened'));
    const reopened = detail.events.find((e) => e.type === 'ticket.reopened')!;
    expect(reopened.reason).toBe('Tối qua quán vẫn bày bàn ghế kín vỉa hè, người đi bộ phải xuống lòng đường');
    expect(reopened.actor).toMatch(/^citizen:\d+$/);
    expect(reopened.data).toMatchObject({ report: r.code, via: 'tracking_page', from: 'resolved', to: 'triaged' });
    expect(reopened.data.attachments).toHaveLength(1);
    const served = await a.get(`/api/console/photos/${reopened.data.attachments![0]!.key}`);
    expect(served.status).toBe(200);
    expect(Buffer.from(await served.arrayBuffer())).toEqual(Buffer.from(pngOf(64, 48)));

    // Once: a confirmation or a second "not fixed" after it is refused with a clear code.
    const confirm = await rt.app.request(`/api/v1/reports/${r.code}/confirm`, { method: 'POST' });
    expect(confirm.status).toBe(409);
    expect(((await confirm.json()) as { error: { code: string } }).error.code).toBe('ticket_already_reopened');
    expect((await answer(r.code, 'reopen', formOf({ _token: token, reason: 'Vẫn vậy' }))).status).toBe(409);
    expect(await eventsOf(r.ticket, 'ticket.reopened')).toHaveLength(1);

    // Dispatched and resolved again, the resident may answer the new resolution.
    expect((await a.post(`/api/console/tickets/${r.ticket}/dispatch`, {})).status).toBe(200);
    expect((await (await ward()).post(`/api/ward/tickets/${r.ticket}/resolve`, { note: 'Đã lập biên bản, thu dọn bàn ghế' })).status).toBe(200);
    const second = await rt.app.request(`/api/v1/reports/${r.code}/confirm`, { method: 'POST' });
    expect(second.status).toBe(200);
    expect(await second.json()).toMatchObject({ already: false });

    // The supervisors' dashboard counts it in the unit's reopened share.
    await upsertUser(rt.handle.db, { username: 'l-sup', password: 'password-3', role: 'supervisor' });
    const sup = staffClient(rt, await signIn(rt, 'l-sup', 'password-3'));
    const dash = (await (await sup.get('/api/dashboard')).json()) as { ranking: { units: { code: string | null; reopened: number }[] }; city: { reopened: number } };
    expect(dash.city.reopened).toBeGreaterThanOrEqual(1);
    expect(dash.ranking.units.find((u) => u.code === PLACES.benThanh.code)?.reopened).toBeGreaterThanOrEqual(1);
  });

  it('refuses after 7 days, before the resolution and for a ticket code, writing nothing (app API)', async () => {
    const r = await resolved('xay_dung', 'Công trình xây dựng không che chắn tại 50 Nam Kỳ Khởi Nghĩa');
    await rt.handle.db.updateTable('tickets').set({ resolved_at: new Date(Date.now() - 8 * 86_400_000) }).where('code', '=', r.ticket).execute();
    const json = (code: string, body: unknown) => rt.app.request(`/api/v1/reports/${code}/reopen`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    const late = await json(r.code, { reason: 'Vẫn không che chắn' });
    expect(late.status).toBe(409);
    expect(((await late.json()) as { error: { code: string; message_vi: string } }).error).toMatchObject({ code: 'reopen_window_closed', message_vi: expect.stringMatching(/quá 7 ngày/) });
    const page = await (await rt.app.request(`/track/${r.code}`)).text();
    expect(page).toContain('Đã quá 7 ngày kể từ khi xử lý xong');
    expect(page).not.toContain('Sự việc đã được khắc phục chưa?');

    const open = await post({ text: 'Tiếng ồn karaoke sau 23 giờ tại 8 Lê Lợi', category: 'tieng_on', ...at, citizen: { phone: '0904 812 999' } }, '198.51.100.91');
    const { code } = (await open.json()) as { code: string };
    await rt.worker.idle();
    const notResolved = await rt.app.request(`/api/v1/reports/${code}/confirm`, { method: 'POST' });
    expect(notResolved.status).toBe(409);
    expect(((await notResolved.json()) as { error: { code: string } }).error.code).toBe('ticket_not_resolved');
    expect(await (await rt.app.request(`/track/${code}`)).text()).not.toContain('Sự việc đã được khắc phục chưa?');
    const byTicket = await json(r.ticket, { reason: 'Vẫn không che chắn' });
    expect(byTicket.status).toBe(422);
    expect(((await byTicket.json()) as { error: { code: string } }).error.code).toBe('report_code_required');
    expect((await json('PA-ZZZZZZZZ', { reason: 'x' })).status).toBe(404);
    expect((await json(r.code, {})).status).toBe(422);
    expect((await ticketRow(r.ticket)).status).toBe('resolved');
    expect(await eventsOf(r.ticket, 'ticket.reopened')).toHaveLength(0);
  });

  it('reopens through the engine when the reporter writes "vẫn chưa sửa" on any channel, instead of opening a new ticket', async () => {
    const r = await resolved('cay_xanh', 'Cây xanh gãy cành treo lơ lửng trước số 5 Lê Thánh Tôn');
    const tickets = async () => Number((await rt.handle.db.selectFrom('tickets').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const before = await tickets();
    const follow = await post({ text: 'Cành cây vẫn chưa được cắt, rất nguy hiểm cho người đi đường', ...at, citizen: { phone: r.phone } }, '198.51.100.92');
    const { code } = (await follow.json()) as { code: string };
    await rt.worker.idle();
    expect(await tickets()).toBe(before);
    const report = await rt.handle.db.selectFrom('reports').select(['relation', 'reasons', 'ticket_id']).where('code', '=', code).executeTakeFirstOrThrow();
    const t = await ticketRow(r.ticket);
    expect(report.ticket_id).toBe(t.id);
    expect(report.relation).toBe('reopen');
    expect((report.reasons as { code: string }[]).map((x) => x.code)).toContain('reopen');
    expect(t.status).toBe('triaged');
    const [e] = await eventsOf(r.ticket, 'ticket.reopened');
    expect(e).toMatchObject({ reason: 'Cành cây vẫn chưa được cắt, rất nguy hiểm cho người đi đường', public: true });
    expect(e!.data).toMatchObject({ report: code, via: 'message', channel: 'app' });
    // The first report's holder sees it reopened; the reason (another message's words) is not shown to them.
    const page = await (await rt.app.request(`/track/${r.code}`)).text();
    expect(page).toContain('Người dân báo chưa được khắc phục, hồ sơ được xử lý lại');
    expect(page).not.toContain('rất nguy hiểm');
  });
});

describe('before filing: the unit under a point, address suggestions, nearby tickets, and "this is my problem too"', () => {
  const json = async <T>(path: string): Promise<{ status: number; body: T }> => {
    const res = await rt.app.request(path);
    return { status: res.status, body: (await res.json()) as T };
  };
  type Err = { error: { code: string; message_vi: string; fields?: { field: string; code: string }[] } };
  const at = { lat: PLACES.saiGon.lat, lng: PLACES.saiGon.lng };
  /** 60 m north of `at`. */
  const near = { lat: at.lat + 0.00054, lng: at.lng };

  it('says which unit a point lies in, none outside the city, and refuses a bad point with the field', async () => {
    const inside = await json<{ unit: { code: string; name: string } | null }>(`/api/v1/places/locate?lat=${PLACES.benThanh.lat}&lng=${PLACES.benThanh.lng}`);
    expect(inside).toEqual({ status: 200, body: { lat: PLACES.benThanh.lat, lng: PLACES.benThanh.lng, unit: { code: PLACES.benThanh.code, name: PLACES.benThanh.name } } });
    expect((await json<{ unit: unknown }>(`/api/v1/places/locate?lat=${PLACES.outside.lat}&lng=${PLACES.outside.lng}`)).body.unit).toBeNull();
    for (const [q, fields] of [['lat=abc&lng=106.7', ['lat']], ['lat=91&lng=181', ['lat', 'lng']], ['lat=10.7', ['lng']], [`lat=${'1'.repeat(40)}&lng=106.7`, ['lat']]] as const) {
      const res = await json<Err>(`/api/v1/places/locate?${q}`);
      expect(res.status, q).toBe(422);
      expect(res.body.error.code, q).toBe('coordinates_invalid');
      expect(res.body.error.fields?.map((f) => f.field), q).toEqual(fields);
    }
  });

  it('suggests units, former wards (with the unit they became) and streets as one types, at most 8, and refuses a query over 80 characters', async () => {
    type S = { suggestions: { kind: string; label: string; value: string; unit: { code: string } | null }[] };
    const ben = (await json<S>('/api/v1/places/suggest?q=ben%20thanh')).body.suggestions;
    expect(ben[0]).toEqual({ kind: 'unit', label: 'Phường Bến Thành', value: 'Phường Bến Thành', unit: { code: PLACES.benThanh.code, name: PLACES.benThanh.name } });
    expect(ben.length).toBeLessThanOrEqual(8);
    const old = (await json<S>(`/api/v1/places/suggest?q=${encodeURIComponent('P12 Q3')}`)).body.suggestions;
    expect(old[0]).toMatchObject({ kind: 'former_ward', value: 'Phường 12, Quận 3' });
    expect(old[0]!.label).toMatch(/^Phường 12, Quận 3 \(cũ\) – nay thuộc Phường /);
    const street = (await json<S>(`/api/v1/places/suggest?q=${encodeURIComponent('nguyễn thị minh kh')}`)).body.suggestions;
    expect(street.some((s) => s.kind === 'street' && s.value.startsWith('Đường Nguyễn Thị Minh Khai'))).toBe(true);
    // A landmark comes with its point (the map moves its pin there).
    const market = (await json<S & { suggestions: { point?: { lat: number; lng: number } }[] }>(`/api/v1/places/suggest?q=${encodeURIComponent('chợ bến th')}`)).body.suggestions;
    expect(market[0]).toMatchObject({ kind: 'landmark', value: 'Chợ Bến Thành', unit: { code: PLACES.benThanh.code } });
    expect(market[0]!.point).toEqual({ lat: expect.closeTo(PLACES.benThanh.lat, 3), lng: expect.closeTo(PLACES.benThanh.lng, 3) });
    expect((await json<S>('/api/v1/places/suggest?q=a')).body.suggestions).toEqual([]);
    // Bounded: 80 characters answer (quickly), 81 are refused.
    const started = performance.now();
    expect((await json<S>(`/api/v1/places/suggest?q=${'p '.repeat(40)}`)).status).toBe(200);
    expect(performance.now() - started).toBeLessThan(500);
    const long = await json<Err>(`/api/v1/places/suggest?q=${'a'.repeat(81)}`);
    expect(long.status).toBe(422);
    expect(long.body.error.code).toBe('query_too_long');
  });

  it('lists the open tickets of a category within its radius, with public facts only; joins one on request; refuses unknown categories and tickets', async () => {
    const filed = await post({ text: 'Ống nước vỡ, nước sạch chảy lênh láng trên đường Đồng Khởi', category: 'cap_nuoc', ...at, citizen: { phone: '0903 612 001', name: 'Lâm Thị Kín' } }, '198.51.100.80');
    expect(filed.status).toBe(201);
    await rt.worker.idle();
    const ticket = (await rt.handle.db.selectFrom('reports').innerJoin('tickets', 'tickets.id', 'reports.ticket_id').select('tickets.code')
      .where('reports.code', '=', ((await filed.json()) as { code: string }).code).executeTakeFirstOrThrow()).code;

    type N = { tickets: { code: string; status: string; status_label: string; category: { code: string }; distance_m: number; reporters: number; last_reported_at: string }[] };
    const listed = await rt.app.request(`/api/v1/nearby?lat=${near.lat}&lng=${near.lng}&category=cap_nuoc`);
    expect(listed.status).toBe(200);
    const raw = await listed.text();
    const { tickets } = JSON.parse(raw) as N;
    expect(tickets).toHaveLength(1);
    expect(tickets[0]).toMatchObject({ code: ticket, status: 'new', status_label: 'Mới tiếp nhận', category: { code: 'cap_nuoc' }, reporters: 1 });
    expect(tickets[0]!.distance_m).toBeGreaterThan(50);
    expect(tickets[0]!.distance_m).toBeLessThan(70);
    // Nothing a reporter wrote or is known by.
    for (const secret of ['Ống nước', 'Đồng Khởi', 'Lâm Thị', '612 001', '0903612001', '84903612001']) expect(raw, secret).not.toContain(secret);
    // Another category, or beyond the category's radius (200 m): none.
    expect(((await json<N>(`/api/v1/nearby?lat=${near.lat}&lng=${near.lng}&category=rac_thai`)).body).tickets).toEqual([]);
    expect(((await json<N>(`/api/v1/nearby?lat=${at.lat + 0.0027}&lng=${at.lng}&category=cap_nuoc`)).body).tickets).toEqual([]);
    for (const q of ['category=khong_co', 'category=', `category=${'x'.repeat(65)}`]) {
      const res = await json<Err>(`/api/v1/nearby?lat=${near.lat}&lng=${near.lng}&${q}`);
      expect(res.status, q).toBe(422);
      expect(res.body.error.code, q).toBe('category_unknown');
    }
    expect((await json<Err>('/api/v1/nearby?lat=x&lng=106.7&category=cap_nuoc')).body.error.code).toBe('coordinates_invalid');

    // "This is my problem too": a different text and contact, 60 m away, joins the chosen ticket.
    const before = await stored();
    for (const [given, code] of [['TK-ZZZZZZZZ', 'ticket_unknown'], ['not a code', 'ticket_invalid'], ['PA-7K3M9Q2X', 'ticket_invalid'], ['T'.repeat(200), 'ticket_invalid']]) {
      const res = await post({ text: 'Nước sạch chảy tràn', category: 'cap_nuoc', ...near, ticket: given }, '198.51.100.81');
      expect(res.status, given).toBe(422);
      expect(((await res.json()) as Err).error, given).toMatchObject({ code, fields: [{ field: 'ticket', code }] });
    }
    expect(await stored()).toBe(before);
    const joined = await post({ text: 'Chỗ này nước máy xì ra cả tuần nay', ...near, ticket: ticket.toLowerCase(), citizen: { phone: '0903 612 002' } }, '198.51.100.82');
    expect(joined.status).toBe(201);
    await rt.worker.idle();
    const report = await rt.handle.db.selectFrom('reports').innerJoin('tickets', 'tickets.id', 'reports.ticket_id').select(['tickets.code', 'reports.reasons', 'reports.category_code'])
      .where('reports.code', '=', ((await joined.json()) as { code: string }).code).executeTakeFirstOrThrow();
    expect(report.code).toBe(ticket);
    // No category given: the ticket's.
    expect(report.category_code).toBe('cap_nuoc');
    expect((report.reasons as { code: string }[]).map((r) => r.code)).toContain('chosen_ticket');
    expect(((await json<N>(`/api/v1/nearby?lat=${near.lat}&lng=${near.lng}&category=cap_nuoc`)).body).tickets[0]!.reporters).toBe(2);

    // The ticket resolved meanwhile: the report is accepted and processed as usual, with the reason.
    await rt.handle.db.updateTable('tickets').set({ status: 'resolved', resolved_at: new Date() }).where('code', '=', ticket).execute();
    expect(((await json<N>(`/api/v1/nearby?lat=${near.lat}&lng=${near.lng}&category=cap_nuoc`)).body).tickets).toEqual([]);
    const late = await post({ text: 'Ống nước lại vỡ, nước chảy khắp hẻm', category: 'cap_nuoc', ...near, ticket, citizen: { phone: '0903 612 003' } }, '198.51.100.83');
    expect(late.status).toBe(201);
    await rt.worker.idle();
    const own = await rt.handle.db.selectFrom('reports').innerJoin('tickets', 'tickets.id', 'reports.ticket_id').select(['tickets.code', 'reports.reasons'])
      .where('reports.code', '=', ((await late.json()) as { code: string }).code).executeTakeFirstOrThrow();
    expect(own.code).not.toBe(ticket);
    expect((own.reasons as { code: string; message: string }[]).find((r) => r.code === 'chosen_ticket_refused')?.message).toContain('it is resolved');
  });
});
