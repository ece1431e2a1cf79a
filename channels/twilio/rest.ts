import twilio from 'twilio';
import { AppError, type MediaPolicy, type SendResult } from '../../src/intake/channel-kit.ts';
import type { TwilioSettings } from './settings.ts';
import { smsSegments } from './segments.ts';

const TWILIO_API = 'https://api.twilio.com';

/**
 * Twilio's REST client on the configured API URL: the SDK always addresses api.twilio.com, so
 * its HTTP client rewrites the origin (a local fake in tests, a proxy in some deployments).
 */
function clientOf(s: TwilioSettings): twilio.Twilio {
  const base = new twilio.RequestClient();
  const httpClient = Object.assign(Object.create(base) as twilio.RequestClient, {
    request: (opts: Parameters<twilio.RequestClient['request']>[0]) =>
      base.request({ ...opts, uri: s.TWILIO_API_URL === TWILIO_API ? opts.uri : opts.uri.replace(/^https:\/\/api\.twilio\.com/, s.TWILIO_API_URL) }),
  });
  return twilio(s.TWILIO_ACCOUNT_SID, s.TWILIO_AUTH_TOKEN, { httpClient });
}

const clients = new WeakMap<TwilioSettings, twilio.Twilio>();
const client = (s: TwilioSettings) => {
  let c = clients.get(s);
  if (!c) clients.set(s, (c = clientOf(s)));
  return c;
};

/**
 * Twilio error codes after which another try cannot succeed: the number is not a mobile, is not
 * valid, has unsubscribed from us, or is blocked.
 * https://www.twilio.com/docs/api/errors
 */
export const PERMANENT_ERRORS: Record<number, string> = {
  21211: 'recipient_invalid', 21214: 'recipient_invalid', 21217: 'recipient_invalid', 21614: 'recipient_invalid',
  21610: 'recipient_opted_out', 21612: 'recipient_unreachable', 21408: 'recipient_unreachable', 30004: 'recipient_unreachable',
  30005: 'recipient_invalid', 30006: 'recipient_unreachable', 30007: 'recipient_unreachable',
};

/** Sends one SMS; an error Twilio says is final becomes an AppError of UNDELIVERABLE_CODES. */
export async function sendSms(s: TwilioSettings, to: string, body: string, statusCallback: string | undefined): Promise<SendResult> {
  try {
    const m = await client(s).messages.create({ to, from: s.TWILIO_PHONE_NUMBER, body, ...(statusCallback ? { statusCallback } : {}) });
    return { providerId: m.sid, to, segments: Number(m.numSegments) || smsSegments(body).segments };
  } catch (err) {
    const code = (err as { code?: number }).code;
    const final = code !== undefined ? PERMANENT_ERRORS[code] : undefined;
    if (final) throw new AppError(final, 422, `twilio refused ${to}: ${code} ${(err as Error).message}`, 'Không gửi được tin nhắn tới số này.');
    throw err;
  }
}

/**
 * Where the media of messages and the recordings of calls may be fetched from: Twilio's API (with
 * the account's credentials: HTTP auth on media may be on) and the CDN it redirects to.
 */
export function twilioMedia(s: TwilioSettings): MediaPolicy {
  return {
    hosts: ['api.twilio.com', '.twiliocdn.com', '.twilio.com', 's3-external-1.amazonaws.com', '.s3.amazonaws.com'],
    trustedOrigins: [new URL(s.TWILIO_API_URL).origin],
    headers: { authorization: `Basic ${Buffer.from(`${s.TWILIO_ACCOUNT_SID}:${s.TWILIO_AUTH_TOKEN}`).toString('base64')}` },
  };
}
