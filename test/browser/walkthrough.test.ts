import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { deflateSync } from 'node:zlib';
import { sql } from 'kysely';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertUser } from '../../src/core/staff/users.ts';
import { checkTicket } from '../../src/core/sla/sla.ts';
import type { Server } from '../../src/server.ts';
import { TEST_DB } from '../support/db.ts';
import { PLACES } from '../support/factories.ts';
import { AGENT_VIEW, CHROMIUM, HAVE_CHROMIUM, launchChromium, signInAs, testServer } from './support.ts';

// The whole flow in a real browser (Debian's chromium driven by playwright-core) against the
// real server (startServer: HTTP, worker, socket.io): an agent signs in, a report posted to
// the app API shows up in the live queue, the agent claims and dispatches it; a ward officer
// on a 360 px phone view acknowledges, starts and resolves it with a photo; the citizen's
// tracking page says it is done. Then an expired session sends the console back to /login.
// Screenshots of every step go to test-output/browser/<project>-NN-*.png.
//
// .ci/run installs chromium; elsewhere (no /usr/bin/chromium) the suite is skipped.

const SHOTS = path.resolve('test-output/browser');
const PW = 'matkhau-trinh-duyet-1';
const AGENT = { username: 'bt-agent', displayName: 'Trần Thị Lan' };
const OFFICER = { username: 'bt-benthanh', displayName: 'Lê Văn Phường' };
const BEN_THANH = PLACES.benThanh;
const LIVE_MS = 5_000;

if (!HAVE_CHROMIUM) {
  console.warn(`[browser tests] skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium, as .ci/run does)`);
}

