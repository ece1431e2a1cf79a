import { isIP } from 'node:net';
import type { Context } from 'hono';
import type { Config } from '../config.ts';
import type { Db } from '../db/schema.ts';
import { IntakeLimits } from '../intake/intake-limits.ts';
import { plainAddress as plain, TrustedProxies } from '../trusted-proxies.ts';

/**
 * The address of the client behind a request, for per-client limits. The socket's peer, unless
 * the peer is a trusted proxy: then X-Forwarded-For is read from the right (each proxy appends
 * the address it saw), skipping trusted proxies, and the first other address is the client. A
 * request with no socket (the edge entry) is Cloudflare's: its CF-Connecting-IP.
 */
export function clientAddress(c: Context, trusted: TrustedProxies): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  const peer = env?.incoming?.socket?.remoteAddress;
  if (!peer) return c.req.header('cf-connecting-ip')?.trim().slice(0, 64) || 'unknown';
  let client = plain(peer);
  if (!trusted.has(client)) return client;
  const hops = (c.req.header('x-forwarded-for') ?? '').split(',').map((s) => s.trim()).filter(Boolean).slice(-16);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = plain(hops[i]!);
    if (!isIP(hop)) break; // garbage in the header: stop at the last address that made sense
    client = hop;
    if (!trusted.has(hop)) break;
  }
  return client;
}

/** The public intake limits of a configuration (INTAKE_LIMIT_*), counting anonymous reports by clientAddress. */
export function publicIntakeLimits(db: Db, config: Config): IntakeLimits {
  const trusted = TrustedProxies.parse(config.TRUSTED_PROXIES);
  return new IntakeLimits(db, {
    anonymousPerHour: config.INTAKE_LIMIT_ANONYMOUS_PER_HOUR, contactPerHour: config.INTAKE_LIMIT_CONTACT_PER_HOUR,
  }, (c) => clientAddress(c, trusted));
}
