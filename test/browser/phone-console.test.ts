import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertUser } from '../../src/core/staff/users.ts';
import type { Server } from '../../src/server.ts';
import type { IncomingCall } from '../../src/wire/realtime.ts';
import { TEST_DB } from '../support/db.ts';
import { PLACES } from '../support/factories.ts';
import { sidOf, startFakeTwilio, TWILIO, twilioSignature, type FakeTwilio } from '../support/fake-twilio.ts';
import { AGENT_VIEW, HAVE_CHROMIUM, launchChromium, signInAs, testServer } from './support.ts';

// The console side of the phone line in a real browser (Debian's chromium driven by
// playwright-core) against the real server, its phone line driven by signed Twilio webhooks: a
// citizen who reported before calls; the agent's
// console pops the call with their open ticket, follows the call to its end, and the agent logs
// what the caller says with the keyboard alone, through the phone form: every invalid field
// marked, what was typed kept, then the new report's code. Screenshots go to
// test-output/browser/<project>-phone-NN-*.png.

const SHOTS = path.resolve('test-output/browser');
const PW = 'matkhau-tong-dai-1';
const AGENT = { username: 'ph-agent', displayName: 'Đỗ Thị Tổng Đài' };
const CALLER = { phone: '0903 555 246', e164: '+84903555246', name: 'Nguyễn Thị Hoa' };
const LIVE_MS = 5_000;

