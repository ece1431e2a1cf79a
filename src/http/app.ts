import type { Hono } from 'hono';
import { metrics, registry } from '../metrics.ts';
import { authRoutes, csrfGuard, sessionMiddleware } from './auth.ts';
import { TrustedProxies } from '../trusted-proxies.ts';
import { consoleApi, type ConsoleApiDeps, type MessageReader } from './console/index.ts';
import type { ChannelInfo } from '../wire/staff-api.ts';
import type { AreaIndex } from '../core/places/area-index.ts';
import type { Gazetteer } from '../core/places/gazetteer.ts';
import { staffPages } from './staff-pages.ts';
import { dashboardRoutes } from './dashboard/index.ts';
import { transparencyRoutes } from './dashboard/transparency.ts';
import type { WebAssetsResult } from './web-assets.ts';
import type { EventBus } from '../core/events.ts';
import type { StatusHook } from '../core/tickets/workflow.ts';
import type { Notices } from '../core/tickets/outbound.ts';
import { createPublicApp, type PublicAppDeps } from './public-app.ts';
import type { TicketSearch } from '../search/search.ts';

export interface AppDeps extends Omit<PublicAppDeps, 'observe'> {
  /** The staff console and ward API. */
  console: {
    events: EventBus; search: TicketSearch; onStatus?: StatusHook; channels: ChannelInfo[]; notices?: Notices; places: { areas: AreaIndex; gazetteer: Gazetteer };
    /** Tells this process's worker a job was queued (an export), so that it starts at once. */
    wake?: () => void;
    messages?: MessageReader; retryQuarantined?: ConsoleApiDeps['retryQuarantined'];
  };
  /** The bundled console and ward front end (web-assets.ts: loadWebAssets). */
  webAssets?: () => Promise<WebAssetsResult>;
}

/**
 * The Node server's whole HTTP surface as one value: the public side (public-app.ts) with
 * /metrics, staff sign-in, the console and ward API and their pages. Tests call
 * `app.request()` with no port open.
 */
export function createApp(deps: AppDeps): Hono {
  const observe = (method: string, route: string, status: number, seconds: number) =>
    metrics.http.observe({ method, route, status: String(status) }, seconds);
  return createPublicApp({ ...deps, observe }, (app) => {
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

    // The public transparency page (aggregates only; no session needed).
    app.route('/', transparencyRoutes({ db: deps.db }));

    // Staff sessions: `c.get('user')` wherever the cookie is valid; the CSRF header on console/ward writes.
    app.use('*', sessionMiddleware(deps.db), csrfGuard());
    const config = deps.channelContext.config;
    app.route('/', authRoutes({ db: deps.db, publicUrl: config.PUBLIC_URL, trustedProxies: TrustedProxies.parse(config.TRUSTED_PROXIES), log: deps.log }));
    app.route('/', consoleApi({
      db: deps.db, events: deps.console.events, search: deps.console.search, onStatus: deps.console.onStatus, channels: deps.console.channels, notices: deps.console.notices,
      notice: (code, result) => deps.channelContext.city.resolvedNotice(code, result),
      files: deps.channelContext.files, uploadMaxBytes: config.UPLOAD_MAX_BYTES,
      intake: deps.channelContext.intake, categories: deps.channelContext.categories, places: deps.console.places,
      messages: deps.console.messages, retryQuarantined: deps.console.retryQuarantined,
    }));
    // The /console and /ward shells and the /assets/* bundles they load.
    if (deps.webAssets) app.route('/', staffPages({ assets: deps.webAssets }));
    // The supervisors' dashboard (/dashboard, /api/dashboard).
    app.route('/', dashboardRoutes({
      db: deps.db, channels: deps.console.channels, assets: deps.webAssets, dataDir: config.dataDir, wake: deps.console.wake,
      map: deps.channelContext.places?.map ?? null,
    }));
  });
}
