import { z } from 'zod';
import path from 'node:path';
import { TrustedProxies } from './trusted-proxies.ts';

/** Optional string: an empty value counts as absent, so `.env` files can list every key. */
const optional = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: optional.pipe(z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres://').optional()),
  DATA_DIR: z.string().default('./data'),
  PUBLIC_URL: optional.pipe(z.url().optional()),
  /** Reverse proxies whose X-Forwarded-For is believed: comma-separated addresses and CIDR ranges. */
  TRUSTED_PROXIES: optional.superRefine((v, ctx) => {
    const why = TrustedProxies.problem(v);
    if (why) ctx.addIssue({ code: 'custom', message: why });
  }),
  SESSION_SECRET: optional.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(4),
  WORKER_BATCH_SIZE: z.coerce.number().int().min(1).max(500).default(100),
  WORKER_BATCH_CONCURRENCY: z.coerce.number().int().min(1).max(16).default(1),
  UPLOAD_MAX_BYTES: z.coerce.number().int().min(1024).default(10 * 1024 * 1024),
  /**
   * The jurisdiction_id the Open311 endpoint serves (a domain name). Here rather than in the
   * channel's settings because the channel is always on: unset, it is PUBLIC_URL's host, else
   * hcmc.gov.vn.
   */
  OPEN311_JURISDICTION_ID: optional.pipe(z.string().max(100).regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/, 'must be a domain name such as hcmc.gov.vn').optional()),
  /** Public reports an hour without a contact, per client address (0: no limit). */
  INTAKE_LIMIT_ANONYMOUS_PER_HOUR: z.coerce.number().int().min(0).max(100_000).default(20),
  /** Public reports an hour with a contact, per contact, whatever the address (0: no limit). */
  INTAKE_LIMIT_CONTACT_PER_HOUR: z.coerce.number().int().min(0).max(100_000).default(30),
  /**
   * The portal's map tiles: an http(s) URL template with {z}, {x} and {y} ({s} as the first label
   * of the host for a tile server's subdomains, {r} for its retina suffix); `off`: no map (the
   * latitude and longitude boxes remain). Unset: OpenStreetMap's standard tiles.
   */
  MAP_TILE_URL: optional.pipe(z.string().max(300).refine((v) => v === 'off' || tileOrigin(v) !== null,
    'must be an http(s) URL template with {z}, {x} and {y}, or off').optional()),
  /**
   * The attribution the tiles require, as text, optionally followed by the link it names in angle
   * brackets: `© OpenStreetMap contributors <https://www.openstreetmap.org/copyright>` (the default).
   */
  MAP_TILE_ATTRIBUTION: optional.pipe(z.string().max(300).refine((v) => parseAttribution(v) !== null,
    'must be text, optionally followed by an http(s) link in angle brackets').optional()),
  /** Meilisearch for ticket search (src/search); unset: PostgreSQL full-text search. */
  MEILI_URL: optional.pipe(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional()),
  /** Its API key (a search-and-index key, or the master key). */
  MEILI_KEY: optional,
});
/** OpenStreetMap's standard tiles (their usage policy asks for the attribution below, linked). */
export const DEFAULT_TILE_URL = 'https://tile.openstreetmap.org/{z}/{x}/{y}.png';
export const DEFAULT_TILE_ATTRIBUTION = '© OpenStreetMap contributors <https://www.openstreetmap.org/copyright>';

/**
 * The origin a tile URL template loads from, as a CSP source (`https://*.tile.example.org` for a
 * template with {s}); null when it is no usable template.
 */
export function tileOrigin(template: string): string | null {
  if (!/\{z\}/.test(template) || !/\{x\}/.test(template) || !/\{y\}/.test(template) || /[\s'";,]/.test(template)) return null;
  const subdomains = /^https?:\/\/\{s\}\./.test(template);
  let url: URL;
  try {
    url = new URL(template.replace('{s}', 'a').replace(/\{[a-z]\}/g, '0'));
  } catch {
    return null;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return null;
  if (url.username || url.password) return null;
  return subdomains ? `${url.protocol}//*.${url.host.slice(2)}` : url.origin;
}

/** An attribution as text and its optional link; null when malformed. */
export function parseAttribution(v: string): { text: string; href: string | null } | null {
  const m = /^([^<>]{1,200}?)\s*(?:<(https?:\/\/[^<>\s]{1,200})>)?$/.exec(v.trim());
  return m ? { text: m[1]!, href: m[2] ?? null } : null;
}

/** The portal's map tiles, or null when MAP_TILE_URL is `off`. */
export function mapTiles(config: Pick<Config, 'MAP_TILE_URL' | 'MAP_TILE_ATTRIBUTION'>): { url: string; attribution: string; origin: string } | null {
  if (config.MAP_TILE_URL === 'off') return null;
  const url = config.MAP_TILE_URL ?? DEFAULT_TILE_URL;
  return { url, attribution: config.MAP_TILE_ATTRIBUTION ?? DEFAULT_TILE_ATTRIBUTION, origin: tileOrigin(url)! };
}

// A channel's own settings (Twilio, Facebook, a mailbox...) are declared by the channel, in its
// folder, and read by src/intake/channels.ts: this schema holds only the app's.

export type Config = z.infer<typeof schema> & { dataDir: string };

/** A configuration value that failed validation; the process prints it and stops. */
export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid configuration:\n  ${issues.join('\n  ')}`);
  }
}

/** Parses and validates the environment once, at start. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  return { ...parsed.data, dataDir: path.resolve(parsed.data.DATA_DIR) };
}
