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
  /** Meilisearch for ticket search (src/search); unset: PostgreSQL full-text search. */
  MEILI_URL: optional.pipe(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional()),
  /** Its API key (a search-and-index key, or the master key). */
  MEILI_KEY: optional,
});
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
