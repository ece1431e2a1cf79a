import { Hono } from 'hono';
import twilio from 'twilio';
import {
  AppError, cleanText, defineChannel, fold, normalisePhone, REPORT_LIMITS, type ChannelContext, type InboundReport, type RemoteMedia,
} from '../../src/intake/channel-kit.ts';
import { PERMANENT_ERRORS, twilioMedia } from './rest.ts';
import { twilioSettings, type TwilioSettings } from './settings.ts';
import { SMS_OPT_OUT, sendBySms } from './notices.ts';
import { param, twiml, verifiedParams, webhookLimit } from './webhook.ts';

/** A second SMS from a number within this many minutes continues its report (an address sent after the problem). */
export const SMS_THREAD_MINUTES = 10;

// Keywords, folded (no diacritics, lower case): Vietnamese carriers' and Twilio's.
const STOP_WORDS = new Set(['stop', 'huy', 'tu choi', 'stopall', 'unsubscribe', 'cancel', 'end', 'quit', 'huy dang ky']);
const START_WORDS = new Set(['start', 'bat dau', 'unstop', 'dang ky']);

const SID = /^(SM|MM)[0-9a-f]{32}$/i;


/** What an opt-out keyword asks for, or null when the message is a report. */
export function keyword(body: string): 'stop' | 'start' | null {
  if (body.length > 40) return null;
  const k = fold(body).replace(/[.!\s]+/g, ' ').trim();
  return STOP_WORDS.has(k) ? 'stop' : START_WORDS.has(k) ? 'start' : null;
}

function routes(ctx: ChannelContext<TwilioSettings>): Hono {
  const app = new Hono();

  // An SMS or MMS to the hotline number: a report, a follow-up of one, or STOP / START.
  app.post('/sms', webhookLimit, async (c) => {
    const p = await verifiedParams(c, ctx);
    const sid = param(p, 'MessageSid', 64);
    const from = param(p, 'From', 64);
    if (!sid || !SID.test(sid) || !from) throw new AppError('twilio_payload_invalid', 400, 'MessageSid and From are required');
    const body = param(p, 'Body', 2 * REPORT_LIMITS.textMax) ?? '';
    const reply = new twilio.twiml.MessagingResponse();
    const asked = keyword(body);
    if (asked) {
      // Stored first, like any message; confirmed once (a second STOP changes nothing and gets no answer).
      await ctx.note(SMS_OPT_OUT, sid, asked === 'stop' ? 'opt_out' : 'opt_in', { from, body });
      const changed = await ctx.optOuts.set(SMS_OPT_OUT, normalisePhone(from) ?? from, asked === 'stop', body.trim());
      if (changed) {
        reply.message(asked === 'stop'
          ? 'Bạn đã ngừng nhận tin nhắn từ Tổng đài 1022. Nhắn BAT DAU để nhận lại.'
          : 'Bạn đã nhận lại tin nhắn từ Tổng đài 1022.');
      }
      return twiml(c, reply);
    }
    if (!cleanText(body).trim() && !(Number(p.NumMedia) > 0)) {
      await ctx.note('sms', sid, 'empty', { from });
      return twiml(c, reply);
    }
    await ctx.intake.accept({ channel: 'sms', externalId: sid, endpoint: param(p, 'To', 64), payload: p });
    // The acknowledgement with the report's code goes out once it is filed (the outbound job).
    return twiml(c, reply);
  });

  // Delivery status of what we sent (`via`: the channel whose report it answers).
  app.post('/sms/status', webhookLimit, async (c) => {
    const p = await verifiedParams(c, ctx);
    const via = c.req.query('via') === 'phone' ? 'phone' : 'sms';
    const sid = param(p, 'MessageSid', 64);
    const status = param(p, 'MessageStatus', 32);
    if (!sid || !status) throw new AppError('twilio_payload_invalid', 400, 'MessageSid and MessageStatus are required');
    const code = param(p, 'ErrorCode', 10);
    await ctx.delivery({ channel: via, providerId: sid, status, errorCode: code, permanent: code !== undefined && Number(code) in PERMANENT_ERRORS });
    return c.body(null, 204);
  });
  return app;
}

/** An SMS as stored (Twilio's webhook parameters) into the report model. */
export function parseSms(payload: unknown): InboundReport {
  const p = (payload ?? {}) as Record<string, string | undefined>;
  const media: RemoteMedia[] = [];
  const count = Math.min(Number(p.NumMedia) || 0, REPORT_LIMITS.mediaMax);
  for (let i = 0; i < count; i++) {
    const url = p[`MediaUrl${i}`];
    if (url && url.length <= REPORT_LIMITS.mediaUrlMax) media.push({ url, contentType: p[`MediaContentType${i}`]?.slice(0, 100) });
  }
  const text = cleanText(String(p.Body ?? '').slice(0, REPORT_LIMITS.textMax)).trim();
  return {
    text: text || 'Ảnh gửi qua tin nhắn MMS',
    citizen: { phone: p.From },
    attachments: [],
    media,
    ...(p.From ? { thread: { key: p.From, withinMinutes: SMS_THREAD_MINUTES } } : {}),
  };
}

/** SMS to the hotline number (Twilio Messaging): reports in, acknowledgements and answers out. */
export const sms = defineChannel<TwilioSettings>({
  name: 'sms',
  label: { vi: 'Tin nhắn SMS', en: 'SMS', background: '#fff3e0', text: '#6d3800' },
  settings: twilioSettings,
  basePath: '/channels/twilio',
  routes,
  parse: parseSms,
  replies: 'send',
  send: sendBySms,
  media: twilioMedia,
});
