import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HCMC } from '../../src/city/hcmc.ts';
import type { Server } from '../../src/server.ts';
import { upsertUser } from '../../src/core/staff/users.ts';
import { TEST_DB } from '../support/db.ts';
import { PNG_1PX } from '../support/factories.ts';
import { signIn, staffClient } from '../support/runtime.ts';
import { AGENT_VIEW, HAVE_CHROMIUM, launchChromium, signInAs, testServer } from './support.ts';

// Issue 16's done-when, the resident's side, in a real browser at 360 px (Debian's chromium
// driven by playwright-core) against the real server, its map tiles served by a tiny local tile
// server: a resident types an address and picks a suggestion, taps the map where the problem
// is, sees the unit it is in and a ticket already open there on the same topic, says "this is my
// problem too" with their text and photo, and their tracking page shows their own report on that
// ticket. Then the ward resolves it, the resident says on that page it is not fixed, and the
// agent's console shows it back in the queue with the resident's reason; the supervisors'
// dashboard draws its open tickets on the same tiles. Screenshots go to test-output/browser/<project>-map-NN-*.png.

const SHOTS = path.resolve('test-output/browser');
/** Where the map opens: the city centre the profile gives; the earlier report is filed right there. */
const CENTRE = HCMC.mapCentre!;

describe.skipIf(!HAVE_CHROMIUM)(`browser: the resident picks the place on a map and joins a nearby ticket (${TEST_DB})`, () => {
  let server: Server;
  let stopServer: (() => Promise<void>) | undefined;
  let tiles: HttpServer;
  const tileRequests: string[] = [];
  let browser: Browser;
  let page: Page;
  let shot = 0;
  let ticket = '';
  let code = '';
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];

  const screenshot = async (name: string) => {
    shot++;
    await page.screenshot({ path: path.join(SHOTS, `${TEST_DB}-map-${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
  };

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    for (const f of readdirSync(SHOTS)) if (f.startsWith(`${TEST_DB}-map-`) && f.endsWith('.png')) rmSync(path.join(SHOTS, f));
    // Any /{z}/{x}/{y}.png is a tile (one pixel, drawn at 256 px); anything else is not.
    tiles = createServer((req, res) => {
      tileRequests.push(req.url ?? '');
      if (!/^\/\d+\/\d+\/\d+\.png$/.test(req.url ?? '')) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'max-age=60' }).end(PNG_1PX);
    });
    await new Promise<void>((resolve) => tiles.listen(0, '127.0.0.1', resolve));
    const tileUrl = `http://127.0.0.1:${(tiles.address() as AddressInfo).port}/{z}/{x}/{y}.png`;
    ({ server, stop: stopServer } = await testServer('map-browser', undefined, {
      MAP_TILE_URL: tileUrl, MAP_TILE_ATTRIBUTION: 'Bản đồ thử nghiệm <https://example.org/ban-quyen>',
    }, { template: true }));

    // Another resident reported the flooding there earlier, through the app: an open ticket.
    const res = await fetch(`${server.url}/api/v1/reports`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'Nước ngập quá bánh xe trên đường Lê Lợi, xe chết máy', category: 'ngap_nuoc', lat: CENTRE.lat, lng: CENTRE.lng, citizen: { phone: '0903 616 001', name: 'Trần Văn Trước' } }),
    });
    expect(res.status).toBe(201);
    await server.runtime.worker.idle();
    ticket = ((await (await fetch(`${server.url}/api/v1/reports/${((await res.json()) as { code: string }).code}`)).json()) as { ticket: string }).ticket;
    expect(ticket).toMatch(/^TK-/);

    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'vi-VN', timezoneId: 'Asia/Ho_Chi_Minh', isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    context.setDefaultTimeout(10_000);
    page = await context.newPage();
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`${m.text()} (${m.location().url})`); });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stopServer?.();
    await new Promise((resolve) => tiles?.close(resolve));
  }, 60_000);

  it('files a report by tapping the map, sees the nearby ticket, joins it, and finds its own text and photo on the tracking page', async () => {
    await page.goto(`${server.url}/`);
    // The map, its tiles from the tile server the settings name, and their attribution.
    await page.locator('#report-map .leaflet-tile-loaded').first().waitFor();
    expect(tileRequests.some((u) => /^\/14\/\d+\/\d+\.png$/.test(u))).toBe(true);
    await expect(page.locator('#report-map .leaflet-control-attribution a').getAttribute('href')).resolves.toBe('https://example.org/ban-quyen');

    await page.fill('#text', 'Đường ngập nặng, nước tràn vào nhà dân, cống thoát nước bị nghẹt');
    await page.selectOption('#category', 'ngap_nuoc');
    // The address box suggests as one types, old names too: the arrow keys and Enter choose.
    await page.locator('#address').pressSequentially('12 Lê Lợi, ben th');
    await page.locator('#address-list [role="option"]', { hasText: 'Phường Bến Thành' }).first().waitFor();
    await screenshot('suggestions');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await expect(page.inputValue('#address')).resolves.toBe('12 Lê Lợi, Phường Bến Thành');

    // A tap on the map where the water is: the pin fills the boxes and says which unit it is in...
    const map = page.locator('#report-map');
    await map.scrollIntoViewIfNeeded();
    const box = (await map.boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await expect.poll(() => page.inputValue('#lat')).toMatch(/^10\.77\d+$/);
    expect(Math.abs(Number(await page.inputValue('#lat')) - CENTRE.lat)).toBeLessThan(0.0005);
    expect(Math.abs(Number(await page.inputValue('#lng')) - CENTRE.lng)).toBeLessThan(0.0005);
    const unit = (await (await fetch(`${server.url}/api/v1/places/locate?lat=${CENTRE.lat}&lng=${CENTRE.lng}`)).json()) as { unit: { name: string } };
    await expect.poll(() => page.textContent('[data-testid="place-unit"]')).toBe(`Vị trí thuộc: ${unit.unit.name}`);
    // ...and the flooding already reported there, with its status, and nothing its reporter wrote.
    const listed = page.locator(`[data-testid="nearby"] li[data-ticket="${ticket}"]`);
    await listed.waitFor();
    await expect(listed.textContent()).resolves.toMatch(/Ngập nước · Mới tiếp nhận.*1 người đã phản ánh/);
    const nearbyText = (await page.textContent('[data-testid="nearby"]'))!;
    for (const secret of ['Lê Lợi, xe chết', 'Trần Văn', '616 001']) expect(nearbyText).not.toContain(secret);

    // "This is my problem too": chosen, then the form is sent as usual, with a photo.
    await listed.getByRole('button', { name: 'Đây cũng là vấn đề của tôi' }).click();
    await expect(listed.locator('button').getAttribute('aria-pressed')).resolves.toBe('true');
    await expect(page.textContent('#joining')).resolves.toContain(ticket);
    await page.setInputFiles('#photos', { name: 'ngap.png', mimeType: 'image/png', buffer: PNG_1PX });
    // 360 px wide: nothing runs off the side.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await screenshot('nearby');
    await Promise.all([page.waitForURL(/\/track\/PA-[0-9A-Z]{8}\?new=1$/), page.click('form button[type=submit]')]);
    code = /\/track\/(PA-[0-9A-Z]{8})/.exec(page.url())![1]!;
    await server.runtime.worker.idle();
    await page.reload();
    await expect(page.textContent('.report-text')).resolves.toBe('Đường ngập nặng, nước tràn vào nhà dân, cống thoát nước bị nghẹt');
    await expect(page.textContent('main')).resolves.toContain(`Hồ sơ xử lý${ticket}`);
    await expect(page.textContent('main')).resolves.toMatch(/Số người cùng phản ánh\s*2/);
    // Its own photo, served under its own code and drawn.
    const photo = page.locator('ul.thumbs img').first();
    await expect(photo.getAttribute('src')).resolves.toMatch(new RegExp(`^/track/${code}/photos/`));
    await expect.poll(() => photo.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBe(1);
    expect(await page.textContent('main')).not.toContain('Trần Văn Trước');
    await screenshot('tracking');

    const report = (await (await fetch(`${server.url}/api/v1/reports/${code}`)).json()) as { ticket: string };
    expect(report.ticket).toBe(ticket);
    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });

  it('after the ward resolves it, the resident reopens it from the tracking page, and the console shows it back in the queue with the reason', async () => {
    expect(code).toMatch(/^PA-/);
    const rt = server.runtime;
    const unit = (await rt.handle.db.selectFrom('tickets').select('area_code').where('code', '=', ticket).executeTakeFirstOrThrow()).area_code!;
    await upsertUser(rt.handle.db, { username: 'map-agent', password: 'password-agent', role: 'agent' });
    await upsertUser(rt.handle.db, { username: 'map-ward', password: 'password-ward', role: 'ward_officer', areaCodes: [unit] });
    const agent = staffClient(rt, await signIn(rt, 'map-agent', 'password-agent'));
    const ward = staffClient(rt, await signIn(rt, 'map-ward', 'password-ward'));
    expect((await agent.post(`/api/console/tickets/${ticket}/dispatch`, {})).status).toBe(200);
    expect((await ward.post(`/api/ward/tickets/${ticket}/resolve`, { note: 'Đã nạo vét cống, nước đã rút' })).status).toBe(200);

    // The agent's console and the ward's view are open while the resident answers.
    const console_ = await (await browser.newContext(AGENT_VIEW)).newPage();
    console_.on('pageerror', (err) => pageErrors.push(err.message));
    await signInAs(console_, 'map-agent', 'password-agent', { base: server.url, landing: '/console' });
    const wardPage = await (await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'vi-VN', isMobile: true, hasTouch: true })).newPage();
    wardPage.on('pageerror', (err) => pageErrors.push(err.message));
    await signInAs(wardPage, 'map-ward', 'password-ward', { base: server.url, landing: '/ward' });
    for (const p of [console_, wardPage]) await p.locator('#conn-state[data-state="online"]').waitFor();

    // The resident's page says it is resolved and asks whether it is fixed.
    await page.goto(`${server.url}/track/${code}`);
    await expect(page.textContent('main')).resolves.toContain('Đã xử lý xong');
    await page.locator('#feedback').scrollIntoViewIfNeeded();
    const reason = 'Mưa chiều nay đường vẫn ngập tới đầu gối, cống vẫn nghẹt';
    await page.fill('#feedback textarea[name="reason"]', reason);
    await page.setInputFiles('#reopen-photos', { name: 'van-ngap.png', mimeType: 'image/png', buffer: PNG_1PX });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await Promise.all([page.waitForURL(/[?&]feedback=reopened/), page.click('form[action$="/reopen"] button[type=submit]')]);
    await expect(page.textContent('#feedback-done')).resolves.toContain('sự việc chưa được khắc phục');
    await screenshot('reopened');

    // Both hear of it at once; the agent's console has it back in the queue, and why.
    const notice = console_.locator('#notices .notice', { hasText: ticket });
    await notice.waitFor();
    await expect(notice.textContent()).resolves.toContain(`chưa khắc phục xong: hồ sơ ${ticket} được mở lại`);
    await expect(wardPage.locator('#notices .notice', { hasText: ticket }).textContent()).resolves.toContain('tổng đài 1022 sẽ giao lại');
    await notice.locator('a').click();
    const row = console_.locator(`#queue-body tr[data-code="${ticket}"]`);
    await row.waitFor();
    const reopened = console_.locator('#t-events li[data-type="ticket.reopened"]');
    await reopened.waitFor();
    await expect(reopened.textContent()).resolves.toContain(reason);
    await console_.screenshot({ path: path.join(SHOTS, `${TEST_DB}-map-${String(++shot).padStart(2, '0')}-console-reopened.png`) });

    // The supervisors' dashboard draws its map of open tickets on the same tiles, in place of the outlines.
    await upsertUser(rt.handle.db, { username: 'map-sup', password: 'password-sup', role: 'supervisor' });
    const dash = await (await browser.newContext(AGENT_VIEW)).newPage();
    dash.on('pageerror', (err) => pageErrors.push(err.message));
    dash.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`dashboard: ${m.text()}`); });
    await signInAs(dash, 'map-sup', 'password-sup', { base: server.url });
    await dash.goto(`${server.url}/dashboard`);
    const tileMap = dash.locator('[data-testid="dash-tile-map"]');
    await tileMap.locator('.leaflet-tile-loaded').first().waitFor();
    await expect.poll(() => tileMap.locator('path.mark-open').count()).toBeGreaterThanOrEqual(1);
    await expect(dash.locator('.dash-map-outlines').isHidden()).resolves.toBe(true);
    await dash.screenshot({ path: path.join(SHOTS, `${TEST_DB}-map-${String(++shot).padStart(2, '0')}-dashboard-map.png`) });
    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
  }, 60_000);
});
