import { Hono } from 'hono';
import { sql } from 'kysely';
import type { ChannelContext } from '../intake/channel-kit.ts';
import { basePathOf, type ActiveChannel } from '../intake/channels.ts';
import type { Db } from '../db/schema.ts';
import type { Logger } from '../log.ts';
import { metrics, registry } from '../metrics.ts';
import { AppError } from '../core/errors.ts';
import { authRoutes, csrfGuard, sessionMiddleware } from './auth.ts';
import { TrustedProxies } from '../trusted-proxies.ts';
import { errorBody, handleError } from './errors.ts';
import { consoleApi } from './console-api.ts';
import type { ChannelInfo } from '../wire/staff-api.ts';
import { staffPages } from './staff-pages.ts';
import { PAGE_CSP, serveStaticFile, SITE_CSS } from '../intake/page-layout.ts';
import type { WebAssetsResult } from './web-assets.ts';
import type { EventBus } from '../core/events.ts';
import type { StatusHook } from '../core/tickets/workflow.ts';

export interface AppDeps {
  db: Db;
  log: Logger;
  /** The channels that are on (src/intake/channels.ts), each mounted at its base path. */
  channels: ActiveChannel[];
  /** What every channel gets; each also gets its own `settings`. */
  channelContext: Omit<ChannelContext, 'settings'>;
  /** The staff console and ward API; absent on the edge entry, which serves residents only. */
  console?: { events: EventBus; onStatus?: StatusHook; channels: ChannelInfo[] };
  /** The intake spool (spool.ts), for its depth and set-aside entries in /healthz and /metrics; absent on the edge entry. */
  spool?: { depth(): number; poisoned(): Promise<number> };
  /** The bundled console and ward front end (web-assets.ts: loadWebAssets); absent on the edge entry. */
  webAssets?: () => Promise<WebAssetsResult>;
}

/**
 * The whole HTTP surface as one value: the Node server and the edge entry wrap it, and tests
 * call `app.request()` with no port open.
 */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  app.onError(handleError(deps.log));

  // The city's words every page frame shows (siteOf).
  const site = deps.channelContext.city;
  app.use('*', async (c, next) => {
    c.set('site' as never, site as never);
    const started = performance.now();
    await next();
    const route = c.req.routePath || 'unmatched';
    metrics.http.observe({ method: c.req.method, route, status: String(c.res.status) }, (performance.now() - started) / 1000);
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

  app.get('/metrics', async (c) => {
    if (deps.spool) {
      metrics.spoolDepth.set(deps.spool.depth());
      metrics.spoolPoisonedNow.set(await deps.spool.poisoned().catch(() => 0));
    }
    try {
      const row = await deps.db.selectFrom('jobs').select((eb) => eb.fn.countAll<number>().as('n'))
        .where('done_at', 'is', null).where('failed_at', 'is', null)
        .where((eb) => eb.or([eb('run_at', '<=', new Date()), eb('last_error', 'is not', null)])).executeTakeFirst();
      metrics.jobsPending.set(Number(row?.n ?? 0));
    } catch {
      // metrics must answer even when the database does not
    }
    return c.text(await registry.metrics(), 200, { 'Content-Type': registry.contentType });
  });

  // Staff sessions: `c.get('user')` wherever the cookie is valid; the CSRF header on console/ward writes.
  app.use('*', sessionMiddleware(deps.db), csrfGuard());
  const config = deps.channelContext.config;
  app.route('/', authRoutes({ db: deps.db, publicUrl: config.PUBLIC_URL, trustedProxies: TrustedProxies.parse(config.TRUSTED_PROXIES), log: deps.log }));

  if (deps.console) {
    app.route('/', consoleApi({
      db: deps.db, events: deps.console.events, onStatus: deps.console.onStatus, channels: deps.console.channels,
      notice: (code, result) => deps.channelContext.city.resolvedNotice(code, result),
      files: deps.channelContext.files, uploadMaxBytes: deps.channelContext.config.UPLOAD_MAX_BYTES,
    }));
  }

  // The /console and /ward shells and the /assets/* bundles they load.
  if (deps.webAssets) app.route('/', staffPages({ assets: deps.webAssets }));

  for (const { adapter, settings } of deps.channels) {
    if (adapter.routes) app.route(basePathOf(adapter), adapter.routes({ ...deps.channelContext, settings }));
  }

  app.notFound((c) => {
    const e = new AppError('not_found', 404, `no route for ${c.req.method} ${c.req.path}`, 'Không tìm thấy trang hoặc tài nguyên này.');
    return c.json(errorBody(e), 404);
  });
  return app;
}