describe.skipIf(!HAVE_CHROMIUM)(`browser: the phone line on the console (${TEST_DB})`, () => {
  let server: Server;
  let stopServer: (() => Promise<void>) | undefined;
  let browser: Browser;
  let agent: Page;
  let shot = 0;
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  let earlierTicket = '';
  const call = { call: sidOf('CA') };
  let twilio: FakeTwilio;

  const screenshot = async (name: string) => {
    shot++;
    await agent.screenshot({ path: path.join(SHOTS, `${TEST_DB}-phone-${String(shot).padStart(2, '0')}-${name}.png`) });
  };

  /** Twilio drives the call: signed webhooks to the phone line, which pops it on the consoles. */
  const twilioPost = (path: string, params: Record<string, string>) => {
    const all = { AccountSid: TWILIO.sid, ...params };
    const url = `${server.url}/channels/twilio${path}`;
    return fetch(url, {
      method: 'POST', body: new URLSearchParams(all).toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignature(TWILIO.token, url, all) },
    });
  };
  const signal = async (state: IncomingCall['state']) => {
    const caller = { CallSid: call.call, From: CALLER.e164, To: TWILIO.number };
    if (state === 'queued') {
      expect((await twilioPost('/voice', { ...caller, CallStatus: 'ringing' })).status).toBe(200);
      // 0: an agent, please (the line is staffed: the caller waits in the queue).
      expect(await (await twilioPost('/voice/menu?attempt=0', { ...caller, Digits: '0' })).text()).toContain('<Enqueue');
    } else {
      expect((await twilioPost('/voice/status', { ...caller, CallStatus: 'completed', CallDuration: '95' })).status).toBe(204);
    }
  };

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    for (const f of readdirSync(SHOTS)) if (f.startsWith(`${TEST_DB}-phone-`) && f.endsWith('.png')) rmSync(path.join(SHOTS, f));
    twilio = await startFakeTwilio();
    // The phone line on (Twilio's settings, its REST API faked): calls reach the console through it.
    const env = { TWILIO_ACCOUNT_SID: TWILIO.sid, TWILIO_AUTH_TOKEN: TWILIO.token, TWILIO_PHONE_NUMBER: TWILIO.number, TWILIO_API_URL: twilio.url };
    ({ server, stop: stopServer } = await testServer('phone-browser', env, {}, { template: true }));
    await upsertUser(server.runtime.handle.db, { ...AGENT, password: PW, role: 'agent' });

    // The caller reported before (by the app): an open ticket the pop shows.
    const res = await fetch(`${server.url}/api/v1/reports`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        text: 'Đèn đường trước nhà văn hoá tắt đã ba đêm, hẻm tối om', ...PLACES.saiGon,
        citizen: { phone: CALLER.phone, name: CALLER.name },
      }),
    });
    expect(res.status).toBe(201);
    await server.runtime.worker.idle();
    const code = ((await res.json()) as { code: string }).code;
    earlierTicket = ((await (await fetch(`${server.url}/api/v1/reports/${code}`)).json()) as { ticket: string }).ticket;
    expect(earlierTicket).toMatch(/^TK-/);

    browser = await launchChromium();
    const context = await browser.newContext(AGENT_VIEW);
    context.setDefaultTimeout(10_000);
    agent = await context.newPage();
    agent.on('pageerror', (err) => pageErrors.push(err.message));
    agent.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(`${m.text()} (${m.location().url})`); });
    await signInAs(agent, AGENT.username, PW, { base: server.url, landing: '/console' });
    await agent.waitForSelector('#conn-state[data-state="online"]');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stopServer?.();
    await twilio?.close();
  }, 60_000);

  it('pops an incoming call with the caller, their open ticket and the call\'s state, without taking the focus', async () => {
    await agent.focus('#f-q');
    await signal('queued');
    const pop = agent.locator(`[data-testid="call-pop"][data-call="${call.call}"]`);
    await pop.waitFor({ timeout: LIVE_MS });
    await expect(pop.getAttribute('role')).resolves.toBe('dialog');
    await expect(pop.locator('[data-testid="call-number"]').textContent()).resolves.toBe(CALLER.phone);
    await expect(pop.textContent()).resolves.toContain(CALLER.name);
    await expect(pop.locator('[data-testid="call-state"]').textContent()).resolves.toContain('Đang chờ điện thoại viên');
    await expect(pop.locator(`a[href="#${earlierTicket}"]`).count()).resolves.toBeGreaterThan(0);
    // Non-modal: what the agent was doing keeps the focus.
    expect(await agent.evaluate(() => document.activeElement?.id)).toBe('f-q');
    await screenshot('call-pop');

    // The same call signalled again updates its pop in place.
    await signal('ended');
    await agent.waitForFunction((id) => document.querySelector(`[data-call="${id}"] [data-testid="call-state"]`)?.textContent?.includes('Cuộc gọi đã kết thúc'), call.call);
    await expect(agent.locator('[data-testid="call-pop"]').count()).resolves.toBe(1);

    // Its open ticket opens from the pop.
    await pop.locator(`a[href="#${earlierTicket}"]`).first().click();
    await agent.waitForSelector(`article.ticket[data-code="${earlierTicket}"] [data-action="claim"]`);
    await screenshot('call-pop-ticket-open');
  }, 30_000);

  it('logs what the caller says from the pop, with the keyboard: every invalid field marked, input kept, then the report code', async () => {
    await agent.focus('#f-q');
    await agent.keyboard.press('Escape'); // leave the search box: shortcuts work again
    await agent.keyboard.press('g'); // to the call's pop
    expect(await agent.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.action)).toBe('call-report');
    await agent.keyboard.press('Enter');
    await agent.waitForSelector('[data-testid="phone-report"]:not([hidden])');
    await expect(agent.inputValue('#pr-phone')).resolves.toBe(CALLER.phone);
    await expect(agent.inputValue('#pr-name')).resolves.toBe(CALLER.name);
    expect(await agent.evaluate(() => document.activeElement?.id)).toBe('pr-text');
    // The number is looked up: who calls, and their ticket still open.
    await agent.waitForSelector(`[data-testid="caller-hint"] a[href="#${earlierTicket}"]`);
    await expect(agent.textContent('[data-testid="caller-hint"]')).resolves.toContain(CALLER.name);

    // Nothing said yet and a mistyped number: both fields are marked at once, nothing is lost.
    await agent.keyboard.press('Tab'); // address
    await agent.keyboard.type('P.12, Q.3');
    await agent.waitForFunction(() => document.querySelector('[data-testid="place-hint"]')?.textContent?.includes('Phường Nhiêu Lộc'));
    await agent.keyboard.press('Enter'); // category
    await agent.keyboard.press('Enter'); // phone
    expect(await agent.evaluate(() => document.activeElement?.id)).toBe('pr-phone');
    await agent.keyboard.press('Control+A');
    await agent.keyboard.type('0903 55');
    await agent.keyboard.press('Control+Enter');
    await agent.waitForSelector('#pr-text[aria-invalid="true"]');
    await agent.waitForSelector('#pr-phone[aria-invalid="true"]');
    await expect(agent.textContent('#pr-text-error')).resolves.toBe('Vui lòng mô tả sự việc cần phản ánh.');
    await expect(agent.textContent('#pr-phone-error')).resolves.toBe('Số điện thoại không hợp lệ.');
    await expect(agent.textContent('#pr-summary')).resolves.toContain('Có 2 ô cần sửa');
    await expect(agent.inputValue('#pr-address')).resolves.toBe('P.12, Q.3');
    expect(await agent.evaluate(() => document.activeElement?.id)).toBe('pr-text'); // the first one to fix
    await screenshot('phone-form-invalid');

    await agent.keyboard.type('Bà Hoa gọi lại: đèn đường trong hẻm 45 vẫn tắt, cột đèn nghiêng sắp đổ');
    await expect(agent.getAttribute('#pr-text', 'aria-invalid')).resolves.toBeNull();
    await agent.focus('#pr-phone');
    await agent.keyboard.press('Control+A');
    await agent.keyboard.type(CALLER.phone);
    await agent.keyboard.press('Enter'); // to the name, the last field
    expect(await agent.evaluate(() => document.activeElement?.id)).toBe('pr-name');
    await agent.keyboard.press('Enter'); // submits
    const code = (await agent.waitForSelector('[data-testid="logged-code"]')).textContent();
    await expect(code).resolves.toMatch(/^PA-/);
    const reportCode = (await code)!;
    await expect(agent.textContent('[data-testid="phone-report-result"]')).resolves.toContain(`Đã ghi nhận phản ánh ${reportCode}`);
    // Ready for the caller's next report: text cleared, the caller kept, the call link gone.
    await expect(agent.inputValue('#pr-text')).resolves.toBe('');
    await expect(agent.inputValue('#pr-phone')).resolves.toBe(CALLER.phone);
    await expect(agent.inputValue('#pr-call')).resolves.toBe('');
    await screenshot('phone-report-logged');

    // The worker files it like any channel's report: on the phone channel, for this caller.
    await server.runtime.worker.idle();
    const stored = await server.runtime.handle.db.selectFrom('inbound_messages').select(['channel', 'external_id']).where('code', '=', reportCode).executeTakeFirstOrThrow();
    expect(stored).toEqual({ channel: 'phone', external_id: `agent:${call.call}` });
    const status = (await (await fetch(`${server.url}/api/v1/reports/${reportCode}`)).json()) as { ticket: string | null; area: { code: string } | null };
    expect(status.ticket).toMatch(/^TK-/);

    // Esc closes the pop; the caller's tickets are found by their number in the queue.
    await agent.locator(`[data-call="${call.call}"] [data-action="call-report"]`).focus();
    await agent.keyboard.press('Escape');
    await agent.waitForSelector('[data-testid="call-pop"]', { state: 'detached' });
    await agent.fill('#f-q', '84903555246');
    await agent.waitForSelector(`#queue-body tr[data-code="${earlierTicket}"]`);
  }, 40_000);

  it('fits at least ten queue rows on a 1366x768 screen, each in two lines, and keeps queue and ticket side by side at 1024 px', async () => {
    const topics = [
      'Ổ gà lớn giữa đường, xe máy bị té', 'Rác thải chất đống bốc mùi hôi thối', 'Quán karaoke hát to đến 1 giờ sáng',
      'Cây xanh nghiêng sắp ngã xuống đường', 'Nước ngập sâu sau cơn mưa, xe chết máy', 'Mất nước sinh hoạt từ sáng đến giờ',
      'Công trình xây dựng không phép lấn ra hẻm', 'Lấn chiếm vỉa hè bán hàng, người đi bộ phải xuống lòng đường',
      'Nhóm thanh niên tụ tập đua xe ban đêm', 'Chó thả rông không rọ mõm cắn người', 'Cống thoát nước bị vỡ nắp rất nguy hiểm',
      'Khói từ lò đốt rác gây ô nhiễm cả khu phố',
    ];
    const places = [PLACES.benThanh, PLACES.saiGon, PLACES.binhTay];
    await Promise.all(topics.map(async (text, i) => {
      const res = await fetch(`${server.url}/api/v1/reports`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: `${text} (khu ${i + 1})`, ...places[i % places.length], citizen: { phone: `0907 000 ${String(100 + i)}` } }),
      });
      expect(res.status).toBe(201);
    }));
    await server.runtime.worker.idle();
    await agent.setViewportSize({ width: 1366, height: 768 });
    await agent.goto(`${server.url}/console`);
    await agent.waitForFunction(() => document.querySelectorAll('[data-testid="queue-row"]').length >= 12);
    const rows = await agent.evaluate(() => [...document.querySelectorAll<HTMLElement>('[data-testid="queue-row"]')].map((r) => {
      const b = r.getBoundingClientRect();
      return { top: b.top, bottom: b.bottom, height: b.height };
    }));
    const visible = rows.filter((r) => r.top >= 0 && r.bottom <= 768);
    expect(visible.length).toBeGreaterThanOrEqual(10);
    // Two lines of text at most (15 px type, 1.45 line height, padding): no row wraps to a third.
    for (const r of rows) expect(r.height).toBeLessThan(60);
    // Each row's badge names the stage due next.
    await expect(agent.locator('[data-testid="queue-row"] .sla').first().textContent()).resolves.toMatch(/phân loại/i);
    const file = path.join(tmpdir(), `phananh-${TEST_DB}-console-1366x768.png`);
    await agent.screenshot({ path: file });
    console.log(`[browser] console at 1366x768 with ${visible.length} queue rows in view: ${file}`);

    await agent.setViewportSize({ width: 1024, height: 768 });
    await agent.keyboard.press('j');
    await agent.keyboard.press('Enter');
    await agent.waitForSelector('article.ticket [data-testid="ticket-status"]');
    const [queue, ticket] = await Promise.all(['.queue-pane', '.ticket-pane'].map((sel) => agent.locator(sel).boundingBox()));
    expect(queue!.x + queue!.width).toBeLessThanOrEqual(ticket!.x + 1);
    expect(Math.abs(queue!.y - ticket!.y)).toBeLessThan(2);
    await screenshot('console-1024');
  }, 60_000);

  it('no page threw an uncaught error, and the Content-Security-Policy refused nothing', () => {
    expect(pageErrors).toEqual([]);
    expect(consoleErrors.filter((e) => /Content Security Policy|Refused to/i.test(e))).toEqual([]);
  });
});
