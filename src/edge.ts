// Cloudflare Workers entry (wrangler.toml): the public surface — portal, app API, tracking pages
// and the transparency page (/minh-bach, linked from every public page's footer) — on the same
// createPublicApp() and transparencyRoutes() as the Node server, writing to PostgreSQL
// (through Hyperdrive or a direct URL). Workers do not run background jobs: the Node processes'
// workers pick up what the edge stored, so a report filed at the edge is processed like any
// other. Nothing Node-only is imported here (no metrics registry, spool, embedded database or
// staff console): test/unit/import-rules.test.ts walks this module's imports to keep it so.
import { channelServices } from './intake/channel-services.ts';
import { EventBus } from './core/events.ts';
import { createHash } from 'node:crypto';
import type { Hono } from 'hono';
import { edgeChannels } from '../channels/edge.ts';
import { loadConfig } from './config.ts';
import { loadCategories, type CategoryInfo } from './core/engine/catalog.ts';
import { publicStatus } from './core/tickets/tracking.ts';
import { connectServer } from './db/connect-server.ts';
import { HCMC_WORDING } from './city/hcmc.ts';
import type { Attachment } from './wire/staff-api.ts';
import { createPublicApp } from './http/public-app.ts';
import { transparencyCache, transparencyRoutes } from './http/dashboard/transparency.ts';
import { publicIntakeLimits } from './http/client-address.ts';
import type { FileStore } from './intake/file-store.ts';
import { IntakeService } from './intake/intake-service.ts';
import { resolveChannels, type ActiveChannel } from './intake/channels.ts';
import type { Config } from './config.ts';
import type { Db } from './db/schema.ts';
import type { Logger } from './log.ts';
import { createLogger } from './log.ts';

/** The part of an R2 bucket binding the photo store uses. */
export interface R2BucketLike {
  put(key: string, value: Uint8Array, opts?: { httpMetadata?: { contentType?: string } }): Promise<unknown>;
  get(key: string): Promise<{ arrayBuffer(): Promise<ArrayBuffer> } | null>;
}

export interface EdgeEnv {
  DATABASE_URL?: string;
  HYPERDRIVE?: { connectionString: string };
  SESSION_SECRET?: string;
  PUBLIC_URL?: string;
  LOG_LEVEL?: string;
  /** The public intake limits (src/config.ts); the Node processes' defaults when absent. */
  INTAKE_LIMIT_ANONYMOUS_PER_HOUR?: string;
  INTAKE_LIMIT_CONTACT_PER_HOUR?: string;
  /** Open311's jurisdiction_id (src/config.ts); set it as on the Node processes. */
  OPEN311_JURISDICTION_ID?: string;
  PHOTOS?: R2BucketLike;
}

/** Photos in an R2 bucket, content-addressed like the local store. */
export class R2FileStore implements FileStore {
  constructor(private readonly bucket: R2BucketLike) {}

  async put(bytes: Uint8Array, contentType: string, ext: string): Promise<Attachment> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const key = `${sha256.slice(0, 2)}/${sha256}.${ext}`;
    await this.bucket.put(key, bytes, { httpMetadata: { contentType } });
    return { key, content_type: contentType, size: bytes.byteLength, sha256 };
  }

  async get(key: string): Promise<Uint8Array | null> {
    const o = await this.bucket.get(key);
    return o ? new Uint8Array(await o.arrayBuffer()) : null;
  }
}

/** What the bindings give once per isolate: settings and channels (plain data, no I/O objects). */
interface EdgeSetup {
  key: string;
  databaseUrl: string;
  config: Config;
  log: Logger;
  channels: ActiveChannel[];
  photos: R2BucketLike;
  secret: string;
}

let setup: EdgeSetup | null = null;
/** Categories read by an earlier request (plain data may outlive a request; a connection may not). */
let categoryCache: { at: number; value: CategoryInfo[] } | null = null;
/** Transparency pages computed by earlier requests of this isolate (a minute each). */
const transparencyPages = transparencyCache();

function setupOf(env: EdgeEnv): EdgeSetup {
  const databaseUrl = env.HYPERDRIVE?.connectionString ?? env.DATABASE_URL;
  if (!databaseUrl) throw new Error('the edge entry needs HYPERDRIVE or DATABASE_URL');
  if (!env.SESSION_SECRET) throw new Error('the edge entry needs SESSION_SECRET (shared with the Node processes)');
  if (!env.PHOTOS) throw new Error('the edge entry needs the PHOTOS R2 bucket binding');
  const key = `${databaseUrl}|${env.PUBLIC_URL ?? ''}|${env.SESSION_SECRET}`;
  if (setup?.key === key) return setup;
  const config = loadConfig({ DATABASE_URL: databaseUrl, SESSION_SECRET: env.SESSION_SECRET, PUBLIC_URL: env.PUBLIC_URL, LOG_LEVEL: env.LOG_LEVEL,
    INTAKE_LIMIT_ANONYMOUS_PER_HOUR: env.INTAKE_LIMIT_ANONYMOUS_PER_HOUR, INTAKE_LIMIT_CONTACT_PER_HOUR: env.INTAKE_LIMIT_CONTACT_PER_HOUR,
    OPEN311_JURISDICTION_ID: env.OPEN311_JURISDICTION_ID });
  // A channel's settings are Worker variables (the string bindings); the same rule as on Node.
  const strings = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'));
  setup = {
    key, databaseUrl, config, log: createLogger(config.LOG_LEVEL), channels: resolveChannels(edgeChannels, strings),
    photos: env.PHOTOS, secret: env.SESSION_SECRET,
  };
  return setup;
}

/**
 * The app for one request, on a database connection of its own. The Workers runtime ties a
 * connection to the request that opened it: one kept for the next request hangs it (Hyperdrive
 * pools the real connections, so opening one per request is what it is for).
 */
function edgeApp(s: EdgeSetup, db: Db): Hono {
  const app = createPublicApp({
    db, log: s.log, channels: s.channels,
    channelContext: {
      config: s.config, log: s.log, secret: s.secret, city: HCMC_WORDING,
      intake: new IntakeService(db),
      limits: publicIntakeLimits(db, s.config),
      // No console listens here: a signal goes nowhere, delivery events reach consoles through the timeline.
      ...channelServices(db, new EventBus()),
      files: new R2FileStore(s.photos),
      categories: async () => {
        if (!categoryCache || Date.now() - categoryCache.at > 30_000) categoryCache = { at: Date.now(), value: await loadCategories(db) };
        return categoryCache.value;
      },
      publicStatus: (code) => publicStatus(db, code, HCMC_WORDING),
    },
  });
  app.route('/', transparencyRoutes({ db, cache: transparencyPages }));
  return app;
}

export default {
  async fetch(request: Request, env: EdgeEnv, ctx?: { waitUntil?(p: Promise<unknown>): void }): Promise<Response> {
    const s = setupOf(env);
    const { db } = connectServer(s.databaseUrl, 1);
    try {
      return await edgeApp(s, db).fetch(request, env, ctx as never);
    } finally {
      // The response is complete (handlers read and write whole bodies): close after it.
      const closing = db.destroy().catch(() => {});
      if (ctx?.waitUntil) ctx.waitUntil(closing);
      else await closing;
    }
  },
};
