import { Hono } from 'hono';
import { sql } from 'kysely';
import { AppError } from '../core/errors.ts';
import type { Db } from '../db/schema.ts';
import type { ChannelContext } from '../intake/channel-kit.ts';
import { basePathOf, type ActiveChannel } from '../intake/channels.ts';
import { PAGE_CSP, serveStaticFile, SITE_CSS } from '../intake/page-layout.ts';
import type { Logger } from '../log.ts';
import { errorBody, handleError } from './errors.ts';

export interface PublicAppDeps {
  db: Db;
  log: Logger;
  /** The channels that are on (src/intake/channels.ts), each mounted at its base path. */
  channels: ActiveChannel[];
  /** What every channel gets; each also gets its own `settings`. */
  channelContext: Omit<ChannelContext, 'settings'>;
  /** The intake spool (spool.ts), for its depth and set-aside entries in /healthz; absent on the edge. */
  spool?: { depth(): number; poisoned(): Promise<number> };
  /** Told of every answered request (the Node server's request histogram). */
  observe?: (method: string, route: string, status: number, seconds: number) => void;
}

/**
 * What residents reach: the channels' routes (portal, app API, tracking pages), the site
 * stylesheet and /healthz, with the headers every response carries. The edge entry serves
 * this alone, so it imports nothing Node-only; the Node server (app.ts) adds the staff side
 * through `staff`, which runs before the channels are mounted.
 */
export function createPublicApp(deps: PublicAppDeps, staff?: (app: Hono) => void): Hono {
  const app = new Hono();
  app.onError(handleError(deps.log));

  // The city's words every page frame shows (siteOf).
  const site = deps.channelContext.city;
  app.use('*', async (c, next) => {
    c.set('site' as never, site as never);
    const started = performance.now();
    await next();
    deps.observe?.(c.req.method, c.req.routePath || 'unmatched', c.res.status, (performance.now() - started) / 1000);
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'same-origin');
    // No page of ours is ever shown in another site's frame (clickjacking); the CSP says so too,
    // for browsers that read only that.
    c.header('X-Frame-Options', 'DENY');
    if (c.res.headers.get('content-type')?.startsWith('text/html') && !c.res.headers.has('content-security-policy')) {
      c.header('Content-Security-Policy', PAGE_CSP);
    }
  });

  app.get(SITE_CSS.path, (c) => serveStaticFile(c, SITE_CSS));

  app.get('/healthz', async (c) => {
    const spooled = deps.spool?.depth() ?? 0;
    // Set aside by the drain (the database refuses them): healthy, but an operator must look.
    const poisoned = (await deps.spool?.poisoned().catch(() => 0)) ?? 0;
    const extra = { ...(spooled > 0 ? { spooled } : {}), ...(poisoned > 0 ? { poisoned } : {}) };
    try {
      await sql`select 1`.execute(deps.db);
      // Back up and still draining the spool: healthy, and says how much is left.
      return c.json({ ok: true, ...extra });
    } catch {
      return c.json({ ok: false, degraded: 'database', spooled, ...(poisoned > 0 ? { poisoned } : {}) }, 503);
    }
  });

  staff?.(app);

  for (const { adapter, settings } of deps.channels) {
    if (adapter.routes) app.route(basePathOf(adapter), adapter.routes({ ...deps.channelContext, settings }));
  }

  app.notFound((c) => {
    const e = new AppError('not_found', 404, `no route for ${c.req.method} ${c.req.path}`, 'Không tìm thấy trang hoặc tài nguyên này.');
    return c.json(errorBody(e), 404);
  });
  return app;
}
