import { AppError, normalisePhone, type ChannelContext, type OutboundMessage, type SendResult } from '../../src/intake/channel-kit.ts';
import { sendSms } from './rest.ts';
import { oneSegment } from './segments.ts';
import type { TwilioSettings } from './settings.ts';
import { callbackUrl } from './webhook.ts';

/** Opt-outs are kept for SMS whichever channel a message answers: a STOP stops every text we send. */
export const SMS_OPT_OUT = 'sms';

/**
 * The text of a message as an SMS: notices reworded to fit one segment of 70 UCS-2 characters
 * where they can (the tracking link when it fits), an agent's reply as written.
 */
export function smsText(m: OutboundMessage, publicUrl: string | undefined): string {
  const code = m.reportCode;
  const link = publicUrl ? ` ${publicUrl.replace(/\/+$/, '')}/track/${code}` : '';
  switch (m.kind) {
    case 'received':
      return oneSegment(`1022 đã nhận phản ánh ${code}. Nhắn thêm để bổ sung.`, `1022 đã nhận phản ánh ${code}.`);
    case 'dispatched':
      return oneSegment(m.body, `Phản ánh ${code} đã chuyển phường xử lý.`);
    case 'resolved':
      return oneSegment(`${code} đã xử lý xong:${link}`, `Phản ánh ${code} đã xử lý xong.`, m.body);
    default:
      return m.body;
  }
}

/**
 * Sends a message to a citizen by SMS (an SMS report's answer, or a caller's): to the number
 * the report came from, unless they opted out.
 */
export async function sendBySms(m: OutboundMessage, ctx: ChannelContext<TwilioSettings>): Promise<SendResult> {
  const to = m.contact.phone ? normalisePhone(m.contact.phone) : null;
  if (!to) throw new AppError('recipient_missing', 422, 'the citizen left no phone number to text', 'Người phản ánh không để lại số điện thoại.');
  if (await ctx.optOuts.isOut(SMS_OPT_OUT, to)) {
    throw new AppError('recipient_opted_out', 422, `${to} asked us to stop texting (STOP)`, 'Người dân đã từ chối nhận tin nhắn (nhắn HUY/STOP).');
  }
  return sendSms(ctx.settings, to, smsText(m, ctx.config.PUBLIC_URL), callbackUrl(ctx, `/sms/status?via=${m.channel}`));
}
