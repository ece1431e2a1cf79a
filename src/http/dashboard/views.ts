import { html, raw } from 'hono/html';
import type { CountRow, DayFigures, MapTicket, OpenCounts, PeriodStats, RankingRow, SlaFigures } from '../../core/dashboard/stats.ts';
import { HANDLED_WITHIN_MINUTES } from '../../core/dashboard/stats.ts';
import { PERIOD_PRESETS, PERIOD_VI, type Period } from '../../core/dashboard/period.ts';
import { statusNameVi } from '../../core/tickets/statuses.ts';
import type { Html } from '../../intake/page-layout.ts';
import { chart, cityMap, type CityOutlines } from './svg.ts';

// The dashboard's body and the transparency page's figures, rendered on the server (tables and
// SVG): the same markup without JavaScript, and what the dashboard's script swaps in on refresh.

/** Everything the dashboard shows for one period. */
export interface DashboardData {
  period: Period;
  open: OpenCounts;
  stats: PeriodStats;
  map: { open: MapTicket[]; hotspots: MapTicket[] };
  generatedAt: Date;
}

/** Counts as Vietnamese write them ("1.234"). */
export const nf = new Intl.NumberFormat('vi-VN');
/** A share as a percentage with one decimal ("66,7 %"); '–' when there is none. */
export const pct = (v: number | null) => (v === null ? '–' : `${(Math.round(v * 1000) / 10).toLocaleString('vi-VN')} %`);
/** Minutes as "1 giờ 05 phút" / "45 phút". */
export function duration(minutes: number | null): string {
  if (minutes === null) return '–';
  const m = Math.round(minutes);
  if (m < 60) return `${m} phút`;
  if (m < 48 * 60) return `${Math.floor(m / 60)} giờ ${String(m % 60).padStart(2, '0')} phút`;
  return `${Math.round(m / 60 / 24 * 10) / 10} ngày`.replace('.', ',');
}
/** A city day (YYYY-MM-DD) as DD/MM/YYYY. */
export const dayVi = (d: string) => `${d.slice(8, 10)}/${d.slice(5, 7)}/${d.slice(0, 4)}`;
const periodText = (p: Period) => (p.firstDay === p.lastDay ? dayVi(p.firstDay) : `${dayVi(p.firstDay)} – ${dayVi(p.lastDay)}`);

function countTable(caption: string, rows: CountRow[], testId: string): Html {
  return html`<table class="counts" data-testid="${testId}"><caption>${caption}</caption>
<thead><tr><th scope="col">Nhóm</th><th scope="col" class="num">Số hồ sơ</th></tr></thead>
<tbody>${rows.length ? rows.map((r) => html`<tr><th scope="row">${r.name}</th><td class="num">${nf.format(r.count)}</td></tr>`) : html`<tr><td colspan="2">Không có</td></tr>`}</tbody></table>`;
}

/** Export buttons for a table (shown by the page's script: an export is a JSON request). */
export function exportButtons(what: string, label = 'Xuất bảng'): Html {
  return html`<div class="export-bar" data-export="${what}" hidden>${label}: <button type="button" data-format="csv">CSV</button> <button type="button" data-format="xlsx">Excel</button></div>`;
}

/** The ranking table (units or departments) over a period. */
export function rankingTable(caption: string, what: string, rows: RankingRow[], testId: string): Html {
  return html`<table class="ranking" data-testid="${testId}"><caption>${caption}</caption>
<thead><tr><th scope="col" class="num">Hạng</th><th scope="col">${what}</th><th scope="col" class="num">Tiếp nhận</th>
<th scope="col" class="num">Xử lý trong ${HANDLED_WITHIN_MINUTES / 60} giờ</th><th scope="col" class="num">Thời gian xử lý (trung vị)</th>
<th scope="col" class="num">P90</th><th scope="col" class="num">Mở lại</th></tr></thead>
<tbody>${rows.length ? rows.map((r) => html`<tr data-code="${r.code ?? ''}"><td class="num">${r.rank}</td><th scope="row">${r.name}</th><td class="num">${nf.format(r.volume)}</td>
<td class="num">${pct(r.withinShare)}</td><td class="num">${duration(r.medianMinutes)}</td><td class="num">${duration(r.p90Minutes)}</td><td class="num">${pct(r.reopenedShare)}</td></tr>`)
    : html`<tr><td colspan="7">Không có hồ sơ trong khoảng thời gian này.</td></tr>`}</tbody></table>`;
}

