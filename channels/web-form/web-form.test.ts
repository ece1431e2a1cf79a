import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATUS_VI } from '../../src/core/tickets/statuses.ts';
import { issueFormToken, verifyFormToken } from '../../src/intake/form-token.ts';
import type { Runtime } from '../../src/runtime.ts';
import { PLACES, PNG_1PX } from '../../test/support/factories.ts';
import { testRuntime } from '../../test/support/runtime.ts';

const SECRET = 'test-secret-0123456789abcdef';
const GIF_1PX = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

let rt: Runtime;
beforeAll(async () => {
  rt = await testRuntime();
});
afterAll(async () => {
  await rt?.close();
});

async function counts(r: Runtime = rt) {
  const db = r.handle.db;
  const one = async (t: 'inbound_messages' | 'reports' | 'tickets') =>
    Number((await db.selectFrom(t).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
  return { inbound: await one('inbound_messages'), reports: await one('reports'), tickets: await one('tickets') };
}

/** Every file stored under DATA_DIR/uploads (photos are content-addressed there). */
async function uploadedFiles(r: Runtime = rt): Promise<string[]> {
  const root = path.join(r.config.dataDir, 'uploads');
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name)).sort();
}

function tokenIn(page: string): string {
  const m = /<input type="hidden" name="_token" value="([^"]+)">/.exec(page);
  if (!m?.[1]) throw new Error('no _token in page');
  return m[1];
}

/** Loads the form like a browser and returns the token it carries. */
async function scrapeToken(r: Runtime = rt): Promise<string> {
  const res = await r.app.request('/');
  expect(res.status).toBe(200);
  return tokenIn(await res.text());
}

const textareaValue = (page: string) => /<textarea[^>]*name="text"[^>]*>([\s\S]*?)<\/textarea>/.exec(page)?.[1];
const inputValue = (page: string, name: string) => new RegExp(`<input id="${name}" name="${name}"[^>]*value="([^"]*)"`).exec(page)?.[1];
const inputClass = (page: string, name: string) => new RegExp(`<(?:input|textarea|select) id="${name}"[^>]*class="([^"]*)"`).exec(page)?.[1];
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');

type Fields = Record<string, string | undefined>;

let n = 0;
function fields(over: Fields = {}): Fields {
  n++;
  return {
    text: `Nước ngập sâu 40 cm trước chợ Bến Thành, xe máy chết máy (web ${n})`,
    category: '',
    address: '',
    lat: String(PLACES.benThanh.lat),
    lng: String(PLACES.benThanh.lng),
    name: '',
    phone: '',
    email: '',
    ...over,
  };
}

function multipart(f: Fields, token: string | undefined, photos: File[] = []): FormData {
  const form = new FormData();
  for (const [k, v] of Object.entries(f)) if (v !== undefined) form.set(k, v);
  if (token !== undefined) form.set('_token', token);
  for (const p of photos) form.append('photos', p);
  return form;
}

function post(body: FormData | URLSearchParams, headers: Record<string, string> = {}, r: Runtime = rt) {
  return r.app.request('/report', { method: 'POST', body, headers });
}

function codeFrom(res: Response): string {
  const location = res.headers.get('location') ?? '';
  const m = /^\/track\/(PA-[0-9A-HJKMNP-TV-Z]{8})\?new=1$/.exec(location);
  if (!m?.[1]) throw new Error(`unexpected redirect: ${res.status} ${location}`);
  return m[1];
}

