import nodemailer, { type Mail } from 'nodemailer';
import { AppError, type ChannelContext, type OutboundMessage, type SendResult } from '../../src/intake/channel-kit.ts';
import { safeMessage } from './mailbox.ts';
import { allNotes, CHANNEL, latest, note, reportKey, sentKey, type ReportNote } from './notes.ts';
import { limitsOf, senderOf, type EmailSettings } from './settings.ts';
import { noteOfPayload, ownAddresses } from './store.ts';
import { ourMessageId } from './threading.ts';
import { AUTOMATIC_KINDS, composeMail } from './wording.ts';

/** Local parts of addresses no one reads: writing to them only feeds a loop. */
const DAEMONS = /^(?:mailer-daemon|postmaster|mail-daemon|no-?reply|do-?not-?reply|bounces?)(?:[+-].*)?$/i;

const HOUR_MS = 3_600_000;

/** One SMTP transport per SMTP_URL (connections are opened per message; nothing to close). */
const transports = new Map<string, Mail>();
function transportFor(url: string): Mail {
  let t = transports.get(url);
  if (!t) {
    t = nodemailer.createTransport({ url, connectionTimeout: 15_000, greetingTimeout: 10_000, socketTimeout: 60_000, logger: false, debug: false } as Parameters<typeof nodemailer.createTransport>[0]);
    transports.set(url, t);
  }
  return t;
}

const unreachable = (why: string, vi: string) => new AppError('recipient_unreachable', 422, why, vi);

/** Automatic messages sent to `to` in the last hour (the two hourly notes that cover it). */
async function sentLastHour(ctx: Pick<ChannelContext, 'notes'>, to: string, now: number): Promise<number> {
  const hour = Math.floor(now / HOUR_MS);
  const notes = [...await allNotes(ctx, sentKey(to, hour - 1)), ...await allNotes(ctx, sentKey(to, hour))];
  return notes.filter((n) => n.at.getTime() > now - HOUR_MS).length;
}

/**
 * Sends a message to a citizen by email: to the address their report came from (or its
 * Reply-To), as a reply to their latest message (In-Reply-To, References, "Re:" subject) with a
 * Message-ID that names the report, so that their answer finds it. Refused for good
 * (`recipient_unreachable`, shown on the ticket) when the address bounced, is ours or a mailer
 * daemon's, when an automatic message would answer an automated one (RFC 3834), or when the
 * address already got MAIL_HOURLY_CAP automatic messages this hour (a loop).
 */
export async function sendEmail(m: OutboundMessage, ctx: ChannelContext<EmailSettings>): Promise<SendResult> {
  const from = senderOf(ctx.settings);
  // The report's own message (as stored) says whether a machine wrote it; the latest message of
  // the conversation (noted as each arrives) is the one to answer.
  const opening = m.endpoint !== null ? noteOfPayload(m.source.payload) : null;
  const thread = await latest<ReportNote>(ctx, reportKey(m.reportCode), 'message') ?? opening;
  const noAutoReply = opening?.noAutoReply ?? thread?.noAutoReply ?? null;
  const to = (thread?.replyTo ?? m.contact.email ?? thread?.from ?? '').trim().toLowerCase();
  if (!to || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(to) || to.length > 254) {
    throw new AppError('recipient_missing', 422, 'the citizen left no email address', 'Người phản ánh không để lại địa chỉ email.');
  }
  const local = to.slice(0, to.lastIndexOf('@'));
  if (ownAddresses(ctx.settings).has(to) || DAEMONS.test(local)) {
    throw new AppError('recipient_invalid', 422, `${to} is our own address or a mail system's: never written to`, 'Địa chỉ này là của hệ thống thư, không gửi thư trả lời.');
  }
  if (await ctx.optOuts.isOut(CHANNEL, to)) {
    throw unreachable(`mail to ${to} bounced: the address does not receive mail`, 'Thư gửi tới địa chỉ email này đã bị trả lại (địa chỉ không nhận được thư).');
  }
  const automatic = AUTOMATIC_KINDS.has(m.kind);
  if (automatic && noAutoReply) {
    throw unreachable(`no automatic answer to an automated message (${noAutoReply})`, 'Thư gốc do máy gửi tự động nên hệ thống không gửi thư trả lời tự động.');
  }
  const now = Date.now();
  const { hourlyCap } = limitsOf(ctx.settings);
  if (automatic && await sentLastHour(ctx, to, now) >= hourlyCap) {
    throw unreachable(`${to} already got ${hourlyCap} automatic messages this hour: a mail loop is likely`, `Địa chỉ này đã nhận ${hourlyCap} thư tự động trong một giờ; tạm dừng gửi để tránh vòng lặp thư.`);
  }
  const messageId = ourMessageId(m.reportCode, m.id, from.domain, ctx.secret);
  const mail = composeMail(m, thread, ctx.city, ctx.config.PUBLIC_URL);
  const references = thread ? thread.references.slice(-20).map((r) => `<${r}>`) : [];
  const toName = m.contact.name?.trim() || thread?.name || undefined;
  try {
    await transportFor(ctx.settings.SMTP_URL).sendMail({
      from: from.name ? { name: from.name, address: from.address } : from.address,
      to: toName ? { name: toName, address: to } : to,
      subject: mail.subject,
      text: mail.text,
      html: mail.html,
      messageId: `<${messageId}>`,
      ...(thread?.messageId ? { inReplyTo: `<${thread.messageId}>` } : {}),
      ...(references.length ? { references } : {}),
      headers: {
        // RFC 3834: answers a machine sends say so, and Exchange is asked for no out-of-office back.
        ...(automatic ? { 'Auto-Submitted': m.kind === 'received' ? 'auto-replied' : 'auto-generated' } : {}),
        'X-Auto-Response-Suppress': 'All',
      },
    });
  } catch (err) {
    const e = err as { code?: string; responseCode?: number; permanent?: boolean; rejected?: string[] };
    // The server refused the recipient for good (550 no such user): the address is dead.
    if (e.code === 'EENVELOPE' && e.responseCode !== undefined && e.responseCode >= 500 && e.responseCode !== 503) {
      await ctx.optOuts.set(CHANNEL, to, true, 'bounce');
      throw unreachable(`the mail server refused ${to}: ${safeMessage(err)}`, 'Máy chủ thư từ chối địa chỉ email này.');
    }
    throw new Error(`SMTP send failed: ${safeMessage(err)}`);
  }
  if (automatic) await note(ctx, sentKey(to, Math.floor(now / HOUR_MS)), 'sent', { id: messageId, kind: m.kind, report: m.reportCode });
  return { providerId: messageId, to };
}
