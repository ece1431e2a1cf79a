import type { Context } from 'hono';
import { Hono } from 'hono';
import twilio from 'twilio';
import {
  AppError, cleanText, defineChannel, fold, isAppError, normalisePhone, REPORT_LIMITS,
  type ChannelContext, type CitizenCard, type InboundReport,
} from '../../src/intake/channel-kit.ts';
import { twilioMedia } from './rest.ts';
import { sendBySms } from './notices.ts';
import { staffed, twilioSettings, type TwilioSettings } from './settings.ts';
import { param, twiml, verifiedParams, webhookLimit } from './webhook.ts';

// The 1022 line (Twilio Voice). A caller hears a menu in Vietnamese: 1 reports a problem (said
// aloud, recognised by Twilio's vi-VN speech recognition, then the address; a recorded message
// when nothing was recognised), 2 hears the status of their reports, 0 waits for an agent (a
// voicemail outside staffed hours). Every step is stored before TwiML answers: what the caller
// said is noted against the CallSid, and the report is one inbound message keyed by the CallSid
// (a retry, or the hang-up callback after the address, adds nothing). Recordings and
// transcriptions are messages of the call's thread, so they join the same report.

/** Twilio's Vietnamese voice, and its Vietnamese speech recognition. */
const VOICE = { language: 'vi-VN', voice: 'Google.vi-VN-Standard-A' } as const;
const VI = { language: 'vi-VN' } as const;
/** What the caller said is carried in the address step's URL up to this length (Twilio takes URLs of a few KB). */
const PROBLEM_IN_URL_MAX = 300;
/** A call's later messages (its recording, its transcription) join its report within a day. */
const CALL_THREAD_MINUTES = 24 * 60;
const CALL_SID = /^CA[0-9a-f]{32}$/i;
/** Characters of a tracking code on a phone's keypad (ITU E.161), to key a code's 8 characters as digits. */
const KEYPAD: Record<string, string> = Object.fromEntries(
  Object.entries({ 2: 'ABC', 3: 'DEF', 4: 'GHI', 5: 'JKL', 6: 'MNO', 7: 'PQRS', 8: 'TUV', 9: 'WXYZ' }).flatMap(([d, ls]) => [...ls].map((l) => [l, d])),
);

/** A tracking code's 8 characters as keyed on a phone (PA-7K3M9Q2X -> 75369727). */
export const keypadDigits = (code: string): string => [...code.replace(/^(PA|TK)-/, '')].map((ch) => KEYPAD[ch] ?? ch).join('');

/** A day as the menu reads it, in Ho Chi Minh City time ("6 tháng 12"). */
const dayOf = (iso: string) => {
  const d = new Date(Date.parse(iso) + 7 * 3_600_000);
  return `${d.getUTCDate()} tháng ${d.getUTCMonth() + 1}`;
};

/** A code read aloud character by character ("P A 7 K 3 M 9 Q 2 X"). */
export const spoken = (code: string) => code.replace('-', '').split('').join(' ');


type Params = Record<string, string>;

/** A call as stored for the report (the caller, what they said, the recording). */
interface CallPayload {
  kind: 'call' | 'recording' | 'transcription';
  CallSid: string;
  From?: string | undefined;
  To?: string | undefined;
  problem?: string | undefined;
  address?: string | undefined;
  recordingUrl?: string | undefined;
  recordingSeconds?: number | undefined;
  text?: string | undefined;
}

