import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allChannels } from '../../channels/index.ts';
import { digestMail } from '../../channels/email/digest.ts';
import { parseEmail, type EmailPayload } from '../../channels/email/parse.ts';
import { LocalFileStore } from '../../src/intake/file-store.ts';
import { upsertUser } from '../../src/core/staff/users.ts';
import { AppError, defineChannel, type OutboundMessage } from '../../src/intake/channel-kit.ts';
import { createLogger } from '../../src/log.ts';
import { attachRealtime, type Realtime } from '../../src/realtime/server.ts';
import type { Runtime } from '../../src/runtime.ts';
import { TEST_DB } from '../support/db.ts';
import { PLACES } from '../support/factories.ts';
import { testRuntime } from '../support/runtime.ts';
import { AGENT_VIEW, HAVE_CHROMIUM, launchChromium, signInAs } from './support.ts';

// The messages to citizens on the console's ticket panel, in a real browser against the app with
// two sending channels of its own: a fanpage whose Messenger window has closed (it can answer a
// comment privately, not answer it in Messenger), and SMS. An agent's answer to a Facebook report fails; the
// panel shows it failed and why, and offers "Gửi qua SMS", which sends the same answer to the
// citizen's phone. An email report (a petition with a PDF, then the citizen's reply quoting our
// answer) shows each message as written: the quote folded behind a toggle, the PDF as a link
// that opens it. Screenshots go to test-output/browser/<project>-messages-NN-*.png.

const SHOTS = path.resolve('test-output/browser');
const PW = 'matkhau-tin-nhan-1';

const sent: { sms: OutboundMessage[]; facebook: OutboundMessage[] } = { sms: [], facebook: [] };
const facebook = defineChannel({
  name: 'facebook', label: { vi: 'Facebook', en: 'Facebook', background: '#e7f0fd', text: '#0b3d91' }, replies: 'send',
  async send(m) {
    // Its acknowledgement went out at once; an agent's answer comes too late for the window.
    if (m.kind === 'reply') {
      throw new AppError('recipient_unreachable', 422, 'outside the messaging window', 'Đã quá 24 giờ kể từ tin nhắn cuối của người dân: Messenger không cho gửi.');
    }
    sent.facebook.push(m);
    return { providerId: `m_${m.id}` };
  },
});
const sms = defineChannel({
  name: 'sms', label: { vi: 'Tin nhắn SMS', en: 'SMS', background: '#e8eaf6', text: '#283593' }, replies: 'send',
  async send(m) {
    sent.sms.push(m);
    return { providerId: `SM${m.id}`, to: m.contact.phone, segments: 2 };
  },
});

