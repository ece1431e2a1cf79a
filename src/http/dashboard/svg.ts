// A tiny SVG builder for the dashboard and the transparency page: bar and line charts of a
// series per day, and the city map (unit outlines with points). Strings built on the server, so
// the pages work without JavaScript and nothing is fetched from another server. Every chart
// has <title> and <desc> (role="img", aria-labelledby); the pages put a table beside it.

/** Escapes text for SVG/HTML content and attribute values. */
export const esc = (s: string): string =>
  s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] ?? ch);

let seq = 0;
const nextId = (prefix: string) => `${prefix}-${(++seq).toString(36)}`;

export interface SeriesPoint {
  /** Axis label (a day, YYYY-MM-DD). */
  label: string;
  /** null: no value (a gap). */
  value: number | null;
}

export interface ChartOptions {
  title: string;
  desc: string;
  /** Formats a value for the axis and tooltips. */
  format?: (v: number) => string;
  kind: 'bar' | 'line';
  testId?: string;
}

const W = 640;
const H = 220;
const PAD = { l: 48, r: 12, t: 12, b: 34 };

/** A "nice" upper bound for the axis: 1, 2 or 5 times a power of ten, at least `max`. */
function niceMax(max: number): number {
  if (max <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

const shortDay = (label: string) => (/^\d{4}-\d{2}-\d{2}$/.test(label) ? `${label.slice(8, 10)}/${label.slice(5, 7)}` : label);

/** A bar or line chart of one series. */
export function chart(points: SeriesPoint[], o: ChartOptions): string {
  const fmt = o.format ?? ((v: number) => String(Math.round(v * 10) / 10));
  const id = nextId('chart');
  const max = niceMax(Math.max(0, ...points.map((p) => p.value ?? 0)));
  const iw = W - PAD.l - PAD.r;
  const ih = H - PAD.t - PAD.b;
  const step = points.length ? iw / points.length : iw;
  const x = (i: number) => PAD.l + step * i + step / 2;
  const y = (v: number) => PAD.t + ih - (v / max) * ih;
  const parts: string[] = [];
  // The middle line only where its label says something the ends do not ("0, 1, 1" for minutes up to 1).
  const ticks = [0, 0.5, 1].filter((f) => f !== 0.5 || (fmt(max * f) !== fmt(0) && fmt(max * f) !== fmt(max)));
  for (const f of ticks) {
    const v = max * f;
    parts.push(`<line class="grid" stroke="#ddd" x1="${PAD.l}" x2="${W - PAD.r}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}"/>`,
      `<text class="axis" font-size="11" fill="#555" x="${PAD.l - 6}" y="${y(v).toFixed(1)}" text-anchor="end" dy="0.35em">${esc(fmt(v))}</text>`);
  }
  // At most ~10 labels on the x axis.
  const every = Math.max(1, Math.ceil(points.length / 10));
  points.forEach((p, i) => {
    if (i % every === 0) parts.push(`<text class="axis" font-size="11" fill="#555" x="${x(i).toFixed(1)}" y="${H - PAD.b + 16}" text-anchor="middle">${esc(shortDay(p.label))}</text>`);
  });
  if (o.kind === 'bar') {
    const bw = Math.max(1, step * 0.7);
    points.forEach((p, i) => {
      if (p.value === null) return;
      parts.push(`<rect class="bar" fill="#0b5cad" x="${(x(i) - bw / 2).toFixed(1)}" y="${y(p.value).toFixed(1)}" width="${bw.toFixed(1)}" height="${(PAD.t + ih - y(p.value)).toFixed(1)}"><title>${esc(`${p.label}: ${fmt(p.value)}`)}</title></rect>`);
    });
  } else {
    // Gaps (days with no value) break the line.
    let d = '';
    let pen = false;
    points.forEach((p, i) => {
      if (p.value === null) { pen = false; return; }
      d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)} ${y(p.value).toFixed(1)}`;
      pen = true;
    });
    if (d) parts.push(`<path class="line" fill="none" stroke="#b45309" stroke-width="2" d="${d}"/>`);
    points.forEach((p, i) => {
      if (p.value !== null) parts.push(`<circle class="dot" fill="#b45309" cx="${x(i).toFixed(1)}" cy="${y(p.value).toFixed(1)}" r="3"><title>${esc(`${p.label}: ${fmt(p.value)}`)}</title></circle>`);
    });
  }
  // Nothing to draw (no ticket handled in the period): said in the chart, not left to an empty frame.
  if (points.every((p) => p.value === null)) {
    parts.push(`<text class="empty" font-size="13" fill="#555" x="${(PAD.l + iw / 2).toFixed(1)}" y="${(PAD.t + ih / 2).toFixed(1)}" text-anchor="middle">Chưa có số liệu trong kỳ này</text>`);
  }
  return `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="${id}-t ${id}-d"${o.testId ? ` data-testid="${esc(o.testId)}"` : ''} xmlns="http://www.w3.org/2000/svg">`
    + `<title id="${id}-t">${esc(o.title)}</title><desc id="${id}-d">${esc(o.desc)}</desc>`
    + `<line class="axis-line" stroke="#888" x1="${PAD.l}" x2="${W - PAD.r}" y1="${PAD.t + ih}" y2="${PAD.t + ih}"/>${parts.join('')}</svg>`;
}

// ---- The city map ---------------------------------------------------------------------------

type Ring = number[][];
/** A unit's outline as GeoJSON. */
export type Outline = { type: 'Polygon'; coordinates: Ring[] } | { type: 'MultiPolygon'; coordinates: Ring[][] };

export interface MapUnit {
  code: string;
  name: string;
  geometry: Outline;
}

export interface MapMark {
  lat: number;
  lng: number;
  kind: 'open' | 'hotspot';
  title: string;
}

/** The outlines drawn once: their projection and one path per unit (rounded to the pixel). */
export interface CityOutlines {
  width: number;
  height: number;
  project(lng: number, lat: number): [number, number];
  paths: { code: string; name: string; d: string }[];
}

const MAP_W = 900;

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))] ?? 0;
}

/**
 * Projects and simplifies the units' outlines for the city map (equirectangular, longitudes
 * scaled by cos(latitude); points closer than a pixel dropped). The frame holds the units whose
 * centres lie between the 1st and 99th percentile: a far island district (Côn Đảo) does not
 * shrink the city to a corner; it stays outside the frame.
 */
export function cityOutlines(units: MapUnit[]): CityOutlines {
  const rings = (g: Outline): Ring[] => (g.type === 'Polygon' ? g.coordinates : g.coordinates.flat());
  const boxes = units.map((u) => {
    let minX = Infinity; let maxX = -Infinity; let minY = Infinity; let maxY = -Infinity;
    for (const r of rings(u.geometry)) for (const [x = 0, y = 0] of r) { minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y); }
    return { minX, maxX, minY, maxY, cx: (minX + maxX) / 2, cy: (minY + maxY) / 2 };
  }).filter((b) => Number.isFinite(b.minX));
  const [lo, hi] = [0.01, 0.99];
  const cxs = boxes.map((b) => b.cx); const cys = boxes.map((b) => b.cy);
  const inFrame = boxes.filter((b) => b.cx >= quantile(cxs, lo) && b.cx <= quantile(cxs, hi) && b.cy >= quantile(cys, lo) && b.cy <= quantile(cys, hi));
  const frame = inFrame.length ? inFrame : boxes;
  const minX = Math.min(...frame.map((b) => b.minX), 180); const maxX = Math.max(...frame.map((b) => b.maxX), -180);
  const minY = Math.min(...frame.map((b) => b.minY), 90); const maxY = Math.max(...frame.map((b) => b.maxY), -90);
  const ok = frame.length > 0;
  const k = ok ? Math.cos((((minY + maxY) / 2) * Math.PI) / 180) : 1;
  const fw = ok ? Math.max((maxX - minX) * k, 0.01) : 1;
  const fh = ok ? Math.max(maxY - minY, 0.01) : 1;
  const width = MAP_W;
  const height = Math.round(Math.min(Math.max((MAP_W * fh) / fw, 300), 1100));
  const pad = 10;
  const s = Math.min((width - 2 * pad) / fw, (height - 2 * pad) / fh);
  const project = (lng: number, lat: number): [number, number] => [pad + (lng - (ok ? minX : 0)) * k * s, height - pad - (lat - (ok ? minY : 0)) * s];
  const paths = units.map((u) => {
    let d = '';
    for (const r of rings(u.geometry)) {
      let last = '';
      let n = 0;
      for (const [lng = 0, lat = 0] of r) {
        const [px, py] = project(lng, lat);
        const p = `${Math.round(px)} ${Math.round(py)}`;
        if (p === last) continue;
        d += `${n ? 'L' : 'M'}${p}`;
        last = p;
        n++;
      }
      if (n > 2) d += 'Z';
    }
    return { code: u.code, name: u.name, d };
  });
  return { width, height, project, paths };
}

/** The city map: unit outlines (their names on hover), open tickets and repeat places. */
export function cityMap(outlines: CityOutlines, marks: MapMark[], o: { title: string; desc: string }): string {
  const id = nextId('map');
  const units = outlines.paths.map((p) => `<path class="map-unit" fill="#eef2f7" stroke="#8a99ad" stroke-width="0.6" d="${p.d}"><title>${esc(p.name)}</title></path>`).join('');
  const dots = marks.map((m) => {
    const [x, y] = outlines.project(m.lng, m.lat);
    if (x < -20 || y < -20 || x > outlines.width + 20 || y > outlines.height + 20) return '';
    return m.kind === 'hotspot'
      ? `<rect class="map-hotspot" fill="#c62828" stroke="#fff" x="${(x - 5).toFixed(1)}" y="${(y - 5).toFixed(1)}" width="10" height="10" transform="rotate(45 ${x.toFixed(1)} ${y.toFixed(1)})"><title>${esc(m.title)}</title></rect>`
      : `<circle class="map-open" fill="#0b5cad" fill-opacity="0.75" cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3.5"><title>${esc(m.title)}</title></circle>`;
  }).join('');
  return `<svg class="city-map" viewBox="0 0 ${outlines.width} ${outlines.height}" role="img" aria-labelledby="${id}-t ${id}-d" data-testid="city-map" xmlns="http://www.w3.org/2000/svg">`
    + `<title id="${id}-t">${esc(o.title)}</title><desc id="${id}-d">${esc(o.desc)}</desc><g class="map-units">${units}</g><g>${dots}</g></svg>`;
}