function summary(f: SlaFigures): Html {
  return html`<dl class="summary" data-testid="summary">
<div><dt>Tiếp nhận</dt><dd>${nf.format(f.volume)}</dd></div>
<div><dt>Xử lý trong ${HANDLED_WITHIN_MINUTES / 60} giờ</dt><dd>${pct(f.withinShare)}</dd></div>
<div><dt>Đã xử lý</dt><dd>${nf.format(f.handled)}</dd></div>
<div><dt>Thời gian xử lý (trung vị)</dt><dd>${duration(f.medianMinutes)}</dd></div>
<div><dt>P90</dt><dd>${duration(f.p90Minutes)}</dd></div></dl>`;
}

/** The two trend charts (volume, median time to resolve per day), each with its table. */
export function trendCharts(trend: DayFigures[], where: string): Html {
  const titles = { volume: `Số phản ánh tiếp nhận mỗi ngày – ${where}`, median: `Thời gian xử lý (trung vị, phút) theo ngày tiếp nhận – ${where}` };
  const volume = chart(trend.map((d) => ({ label: d.day, value: d.volume })), {
    kind: 'bar', title: titles.volume, testId: 'chart-volume',
    desc: `Biểu đồ cột: số hồ sơ tiếp nhận theo ngày, từ ${trend[0]?.day ?? ''} đến ${trend.at(-1)?.day ?? ''}. Số liệu chi tiết ở bảng bên dưới.`,
  });
  const median = chart(trend.map((d) => ({ label: d.day, value: d.medianMinutes })), {
    kind: 'line', title: titles.median, testId: 'chart-median', format: (v) => `${Math.round(v)}`,
    desc: 'Biểu đồ đường: trung vị số phút từ khi tiếp nhận đến khi xử lý xong, theo ngày tiếp nhận; ngày không có hồ sơ đã xử lý để trống.',
  });
  return html`<div class="charts"><figure>${raw(volume)}<figcaption>${titles.volume}</figcaption></figure><figure>${raw(median)}<figcaption>${titles.median}</figcaption></figure></div>
<details><summary>Bảng số liệu theo ngày</summary><table class="trend" data-testid="trend-table"><thead><tr><th scope="col">Ngày</th><th scope="col" class="num">Tiếp nhận</th>
<th scope="col" class="num">Xử lý trong ${HANDLED_WITHIN_MINUTES / 60} giờ</th><th scope="col" class="num">Thời gian xử lý (trung vị)</th></tr></thead>
<tbody>${trend.map((d) => html`<tr><th scope="row">${dayVi(d.day)}</th><td class="num">${nf.format(d.volume)}</td><td class="num">${pct(d.withinShare)}</td><td class="num">${duration(d.medianMinutes)}</td></tr>`)}</tbody></table></details>`;
}

/** The period picker: a plain GET form (works without JavaScript). */
export function periodForm(action: string, p: Period): Html {
  return html`<form class="period" method="get" action="${action}" data-testid="period-form">
<label>Khoảng thời gian <select name="period">${[...PERIOD_PRESETS, 'custom' as const].map((k) => html`<option value="${k}"${p.preset === k ? raw(' selected') : ''}>${PERIOD_VI[k]}</option>`)}</select></label>
<label>Từ ngày <input type="date" name="from" value="${p.firstDay}"></label>
<label>Đến ngày <input type="date" name="to" value="${p.lastDay}"></label>
<button type="submit">Xem</button></form>`;
}

