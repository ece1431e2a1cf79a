import { serve, type ServerType } from '@hono/node-server';
import type { Config } from './config.ts';
import type { Logger } from './log.ts';
import { attachRealtime, type Realtime } from './realtime/server.ts';
import { createRuntime, type Runtime } from './runtime.ts';
import type { DbHandle } from './db/connect.ts';
import { loadWebAssets } from './http/web-assets.ts';

export interface Server {
  runtime: Runtime;
  server: ServerType;
  /** socket.io on the same server (path /socket.io). */
  realtime: Realtime;
  url: string;
  stop(): Promise<void>;
}

/** Starts the Node HTTP server around the app; `stop()` stops accepting, drains jobs, closes the database. */
export async function startServer(config: Config, log: Logger, onRuntime?: (rt: Runtime) => Promise<void>, opts: {
  env?: Record<string, string | undefined>;
  /** An already migrated and seeded database (tests: a copy of a template), instead of opening and migrating one. */
  handle?: DbHandle;
} = {}): Promise<Server> {
  // Channels read their settings from `env` (default: the process's environment).
  const runtime = await createRuntime(config, { log, ...(opts.env ? { env: opts.env } : {}), ...(opts.handle ? { handle: opts.handle, skipSetup: true } : {}) });
  if (onRuntime) await onRuntime(runtime);
  // Bundle the console and ward front end now (once per process), not on the first page view.
  const web = await loadWebAssets();
  if (web.ok) log.info({ ms: web.assets.buildMs }, 'built the console and ward front end');
  else log.error({ error: web.error }, 'the console and ward front end did not build: /console and /ward show an error page');
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: runtime.app.fetch, port: config.PORT, hostname: config.HOST }, () => resolve(s));
    s.once('error', reject);
  }).catch(async (e: unknown) => {
    // Nothing listens: stop the workers and close the database (an embedded one is free again).
    await runtime.close().catch(() => {});
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    throw Object.assign(new Error(`port ${config.PORT} on ${config.HOST} is in use (another phananh, or another program): stop it, or set PORT to a free port`), { code: 'port_in_use' });
  });
  const realtime = await attachRealtime({
    httpServer: server, db: runtime.handle.db, events: runtime.events, log, publicUrl: config.PUBLIC_URL,
    databaseUrl: runtime.handle.kind === 'postgres' ? (config.DATABASE_URL ?? runtime.handle.url) : undefined,
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.PORT;
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST;
  const url = config.PUBLIC_URL ?? `http://${host}:${port}`;
  let stopping: Promise<void> | null = null;
  return {
    runtime, server, realtime, url,
    stop() {
      stopping ??= (async () => {
        // Open sockets would keep server.close() waiting: close them first.
        await realtime.close();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await runtime.close();
      })();
      return stopping;
    },
  };
}
