import type { AddressObject } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HCMC } from '../../src/city/hcmc.ts';
import { loadConfig } from '../../src/config.ts';
import { UNDELIVERABLE_CODES, type ChannelContext, type OutboundMessage } from '../../src/intake/channel-kit.ts';
import { createLogger } from '../../src/log.ts';
import { reportKey, type ReportNote } from './notes.ts';
import { sendEmail } from './send.ts';
import { emailSettings, type EmailSettings } from './settings.ts';
import { startSmtpSink, type SmtpSink } from './test-peers.ts';

// What the channel sends, and what it refuses to send (loops, dead addresses, automated mail),
// against a real SMTP server (the sink) with the notes and opt-outs of a context in memory.

function context(sink: SmtpSink, more: Record<string, string> = {}) {
  const notes = new Map<string, { kind: string; data: Record<string, unknown>; at: Date }[]>();
  const out = new Map<string, string>();
  const settings = emailSettings.parse({
    IMAP_URL: 'imap://1022%40tphcm.gov.vn:pw@127.0.0.1:1/INBOX', SMTP_URL: sink.url, MAIL_FROM: '"Tổng đài 1022" <1022@tphcm.gov.vn>', ...more,
  });
  const ctx = {
    config: loadConfig({ PUBLIC_URL: 'https://1022.example.vn', DATA_DIR: '/tmp/phananh-send-test' }),
    settings, log: createLogger('silent'), secret: 'test-secret', city: HCMC.wording,
    async note(_channel: string, key: string, kind: string, data: Record<string, unknown>) {
      notes.set(key, [...(notes.get(key) ?? []), { kind, data, at: new Date() }]);
    },
    async notes(_channel: string, key: string) { return (notes.get(key) ?? []).slice(0, 100); },
    optOuts: {
      async isOut(_c: string, address: string) { return out.has(address); },
      async set(_c: string, address: string, isOut: boolean, keyword: string) {
        const changed = out.has(address) !== isOut;
        if (isOut) out.set(address, keyword);
        else out.delete(address);
        return changed;
      },
    },
  } as unknown as ChannelContext<EmailSettings>;
  return { ctx, notes, out };
}

let n = 0;
const message = (over: Partial<OutboundMessage> = {}): OutboundMessage => ({
  id: ++n, channel: 'email', endpoint: '1022@tphcm.gov.vn@127.0.0.1/INBOX', kind: 'received',
  body: HCMC.wording.receivedNotice('PA-7K3M9Q2X'), ticketCode: 'TK-0A1B2C3D', reportCode: 'PA-7K3M9Q2X',
  contact: { email: 'ban.doc@example.vn', name: 'Nguyễn Văn Bạn' }, lastInboundAt: new Date(), attempt: 1,
  source: { externalId: 'mid:first@example.vn', payload: {} }, ...over,
});

const thread: ReportNote = {
  from: 'ban.doc@example.vn', replyTo: null, name: 'Nguyễn Văn Bạn', messageId: 'second@example.vn', references: ['first@example.vn', 'second@example.vn'],
  subject: 'Re: Ngập nước đường Nguyễn Hữu Cảnh', threadKey: 'm:1', noAutoReply: null, mailbox: '1022@tphcm.gov.vn@127.0.0.1/INBOX',
};

