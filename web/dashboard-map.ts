import L from 'leaflet';
import { h } from './lib/dom.ts';
import { attribution } from './lib/map-tiles.ts';

// The dashboard's map of open tickets and hotspots on map tiles (MAP_TILE_URL), where the server
// configures them: it takes the place of the ward outlines (which stay for a page without tiles
// or without this script). The live part is redrawn on every refresh, so the map is made once and
// put back into each new drawing's slot, with that drawing's marks.

interface Mark {
  lat: number;
  lng: number;
  kind: 'open' | 'hotspot';
  title: string;
}

let map: L.Map | null = null;
let container: HTMLElement | null = null;
let marks: L.LayerGroup | null = null;

/** Puts the tile map into the slot the live part names (`#dash-map`), with its marks; nothing when there is no slot. */
export function mountTileMap(root: HTMLElement): void {
  const slot = root.querySelector<HTMLElement>('#dash-map');
  if (!slot) return;
  const d = slot.dataset;
  let list: Mark[];
  try {
    list = JSON.parse(d.marks ?? '[]') as Mark[];
  } catch {
    return;
  }
  if (!map || !container || !marks) {
    container = h('div', { class: 'dash-map', 'data-testid': 'dash-tile-map', role: 'region', 'aria-label': 'Bản đồ hồ sơ đang mở và điểm nóng' });
    slot.replaceWith(container);
    map = L.map(container, { center: [Number(d.lat), Number(d.lng)], zoom: Number(d.zoom) || 11, attributionControl: false });
    L.tileLayer(d.tiles ?? '', { maxZoom: 19 }).addTo(map);
    // Built as DOM, not HTML from a setting: Leaflet's own control takes HTML strings.
    const credit = new L.Control({ position: 'bottomright' });
    credit.onAdd = () => h('div', { class: 'leaflet-control-attribution leaflet-control' }, attribution(d.attribution ?? ''));
    credit.addTo(map);
    marks = L.layerGroup().addTo(map);
  } else {
    slot.replaceWith(container);
    map.invalidateSize();
  }
  const outlines = root.querySelector<HTMLElement>('.dash-map-outlines');
  if (outlines) outlines.hidden = true;
  marks.clearLayers();
  for (const m of list) {
    const style = m.kind === 'hotspot'
      ? { radius: 8, color: '#b00020', weight: 2, fillColor: '#f5a623', fillOpacity: 0.9, className: 'mark-hotspot' }
      : { radius: 5, color: '#0b5cad', weight: 1, fillColor: '#0b5cad', fillOpacity: 0.7, className: 'mark-open' };
    L.circleMarker([m.lat, m.lng], style).bindTooltip(m.title).addTo(marks);
  }
}
