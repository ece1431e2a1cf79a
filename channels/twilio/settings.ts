import { z } from 'zod';

/** The Twilio account both the phone line and SMS use (the same number answers calls and texts). */
export const twilioSettings = z.object({
  TWILIO_ACCOUNT_SID: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'must be an account SID (AC followed by 32 hex digits)'),
  TWILIO_AUTH_TOKEN: z.string().min(16, 'must be the account\'s auth token'),
  TWILIO_PHONE_NUMBER: z.string().regex(/^\+[1-9]\d{6,14}$/, 'must be the hotline number in E.164 (+842812345678)'),
  /** Where the REST API is (tests point it at a local fake). */
  TWILIO_API_URL: z.url().optional().transform((v) => (v ?? 'https://api.twilio.com').replace(/\/+$/, '')),
  /**
   * When agents answer the line, in Ho Chi Minh City time: `07:00-21:00`, several ranges with
   * commas. Absent: always (the 1022 line is staffed day and night). Outside them key 0 leaves a
   * voicemail instead of waiting for an agent.
   */
  PHONE_STAFFED_HOURS: z.string().optional().superRefine((v, ctx) => {
    if (v !== undefined && parseHours(v) === null) ctx.addIssue({ code: 'custom', message: 'must be ranges like 07:00-21:00,22:00-23:30' });
  }),
  /** The Twilio queue callers wait in for an agent (<Enqueue>). */
  PHONE_QUEUE: z.string().regex(/^[\w-]{1,64}$/).optional().transform((v) => v ?? '1022'),
});

export type TwilioSettings = z.infer<typeof twilioSettings>;

/** Staffed ranges in minutes of the day, or null when the text is not ranges. */
export function parseHours(text: string): [number, number][] | null {
  if (text.length > 200) return null;
  const ranges: [number, number][] = [];
  for (const part of text.split(',')) {
    const m = /^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$/.exec(part);
    if (!m) return null;
    const from = Number(m[1]) * 60 + Number(m[2]);
    const to = Number(m[3]) * 60 + Number(m[4]);
    if (Number(m[2]) > 59 || Number(m[4]) > 59 || from > 1440 || to > 1440 || from >= to) return null;
    ranges.push([from, to]);
  }
  return ranges;
}

/** Ho Chi Minh City is UTC+7 all year (no daylight saving). */
const HCMC_OFFSET_MIN = 7 * 60;

/** Whether agents answer at `now` (always, without PHONE_STAFFED_HOURS). */
export function staffed(settings: TwilioSettings, now = new Date()): boolean {
  if (!settings.PHONE_STAFFED_HOURS) return true;
  const minute = (now.getUTCHours() * 60 + now.getUTCMinutes() + HCMC_OFFSET_MIN) % 1440;
  return (parseHours(settings.PHONE_STAFFED_HOURS) ?? []).some(([from, to]) => minute >= from && minute < to);
}