describe('sending email', () => {
  let sink: SmtpSink;
  beforeAll(async () => { sink = await startSmtpSink(); });
  afterAll(async () => { await sink?.close(); });
  beforeEach(() => {
    sink.received.length = 0;
    sink.refuse.clear();
    sink.failNext(0);
  });

  it('answers as a reply to the citizen\'s latest message, with a Message-ID that names the report, the same on a retry', async () => {
    const { ctx } = context(sink);
    await ctx.note('email', reportKey('PA-7K3M9Q2X'), 'message', thread as unknown as Record<string, unknown>);
    const m = message();
    const sent = await sendEmail(m, ctx);
    const again = await sendEmail({ ...m, attempt: 2 }, ctx);
    expect(again.providerId).toBe(sent.providerId);
    const [mail] = sink.received;
    expect(mail!.to).toEqual(['ban.doc@example.vn']);
    expect(mail!.parsed.messageId).toBe(`<${sent.providerId}>`);
    expect(mail!.parsed.inReplyTo).toBe('<second@example.vn>');
    expect(mail!.parsed.references).toEqual(['<first@example.vn>', '<second@example.vn>']);
    expect(mail!.parsed.subject).toBe('Re: Ngập nước đường Nguyễn Hữu Cảnh [PA-7K3M9Q2X]');
    expect(([] as AddressObject[]).concat(mail!.parsed.to ?? [])[0]?.value[0]).toEqual({ address: 'ban.doc@example.vn', name: 'Nguyễn Văn Bạn' });
    expect(mail!.parsed.text).toContain('Tổng đài 1022 đã nhận phản ánh của bạn, mã PA-7K3M9Q2X.');
    // One form of address, the city's ("bạn"), from the greeting to the invitation to reply.
    expect(mail!.parsed.text).toMatch(/^Chào bạn Nguyễn Văn Bạn,\n/);
    expect(mail!.parsed.text).toContain('bạn chỉ cần trả lời thư này');
    expect(mail!.parsed.text).not.toMatch(/ông\/bà|Quý/);
    expect(mail!.parsed.text).toContain('https://1022.example.vn/track/PA-7K3M9Q2X');
    expect(mail!.parsed.html).toContain('<a href="https://1022.example.vn/track/PA-7K3M9Q2X">');
    expect(mail!.parsed.headers.get('auto-submitted')).toBe('auto-replied');
    expect(mail!.parsed.headers.get('x-auto-response-suppress')).toBe('All');
  });

  it('writes a fresh subject for a report that came another way, and to the Reply-To the citizen asked for', async () => {
    const { ctx } = context(sink);
    await sendEmail(message({ kind: 'dispatched', body: 'Phản ánh PA-7K3M9Q2X đã được chuyển Phường Bàn Cờ xử lý.' }), ctx);
    expect(sink.received[0]!.parsed.subject).toBe('Tổng đài 1022: phản ánh PA-7K3M9Q2X đã được chuyển xử lý');
    expect(sink.received[0]!.parsed.headers.get('auto-submitted')).toBe('auto-generated');
    await ctx.note('email', reportKey('PA-7K3M9Q2X'), 'message', { ...thread, replyTo: 'con.gai@example.vn' } as unknown as Record<string, unknown>);
    await sendEmail(message({ kind: 'reply', body: 'Chúng tôi đã liên hệ phường.' }), ctx);
    expect(sink.received[1]!.to).toEqual(['con.gai@example.vn']);
    expect(sink.received[1]!.parsed.headers.has('auto-submitted')).toBe(false);
  });

  it('stops automatic messages to one address at MAIL_HOURLY_CAP an hour (a mail loop), never an agent\'s', async () => {
    const { ctx } = context(sink, { MAIL_HOURLY_CAP: '2' });
    await sendEmail(message(), ctx);
    await sendEmail(message({ kind: 'dispatched' }), ctx);
    await expect(sendEmail(message(), ctx)).rejects.toMatchObject({ code: 'recipient_unreachable', message: expect.stringMatching(/2 automatic messages this hour/) });
    await sendEmail(message({ kind: 'reply', body: 'Trả lời của cán bộ.' }), ctx);
    expect(sink.received).toHaveLength(3);
    // Another address is not held back.
    await sendEmail(message({ contact: { email: 'nguoi.khac@example.vn' } }), ctx);
    expect(sink.received).toHaveLength(4);
  });

  it.each([
    ['our own address', '1022@tphcm.gov.vn', 'recipient_invalid'],
    ['a mailbox we read', '1022@TPHCM.gov.vn', 'recipient_invalid'],
    ['a mailer daemon', 'MAILER-DAEMON@mx.example.vn', 'recipient_invalid'],
    ['a no-reply sender', 'no-reply@shop.example.vn', 'recipient_invalid'],
    ['nobody', '', 'recipient_missing'],
  ])('never writes to %s', async (_what, email, code) => {
    const { ctx } = context(sink);
    await expect(sendEmail(message({ contact: { email } }), ctx)).rejects.toMatchObject({ code });
    expect(UNDELIVERABLE_CODES.has(code)).toBe(true);
    expect(sink.received).toHaveLength(0);
  });

  it('answers automated mail only by an agent\'s hand (RFC 3834)', async () => {
    const { ctx } = context(sink);
    await ctx.note('email', reportKey('PA-7K3M9Q2X'), 'message', { ...thread, noAutoReply: 'bulk: Precedence: bulk' } as unknown as Record<string, unknown>);
    for (const kind of ['received', 'dispatched', 'resolved']) {
      await expect(sendEmail(message({ kind }), ctx)).rejects.toMatchObject({ code: 'recipient_unreachable', messageVi: expect.stringContaining('do máy gửi tự động') });
    }
    await sendEmail(message({ kind: 'reply' }), ctx);
    expect(sink.received).toHaveLength(1);
  });

  it('reads from the report\'s stored message that a machine wrote it, before any note', async () => {
    const { ctx } = context(sink);
    const payload = {
      v: 1, raw: null, thread: 'm:2', threading: null,
      mail: { messageId: 'news-1@shop.example.vn', inReplyTo: [], references: [], subject: 'Khuyến mãi', from: { address: 'ban.doc@example.vn', name: null }, replyTo: null, automated: { kind: 'list', reason: 'List-Id' } },
    };
    await expect(sendEmail(message({ source: { externalId: 'mid:news-1@shop.example.vn', payload } }), ctx)).rejects.toMatchObject({ code: 'recipient_unreachable', message: expect.stringContaining('list: List-Id') });
    // Through another channel's report (no endpoint), the payload is that channel's, never read as mail.
    await sendEmail(message({ endpoint: null, source: { externalId: 'SM123', payload } }), ctx);
    expect(sink.received).toHaveLength(1);
    expect(sink.received[0]!.parsed.subject).toBe('Tổng đài 1022: đã tiếp nhận phản ánh PA-7K3M9Q2X');
  });

  it('marks an address the server refuses (550) as bounced, and refuses it from then on without trying', async () => {
    const { ctx, out } = context(sink);
    sink.refuse.add('khong.ton.tai@example.vn');
    await expect(sendEmail(message({ contact: { email: 'khong.ton.tai@example.vn' } }), ctx)).rejects.toMatchObject({ code: 'recipient_unreachable' });
    expect(out.get('khong.ton.tai@example.vn')).toBe('bounce');
    sink.refuse.clear();
    await expect(sendEmail(message({ kind: 'reply', contact: { email: 'khong.ton.tai@example.vn' } }), ctx)).rejects.toMatchObject({ code: 'recipient_unreachable', message: expect.stringMatching(/bounced/) });
    expect(sink.received).toHaveLength(0);
  });

  it('leaves a transient failure (451) to the job\'s retries', async () => {
    const { ctx, out } = context(sink);
    sink.failNext(1);
    const err: Error & { code?: string } = await sendEmail(message(), ctx).then(() => new Error('sent'), (e: unknown) => e as Error);
    expect(UNDELIVERABLE_CODES.has(err.code ?? '')).toBe(false);
    expect(err.message).toMatch(/SMTP send failed/);
    expect(out.size).toBe(0);
    await sendEmail(message(), ctx);
    expect(sink.received).toHaveLength(1);
  });
});