describe.skipIf(!HAVE_CHROMIUM)(`browser: messages to citizens on the ticket panel (${TEST_DB})`, () => {
  let rt: Runtime;
  let server: ServerType;
  let realtime: Realtime;
  let base = '';
  let browser: Browser;
  let agent: Page;
  let ticket = '';
  let emailTicket = '';
  let shot = 0;
  const pageErrors: string[] = [];

  const screenshot = async (name: string) => {
    shot++;
    await agent.screenshot({ path: path.join(SHOTS, `${TEST_DB}-messages-${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
  };

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    rt = await testRuntime({}, { channels: [...allChannels.filter((c) => c.name !== 'sms' && c.name !== 'facebook'), facebook, sms] });
    await upsertUser(rt.handle.db, { username: 'msg-agent', displayName: 'Lý Thị Tin', password: PW, role: 'agent' });
    ({ server, base } = await new Promise<{ server: ServerType; base: string }>((resolve) => {
      const s = serve({ fetch: rt.app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve({ server: s, base: `http://127.0.0.1:${info.port}` }));
    }));
    realtime = await attachRealtime({
      httpServer: server, db: rt.handle.db, events: rt.events, log: createLogger('silent'),
      databaseUrl: rt.handle.kind === 'postgres' ? rt.handle.url : undefined,
    });
    // A comment on the fanpage from someone whose phone number is known too.
    const accepted = await rt.intake.accept({
      channel: 'facebook', externalId: 'comment-1', payload: { comment: 1 },
      report: { text: 'Cống thoát nước trước chợ Bến Thành bị nghẹt, nước tràn lên vỉa hè', ...PLACES.benThanh, citizen: { facebook_id: '1234567890', phone: '0905 222 333', name: 'Lê Thị Bình Luận' }, attachments: [] },
    });
    await rt.worker.idle();
    const status = (await (await rt.app.request(`/api/v1/reports/${accepted.code}`)).json()) as { ticket: string };
    ticket = status.ticket;

    // An email thread of two messages, read as the email channel reads them (its files in the app's store).
    const files = new LocalFileStore(path.join(rt.config.dataDir, 'uploads'));
    const limits = { fileMaxBytes: 10 * 1024 * 1024, photosMax: 5, pdfsMax: 3 };
    for (const [n, name] of ['10-outlook-pdf-petition.eml', '14-reply-outlook-vi.eml'].entries()) {
      const mail = await digestMail(readFileSync(path.resolve('channels/email/fixtures', name)), files, limits);
      const payload: EmailPayload = { v: 1, raw: null, mail, thread: 'browser-thread', threading: null };
      const input = parseEmail(payload);
      const done = await rt.intake.accept({ channel: 'email', externalId: `browser-mail-${n}`, payload, report: { ...input, ...PLACES.benThanh, text: input.text } });
      await rt.worker.idle();
      if (n === 0) emailTicket = ((await (await rt.app.request(`/api/v1/reports/${done.code}`)).json()) as { ticket: string }).ticket;
    }

    browser = await launchChromium();
    const context = await browser.newContext(AGENT_VIEW);
    context.setDefaultTimeout(10_000);
    agent = await context.newPage();
    agent.on('pageerror', (err) => pageErrors.push(err.message));
    await signInAs(agent, 'msg-agent', PW, { base, landing: '/console' });
    await agent.waitForSelector('#conn-state[data-state="online"]');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await realtime?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await rt?.close();
  }, 60_000);

  it('shows a failed answer highlighted with its reason, and sends it again through SMS from the log', async () => {
    await agent.goto(`${base}/console#${ticket}`);
    await agent.waitForSelector(`article.ticket[data-code="${ticket}"] #reply-form`);
    // A Facebook report: a private answer can be chosen.
    await agent.waitForSelector('#reply-private-field:not([hidden])');
    await agent.fill('#reply-text', 'Tổng đài đã chuyển phường nạo vét cống trong sáng nay.');
    await agent.click('#reply-form [data-action="reply"]');
    // The worker tries; Messenger refuses; the panel updates live (a message sent fine writes no
    // event: the panel looks again while one is still queued).
    const failedRow = await agent.waitForSelector('[data-testid="messages"] tr.msg-failed', { timeout: 5_000 });
    await expect(failedRow.textContent()).resolves.toContain('Không gửi được');
    await expect(agent.textContent('#t-messages')).resolves.toContain('1 tin không gửi được');
    const event = agent.locator('#t-events li[data-type="outbound.failed"]');
    await expect(event.textContent()).resolves.toContain('Không gửi được tin cho người dân');
    await expect(event.textContent()).resolves.toContain('Lý do: Đã quá 24 giờ kể từ tin nhắn cuối của người dân');
    await expect(event.textContent()).resolves.toContain('Có thể liên lạc qua: Số điện thoại');
    await screenshot('failed');

    await event.locator('[data-action="reply-via-sms"]').click();
    await expect(agent.textContent('[data-testid="reply-via"]')).resolves.toContain('Gửi qua: Tin nhắn SMS');
    await expect(agent.inputValue('#reply-text')).resolves.toBe('Tổng đài đã chuyển phường nạo vét cống trong sáng nay.');
    expect(await agent.evaluate(() => document.activeElement?.id)).toBe('reply-text');
    await agent.click('#reply-form [data-action="reply"]');
    await agent.waitForFunction(() => [...document.querySelectorAll('[data-testid="messages"] tr.msg')]
      .some((r) => r.textContent?.includes('Tin nhắn SMS') && r.textContent.includes('Đã gửi')), undefined, { timeout: 10_000 });
    expect(sent.sms.at(-1)).toMatchObject({ channel: 'sms', kind: 'reply', contact: { phone: '+84905222333' }, body: 'Tổng đài đã chuyển phường nạo vét cống trong sáng nay.' });
    await expect(agent.textContent('#t-events li[data-type="ticket.replied"]')).resolves.toContain('Gửi qua: Tin nhắn SMS');
    await expect(agent.isHidden('[data-testid="reply-via"]')).resolves.toBe(true);
    await screenshot('sent-by-sms');
  }, 40_000);

  it('answers the comment privately when the box is ticked', async () => {
    await agent.check('#reply-private');
    await agent.fill('#reply-text', 'Chào chị, tổng đài nhắn riêng: phường sẽ liên hệ chị.');
    await agent.click('#reply-form [data-action="reply"]');
    await agent.waitForFunction(() => [...document.querySelectorAll('[data-testid="messages"] tr.msg')]
      .some((r) => r.textContent?.includes('Trả lời riêng') && r.textContent.includes('Đã gửi')), undefined, { timeout: 10_000 });
    expect(sent.facebook.at(-1)).toMatchObject({ kind: 'private_reply', body: 'Chào chị, tổng đài nhắn riêng: phường sẽ liên hệ chị.' });
    await expect(agent.isChecked('#reply-private')).resolves.toBe(false);
    expect(pageErrors).toEqual([]);
  }, 30_000);

  it('shows an email as written: the quoted history behind a toggle, the PDF as a link that opens it', async () => {
    await agent.goto(`${base}/console#${emailTicket}`);
    const messages = agent.locator(`article.ticket[data-code="${emailTicket}"] .message-as-written`);
    await messages.nth(1).waitFor();
    await expect(messages.count()).resolves.toBe(2);
    const reply = messages.nth(1);
    await expect(reply.locator('.message-text').textContent()).resolves.toContain('Hiện rác vẫn chưa được dọn');
    const quote = reply.locator('.quoted-text');
    await expect(quote.isVisible()).resolves.toBe(false);
    await reply.locator('summary[data-action="quoted-toggle"]').click();
    // Polled: on a loaded machine the opened <details> can be laid out a moment after the click.
    await expect.poll(() => quote.isVisible()).toBe(true);
    await expect(quote.textContent()).resolves.toContain('Kính gửi');
    // The <details> element's toggle event (which renames the summary) comes as a task after the click.
    await expect.poll(() => reply.locator('summary').textContent()).toBe('Ẩn phần trích dẫn');
    // A live update of the ticket (a colleague's note) re-renders the panel: what the agent
    // unfolded stays unfolded.
    await agent.evaluate(async (code) => {
      const { csrf } = await (await fetch('/api/session')).json() as { csrf: string };
      await fetch(`/api/console/tickets/${code}/notes`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf }, body: JSON.stringify({ text: 'Đã liên hệ người phản ánh' }) });
    }, emailTicket);
    await agent.locator(`article.ticket[data-code="${emailTicket}"]`).getByText('Đã liên hệ người phản ánh').first().waitFor();
    await expect(quote.isVisible()).resolves.toBe(true);
    await expect(reply.locator('summary').textContent()).resolves.toBe('Ẩn phần trích dẫn');
    await screenshot('email-quote-open');

    const link = messages.nth(0).locator('a[data-file="pdf"]');
    await expect(link.textContent()).resolves.toContain('Đơn kiến nghị.pdf');
    const href = (await link.getAttribute('href'))!;
    const served = await agent.evaluate(async (url) => {
      const r = await fetch(url);
      return { status: r.status, type: r.headers.get('content-type'), head: (await r.text()).slice(0, 5) };
    }, href);
    expect(served).toEqual({ status: 200, type: 'application/pdf', head: '%PDF-' });
    const [tab] = await Promise.all([agent.context().waitForEvent('page'), link.click()]);
    await tab.waitForLoadState();
    expect(new URL(tab.url()).pathname).toBe(href);
    await tab.close();
    expect(pageErrors).toEqual([]);
  }, 30_000);
});
