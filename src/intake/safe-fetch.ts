import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP } from 'node:net';
import { AppError } from '../core/errors.ts';

// Media named in a provider's payload (an MMS photo, a Messenger attachment, a call recording) is
// fetched by a job, and only from the provider's own hosts: a payload that names any other URL,
// above all a loopback or private address, gets nothing fetched (Chatwoot's SafeFetch). The
// address is checked when the socket connects, not before (a DNS answer that changes between a
// check and the connection cannot lead inside), and again on every redirect.

/** Where a channel's media may come from, and how to ask for it. */
export interface MediaPolicy {
  /** Host names allowed: exact (`api.twilio.com`) or a suffix (`.fbcdn.net`). */
  hosts: readonly string[];
  /**
   * Origins the operator configured (a provider base URL such as TWILIO_API_URL): allowed even on
   * a private address (a provider fake on loopback in tests, a proxy), and the only ones that get
   * the channel's credentials.
   */
  trustedOrigins?: readonly string[];
  /** Headers (credentials) for requests to the trusted origins only. */
  headers?: Record<string, string>;
}

export interface FetchLimits {
  maxBytes: number;
  timeoutMs?: number;
  maxRedirects?: number;
}

/** Addresses no media fetch may reach (RFC 1918, loopback, link-local, CGNAT, ULA, multicast, documentation). */
const PRIVATE_V4 = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24],
  ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 3],
] as const) PRIVATE_V4.addSubnet(net, bits, 'ipv4');
// Kept apart from the IPv4 list: a BlockList checks an IPv4 address against IPv4-mapped IPv6
// rules too, so ::ffff:0:0/96 there would make every IPv4 address private.
const PRIVATE_V6 = new BlockList();
// Also the ranges that embed an IPv4 address (IPv4-compatible ::/96, NAT64, 6to4): judged private
// rather than decoded, as no provider serves media from them.
for (const [net, bits] of [
  ['::', 96], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['2002::', 16], ['2001:db8::', 32],
] as const) {
  PRIVATE_V6.addSubnet(net, bits, 'ipv6');
}

/** Whether an IP address is private, loopback or otherwise not on the public internet. */
export function isPrivateAddress(raw: string): boolean {
  // Every way of writing an IPv6 address to one (0:0:0:0:0:ffff:7f00:1 -> ::ffff:7f00:1).
  const address = isIP(raw) === 6 ? canonicalV6(raw) : raw;
  const family = isIP(address);
  if (family === 4) return PRIVATE_V4.check(address, 'ipv4');
  if (family === 0) return true;
  // An IPv4 address written as IPv6 (::ffff:10.0.0.1, ::ffff:a00:1) is judged as IPv4.
  const mapped = /^::ffff:(?:0:)?(.+)$/i.exec(address)?.[1];
  if (mapped) {
    if (isIP(mapped) === 4) return PRIVATE_V4.check(mapped, 'ipv4');
    const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(mapped);
    if (hex) {
      const hi = parseInt(hex[1]!, 16);
      const lo = parseInt(hex[2]!, 16);
      return PRIVATE_V4.check(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, 'ipv4');
    }
  }
  return PRIVATE_V6.check(address, 'ipv6');
}

/** An IPv6 address in its canonical (compressed, lower-case) form, as the URL parser writes it. */
function canonicalV6(a: string): string {
  try {
    return new URL(`http://[${a}]/`).hostname.slice(1, -1);
  } catch {
    return a;
  }
}

const refused = (why: string) => new AppError('media_refused', 422, why);

/** Whether `host` is one of the policy's hosts. */
export function hostAllowed(host: string, hosts: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return hosts.some((a) => (a.startsWith('.') ? h.endsWith(a) && h.length > a.length : h === a));
}

/** A DNS lookup that refuses private answers (used at connect time). */
function publicLookup(hostname: string, options: object, cb: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return cb(err, '');
    const list = addresses as LookupAddress[];
    const bad = list.find((a) => isPrivateAddress(a.address));
    if (bad || list.length === 0) return cb(Object.assign(new Error(`media host ${hostname} resolves to a private address`), { code: 'EPRIVATE' }), '');
    if ((options as { all?: boolean }).all) return cb(null, list);
    cb(null, list[0]!.address, list[0]!.family);
  });
}

/**
 * Fetches a provider's media: only from the policy's hosts (or its trusted origins), never from a
 * private address unless the operator configured that origin, redirects followed by hand and
 * checked again, credentials sent to trusted origins only, the body cut off past `maxBytes`.
 * Refusals are AppError `media_refused` (final: retrying cannot help); network failures throw
 * as they are (a job retries them).
 */
export async function safeFetch(rawUrl: string, policy: MediaPolicy, limits: FetchLimits): Promise<{ bytes: Uint8Array; contentType: string | null }> {
  let url = rawUrl;
  for (let hop = 0; hop <= (limits.maxRedirects ?? 3); hop++) {
    if (url.length > 4096) throw refused('media URL too long');
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw refused('media URL is not a URL');
    }
    const trusted = (policy.trustedOrigins ?? []).includes(u.origin);
    if (!trusted) {
      if (u.protocol !== 'https:') throw refused(`media URL must be https: ${u.origin}`);
      if (!hostAllowed(u.hostname, policy.hosts)) throw refused(`media host not allowed: ${u.hostname}`);
      if (isIP(u.hostname.replace(/^\[|\]$/g, '')) && isPrivateAddress(u.hostname.replace(/^\[|\]$/g, ''))) throw refused(`media host is a private address: ${u.hostname}`);
    }
    if (u.username || u.password) throw refused('media URL carries credentials');
    const res = await request(u, trusted ? policy.headers ?? {} : {}, trusted, limits);
    if (res.redirect) {
      url = new URL(res.redirect, u).href;
      continue;
    }
    return { bytes: res.bytes!, contentType: res.contentType };
  }
  throw refused('too many redirects');
}

function request(u: URL, headers: Record<string, string>, trusted: boolean, limits: FetchLimits): Promise<{ redirect?: string; bytes?: Uint8Array; contentType: string | null }> {
  return new Promise((resolve, reject) => {
    // The whole download, not only a silent socket: a host that trickles a byte a second gets cut off.
    const deadline = setTimeout(() => req.destroy(new Error('media fetch took too long')), limits.timeoutMs ?? 15_000);
    const settle = <T>(f: (v: T) => void) => (v: T) => { clearTimeout(deadline); f(v); };
    resolve = settle(resolve);
    reject = settle(reject);
    const lib = u.protocol === 'https:' ? https : http;
    const req = lib.request(u, {
      method: 'GET', headers: { ...headers, 'user-agent': 'phananh-media/1' },
      timeout: limits.timeoutMs ?? 15_000,
      ...(trusted ? {} : { lookup: publicLookup as never }),
    }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        return resolve({ redirect: res.headers.location, contentType: null });
      }
      if (status !== 200) {
        res.resume();
        const err = status === 404 || status === 403 || status === 410 ? refused(`media answered ${status}`) : new Error(`media answered ${status}`);
        return reject(err);
      }
      const declared = Number(res.headers['content-length'] ?? '0');
      if (declared > limits.maxBytes) {
        res.destroy();
        return reject(refused(`media is ${declared} bytes, more than ${limits.maxBytes}`));
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > limits.maxBytes) {
          res.destroy();
          reject(refused(`media is more than ${limits.maxBytes} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => resolve({ bytes: new Uint8Array(Buffer.concat(chunks)), contentType: (res.headers['content-type'] ?? null) as string | null }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('media fetch timed out')));
    req.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'EPRIVATE' ? refused(err.message) : err));
    req.end();
  });
}