/** A small valid PNG (an orange-to-green gradient with a frame): something to see in the screenshots. */
function pngBytes(size = 48): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff]! ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const out = Buffer.alloc(body.length + 8);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), body.length + 4);
    return out;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const raw = Buffer.alloc((size * 3 + 1) * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const edge = x < 3 || y < 3 || x >= size - 3 || y >= size - 3;
      const o = y * (size * 3 + 1) + 1 + x * 3;
      raw[o] = edge ? 30 : 240 - Math.round((x / size) * 200);
      raw[o + 1] = edge ? 30 : 120 + Math.round((y / size) * 120);
      raw[o + 2] = edge ? 30 : 40;
    }
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe.skipIf(!HAVE_CHROMIUM)(`browser walkthrough (${TEST_DB}; chromium at ${CHROMIUM})`, () => {
  let server: Server;
  let stopServer: (() => Promise<void>) | undefined;
  let tmp: string;
  let browser: Browser;
  let agentCtx: BrowserContext;
  let wardCtx: BrowserContext;
  let citizenCtx: BrowserContext;
  let agent: Page;
  let ward: Page;
  let agentId: number;
  let shot = 0;
  /** Uncaught exceptions and console errors of every page (CSP violations show up here too). */
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  let reportCode = '';
  let ticketCode = '';

  const screenshot = async (page: Page, name: string, fullPage = false) => {
    shot++;
    await page.screenshot({ path: path.join(SHOTS, `${TEST_DB}-${String(shot).padStart(2, '0')}-${name}.png`), fullPage });
  };

  const watch = (page: Page, who: string) => {
    page.on('pageerror', (err) => pageErrors.push(`${who}: ${err.message}`));
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`${who}: ${m.text()} (${m.location().url})`); });
    page.on('response', (r) => { if (r.status() >= 400) consoleErrors.push(`${who}: ${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`); });
  };

  /** Signs in through the /login form like a person would. */
  const signIn = (page: Page, username: string) => signInAs(page, username, PW, { base: server.url });

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    for (const f of readdirSync(SHOTS)) if (f.startsWith(`${TEST_DB}-`) && f.endsWith('.png')) rmSync(path.join(SHOTS, f));
    ({ server, stop: stopServer, dir: tmp } = await testServer('browser', undefined, {}, { template: true }));
    const db = server.runtime.handle.db;
    agentId = (await upsertUser(db, { ...AGENT, password: PW, role: 'agent' })).id;
    await upsertUser(db, { ...OFFICER, password: PW, role: 'ward_officer', areaCodes: [BEN_THANH.code] });

    // playwright gives every launched browser a fresh temporary --user-data-dir (removed on close);
    // the three contexts share no cookies.
    browser = await launchChromium();
    agentCtx = await browser.newContext(AGENT_VIEW);
    wardCtx = await browser.newContext({
      viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, locale: 'vi-VN', timezoneId: 'Asia/Ho_Chi_Minh',
    });
    citizenCtx = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'vi-VN', timezoneId: 'Asia/Ho_Chi_Minh' });
    for (const c of [agentCtx, wardCtx, citizenCtx]) c.setDefaultTimeout(10_000);
    agent = await agentCtx.newPage();
    ward = await wardCtx.newPage();
    watch(agent, 'console');
    watch(ward, 'ward');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stopServer?.();
    if (consoleErrors.length) console.warn(`[browser tests ${TEST_DB}] console errors:\n  ${consoleErrors.join('\n  ')}`);
  }, 60_000);

  it('an agent signs in through the form, lands on /console and is online', async () => {
    await signIn(agent, AGENT.username);
    expect(new URL(agent.url()).pathname).toBe('/console');
    await agent.waitForSelector('#conn-state[data-state="online"]');
    await expect(agent.textContent('#conn-state')).resolves.toBe('Trực tuyến');
    await agent.waitForSelector('#queue-body td.empty');
    await screenshot(agent, 'console-online');
  }, 30_000);

  it('a report posted to the API appears in the queue live, without a reload', async () => {
    await agent.evaluate(() => { (window as unknown as { marker: number }).marker = 42; });
    const started = performance.now();
    const res = await fetch(`${server.url}/api/v1/reports`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        text: 'Rác thải sinh hoạt đổ đống trên vỉa hè trước chợ Bến Thành, bốc mùi hôi thối',
        lat: BEN_THANH.lat, lng: BEN_THANH.lng, address: 'Cửa Nam chợ Bến Thành, Lê Lợi',
        citizen: { phone: '0903 555 123', name: 'Nguyễn Thị Hoa' },
      }),
    });
    expect(res.status).toBe(201);
    reportCode = ((await res.json()) as { code: string }).code;
    const row = await agent.waitForSelector('#queue-body tr[data-code^="TK-"]', { timeout: LIVE_MS });
    const liveMs = Math.round(performance.now() - started);
    ticketCode = (await row.getAttribute('data-code'))!;
    // The same page: no reload happened.
    expect(await agent.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(42);
    const status = (await (await fetch(`${server.url}/api/v1/reports/${reportCode}`)).json()) as { ticket: string; area: { code: string } };
    expect(status.ticket).toBe(ticketCode);
    expect(status.area.code).toBe(BEN_THANH.code);
    await expect(row.textContent()).resolves.toContain(BEN_THANH.name);
    console.info(`[browser tests ${TEST_DB}] ${ticketCode} on screen ${liveMs} ms after POST /api/v1/reports`);
    await screenshot(agent, 'report-arrived-live');
  }, 30_000);

  it('the ward officer signs in on a 360 px phone and lands on /ward with nothing to do yet', async () => {
    await signIn(ward, OFFICER.username);
    expect(new URL(ward.url()).pathname).toBe('/ward');
    await ward.waitForSelector('#conn-state[data-state="online"]');
    await ward.waitForSelector('#tasks-empty:not([hidden])');
    await screenshot(ward, 'ward-empty');
  }, 30_000);

  it('the agent opens the ticket, claims it and dispatches it with instructions', async () => {
    await agent.click(`#queue-body tr[data-code="${ticketCode}"] a.code`);
    await agent.waitForSelector(`article.ticket[data-code="${ticketCode}"] [data-action="claim"]:not([disabled])`);
    expect(new URL(agent.url()).hash).toBe(`#${ticketCode}`);
    await expect(agent.textContent('#t-reports')).resolves.toContain('Rác thải sinh hoạt');
    await screenshot(agent, 'ticket-open');

    await agent.click('[data-action="claim"]');
    await agent.waitForFunction(() => document.querySelector('[data-testid="claimed-by"]')?.textContent?.includes('(bạn)'));
    await expect(agent.textContent('[data-testid="claimed-by"]')).resolves.toBe(`${AGENT.displayName} (bạn)`);
    await agent.waitForFunction((code) => document.querySelector(`#queue-body tr[data-code="${code}"] .claim`)?.textContent === 'bt-agent', ticketCode);
    await screenshot(agent, 'claimed');

    await expect(agent.inputValue('#dispatch-area')).resolves.toBe(BEN_THANH.code);
    await agent.fill('#dispatch-instructions', 'Đề nghị phường cho đội vệ sinh thu gom ngay trong sáng nay, chụp ảnh sau khi xử lý.');
    await agent.click('#dispatch-form [data-action="dispatch"]');
    await agent.waitForSelector(`#queue-body tr[data-code="${ticketCode}"][data-status="dispatched"]`);
    await agent.waitForFunction(() => document.querySelector('.t-head .status')?.textContent === 'Đã chuyển phường');
    await screenshot(agent, 'dispatched');
  }, 30_000);

  it('the task reaches the ward view live; the officer acknowledges, starts and resolves it with a photo', async () => {
    const card = `li.task[data-code="${ticketCode}"]`;
    await ward.waitForSelector(`#tasks ${card}[data-status="dispatched"]`, { timeout: LIVE_MS });
    // A phone-first view: nothing wider than the 360 px screen.
    expect(await ward.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await screenshot(ward, 'ward-task-arrived');

    await ward.click(`${card} summary`);
    await ward.waitForFunction((sel) => document.querySelector(`${sel} .task-detail-body`)?.textContent?.includes('Đề nghị phường'), card);
    await screenshot(ward, 'ward-task-detail', true);
    // Fold it again: the details read now must not be shown stale after the status changes.
    await ward.click(`${card} summary`);

    await ward.click(`${card} [data-action="acknowledge"]`);
    await ward.waitForSelector(`${card}[data-status="acknowledged"]`);
    await ward.click(`${card} [data-action="start"]`);
    await ward.waitForSelector(`${card}[data-status="in_progress"]`);
    await screenshot(ward, 'ward-in-progress');

    await ward.click(`${card} [data-action="resolve"]`);
    await ward.waitForSelector(`${card} form.resolve-form:not([hidden])`);
    const photo = path.join(tmp, 'sau-khi-thu-gom.png');
    writeFileSync(photo, pngBytes());
    await ward.fill(`${card} textarea[name="note"]`, 'Đã thu gom toàn bộ rác, rửa vỉa hè và nhắc nhở các hộ kinh doanh.');
    await ward.setInputFiles(`${card} input[name="after"]`, photo);
    await ward.waitForSelector(`${card} .previews img`);
    await expect(ward.textContent(`${card} [id$="after-count"]`)).resolves.toBe('Đã chọn 1 ảnh.');
    expect(await ward.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await ward.locator(`${card} form.resolve-form`).scrollIntoViewIfNeeded();
    await screenshot(ward, 'ward-resolve-form');

    await ward.click(`${card} [data-action="resolve-submit"]`);
    await ward.waitForSelector(`#done ${card}[data-status="resolved"]`);
    await ward.waitForSelector('#tasks-empty:not([hidden])');
    await ward.click(`#done ${card} summary`);
    await ward.waitForSelector(`#done ${card} .result img`);
    await expect(ward.textContent(`#done ${card} .result`)).resolves.toContain('Đã thu gom toàn bộ rác');
    await screenshot(ward, 'ward-resolved', true);
  }, 40_000);

  it('the agent sees the ticket resolved live, with the photo in the log', async () => {
    await agent.waitForFunction(() => document.querySelector('.t-head .status')?.textContent === 'Đã xử lý xong', undefined, { timeout: LIVE_MS });
    await agent.waitForSelector('.t-head [data-action="close"]');
    // Resolved is not an open status: it leaves the default queue.
    await agent.waitForSelector(`#queue-body tr[data-code="${ticketCode}"]`, { state: 'detached' });
    await screenshot(agent, 'console-resolved');
    // The event log carries the officer's note and photo; the photo loads (same-origin, allowed by the CSP).
    const resolved = '#t-events li[data-type="ticket.resolved"]';
    await expect(agent.textContent(resolved)).resolves.toContain('Đã thu gom toàn bộ rác');
    // Queried again on every poll: a live update (the reply's delivery) may redraw the log meanwhile.
    await agent.waitForFunction((sel) => {
      const i = document.querySelector<HTMLImageElement>(sel);
      i?.scrollIntoView({ block: 'nearest' });
      return !!i && i.complete && i.naturalWidth === 48;
    }, `${resolved} img`);
    await screenshot(agent, 'console-event-log');
  }, 20_000);

  it("the citizen's tracking page shows the report resolved", async () => {
    const html = await (await fetch(`${server.url}/track/${reportCode}`)).text();
    expect(html).toContain('Đã xử lý xong');
    const citizen = await citizenCtx.newPage();
    watch(citizen, 'track');
    await citizen.goto(`${server.url}/track/${reportCode}`);
    await expect(citizen.textContent('body')).resolves.toContain('Đã xử lý xong');
    expect(await citizen.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await screenshot(citizen, 'tracking-resolved', true);
  }, 20_000);

  it("a supervisor's dashboard ranks the units as the tickets table says, and the public transparency page counts the same", async () => {
    const db = server.runtime.handle.db;
    await upsertUser(db, { username: 'bt-giamsat', displayName: 'Phạm Giám Sát', password: PW, role: 'supervisor' });
    // The figures the ranking must show, straight from the tickets table: today's tickets (city
    // day, UTC+7) per unit they belong to, and those handled within two hours of receipt.
    const { rows } = await sql<{ unit: string; volume: number; within: number }>`
      select coalesce(dispatched_area, area_code) as unit, count(*)::int as volume,
        count(*) filter (where status in ('resolved', 'closed', 'rejected')
          and coalesce(resolved_at, closed_at) <= received_at + interval '120 minutes')::int as within
      from tickets
      where merged_into is null and coalesce(dispatched_area, area_code) is not null
        and (received_at at time zone 'Asia/Ho_Chi_Minh')::date = (now() at time zone 'Asia/Ho_Chi_Minh')::date
      group by 1`.execute(db);
    expect(rows.find((r) => r.unit === BEN_THANH.code)).toMatchObject({ volume: expect.any(Number), within: 1 });
    const ctx = await browser.newContext(AGENT_VIEW);
    const page = await ctx.newPage();
    watch(page, 'dashboard');
    await signInAs(page, 'bt-giamsat', PW, { base: server.url });
    await page.goto(`${server.url}/dashboard?period=today`);
    const shown = await page.$$eval('[data-testid="ranking-units"] tbody tr[data-code]', (trs) => trs.map((tr) => {
      const cells = [...tr.querySelectorAll('td')].map((td) => td.textContent?.trim() ?? '');
      return { unit: (tr as HTMLElement).dataset.code ?? '', rank: Number(cells[0]), volume: Number(cells[1]!.replace(/\./g, '')), within: cells[2] };
    }));
    const pct = (n: number, d: number) => `${(Math.round((n / d) * 1000) / 10).toLocaleString('vi-VN')} %`;
    expect(shown.map(({ unit, volume, within }) => ({ unit, volume, within })).sort((a, b) => a.unit.localeCompare(b.unit)))
      .toEqual(rows.map((r) => ({ unit: r.unit, volume: r.volume, within: pct(r.within, r.volume) })).sort((a, b) => a.unit.localeCompare(b.unit)));
    expect(shown.map((r) => r.rank)).toEqual(shown.map((_, i) => i + 1));
    await screenshot(page, 'dashboard', true);
    // A stage past its deadline: the SLA timer's breach raises a notice on the supervisor's screen at once.
    const late = await fetch(`${server.url}/api/v1/reports`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'Nắp cống bị mất giữa đường Lê Lợi', ...BEN_THANH }),
    });
    await server.runtime.worker.idle();
    const lateTicket = ((await (await fetch(`${server.url}/api/v1/reports/${((await late.json()) as { code: string }).code}`)).json()) as { ticket: string }).ticket;
    const lateId = (await db.selectFrom('tickets').select('id').where('code', '=', lateTicket).executeTakeFirstOrThrow()).id;
    server.runtime.events.publish(await checkTicket(db, lateId, new Date(Date.now() + 16 * 60_000))); // as the timer would, 16 minutes on
    const notice = page.locator('#notices .notice', { hasText: lateTicket });
    await notice.waitFor({ timeout: LIVE_MS });
    await expect(notice.textContent()).resolves.toContain(`Quá hạn phân loại: hồ sơ ${lateTicket}`);
    await expect(notice.locator('a').getAttribute('href')).resolves.toBe(`/console#${lateTicket}`);
    // The public page: the same count for the unit, and not one ticket code, title or name.
    await page.goto(`${server.url}/minh-bach/${BEN_THANH.code}`);
    const body = (await page.textContent('body')) ?? '';
    expect(body).not.toContain(ticketCode);
    expect(body).not.toContain(reportCode);
    expect(body).not.toContain(AGENT.displayName);
    await screenshot(page, 'transparency-unit', true);
    await ctx.close();
  }, 30_000);

  it('the public report form works under the Content-Security-Policy: its stylesheet and script load, nothing is refused', async () => {
    const citizen = await citizenCtx.newPage();
    watch(citizen, 'form');
    const res = await citizen.goto(`${server.url}/`);
    expect(res!.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    // The stylesheet applied (the header's colour), and the script ran (it shows the location button).
    expect(await citizen.evaluate(() => getComputedStyle(document.querySelector('header')!).backgroundColor)).toBe('rgb(11, 92, 173)');
    await citizen.click('summary');
    await expect(citizen.isVisible('#geo')).resolves.toBe(true);
    await screenshot(citizen, 'report-form');
  }, 20_000);

  it('no page of ours shows inside another site\'s frame', async () => {
    const page = await citizenCtx.newPage();
    await page.setContent(`<iframe id="f" src="${server.url}/login" width="400" height="300"></iframe>`);
    await page.waitForTimeout(500);
    const frame = page.frames().find((f) => f !== page.mainFrame());
    // Chromium replaces a refused frame with its own error page: the sign-in form is not in it.
    expect(await frame?.evaluate(() => Boolean(document.querySelector('#password'))).catch(() => false)).toBe(false);
    await page.close();
  }, 20_000);

  it('no page threw an uncaught error, and the Content-Security-Policy refused nothing', () => {
    expect(pageErrors).toEqual([]);
    expect(consoleErrors.filter((e) => /Content Security Policy|Refused to/i.test(e))).toEqual([]);
  });

  it('an expired session sends the console back to /login on reload', async () => {
    await server.runtime.handle.db.updateTable('sessions').set({ expires_at: new Date(Date.now() - 60_000) }).where('user_id', '=', agentId).execute();
    await agent.reload();
    await agent.waitForURL((u) => u.pathname === '/login');
    const url = new URL(agent.url());
    expect(url.searchParams.get('next')).toBe('/console');
    await agent.waitForSelector('form[action="/login"] #username');
    await screenshot(agent, 'expired-to-login');
    // Signing in again goes back to the console.
    await signInAs(agent, AGENT.username, PW, { landing: '/console' });
    await agent.waitForSelector('#conn-state[data-state="online"]');
  }, 30_000);
});
