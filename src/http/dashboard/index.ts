import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Hono, type Context } from 'hono';
import { AppError } from '../../core/errors.ts';
import { EXPORT_TICKETS_MAX_DAYS, getExport, requestExport, type ExportState } from '../../core/dashboard/exports.ts';
import { bodyLimit } from '../../intake/body-limit.ts';
import { exportsDir } from '../../workers/exports.ts';
import { html, raw } from 'hono/html';
import { parsePeriod, type Period } from '../../core/dashboard/period.ts';
import { mapTickets, openCounts, periodStats, type RankingRow, type SlaFigures } from '../../core/dashboard/stats.ts';
import { ROLE_VI, rolesThatCan } from '../../core/staff/policy.ts';
import type { Db } from '../../db/schema.ts';
import { PAGE_CSP, pageCsp, siteOf } from '../../intake/page-layout.ts';
import type { ChannelInfo } from '../../wire/staff-api.ts';
import { requireUser, type AuthEnv } from '../auth.ts';
import type { WebAssetsResult } from '../web-assets.ts';
import { TtlCache } from './cache.ts';
import { cityOutlines, type CityOutlines, type MapUnit, type Outline } from './svg.ts';
import { dashboardBody, exportButtons, periodForm, type DashboardData, type DashboardTiles } from './views.ts';

export interface DashboardDeps {
  db: Db;
  channels: ChannelInfo[];
  /** The bundled front end (its stylesheet, and the script that keeps the page live). */
  assets?: () => Promise<WebAssetsResult>;
  /** How long a computed dashboard is shared between requests (default 5 s, any period: the rollup makes a year cheap). */
  cacheMs?: number;
  /** DATA_DIR: exports are files under DATA_DIR/exports. */
  dataDir: string;
  /** Wakes the worker after an export was queued. */
  wake?: () => void;
  /** The map tiles (MAP_TILE_URL) the map of open tickets is drawn on, and their origin (for the CSP); null: the ward outlines alone. */
  map?: (DashboardTiles & { origin: string }) | null;
}

/** How long the projected unit outlines are kept (areas are re-imported rarely). */
const OUTLINES_MS = 60 * 60_000;

/** Reads the units' outlines and projects them for the city map, kept an hour. */
export function outlinesLoader(db: Db): () => Promise<CityOutlines | null> {
  const cache = new TtlCache<CityOutlines | null>(OUTLINES_MS, 1);
  return () => cache.get('all', async () => {
    const rows = await db.selectFrom('areas').select(['code', 'name', 'geometry']).orderBy('code').execute();
    const units: MapUnit[] = rows.flatMap((r) => {
      const g = (typeof r.geometry === 'string' ? JSON.parse(r.geometry) : r.geometry) as Outline | null;
      return g && (g.type === 'Polygon' || g.type === 'MultiPolygon') ? [{ code: r.code, name: r.name, geometry: g }] : [];
    });
    return units.length ? cityOutlines(units) : null;
  });
}

const presentFigures = (f: SlaFigures) => ({
  volume: f.volume, handled: f.handled, handled_within_2h: f.handledWithin, within_2h_share: f.withinShare,
  median_minutes: f.medianMinutes, p90_minutes: f.p90Minutes, reopened: f.reopened, reopened_share: f.reopenedShare,
});
const presentRanking = (r: RankingRow) => ({ rank: r.rank, code: r.code, name: r.name, ...presentFigures(r) });
const presentPeriod = (p: Period) => ({ preset: p.preset, from: p.firstDay, to: p.lastDay, days: p.days.length });

/** The JSON of GET /api/dashboard. */
export function presentDashboard(d: DashboardData) {
  return {
    period: presentPeriod(d.period),
    generated_at: d.generatedAt.toISOString(),
    open: {
      total: d.open.total, by_status: d.open.byStatus, by_channel: d.open.byChannel, by_category: d.open.byCategory, by_unit: d.open.byUnit,
    },
    city: presentFigures(d.stats.city),
    ranking: { units: d.stats.byUnit.map(presentRanking), departments: d.stats.byDepartment.map(presentRanking) },
    categories: d.stats.byCategory,
    trend: d.stats.trend.map((t) => ({ day: t.day, ...presentFigures(t) })),
    map: {
      open: d.map.open.map((t) => ({ code: t.code, lat: t.lat, lng: t.lng, status: t.status })),
      hotspots: d.map.hotspots.map((t) => ({ code: t.code, lat: t.lat, lng: t.lng, hotspot_count: t.hotspotCount })),
    },
  };
}

/**
 * The supervisors' dashboard: GET /dashboard (the page, server-rendered: it works without
 * JavaScript), GET /dashboard/live (its live part, which web/dashboard.ts swaps in when events
 * arrive) and GET /api/dashboard (the same figures as JSON). Supervisors and admins only
 * (`dashboard.use`). A period's figures are computed once per `cacheMs` per process, whoever asks.
 */
