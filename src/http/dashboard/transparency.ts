import { Hono, type Context } from 'hono';
import { html } from 'hono/html';
import { parsePeriod } from '../../core/dashboard/period.ts';
import { HANDLED_WITHIN_MINUTES, periodStats, type PeriodStats, type RankingRow } from '../../core/dashboard/stats.ts';
import type { Db } from '../../db/schema.ts';
import { layout, siteOf } from '../../intake/page-layout.ts';
import { TtlCache } from './cache.ts';
import { dayVi, duration, nf, pct, trendCharts } from './views.ts';

// The public transparency page: how many reports the city and each unit received over the last
// 30 days, the share handled within 2 hours, the time to resolve, the categories and the trend.
// Aggregates only: no ticket, code, address, text or person is ever shown. Server-rendered HTML
// and SVG (no JavaScript); cached a minute in the process and by browsers and proxies.

/** The public path (a Vietnamese slug: "minh bạch", transparency). */
export const TRANSPARENCY_PATH = '/minh-bach';
/** How long a page is kept, in the process and in caches (seconds). */
export const TRANSPARENCY_MAX_AGE = 60;

interface Page {
  unit: { code: string; name: string } | null;
  stats: PeriodStats;
  from: string;
  to: string;
}

function unitsTable(rows: RankingRow[]) {
  return html`<table class="public-ranking" data-testid="public-units"><caption>Kết quả theo phường, xã, đặc khu (xếp theo tỉ lệ xử lý trong ${HANDLED_WITHIN_MINUTES / 60} giờ)</caption>
<thead><tr><th scope="col">Đơn vị</th><th scope="col">Tiếp nhận</th><th scope="col">Trong ${HANDLED_WITHIN_MINUTES / 60} giờ</th><th scope="col">Trung vị</th></tr></thead>
<tbody>${rows.map((r) => html`<tr><th scope="row">${r.code ? html`<a href="${TRANSPARENCY_PATH}/${encodeURIComponent(r.code)}">${r.name}</a>` : r.name}</th>
<td>${nf.format(r.volume)}</td><td>${pct(r.withinShare)}</td><td>${duration(r.medianMinutes)}</td></tr>`)}</tbody></table>`;
}

function body(p: Page) {
  const where = p.unit ? p.unit.name : 'toàn thành phố';
  const c = p.stats.city;
  return html`<div class="card transparency">
<h1>Minh bạch kết quả xử lý phản ánh – ${where}</h1>
<p>Từ ${dayVi(p.from)} đến ${dayVi(p.to)} (30 ngày gần nhất). Số liệu tổng hợp, không chứa thông tin cá nhân; cập nhật mỗi phút.</p>
<dl data-testid="public-summary"><dt>Phản ánh tiếp nhận</dt><dd>${nf.format(c.volume)}</dd>
<dt>Xử lý xong trong ${HANDLED_WITHIN_MINUTES / 60} giờ</dt><dd>${pct(c.withinShare)}</dd>
<dt>Đã xử lý xong</dt><dd>${nf.format(c.handled)}</dd>
<dt>Thời gian xử lý (trung vị)</dt><dd>${duration(c.medianMinutes)}</dd></dl>
<p class="hint">“Xử lý xong” là khi hồ sơ được báo đã xử lý, được đóng hoặc được trả lời là không thuộc thẩm quyền; thời gian tính từ lúc tiếp nhận.</p>
</div>
<div class="card"><h2>Diễn biến theo ngày</h2>${trendCharts(p.stats.trend, where)}</div>
<div class="card"><h2>Theo lĩnh vực</h2><table data-testid="public-categories"><thead><tr><th scope="col">Lĩnh vực</th><th scope="col">Tiếp nhận</th></tr></thead>
<tbody>${p.stats.byCategory.map((r) => html`<tr><th scope="row">${r.name}</th><td>${nf.format(r.count)}</td></tr>`)}</tbody></table></div>
${p.unit ? html`<p><a href="${TRANSPARENCY_PATH}">Xem toàn thành phố</a></p>` : html`<div class="card">${unitsTable(p.stats.byUnit.filter((r) => r.code !== null))}</div>`}`;
}

/** Computed pages, kept TRANSPARENCY_MAX_AGE; plain data, so one may outlive the routes (the edge builds routes per request). */
export type TransparencyCache = TtlCache<Page | null>;
export const transparencyCache = (): TransparencyCache => new TtlCache<Page | null>(TRANSPARENCY_MAX_AGE * 1000, 200);

/** GET /minh-bach (the city) and GET /minh-bach/:unit (one unit, by its code). */
export function transparencyRoutes(deps: { db: Db; cache?: TransparencyCache }): Hono {
  const app = new Hono();
  const cache = deps.cache ?? transparencyCache();
  const page = (unitCode: string | null) => {
    const period = parsePeriod({ period: '30d' });
    return cache.get(`${unitCode ?? '*'}|${period.key}`, async () => {
      let unit: Page['unit'] = null;
      if (unitCode !== null) {
        const row = await deps.db.selectFrom('areas').select(['code', 'name']).where('code', '=', unitCode).executeTakeFirst();
        if (!row) return null;
        unit = row;
      }
      return { unit, stats: await periodStats(deps.db, period, unit ? { unit: unit.code } : {}), from: period.firstDay, to: period.lastDay };
    });
  };
  const answer = async (c: Context, unitCode: string | null) => {
    const p = await page(unitCode);
    if (!p) {
      c.header('Cache-Control', 'no-store');
      return c.html(layout(siteOf(c), 'Không tìm thấy đơn vị', html`<div class="card" role="alert"><h1>Không tìm thấy đơn vị</h1>
<p><a href="${TRANSPARENCY_PATH}">Xem số liệu toàn thành phố</a></p></div>`), 404);
    }
    c.header('Cache-Control', `public, max-age=${TRANSPARENCY_MAX_AGE}`);
    return c.html(layout(siteOf(c), `Minh bạch kết quả xử lý – ${p.unit?.name ?? 'Toàn thành phố'}`, body(p)));
  };
  app.get(TRANSPARENCY_PATH, (c) => answer(c, null));
  app.get(`${TRANSPARENCY_PATH}/:unit`, (c) => {
    const code = c.req.param('unit');
    // Bounded before matching: unit codes are short.
    return answer(c, code.length <= 64 && /^[\w.-]+$/.test(code) ? code : '!');
  });
  return app;
}
