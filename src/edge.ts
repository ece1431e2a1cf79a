// Cloudflare Workers entry (wrangler.toml): the public intake surface — portal, app API and
// tracking pages — on the same createApp() as the Node server, writing to PostgreSQL (through
// Hyperdrive or a direct URL). Workers do not run background jobs: the Node processes' workers
// pick up what the edge stored, so a report filed at the edge is processed like any other.
import { createHash } from 'node:crypto';
import type { Hono } from 'hono';
import { allChannels } from '../channels/index.ts';
import { loadConfig } from './config.ts';
import { loadCategories, type CategoryInfo } from './core/engine/catalog.ts';
import { publicStatus } from './core/tickets/tracking.ts';
import { connect } from './db/connect.ts';
import { HCMC } from './city/hcmc.ts';
import type { Attachment } from './db/schema.ts';
import { createApp } from './http/app.ts';
import type { FileStore } from './intake/file-store.ts';
import { IntakeService } from './intake/intake-service.ts';
import { resolveChannels } from './intake/channels.ts';
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

let cached: { key: string; app: Hono } | null = null;

/** Builds (once per isolate) the app for these bindings. */
export async function edgeApp(env: EdgeEnv): Promise<Hono> {
  const databaseUrl = env.HYPERDRIVE?.connectionString ?? env.DATABASE_URL;
  if (!databaseUrl) throw new Error('the edge entry needs HYPERDRIVE or DATABASE_URL');
  if (!env.SESSION_SECRET) throw new Error('the edge entry needs SESSION_SECRET (shared with the Node processes)');
  if (!env.PHOTOS) throw new Error('the edge entry needs the PHOTOS R2 bucket binding');
  const key = `${databaseUrl}|${env.PUBLIC_URL ?? ''}`;
  if (cached?.key === key) return cached.app;
  const config = loadConfig({ DATABASE_URL: databaseUrl, SESSION_SECRET: env.SESSION_SECRET, PUBLIC_URL: env.PUBLIC_URL, LOG_LEVEL: env.LOG_LEVEL });
  const log = createLogger(config.LOG_LEVEL);
  const { db } = await connect({ databaseUrl, poolMax: 5 });
  let categories: { at: number; value: CategoryInfo[] } | null = null;
  const app = createApp({
    db, log,
    // A channel's settings are Worker variables (the string bindings); the same rule as on Node.
    channels: resolveChannels(allChannels, Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'))),
    channelContext: {
      config, log, secret: env.SESSION_SECRET, city: HCMC.wording,
      intake: new IntakeService(db),
      files: new R2FileStore(env.PHOTOS),
      categories: async () => {
        if (!categories || Date.now() - categories.at > 30_000) categories = { at: Date.now(), value: await loadCategories(db) };
        return categories.value;
      },
      publicStatus: (code) => publicStatus(db, code, HCMC.wording),
    },
  });
  cached = { key, app };
  return app;
}

export default {
  async fetch(request: Request, env: EdgeEnv, ctx: unknown): Promise<Response> {
    const app = await edgeApp(env);
    return app.fetch(request, env, ctx as never);
  },
};