/** The dashboard's live part (what the script refreshes). */
/** The tiles the dashboard's map is drawn on (MAP_TILE_URL); null: the ward outlines alone. */
export interface DashboardTiles {
  tiles: string;
  attribution: string;
  centre: { lat: number; lng: number; zoom: number };
}

export function dashboardBody(d: DashboardData, outlines: CityOutlines | null, tiles: DashboardTiles | null = null): Html {
  const marks = [
    ...d.map.open.map((t) => ({ lat: t.lat, lng: t.lng, kind: 'open' as const, title: `${t.code} · ${statusNameVi(t.status)}` })),
    ...d.map.hotspots.map((t) => ({ lat: t.lat, lng: t.lng, kind: 'hotspot' as const, title: `${t.code} · điểm nóng: ${t.hotspotCount} hồ sơ đã đóng ở nơi này` })),
  ];
  return html`<p class="asof">Số liệu lúc <time datetime="${d.generatedAt.toISOString()}">${d.generatedAt.toLocaleTimeString('vi-VN', { timeZone: 'Asia/Ho_Chi_Minh' })}</time> · ${PERIOD_VI[d.period.preset]}: ${periodText(d.period)}</p>
<section class="dash-open" aria-labelledby="h-open"><h2 id="h-open">Hồ sơ đang mở: <span data-testid="open-total">${nf.format(d.open.total)}</span></h2>
<div class="count-grid">${countTable('Theo trạng thái', d.open.byStatus, 'open-by-status')}${countTable('Theo kênh', d.open.byChannel, 'open-by-channel')}
${countTable('Theo lĩnh vực', d.open.byCategory, 'open-by-category')}${countTable('Theo đơn vị', d.open.byUnit.slice(0, 15), 'open-by-unit')}</div>${exportButtons('open')}</section>
<section aria-labelledby="h-sla"><h2 id="h-sla">Kết quả xử lý (tiếp nhận trong kỳ)</h2>${summary(d.stats.city)}
${rankingTable('Xếp hạng phường, xã, đặc khu', 'Đơn vị', d.stats.byUnit, 'ranking-units')}${exportButtons('units')}
${rankingTable('Xếp hạng cơ quan chuyên môn', 'Cơ quan', d.stats.byDepartment, 'ranking-departments')}${exportButtons('departments')}</section>
<section aria-labelledby="h-trend"><h2 id="h-trend">Diễn biến theo ngày</h2>${trendCharts(d.stats.trend, 'toàn thành phố')}${exportButtons('trend')}</section>
<section aria-labelledby="h-map"><h2 id="h-map">Bản đồ hồ sơ đang mở và điểm nóng</h2>
<p class="legend"><span class="key-open"></span> Hồ sơ đang mở (${nf.format(d.map.open.length)}) <span class="key-hotspot"></span> Điểm nóng trong kỳ (${nf.format(d.map.hotspots.length)})</p>
${tiles ? html`<div id="dash-map" hidden data-tiles="${tiles.tiles}" data-attribution="${tiles.attribution}" data-lat="${tiles.centre.lat}"
 data-lng="${tiles.centre.lng}" data-zoom="${Math.max(1, tiles.centre.zoom - 2)}" data-marks="${JSON.stringify(marks)}"></div>` : ''}
<div class="dash-map-outlines">${outlines ? raw(cityMap(outlines, marks, {
    title: 'Bản đồ hồ sơ đang mở và điểm nóng',
    desc: `Ranh giới các phường, xã, đặc khu; chấm tròn: ${d.map.open.length} hồ sơ đang mở có vị trí; hình thoi: ${d.map.hotspots.length} điểm nóng (nơi lặp lại phản ánh cùng loại).`,
  })) : html`<p>Chưa có ranh giới đơn vị hành chính.</p>`}</div></section>`;
}