export function dashboardRoutes(deps: DashboardDeps): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();
  const cache = new TtlCache<DashboardData>(deps.cacheMs ?? 5000);
  const outlines = outlinesLoader(deps.db);
  const channelNames = new Map(deps.channels.map((c) => [c.name, c.label.vi]));
  const allowed = requireUser(...rolesThatCan('dashboard.use'));

  const load = (c: Context) => {
    const period = parsePeriod({ period: c.req.query('period'), from: c.req.query('from'), to: c.req.query('to') });
    // `since`: the time of the newest event the page has heard of (its refresh must include it).
    // A computation that started less than a second after it may have missed it (the event is
    // stamped in its transaction, before the commit); one that starts now cannot.
    const since = Number((c.req.query('since') ?? '').slice(0, 16));
    const now = Date.now();
    const notBefore = Number.isFinite(since) && since > 0 ? Math.min(since + 1000, now) : 0;
    return cache.get(period.key, async () => {
      const [open, stats, map] = await Promise.all([openCounts(deps.db, channelNames), periodStats(deps.db, period), mapTickets(deps.db, period)]);
      return { period, open, stats, map, generatedAt: new Date() };
    }, now, notBefore).then((d) => ({ ...d, period }));
  };

  const presentExport = (e: ExportState) => ({
    id: e.id, what: e.what, format: e.format, from: e.firstDay, to: e.lastDay, status: e.status, progress: e.progress, rows: e.rows,
    error: e.error, created_at: e.createdAt.toISOString(), expires_at: e.expiresAt.toISOString(),
    download: e.status === 'done' ? `/api/dashboard/exports/${e.id}/file` : null,
  });
  const exportId = (c: Context) => {
    const raw = c.req.param('id') ?? '';
    return raw.length <= 12 && /^\d+$/.test(raw) ? Number(raw) : -1;
  };

  // Exports: POST queues one (JSON: what, format, period/from/to), GET tells its progress, /file downloads it.
  app.post('/api/dashboard/exports', allowed, bodyLimit({ maxSize: 4096, onError: () => {
    throw new AppError('payload_too_large', 413, 'request body is too large', 'Dữ liệu gửi lên quá lớn.');
  } }), async (c) => {
    const body = await c.req.json().catch(() => null) as Record<string, unknown> | null;
    const str = (k: string) => (typeof body?.[k] === 'string' ? (body[k] as string).slice(0, 32) : undefined);
    if (!body) throw new AppError('body_invalid', 400, 'expected a JSON object', 'Dữ liệu gửi lên không hợp lệ.');
    const e = await requestExport(deps.db, c.get('user'), { what: str('what') ?? '', format: str('format') ?? '', period: str('period'), from: str('from'), to: str('to') });
    deps.wake?.();
    c.header('Cache-Control', 'no-store');
    return c.json(presentExport(e), 202);
  });
  app.get('/api/dashboard/exports/:id', allowed, async (c) => {
    c.header('Cache-Control', 'no-store');
    return c.json(presentExport(await getExport(deps.db, c.get('user'), exportId(c))));
  });
  app.get('/api/dashboard/exports/:id/file', allowed, async (c) => {
    const e = await getExport(deps.db, c.get('user'), exportId(c));
    if (e.status !== 'done' || !e.file) throw new AppError('export_not_ready', 409, `export ${e.id} is ${e.status}`, 'Tệp xuất chưa sẵn sàng.', { status: e.status });
    const file = path.join(exportsDir(deps.dataDir), path.basename(e.file));
    const size = (await stat(file).catch(() => null))?.size;
    if (size === undefined) throw new AppError('export_not_found', 404, `the file of export ${e.id} is gone`, 'Không tìm thấy tệp xuất.');
    const name = `phananh-${e.what}-${e.firstDay}_${e.lastDay}.${e.format}`;
    c.header('Cache-Control', 'no-store');
    c.header('Content-Type', e.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    c.header('Content-Disposition', `attachment; filename="${name}"`);
    c.header('Content-Length', String(size));
    return c.body(Readable.toWeb(createReadStream(file)) as ReadableStream);
  });

  app.get('/api/dashboard', allowed, async (c) => {
    c.header('Cache-Control', 'no-store');
    return c.json(presentDashboard(await load(c)));
  });

  app.get('/dashboard/live', allowed, async (c) => {
    c.header('Cache-Control', 'no-store');
    return c.html(dashboardBody(await load(c), await outlines(), deps.map ?? null));
  });

  app.get('/dashboard', allowed, async (c) => {
    c.header('Cache-Control', 'no-store');
    c.header('Content-Security-Policy', deps.map ? pageCsp([deps.map.origin]) : PAGE_CSP);
    const built = deps.assets ? await deps.assets() : undefined;
    const assets = built?.ok ? built.assets : undefined;
    const user = c.get('user');
    const site = siteOf(c);
    const data = await load(c);
    return c.html(html`<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Bảng điều hành – ${site.hotline}</title><link rel="icon" href="data:,">
${assets ? html`<link rel="stylesheet" href="${assets.url('app.css')}">${deps.map ? html`<link rel="stylesheet" href="${assets.url('report-map.css')}">` : ''}<script src="${assets.url('dashboard.js')}" defer></script>` : ''}</head>
<body class="page-dashboard">
<a class="skip-link" href="#app">Bỏ qua thanh tiêu đề</a>
<header class="topbar"><h1>${site.hotline} · Bảng điều hành</h1>
<div class="topbar-tools">
<span id="conn-state" role="status" aria-live="polite" data-state="connecting" data-testid="conn-state">${assets ? 'Đang kết nối…' : 'Không cập nhật trực tiếp'}</span>
<a href="/console">Bàn làm việc</a> <a href="/minh-bach">Trang minh bạch</a>
<span class="me">${user.displayName} <span class="role">(${ROLE_VI[user.role]})</span></span>
<form method="post" action="/logout"><button type="submit" data-action="logout">Đăng xuất</button></form>
</div></header>
<main id="app" class="dashboard" tabindex="-1">${periodForm('/dashboard', data.period)}
${exportButtons('tickets', `Xuất hồ sơ kèm toàn bộ trao đổi (tối đa ${EXPORT_TICKETS_MAX_DAYS} ngày)`)}
<p id="export-status" class="export-status" aria-live="polite"></p>
<div id="dashboard-live" aria-live="off" data-period="${new URL(c.req.url).search}">${raw(await dashboardBody(data, await outlines(), deps.map ?? null))}</div></main>
<div id="notices" class="notices" aria-live="polite"></div>
</body></html>`);
  });

  return app;
}
