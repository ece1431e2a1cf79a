import { createHmac, timingSafeEqual } from 'node:crypto';

const MAX_AGE_MS = 4 * 3600_000;

/** A signed, time-limited token for HTML forms (CSRF protection without a session). */
export function issueFormToken(secret: string, now = Date.now()): string {
  const ts = now.toString(36);
  return `${ts}.${createHmac('sha256', secret).update(`form:${ts}`).digest('base64url')}`;
}

/** True when the token was issued by this secret within the last four hours. */
export function verifyFormToken(secret: string, token: string | undefined, now = Date.now()): boolean {
  if (!token) return false;
  const [ts, mac] = token.split('.');
  if (!ts || !mac) return false;
  const issued = parseInt(ts, 36);
  if (!Number.isFinite(issued) || now - issued > MAX_AGE_MS || issued - now > 60_000) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`form:${ts}`).digest('base64url'));
  const given = Buffer.from(mac);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/**
 * Rejects cross-site form posts: the Origin (when the browser sends one) must be this site,
 * and Sec-Fetch-Site must not say cross-site.
 */
export function isSameOrigin(requestUrl: string, headers: { origin?: string | undefined; secFetchSite?: string | undefined }, publicUrl?: string): boolean {
  if (headers.secFetchSite && !['same-origin', 'none'].includes(headers.secFetchSite)) return false;
  if (!headers.origin) return true;
  const allowed = new Set([new URL(requestUrl).origin]);
  if (publicUrl) allowed.add(new URL(publicUrl).origin);
  return allowed.has(headers.origin);
}