/** A call's report, recording or transcription as stored into the report model. */
export function parseCall(payload: unknown): InboundReport {
  const p = (payload ?? {}) as CallPayload;
  const clean = (s: string | undefined, max: number) => cleanText(String(s ?? '').slice(0, max)).trim();
  const problem = clean(p.problem, REPORT_LIMITS.textMax);
  const address = clean(p.address, REPORT_LIMITS.addressMax);
  const text = p.kind === 'recording' ? `Ghi âm cuộc gọi${p.recordingSeconds ? ` (${p.recordingSeconds} giây)` : ''}`
    : p.kind === 'transcription' ? clean(p.text, REPORT_LIMITS.textMax) || 'Bản ghi chữ cuộc gọi (trống)'
    : problem || 'Lời nhắn thoại qua tổng đài 1022 (nghe ghi âm)';
  return {
    text,
    ...(address ? { address } : {}),
    citizen: { phone: p.From },
    attachments: [],
    media: p.recordingUrl && p.recordingUrl.length <= REPORT_LIMITS.mediaUrlMax ? [{ url: p.recordingUrl, contentType: 'audio/mpeg' }] : [],
    thread: { key: `call:${p.CallSid}`, withinMinutes: CALL_THREAD_MINUTES },
  };
}

function routes(ctx: ChannelContext<TwilioSettings>): Hono {
  const app = new Hono();
  const url = (path: string) => `${(ctx.config.PUBLIC_URL ?? '').replace(/\/+$/, '')}/channels/twilio/voice${path}`;
  const say = (r: { say(attrs: typeof VOICE, text: string): unknown }, text: string) => r.say(VOICE, text);

  /** The call's parameters, checked: a call SID and the caller. */
  const callOf = async (c: Context) => {
    const p = await verifiedParams(c, ctx);
    const sid = param(p, 'CallSid', 64);
    if (!sid || !CALL_SID.test(sid)) throw new AppError('twilio_payload_invalid', 400, 'CallSid is required');
    return { p, sid, from: param(p, 'From', 64) };
  };
  /**
   * What the line keeps beside a call (notes, the screen pop) must not cut the call short: with
   * the database away the caller still hears the menu, and the report itself waits in the spool.
   */
  const quietly = <T>(what: string, p: Promise<T>, fallback: T): Promise<T> =>
    p.catch((err: unknown) => {
      ctx.log.warn({ err: (err as Error).message }, `phone line: ${what} failed; the call goes on`);
      return fallback;
    });
  /** What the caller said of the problem: carried in the next step's URL (Twilio signs it), else from the notes. */
  const problemOf = async (c: Context, sid: string) => c.req.query('problem')?.slice(0, REPORT_LIMITS.textMax)
    ?? (await quietly('reading the call\'s notes', ctx.notes('phone', sid), [])).filter((n) => n.kind === 'problem').at(-1)?.data.text as string | undefined;
  const pop = async (sid: string, from: string | undefined, state: string, p?: Params) => {
    const phone = from ? normalisePhone(from) : null;
    const card: CitizenCard | null = phone ? await ctx.citizenCard({ phone }) : null;
    // The console's IncomingCall (src/wire/realtime.ts).
    const citizen = card && { id: card.citizenId, name: card.name, reports: card.reports, openTickets: card.openTickets };
    // Caller ID is easy to forge: only a number the carrier attested (STIR/SHAKEN, A) counts as verified.
    const verified = p?.StirVerstat === 'TN-Validation-Passed-A';
    ctx.signal('call.incoming', { call: sid, from: phone, state, verified, citizen, at: new Date().toISOString() });
  };
  const menu = (attempt: number) => {
    const r = new twilio.twiml.VoiceResponse();
    const g = r.gather({ input: ['dtmf', 'speech'], numDigits: 1, timeout: 6, action: url(`/menu?attempt=${attempt}`), ...VI, hints: 'một, hai, không, phản ánh, tình trạng, tổng đài viên' });
    say(g, `${attempt === 0 ? 'Tổng đài 1022 Thành phố Hồ Chí Minh xin chào. ' : ''}Để phản ánh sự việc, bấm phím 1. Để nghe tình trạng phản ánh, bấm phím 2. Để gặp tổng đài viên, bấm phím 0.`);
    r.redirect(url(`/menu?attempt=${attempt}`));
    return r;
  };
  /** Stores the call's report (idempotent on the CallSid: a second try of the same call adds nothing). */
  const file = async (sid: string, p: Params, payload: Omit<CallPayload, 'kind' | 'CallSid' | 'From' | 'To'>) => {
    try {
      await ctx.intake.accept({ channel: 'phone', externalId: sid, endpoint: p.To, payload: { kind: 'call', CallSid: sid, From: p.From, To: p.To, ...payload } });
    } catch (err) {
      // Filed already with other words (the address step, then the hang-up): the first one stands.
      if (!(isAppError(err) && err.code === 'idempotency_key_conflict')) throw err;
    }
  };
  const recordMessage = (r: twilio.twiml.VoiceResponse, intro: string) => {
    say(r, intro);
    r.record({ maxLength: 180, playBeep: true, timeout: 5, action: url('/recorded'), recordingStatusCallback: url('/recording'), recordingStatusCallbackEvent: ['completed'] });
    say(r, 'Không nhận được lời nhắn. Xin cảm ơn quý vị.');
    r.hangup();
    return r;
  };
  const toAgent = async (sid: string, from: string | undefined, p: Params) => {
    const r = new twilio.twiml.VoiceResponse();
    if (!staffed(ctx.settings)) return recordMessage(r, 'Hiện ngoài giờ làm việc của tổng đài viên. Xin để lại lời nhắn gồm sự việc và địa chỉ sau tiếng bíp, chúng tôi sẽ xử lý và nhắn tin trả lời.');
    await quietly('the screen pop', pop(sid, from, 'queued', p), undefined);
    say(r, 'Xin quý vị chờ trong giây lát, tổng đài viên sẽ trả lời ngay.');
    r.enqueue({ action: url('/dequeued') }, ctx.settings.PHONE_QUEUE);
    return r;
  };

  // A call comes in: the screen pop, then the menu.
  app.post('/voice', webhookLimit, async (c) => {
    const { p, sid, from } = await callOf(c);
    await quietly('noting the call', ctx.note('phone', sid, 'call', { from, to: p.To ?? null, status: p.CallStatus ?? null }), undefined);
    await quietly('the screen pop', pop(sid, from, 'ringing', p), undefined);
    return twiml(c, menu(0));
  });

  app.post('/voice/menu', webhookLimit, async (c) => {
    const { p, sid, from } = await callOf(c);
    const attempt = Math.min(Number(c.req.query('attempt')) || 0, 3);
    const said = fold(param(p, 'SpeechResult', 500) ?? '');
    const key = param(p, 'Digits', 8) ?? (/\b(phan anh|bao)\b/.test(said) || /\bmot\b/.test(said) ? '1' : /\b(tinh trang|hai)\b/.test(said) ? '2' : /\b(tong dai vien|gap|khong)\b/.test(said) ? '0' : '');
    const r = new twilio.twiml.VoiceResponse();
    if (key === '1') {
      const g = r.gather({ input: ['speech'], speechTimeout: 'auto', timeout: 6, action: url('/problem'), actionOnEmptyResult: true, ...VI });
      say(g, 'Xin mời quý vị mô tả sự việc cần phản ánh, nói xong xin chờ trong giây lát.');
      return twiml(c, r);
    }
    if (key === '2') return twiml(c, await statusMenu(sid, from));
    if (key === '0' || attempt >= 1) return twiml(c, await toAgent(sid, from, p));
    return twiml(c, menu(attempt + 1));
  });

  // What the caller said of the problem: noted, then the address.
  app.post('/voice/problem', webhookLimit, async (c) => {
    const { p, sid } = await callOf(c);
    const problem = cleanText(param(p, 'SpeechResult', REPORT_LIMITS.textMax) ?? '').trim();
    const r = new twilio.twiml.VoiceResponse();
    if (!problem) return twiml(c, recordMessage(r, 'Xin lỗi, chúng tôi chưa nghe rõ. Xin để lại lời nhắn gồm sự việc và địa chỉ sau tiếng bíp.'));
    await quietly('noting the problem', ctx.note('phone', sid, 'problem', { text: problem, confidence: Number(p.Confidence) || null }), undefined);
    // Short enough, it rides in the next step's URL too: the address step files it without a read.
    const carried = problem.length <= PROBLEM_IN_URL_MAX ? `?problem=${encodeURIComponent(problem)}` : '';
    const g = r.gather({ input: ['speech'], speechTimeout: 'auto', timeout: 6, action: url(`/address${carried}`), actionOnEmptyResult: true, ...VI });
    say(g, 'Xin cho biết địa chỉ nơi xảy ra sự việc: số nhà, tên đường, phường hoặc xã.');
    return twiml(c, r);
  });

  // The address: the report is filed (with whatever was understood of it).
  app.post('/voice/address', webhookLimit, async (c) => {
    const { p, sid } = await callOf(c);
    const problem = await problemOf(c, sid);
    const address = cleanText(param(p, 'SpeechResult', REPORT_LIMITS.addressMax) ?? '').trim();
    await file(sid, p, { problem, address: address || undefined });
    const r = new twilio.twiml.VoiceResponse();
    say(r, 'Tổng đài 1022 đã ghi nhận phản ánh của quý vị. Mã phản ánh sẽ được gửi qua tin nhắn. Xin cảm ơn.');
    r.hangup();
    return twiml(c, r);
  });

  // A voicemail ended: the report is filed now; its audio joins it when Twilio has it (/recording).
  app.post('/voice/recorded', webhookLimit, async (c) => {
    const { p, sid } = await callOf(c);
    const problem = await problemOf(c, sid);
    await file(sid, p, { problem, recordingSeconds: Number(p.RecordingDuration) || undefined });
    const r = new twilio.twiml.VoiceResponse();
    say(r, 'Tổng đài 1022 đã nhận lời nhắn của quý vị. Mã phản ánh sẽ được gửi qua tin nhắn. Xin cảm ơn.');
    r.hangup();
    return twiml(c, r);
  });

  // Twilio has the recording: it joins the call's report (the same thread).
  /** The caller of a call, from what was noted when it rang (recording callbacks do not say). */
  const callerOf = async (sid: string, p: Params) => p.From ?? (await ctx.notes('phone', sid)).find((n) => n.kind === 'call')?.data.from as string | undefined;

  app.post('/voice/recording', webhookLimit, async (c) => {
    const { p, sid } = await callOf(c);
    const rec = param(p, 'RecordingSid', 64);
    const at = param(p, 'RecordingUrl', REPORT_LIMITS.mediaUrlMax);
    if (!rec || !at) throw new AppError('twilio_payload_invalid', 400, 'RecordingSid and RecordingUrl are required');
    if ((p.RecordingStatus ?? 'completed') === 'completed') {
      await ctx.intake.accept({
        channel: 'phone', externalId: `${sid}:${rec}`, endpoint: p.To,
        payload: { kind: 'recording', CallSid: sid, From: await callerOf(sid, p), recordingUrl: `${at}.mp3`, recordingSeconds: Number(p.RecordingDuration) || undefined },
      });
    }
    return c.body(null, 204);
  });

  // A transcription (Twilio's own is English only; a provider's Vietnamese one posts the same fields).
  app.post('/voice/transcription', webhookLimit, async (c) => {
    const { p, sid } = await callOf(c);
    const tr = param(p, 'TranscriptionSid', 64) ?? 'transcription';
    const text = param(p, 'TranscriptionText', REPORT_LIMITS.textMax);
    if (text && (p.TranscriptionStatus ?? 'completed') === 'completed') {
      await ctx.intake.accept({ channel: 'phone', externalId: `${sid}:${tr}`, endpoint: p.To, payload: { kind: 'transcription', CallSid: sid, From: await callerOf(sid, p), text } });
    }
    return c.body(null, 204);
  });

  const statusMenu = async (sid: string, from: string | undefined) => {
    const phone = from ? normalisePhone(from) : null;
    const card = phone ? await ctx.citizenCard({ phone }) : null;
    const r = new twilio.twiml.VoiceResponse();
    const g = r.gather({ input: ['dtmf'], numDigits: 8, timeout: 8, action: url('/status-code') });
    const last = card?.reports[0];
    // A caller's number can be forged: it tells only the status of the latest report, never its
    // code (the code opens the report's tracking page); another is heard by keying its code.
    say(g, last
      ? `Phản ánh gần nhất từ số điện thoại này, gửi ngày ${dayOf(last.receivedAt)}, ${last.statusLabel}. Để nghe phản ánh khác, nhập 8 ký tự của mã theo chữ trên bàn phím.`
      : 'Xin nhập 8 ký tự của mã phản ánh theo chữ trên bàn phím điện thoại.');
    say(r, 'Xin cảm ơn quý vị đã gọi tổng đài 1022.');
    r.hangup();
    return r;
  };

  // A code keyed on the keypad: looked up among the caller's own reports.
  app.post('/voice/status-code', webhookLimit, async (c) => {
    const { p, from } = await callOf(c);
    const digits = (param(p, 'Digits', 16) ?? '').replace(/\D/g, '');
    const phone = from ? normalisePhone(from) : null;
    const card = phone ? await ctx.citizenCard({ phone }) : null;
    const hit = card?.reports.find((x) => keypadDigits(x.code) === digits || keypadDigits(x.ticketCode) === digits);
    const r = new twilio.twiml.VoiceResponse();
    say(r, hit ? `Phản ánh mã ${spoken(hit.code)}: ${hit.statusLabel}.` : 'Không tìm thấy phản ánh với mã này từ số điện thoại của quý vị. Xin bấm phím 0 tại menu chính để gặp tổng đài viên.');
    // Back to the menu's options (without the greeting: attempt 0 with no key plays them again).
    r.redirect(url('/menu?attempt=0'));
    return twiml(c, r);
  });

  // Leaving the agents' queue (answered, or hung up while waiting).
  app.post('/voice/dequeued', webhookLimit, async (c) => {
    const { p, sid, from } = await callOf(c);
    await quietly('noting the queue', ctx.note('phone', sid, 'queue', { result: p.QueueResult ?? null, seconds: Number(p.QueueTime) || null }), undefined);
    if (p.QueueResult !== 'bridged') await quietly('the screen pop', pop(sid, from, 'ended', p), undefined);
    return twiml(c, new twilio.twiml.VoiceResponse());
  });

  // The call's status callback (set on the number): answered, completed, its duration.
  app.post('/voice/status', webhookLimit, async (c) => {
    const { p, sid, from } = await callOf(c);
    const status = param(p, 'CallStatus', 32) ?? 'unknown';
    await ctx.note('phone', sid, 'status', { status, duration: Number(p.CallDuration) || null, answered_by: p.AnsweredBy ?? null });
    if (['completed', 'busy', 'failed', 'no-answer', 'canceled'].includes(status)) {
      await quietly('the screen pop', pop(sid, from, 'ended', p), undefined);
      // Hung up after describing the problem but before the address: the report is filed with what was said.
      const problem = await problemOf(c, sid);
      if (problem) await file(sid, p, { problem });
    }
    return c.body(null, 204);
  });
  return app;
}

/** The 1022 phone line (Twilio Voice): a menu in Vietnamese, reports by voice, the agents' queue, the screen pop. */
export const phone = defineChannel<TwilioSettings>({
  name: 'phone',
  label: { vi: 'Điện thoại', en: 'Phone', background: '#e8f5e9', text: '#1b5e20' },
  settings: twilioSettings,
  basePath: '/channels/twilio',
  routes,
  parse: parseCall,
  // A caller is answered by SMS to the number they called from.
  replies: 'send',
  send: sendBySms,
  media: twilioMedia,
});
