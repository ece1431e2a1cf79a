import { serve, type ServerType } from '@hono/node-server';
import type { Config } from './config.ts';
import type { Logger } from './log.ts';
import { createRuntime, type Runtime } from './runtime.ts';

export interface Server {
  runtime: Runtime;
  server: ServerType;
  url: string;
  stop(): Promise<void>;
}

/** Starts the Node HTTP server around the app; `stop()` stops accepting, drains jobs, closes the database. */
export async function startServer(config: Config, log: Logger, onRuntime?: (rt: Runtime) => Promise<void>): Promise<Server> {
  const runtime = await createRuntime(config, { log });
  if (onRuntime) await onRuntime(runtime);
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: runtime.app.fetch, port: config.PORT, hostname: config.HOST }, () => resolve(s));
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.PORT;
  const host = config.HOST === '0.0.0.0' || config.HOST === '::' ? 'localhost' : config.HOST;
  const url = config.PUBLIC_URL ?? `http://${host}:${port}`;
  let stopping: Promise<void> | null = null;
  return {
    runtime, server, url,
    stop() {
      stopping ??= (async () => {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await runtime.close();
      })();
      return stopping;
    },
  };
}
