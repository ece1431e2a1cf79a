import type { AreaGeometry } from '../../src/wire/staff-api.ts';
import { svg } from './dom.ts';

// The ward outline and the report points, drawn as inline SVG: no map tiles, so nothing is
// fetched from another server. Longitudes are scaled by cos(latitude), which is accurate
// enough at the size of a ward.

type Ring = number[][];

export interface MapPoint {
  lat: number;
  lng: number;
  /** Short text drawn on the marker (a number). */
  mark: string;
  /** Read by screen readers and shown on hover. */
  title: string;
}

const W = 600;

/** An SVG map of `geometry` (may be null) with numbered points; null when there is nothing to draw. */
export function areaMap(geometry: AreaGeometry | null, points: MapPoint[], label: string): SVGSVGElement | null {
  const polygons: Ring[][] = !geometry ? [] : geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
  const coords: number[][] = [...polygons.flat(2), ...points.map((p) => [p.lng, p.lat])]
    .filter((c) => Number.isFinite(c[0]) && Number.isFinite(c[1]));
  if (coords.length === 0) return null;
  let minX = Infinity; let maxX = -Infinity; let minY = Infinity; let maxY = -Infinity;
  for (const [x, y] of coords as [number, number][]) {
    minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y);
  }
  const k = Math.cos((((minY + maxY) / 2) * Math.PI) / 180);
  // A lone point (no outline) still gets a frame of a few hundred metres around it.
  const frameW = Math.max((maxX - minX) * k, 0.003);
  const frameH = Math.max(maxY - minY, 0.003);
  const width = W;
  const height = Math.round(Math.min(Math.max((W * frameH) / frameW, 220), 600));
  const pad = 18;
  const s = Math.min((width - 2 * pad) / frameW, (height - 2 * pad) / frameH);
  const cx = (minX + maxX) / 2;
  const cy = (minY + maxY) / 2;
  const px = (lng: number) => width / 2 + (lng - cx) * k * s;
  const py = (lat: number) => height / 2 - (lat - cy) * s;

  const d = polygons.map((rings) => rings.map((ring) =>
    ring.map((c, i) => `${i ? 'L' : 'M'}${px(c[0] ?? 0).toFixed(1)} ${py(c[1] ?? 0).toFixed(1)}`).join('') + 'Z').join('')).join('');
  const map = svg('svg', {
    class: 'map', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': label,
    preserveAspectRatio: 'xMidYMid meet', 'data-testid': 'ticket-map',
  },
  svg('title', null, label),
  d ? svg('path', { d, class: 'map-area', 'fill-rule': 'evenodd' }) : null,
  points.map((p) => svg('g', { class: 'map-point', transform: `translate(${px(p.lng).toFixed(1)} ${py(p.lat).toFixed(1)})` },
    svg('title', null, p.title),
    svg('g', { class: 'map-marker' },
      svg('circle', { r: 10 }),
      svg('text', { 'text-anchor': 'middle', dy: '0.35em' }, p.mark)))));
  keepMarkerSize(map, width, height);
  return map;
}

/** Scales the markers so they keep the same size on screen however wide the map is drawn. */
function keepMarkerSize(map: SVGSVGElement, viewWidth: number, viewHeight: number): void {
  if (typeof ResizeObserver === 'undefined') return;
  new ResizeObserver(() => {
    if (!map.clientWidth || !map.clientHeight) return;
    // preserveAspectRatio "meet": the drawing is scaled by the tighter of the two dimensions.
    const k = Math.max(viewWidth / map.clientWidth, viewHeight / map.clientHeight).toFixed(3);
    map.querySelectorAll('.map-marker').forEach((m) => m.setAttribute('transform', `scale(${k})`));
  }).observe(map);
}