describe('GET /', () => {
  it('serves the Vietnamese report form with every field, a valid token and the categories from the database', async () => {
    const res = await rt.app.request('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await res.text();
    expect(page).toMatch(/^<!doctype html>\s*<html lang="vi">/);
    expect(page).toContain('Gửi phản ánh, kiến nghị');
    expect(page).toMatch(/<form class="card" method="post" action="\/report" enctype="multipart\/form-data"/);
    expect(page).toMatch(/<textarea id="text" name="text" required maxlength="5000"/);
    for (const name of ['category', 'address', 'lat', 'lng', 'photos', 'name', 'phone', 'email']) {
      expect(page, name).toMatch(new RegExp(`<(?:input|select) id="${name}" name="${name}"`));
    }
    expect(page).toMatch(/<input id="photos" name="photos" type="file" accept="image\/\*" multiple/);
    expect(verifyFormToken(SECRET, tokenIn(page))).toBe(true);
    expect(page).not.toContain('class="error"');

    const categories = await rt.handle.db.selectFrom('categories').select(['code', 'name'])
      .where('active', '=', true).orderBy('sort').execute();
    expect(categories.length).toBeGreaterThan(5);
    const options = [...page.matchAll(/<option value="([^"]*)"[^>]*>([^<]*)<\/option>/g)].map((m) => ({ code: m[1], name: m[2] }));
    expect(options[0]).toEqual({ code: '', name: '– Chưa rõ, để tổng đài phân loại –' });
    expect(options.slice(1)).toEqual(categories.map((c) => ({ code: escapeHtml(c.code), name: escapeHtml(c.name) })));
    expect(page).not.toMatch(/<option[^>]* selected/);
  });
});

describe('POST /report', () => {
  it('stores the report, redirects (303) to its tracking page, which shows the ward and status but no personal data', async () => {
    const token = await scrapeToken();
    const before = await counts();
    const contact = { name: 'Trần Thị Bí Mật', phone: '0903 555 777', email: 'bi.mat@example.vn' };
    const res = await post(multipart(fields(contact), token, [new File([PNG_1PX], 'ngap.png', { type: 'image/png' })]));
    expect(res.status).toBe(303);
    const code = codeFrom(res);

    await rt.worker.idle();
    const after = await counts();
    expect(after.inbound).toBe(before.inbound + 1);
    expect(after.reports).toBe(before.reports + 1);

    const report = await rt.handle.db.selectFrom('reports').selectAll().where('code', '=', code).executeTakeFirstOrThrow();
    expect(report.channel).toBe('web');
    expect(report.area_code).toBe(PLACES.benThanh.code);
    expect(report.attachments).toEqual([expect.objectContaining({ content_type: 'image/png', size: PNG_1PX.length })]);
    const ticket = await rt.handle.db.selectFrom('tickets').select(['code', 'status']).where('id', '=', report.ticket_id).executeTakeFirstOrThrow();

    const page = await rt.app.request(`/track/${code}?new=1`);
    expect(page.status).toBe(200);
    const body = await page.text();
    expect(body).toContain('<html lang="vi">');
    expect(body).toContain(`Cảm ơn bạn! Phản ánh đã được tiếp nhận.</strong> Hãy lưu mã <code>${code}</code>`);
    expect(body).toContain(`<dt>Địa bàn</dt><dd>${PLACES.benThanh.name}</dd>`);
    expect(body).toContain(`<p class="status">${STATUS_VI[ticket.status as keyof typeof STATUS_VI]}</p>`);
    expect(body).toContain(`<dt>Hồ sơ xử lý</dt><dd>${ticket.code}</dd>`);
    expect(body).toMatch(/<ol class="timeline"><li>/);
    // Processed: no more automatic refresh.
    expect(body).not.toContain('http-equiv="refresh"');
    for (const secret of ['Trần Thị', 'Bí Mật', '0903', '555 777', '903555777', 'bi.mat', 'example.vn']) {
      expect(body, secret).not.toContain(secret);
    }
  });

  it('treats a double submit of the same form as one report with one code', async () => {
    const token = await scrapeToken();
    const f = fields({ phone: '0903 222 333' });
    const photo = new File([PNG_1PX], 'a.png', { type: 'image/png' });
    const before = await counts();
    const first = await post(multipart(f, token, [photo]));
    const second = await post(multipart(f, token, [photo]));
    expect(first.status).toBe(303);
    expect(second.status).toBe(303);
    expect(codeFrom(second)).toBe(codeFrom(first));
    await rt.worker.idle();
    const after = await counts();
    expect(after.inbound).toBe(before.inbound + 1);
    expect(after.reports).toBe(before.reports + 1);
  });

  it('treats concurrent submits of the same form as one report', async () => {
    const token = await scrapeToken();
    const form = multipart(fields(), token);
    await rt.worker.idle();
    const before = await counts();
    const answers = await Promise.all([1, 2, 3, 4].map(() => post(form)));
    expect(answers.map((r) => r.status)).toEqual([303, 303, 303, 303]);
    expect(new Set(answers.map(codeFrom)).size).toBe(1);
    await rt.worker.idle();
    const after = await counts();
    expect(after.inbound).toBe(before.inbound + 1);
    expect(after.reports).toBe(before.reports + 1);
  });

  it('names the 10 MB limit when a photo is larger', async () => {
    const big = Buffer.alloc(10 * 1024 * 1024 + 10);
    PNG_1PX.copy(big);
    const res = await post(multipart(fields(), await scrapeToken(), [new File([big], 'lon.png', { type: 'image/png' })]));
    expect(res.status).toBe(413);
    expect(await res.text()).toContain('</strong> Ảnh &quot;lon.png&quot; lớn hơn 10 MB. Vui lòng chọn lại ảnh.</div>');
  });

  it('files a second report when the same token is sent with different text', async () => {
    const token = await scrapeToken();
    const first = codeFrom(await post(multipart(fields(), token)));
    const second = codeFrom(await post(multipart(fields(), token)));
    expect(second).not.toBe(first);
  });

  it('accepts an urlencoded form and keeps Vietnamese text intact', async () => {
    const token = await scrapeToken();
    const text = 'Đèn đường hư, tối om ở hẻm 12 Lê Lợi – nguy hiểm cho người đi bộ';
    const before = await counts();
    const body = new URLSearchParams({ ...fields({ text, lat: '', lng: '', address: '12 Lê Lợi, phường Bến Thành' }) as Record<string, string>, _token: token });
    const res = await post(body);
    expect(res.status).toBe(303);
    const code = codeFrom(res);
    await rt.worker.idle();
    expect((await counts()).inbound).toBe(before.inbound + 1);
    const inbound = await rt.handle.db.selectFrom('inbound_messages').select(['channel', 'report']).where('code', '=', code).executeTakeFirstOrThrow();
    expect(inbound.channel).toBe('web');
    expect(inbound.report).toMatchObject({ text, address: '12 Lê Lợi, phường Bến Thành' });
    const page = await (await rt.app.request(`/track/${code}`)).text();
    expect(page).toContain(`<h1>Phản ánh <code>${code}</code></h1>`);
    expect(page).not.toContain('Cảm ơn bạn!');
  });

  it('accepts a description of exactly 5000 characters', async () => {
    const res = await post(multipart(fields({ text: `Ngập ${'n'.repeat(4995)}` }), await scrapeToken()));
    expect(res.status).toBe(303);
    codeFrom(res);
  });

  it('counts a line break as one character, as the browser does for maxlength (it submits CRLF)', async () => {
    // 50 lines of 99 characters: 4999 characters in the textarea, 5048 on the wire.
    const lines = Array.from({ length: 50 }, (_, i) => `Dòng ${String(i).padStart(2, '0')} ${'ngập nước '.repeat(9)}`.padEnd(99, '.'));
    const text = lines.join('\r\n');
    expect(lines.join('\n').length).toBeLessThanOrEqual(5000);
    expect(text.length).toBeGreaterThan(5000);
    const res = await post(multipart(fields({ text }), await scrapeToken()));
    expect(res.status).toBe(303);
    const code = codeFrom(res);
    const inbound = await rt.handle.db.selectFrom('inbound_messages').select('report').where('code', '=', code).executeTakeFirstOrThrow();
    expect((inbound.report as { text: string }).text).toBe(lines.join('\n'));
  });

  it('accepts a post whose Origin is this site and whose Sec-Fetch-Site is same-origin', async () => {
    const token = await scrapeToken();
    const res = await post(multipart(fields(), token), { origin: 'http://localhost', 'sec-fetch-site': 'same-origin' });
    expect(res.status).toBe(303);
    codeFrom(res);
  });

  // [what, fields, token, photos, status, Vietnamese message, field marked in error]
  const expired = issueFormToken(SECRET, Date.now() - 5 * 3600_000);
  const bad: [string, Fields, (good: string) => string | undefined, File[], number, string, string | undefined][] = [
    ['no description', { text: '   ' }, (t) => t, [], 422, 'Vui lòng mô tả sự việc cần phản ánh.', 'text'],
    ['a description over 5000 characters', { text: 'ngập '.repeat(1200) }, (t) => t, [], 422, 'Nội dung phản ánh dài quá 5000 ký tự.', 'text'],
    ['a latitude that is not a number', { lat: 'mười' }, (t) => t, [], 422, 'Toạ độ vị trí không hợp lệ.', 'lat'],
    ['a latitude without longitude', { lng: '' }, (t) => t, [], 422, 'Cần cả vĩ độ và kinh độ.', 'lng'],
    ['an unknown category', { category: 'ufo' }, (t) => t, [], 422, 'Lĩnh vực phản ánh không hợp lệ.', 'category'],
    ['an invalid phone number', { phone: '12' }, (t) => t, [], 422, 'Số điện thoại không hợp lệ.', 'phone'],
    ['an invalid email', { email: 'không-phải-email' }, (t) => t, [], 422, 'Địa chỉ email không hợp lệ.', 'email'],
    ['a photo that is not an image', {}, (t) => t, [new File([Buffer.from('%PDF-1.4 not an image')], 'giay-to.jpg', { type: 'image/jpeg' })],
      415, 'Tệp "giay-to.jpg" không phải là ảnh (JPEG, PNG, WebP, GIF, HEIC). Vui lòng chọn lại ảnh.', 'photos'],
    ['six photos', {}, (t) => t, Array.from({ length: 6 }, (_, i) => new File([PNG_1PX], `${i}.png`, { type: 'image/png' })),
      422, 'Chỉ gửi tối đa 5 ảnh. Vui lòng chọn lại ảnh.', 'photos'],
    ['no form token', {}, () => undefined, [], 403, 'Biểu mẫu đã hết hạn, vui lòng gửi lại.', undefined],
    ['a forged form token', {}, () => `${Date.now().toString(36)}.${'A'.repeat(43)}`, [], 403, 'Biểu mẫu đã hết hạn, vui lòng gửi lại.', undefined],
    ['a token signed with another secret', {}, () => issueFormToken('another-secret-0123456789'), [], 403, 'Biểu mẫu đã hết hạn, vui lòng gửi lại.', undefined],
    ['an expired form token', {}, () => expired, [], 403, 'Biểu mẫu đã hết hạn, vui lòng gửi lại.', undefined],
  ];
  for (const [what, over, tokenFor, photos, status, message, field] of bad) {
    it(`re-shows the form (${status}) for ${what}, keeps the input and writes nothing`, async () => {
      const token = tokenFor(await scrapeToken());
      const f = fields({ address: '12 Lê Lợi, phường Bến Thành', name: 'Lê Văn Giữ', category: 'ngap_nuoc', phone: '0903 444 555', ...over });
      await rt.worker.idle();
      const before = await counts();
      const filesBefore = await uploadedFiles();
      const res = await post(multipart(f, token, photos));
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      const page = await res.text();
      expect(page).toContain('<html lang="vi">');
      expect(page).toMatch(new RegExp(`<div class="error" role="alert" id="form-error" data-error-code="[a-z_]+"><strong>Chưa gửi được phản ánh.</strong> ${escapeRegExp(escapeHtml(message))}</div>`));
      // What the user typed is still there.
      expect(textareaValue(page)).toBe(escapeHtml(f.text!));
      expect(inputValue(page, 'address')).toBe(escapeHtml(f.address!));
      expect(inputValue(page, 'name')).toBe(escapeHtml(f.name!));
      expect(inputValue(page, 'phone')).toBe(escapeHtml(f.phone!));
      expect(inputValue(page, 'email')).toBe(escapeHtml(f.email!));
      expect(inputValue(page, 'lat')).toBe(escapeHtml(f.lat!));
      if (f.category === 'ngap_nuoc') expect(page).toContain('<option value="ngap_nuoc" selected>');
      if (field) expect(inputClass(page, field)).toBe('field-error');
      for (const other of ['text', 'category', 'address', 'lat', 'lng', 'photos', 'name', 'phone', 'email'].filter((x) => x !== field)) {
        expect(inputClass(page, other), other).toBe('');
      }
      // A fresh token, so that sending the corrected form again works.
      expect(verifyFormToken(SECRET, tokenIn(page))).toBe(true);
      await rt.worker.idle();
      expect(await counts()).toEqual(before);
      expect(await uploadedFiles()).toEqual(filesBefore);
    });
  }

  it('stores no photo at all when one of several photos is not an image', async () => {
    const filesBefore = await uploadedFiles();
    const res = await post(multipart(fields(), await scrapeToken(), [
      new File([GIF_1PX], 'ok.gif', { type: 'image/gif' }),
      new File([Buffer.from('MZ not an image')], 'virus.png', { type: 'image/png' }),
    ]));
    expect(res.status).toBe(415);
    expect(await uploadedFiles()).toEqual(filesBefore);
  });

  it('lets the user send the corrected form with the token of the error page', async () => {
    const first = await post(multipart(fields({ phone: '12' }), await scrapeToken()));
    expect(first.status).toBe(422);
    const res = await post(multipart(fields({ phone: '0903 444 556' }), tokenIn(await first.text())));
    expect(res.status).toBe(303);
    codeFrom(res);
  });

  it('escapes what the user typed when it re-shows the form', async () => {
    const text = '<script>alert("xss")</script> nước ngập';
    const res = await post(multipart(fields({ text, phone: '12', address: '"><img src=x onerror=alert(1)>' }), await scrapeToken()));
    expect(res.status).toBe(422);
    const page = await res.text();
    expect(page).not.toContain('<script>alert');
    expect(page).not.toContain('<img src=x');
    expect(textareaValue(page)).toBe('&lt;script&gt;alert(&quot;xss&quot;)&lt;/script&gt; nước ngập');
  });

  const refused: [string, Record<string, string>][] = [
    ['an Origin from another site', { origin: 'https://evil.example' }],
    ['an Origin that differs only by scheme', { origin: 'https://localhost' }],
    ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
  ];
  for (const [what, headers] of refused) {
    it(`refuses a post with ${what} (403 csrf_origin_mismatch) and writes nothing`, async () => {
      const token = await scrapeToken();
      await rt.worker.idle();
      const before = await counts();
      const res = await post(multipart(fields(), token), headers);
      expect(res.status).toBe(403);
      // The form again with the Vietnamese message, never a JSON error page.
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      const page = await res.text();
      expect(page).toContain('data-error-code="csrf_origin_mismatch"');
      expect(page).toContain('Yêu cầu bị từ chối vì không gửi từ trang này.');
      await rt.worker.idle();
      expect(await counts()).toEqual(before);
    });
  }

  it('refuses a body that is neither multipart nor urlencoded (415, the form again) and writes nothing', async () => {
    const before = await counts();
    const res = await rt.app.request('/report', { method: 'POST', body: JSON.stringify({ text: 'Ngập' }), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(415);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await res.text()).toContain('data-error-code="content_type_unsupported"');
    expect(await counts()).toEqual(before);
  });
});

describe('GET /track', () => {
  it('answers 404 with the lookup form for an unknown code', async () => {
    const res = await rt.app.request('/track/PA-00000000');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const page = await res.text();
    expect(page).toContain('<html lang="vi">');
    expect(page).toContain('Không tìm thấy phản ánh có mã <strong>PA-00000000</strong>');
    expect(page).toMatch(/<form class="card" method="get" action="\/track">/);
    expect(page).toMatch(/<input id="code" name="code" required value="PA-00000000"/);
  });

  it('escapes a code that is not a code at all', async () => {
    const res = await rt.app.request(`/track/${encodeURIComponent('<b>x</b>')}`);
    expect(res.status).toBe(404);
    const page = await res.text();
    expect(page).not.toContain('<b>x</b>');
    expect(page).toContain('&lt;b&gt;x&lt;/b&gt;');
  });

  it('redirects a code typed in lower case without the dash to the canonical tracking page', async () => {
    const code = codeFrom(await post(multipart(fields(), await scrapeToken())));
    const typed = code.replace('-', '').toLowerCase();
    const res = await rt.app.request(`/track?code=${encodeURIComponent(` ${typed} `)}`);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/track/${code}`);
    const page = await rt.app.request(res.headers.get('location')!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(`<code>${code}</code>`);
  });

  it('answers an unknown code in the lookup form with 404 and the code kept', async () => {
    const res = await rt.app.request('/track?code=PA-ZZZZZZZZ');
    expect(res.status).toBe(404);
    const page = await res.text();
    expect(page).toContain('Không tìm thấy phản ánh có mã <strong>PA-ZZZZZZZZ</strong>');
    expect(page).toMatch(/<input id="code" name="code" required value="PA-ZZZZZZZZ"/);
  });

  it('shows the lookup form without an error when no code is given', async () => {
    for (const url of ['/track', '/track?code=', '/track?code=%20']) {
      const res = await rt.app.request(url);
      expect(res.status, url).toBe(200);
      const page = await res.text();
      expect(page).toContain('<h1>Tra cứu phản ánh</h1>');
      expect(page).toMatch(/<form class="card" method="get" action="\/track">/);
      expect(page).not.toContain('Không tìm thấy');
    }
  });
});

describe('another runtime: no worker, behind a proxy, photos up to 1 KB', () => {
  let idle: Runtime;
  beforeAll(async () => {
    idle = await testRuntime({ PUBLIC_URL: 'https://1022.example.vn', UPLOAD_MAX_BYTES: '1024' }, { startWorker: false });
  });
  afterAll(async () => {
    await idle?.close();
  });

  it('is shown as received, with a page that refreshes itself', async () => {
    const res = await post(multipart(fields(), await scrapeToken(idle)), {}, idle);
    expect(res.status).toBe(303);
    const code = codeFrom(res);
    const page = await idle.app.request(`/track/${code}`);
    expect(page.status).toBe(200);
    const body = await page.text();
    expect(body).toContain(`<p class="status">${STATUS_VI.received}</p>`);
    expect(body).toContain('Đã tiếp nhận');
    expect(body).toContain('<meta http-equiv="refresh" content="5">');
    expect(body).toContain('Hệ thống đang phân loại phản ánh của bạn');
    expect(body).not.toContain('<dt>Địa bàn</dt>');
    expect(await counts(idle)).toMatchObject({ inbound: 1, reports: 0, tickets: 0 });
  });

  it('re-shows the form (413) for a photo over the limit, naming the limit, and writes nothing', async () => {
    const big = Buffer.alloc(2048);
    PNG_1PX.copy(big);
    const f = fields({ phone: '0903 444 557' });
    const before = await counts(idle);
    const res = await post(multipart(f, await scrapeToken(idle), [new File([big], 'to.png', { type: 'image/png' })]), {}, idle);
    expect(res.status).toBe(413);
    const page = await res.text();
    expect(page).toContain('</strong> Ảnh &quot;to.png&quot; lớn hơn 1 KB. Vui lòng chọn lại ảnh.</div>');
    expect(inputClass(page, 'photos')).toBe('field-error');
    expect(textareaValue(page)).toBe(escapeHtml(f.text!));
    expect(inputValue(page, 'phone')).toBe('0903 444 557');
    expect(await counts(idle)).toEqual(before);
    expect(await uploadedFiles(idle)).toEqual([]);
  });

  it('re-shows the form (413) for a body over the limit and writes nothing', async () => {
    const before = await counts(idle);
    // Limit: 5 photos of 1 KB plus 1 MB for the fields.
    const res = await post(multipart(fields({ address: 'x'.repeat(1_200_000) }), await scrapeToken(idle)), {}, idle);
    expect(res.status).toBe(413);
    const page = await res.text();
    expect(page).toContain('</strong> Dữ liệu gửi lên quá lớn (ảnh tổng cộng quá nhiều).</div>');
    expect(verifyFormToken(SECRET, tokenIn(page))).toBe(true);
    expect(await counts(idle)).toEqual(before);
  });

  it('accepts a post whose Origin is PUBLIC_URL (behind a proxy)', async () => {
    const res = await post(multipart(fields(), await scrapeToken(idle)), { origin: 'https://1022.example.vn' }, idle);
    expect(res.status).toBe(303);
    codeFrom(res);
  });
});

describe('nearby tickets without JavaScript: a step before sending', () => {
  it('lists the open tickets of the category near the point typed in, storing nothing, and sends the report on the one chosen', async () => {
    const filed = await rt.app.request('/api/v1/reports', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'Cả dãy đèn đường trên đường Hậu Giang tắt từ tối qua', category: 'chieu_sang', ...PLACES.binhTay, citizen: { phone: '0903 617 001' } }),
    });
    expect(filed.status).toBe(201);
    await rt.worker.idle();
    const ticket = ((await (await rt.app.request(`/api/v1/reports/${((await filed.json()) as { code: string }).code}`)).json()) as { ticket: string }).ticket;
    const token = await scrapeToken();
    expect(await (await rt.app.request('/')).text()).toContain('<noscript><p><button type="submit" class="secondary" name="_step" value="nearby">');
    const mine = fields({ text: 'Đèn đường hư, tối om cả đoạn', category: 'chieu_sang', lat: String(PLACES.binhTay.lat + 0.0002), lng: String(PLACES.binhTay.lng) });

    const before = await counts();
    const step = await post(multipart({ ...mine, _step: 'nearby' }, token));
    expect(step.status).toBe(200);
    const page = await step.text();
    expect(page).toContain(`<li data-ticket="${ticket}">`);
    expect(page).toContain(`<button type="submit" class="secondary" name="ticket" value="${ticket}">Đây cũng là vấn đề của tôi</button>`);
    expect(page).toMatch(/cách 22 m, Phường [^·]+· 1 người đã phản ánh/);
    expect(page).not.toContain('Hậu Giang tắt');
    expect(textareaValue(page)).toBe('Đèn đường hư, tối om cả đoạn');
    expect(await counts()).toEqual(before);
    // No category, or no point: the form again, saying what is missing.
    const noCategory = await post(multipart({ ...mine, category: '', _step: 'nearby' }, token));
    expect(noCategory.status).toBe(422);
    expect(await noCategory.text()).toContain('Vui lòng chọn lĩnh vực để xem phản ánh gần đây.');
    expect((await post(multipart({ ...mine, lat: '', _step: 'nearby' }, token))).status).toBe(422);

    // The chosen ticket's button sends the report on it.
    const sent = await post(multipart({ ...mine, ticket }, tokenIn(page)));
    const code = codeFrom(sent);
    await rt.worker.idle();
    expect(((await (await rt.app.request(`/api/v1/reports/${code}`)).json()) as { ticket: string }).ticket).toBe(ticket);
  });
});
