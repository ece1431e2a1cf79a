import type { Context } from 'hono';
import twilio from 'twilio';
import { AppError, bodyLimit, type ChannelContext } from '../../src/intake/channel-kit.ts';
import type { TwilioSettings } from './settings.ts';

/** Largest webhook body Twilio sends us (a message with ten media URLs is a few KB). */
export const WEBHOOK_MAX_BYTES = 64 * 1024;
const PARAMS_MAX = 200;

/** Every Twilio webhook's body limit, before anything reads it. */
export const webhookLimit = bodyLimit({ maxSize: WEBHOOK_MAX_BYTES, onError: () => { throw new AppError('payload_too_large', 413, 'webhook body too large'); } });

const forbidden = (why: string) => new AppError('twilio_signature_invalid', 403, why);

/**
 * The URL Twilio signed: the public address it was configured with (PUBLIC_URL, behind a proxy)
 * and the path and query it requested.
 */
function signedUrl(c: Context, publicUrl: string | undefined): string {
  const u = new URL(c.req.url);
  return publicUrl ? `${publicUrl.replace(/\/+$/, '')}${u.pathname}${u.search}` : u.href;
}

/**
 * A Twilio webhook's parameters, once its X-Twilio-Signature is checked on the exact URL and
 * parameters (HMAC-SHA1 with the auth token) and its account is ours. A bad or missing
 * signature: 403 `twilio_signature_invalid`, and nothing is read further or stored.
 */
export async function verifiedParams(c: Context, ctx: ChannelContext<TwilioSettings>): Promise<Record<string, string>> {
  const signature = c.req.header('x-twilio-signature');
  if (!signature || signature.length > 200) throw forbidden('X-Twilio-Signature missing');
  const type = (c.req.header('content-type') ?? '').toLowerCase();
  if (!type.startsWith('application/x-www-form-urlencoded')) {
    throw new AppError('content_type_unsupported', 415, 'Twilio webhooks are application/x-www-form-urlencoded');
  }
  const raw = await c.req.text();
  const form = new URLSearchParams(raw);
  const params: Record<string, string> = {};
  let n = 0;
  for (const [k, v] of form) {
    if (++n > PARAMS_MAX) throw new AppError('twilio_payload_invalid', 400, 'too many parameters');
    params[k] = v;
  }
  if (!twilio.validateRequest(ctx.settings.TWILIO_AUTH_TOKEN, signature, signedUrl(c, ctx.config.PUBLIC_URL), params)) {
    throw forbidden('X-Twilio-Signature does not match');
  }
  if (params.AccountSid !== ctx.settings.TWILIO_ACCOUNT_SID) throw forbidden('webhook of another Twilio account');
  return params;
}

/** A TwiML answer. */
export const twiml = (c: Context, xml: { toString(): string }) => c.body(xml.toString(), 200, { 'content-type': 'text/xml; charset=utf-8' });

/** Where Twilio should report on what we send (absent without PUBLIC_URL: Twilio cannot reach us then). */
export const callbackUrl = (ctx: ChannelContext<TwilioSettings>, path: string): string | undefined =>
  ctx.config.PUBLIC_URL ? `${ctx.config.PUBLIC_URL.replace(/\/+$/, '')}/channels/twilio${path}` : undefined;

/** A parameter bounded to `max` characters (Twilio's own are short; anything longer is not Twilio's). */
export function param(p: Record<string, string>, key: string, max: number): string | undefined {
  const v = p[key];
  if (v === undefined) return undefined;
  if (v.length > max) throw new AppError('twilio_payload_invalid', 400, `${key} is longer than ${max} characters`);
  return v;
}
