import { describe, expect, it } from 'vitest';
import { isSameOrigin, issueFormToken, verifyFormToken } from '../../src/intake/form-token.ts';

const SECRET = 'unit-secret-0123456789abcdef';
const NOW = Date.UTC(2025, 6, 1, 3, 0, 0);
const HOUR = 3600_000;

describe('issueFormToken / verifyFormToken', () => {
  it('issues a token of the form <base36 time>.<base64url HMAC>', () => {
    const token = issueFormToken(SECRET, NOW);
    expect(token).toMatch(/^[0-9a-z]+\.[A-Za-z0-9_-]{43}$/);
    expect(token.split('.')[0]).toBe(NOW.toString(36));
  });

  it('is deterministic for one secret and time, and differs between secrets and times', () => {
    expect(issueFormToken(SECRET, NOW)).toBe(issueFormToken(SECRET, NOW));
    expect(issueFormToken(SECRET, NOW)).not.toBe(issueFormToken(`${SECRET}x`, NOW));
    expect(issueFormToken(SECRET, NOW)).not.toBe(issueFormToken(SECRET, NOW + 1));
  });

  it('accepts a fresh token and one up to four hours old', () => {
    const token = issueFormToken(SECRET, NOW);
    expect(verifyFormToken(SECRET, token, NOW)).toBe(true);
    expect(verifyFormToken(SECRET, token, NOW + 4 * HOUR)).toBe(true);
  });

  it('refuses a token older than four hours', () => {
    const token = issueFormToken(SECRET, NOW);
    expect(verifyFormToken(SECRET, token, NOW + 4 * HOUR + 1)).toBe(false);
    expect(verifyFormToken(SECRET, issueFormToken(SECRET, Date.now() - 5 * HOUR))).toBe(false);
  });

  it('tolerates a minute of clock skew but refuses a token from further in the future', () => {
    expect(verifyFormToken(SECRET, issueFormToken(SECRET, NOW + 60_000), NOW)).toBe(true);
    expect(verifyFormToken(SECRET, issueFormToken(SECRET, NOW + 60_001), NOW)).toBe(false);
    expect(verifyFormToken(SECRET, issueFormToken(SECRET, NOW + HOUR), NOW)).toBe(false);
  });

  it('refuses a token signed with another secret', () => {
    expect(verifyFormToken(SECRET, issueFormToken('another-secret-0123456789', NOW), NOW)).toBe(false);
  });

  it('refuses a tampered token', () => {
    const token = issueFormToken(SECRET, NOW);
    const [ts, mac] = token.split('.') as [string, string];
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    // Another time with the old signature (e.g. to extend its life).
    expect(verifyFormToken(SECRET, `${(NOW + HOUR).toString(36)}.${mac}`, NOW + HOUR)).toBe(false);
    expect(verifyFormToken(SECRET, `${ts}.${flip(mac, 0)}`, NOW)).toBe(false);
    expect(verifyFormToken(SECRET, `${ts}.${flip(mac, mac.length - 1)}`, NOW)).toBe(false);
    expect(verifyFormToken(SECRET, `${ts}.${mac.slice(0, -1)}`, NOW)).toBe(false);
    expect(verifyFormToken(SECRET, `${ts}.${mac}A`, NOW)).toBe(false);
  });

  it.each([
    ['undefined', undefined],
    ['an empty string', ''],
    ['no dot', 'abcdef'],
    ['no signature', `${NOW.toString(36)}.`],
    ['no time', `.${'A'.repeat(43)}`],
    ['a time that is not base 36', `!!!.${'A'.repeat(43)}`],
  ])('refuses %s', (_what, token) => {
    expect(verifyFormToken(SECRET, token, NOW)).toBe(false);
  });
});

describe('isSameOrigin', () => {
  const url = 'http://localhost:3000/report';

  it('allows a post without Origin or Sec-Fetch-Site (older browsers, curl)', () => {
    expect(isSameOrigin(url, {})).toBe(true);
  });

  it('allows the Origin of the request URL', () => {
    expect(isSameOrigin(url, { origin: 'http://localhost:3000' })).toBe(true);
    expect(isSameOrigin(url, { origin: 'http://localhost:3000', secFetchSite: 'same-origin' })).toBe(true);
  });

  it('allows Sec-Fetch-Site same-origin and none (user-initiated)', () => {
    expect(isSameOrigin(url, { secFetchSite: 'same-origin' })).toBe(true);
    expect(isSameOrigin(url, { secFetchSite: 'none' })).toBe(true);
  });

  it('refuses Sec-Fetch-Site cross-site, even with a matching Origin', () => {
    expect(isSameOrigin(url, { secFetchSite: 'cross-site' })).toBe(false);
    expect(isSameOrigin(url, { origin: 'http://localhost:3000', secFetchSite: 'cross-site' })).toBe(false);
  });

  it.each([
    ['another site', 'https://evil.example'],
    ['another scheme', 'https://localhost:3000'],
    ['another port', 'http://localhost:3001'],
    ['a lookalike host', 'http://localhost.evil.example:3000'],
    ['the opaque origin "null"', 'null'],
  ])('refuses an Origin from %s', (_what, origin) => {
    expect(isSameOrigin(url, { origin })).toBe(false);
  });

  it('allows the origin of PUBLIC_URL (behind a proxy), and only that one', () => {
    const behindProxy = 'http://10.0.0.5:3000/report';
    const publicUrl = 'https://1022.example.vn/cong-thong-tin/';
    expect(isSameOrigin(behindProxy, { origin: 'https://1022.example.vn' })).toBe(false);
    expect(isSameOrigin(behindProxy, { origin: 'https://1022.example.vn', secFetchSite: 'same-origin' }, publicUrl)).toBe(true);
    expect(isSameOrigin(behindProxy, { origin: 'http://10.0.0.5:3000' }, publicUrl)).toBe(true);
    expect(isSameOrigin(behindProxy, { origin: 'http://1022.example.vn' }, publicUrl)).toBe(false);
    expect(isSameOrigin(behindProxy, { origin: 'https://evil.example' }, publicUrl)).toBe(false);
  });
});
