import { Hono } from 'hono';
import { sql } from 'kysely';
import type { ChannelAdapter, ChannelContext } from '../intake/channel-adapter.ts';
import type { Db } from '../db/schema.ts';
import type { Logger } from '../log.ts';
import { metrics, registry } from '../metrics.ts';
import { AppError } from '../core/errors.ts';
import { errorBody, handleError } from './errors.ts';

export interface AppDeps {
  db: Db;
  log: Logger;
  channels: ChannelAdapter[];
  channelContext: ChannelContext;
}

/**
 * The whole HTTP surface as one value: the Node server and the edge entry wrap it, and tests
 * call `app.request()` with no port open.
 */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.onError(handleError(deps.log));

  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    const route = c.req.routePath || 'unmatched';
    metrics.http.observe({ method: c.req.method, route, status: String(c.res.status) }, (performance.now() - started) / 1000);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'same-origin');
  });

  app.get('/healthz', async (c) => {
    try {
      await sql`select 1`.execute(deps.db);
      return c.json({ ok: true });
    } catch {
      return c.json({ ok: false, degraded: 'database' }, 503);
    }
  });

  app.get('/metrics', async (c) => {
    try {
      const row = await deps.db.selectFrom('jobs').select((eb) => eb.fn.countAll<number>().as('n'))
        .where('done_at', 'is', null).where('failed_at', 'is', null).executeTakeFirst();
      metrics.jobsPending.set(Number(row?.n ?? 0));
    } catch {
      // metrics must answer even when the database does not
    }
    return c.text(await registry.metrics(), 200, { 'Content-Type': registry.contentType });
  });

  for (const channel of deps.channels) {
    app.route('/', channel.routes(deps.channelContext));
  }

  app.notFound((c) => {
    const e = new AppError('not_found', 404, `no route for ${c.req.method} ${c.req.path}`, 'Không tìm thấy trang hoặc tài nguyên này.');
    return c.json(errorBody(e), 404);
  });
  return app;
}
