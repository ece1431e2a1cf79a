// The public report form's map (GET /): pick the place on a Leaflet map, see the unit it lies in,
// get address suggestions while typing, and see the open tickets of the chosen category nearby
// ("Đây cũng là vấn đề của tôi" chooses one: the form is then sent on it). Progressive: the form works
// without this script (latitude and longitude boxes, "use my location"); the map only fills
// the same boxes. Tiles come from the server the page names (MAP_TILE_URL), with its attribution.

import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import './report-map.css';
import type { LocateAnswer, NearbyTicket, PlaceSuggestion } from '../src/wire/public-api.ts';
import { h } from './lib/dom.ts';
import { attribution } from './lib/map-tiles.ts';

const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T | null;

/** GET a JSON answer of the public API; null on any failure (the form still works without it). */
async function getJson<T>(path: string, signal?: AbortSignal): Promise<T | null> {
  try {
    const res = await fetch(path, { headers: { accept: 'application/json' }, signal });
    return res.ok ? ((await res.json()) as T) : null;
  } catch {
    return null;
  }
}

/** "vừa xong", "5 phút trước", "3 giờ trước", "2 ngày trước". */
function ago(iso: string): string {
  const minutes = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 60_000));
  if (minutes < 1) return 'vừa xong';
  if (minutes < 60) return `${minutes} phút trước`;
  if (minutes < 48 * 60) return `${Math.round(minutes / 60)} giờ trước`;
  return `${Math.round(minutes / 1440)} ngày trước`;
}

function start(): void {
  const box = byId<HTMLDivElement>('report-map');
  const lat = byId<HTMLInputElement>('lat');
  const lng = byId<HTMLInputElement>('lng');
  const form = box?.closest('form');
  if (!box || !lat || !lng || !form) return;
  const category = byId<HTMLSelectElement>('category');
  const unitLine = byId<HTMLParagraphElement>('place-unit');
  const nearby = byId<HTMLElement>('nearby');
  const ticket = byId<HTMLInputElement>('ticket');

  box.hidden = false;
  const hint = byId('map-hint');
  if (hint) hint.hidden = false;
  const d = box.dataset;
  const map = L.map(box, { center: [Number(d.lat), Number(d.lng)], zoom: Number(d.zoom) || 13, attributionControl: false });
  L.tileLayer(d.tiles ?? '', { maxZoom: 19 }).addTo(map);
  // Built as DOM, not HTML from a setting: Leaflet's own control takes HTML strings.
  const credit = new L.Control({ position: 'bottomright' });
  credit.onAdd = () => h('div', { class: 'leaflet-control-attribution leaflet-control' }, attribution(d.attribution ?? ''));
  credit.addTo(map);

  let pin: L.CircleMarker | null = null;
  const others = L.layerGroup().addTo(map);

  const point = (): [number, number] | null => {
    const y = Number(lat.value.trim());
    const x = Number(lng.value.trim());
    if (!lat.value.trim() || !lng.value.trim() || !Number.isFinite(y) || !Number.isFinite(x) || Math.abs(y) > 90 || Math.abs(x) > 180) return null;
    return [y, x];
  };

  let asked: AbortController | null = null;
  /** The unit under the pin, and the nearby tickets of the chosen category. */
  async function refresh(): Promise<void> {
    asked?.abort();
    asked = new AbortController();
    const p = point();
    if (!p) {
      if (unitLine) unitLine.textContent = '';
      showNearby([]);
      return;
    }
    const q = `lat=${p[0]}&lng=${p[1]}`;
    const [where, near] = await Promise.all([
      getJson<LocateAnswer>(`/api/v1/places/locate?${q}`, asked.signal),
      category?.value ? getJson<{ tickets: NearbyTicket[] }>(`/api/v1/nearby?${q}&category=${encodeURIComponent(category.value)}`, asked.signal) : null,
    ]);
    if (unitLine && where) {
      unitLine.textContent = where.unit ? `Vị trí thuộc: ${where.unit.name}` : 'Vị trí nằm ngoài các phường, xã của thành phố; tổng đài sẽ xác định đơn vị phụ trách.';
      unitLine.dataset.unit = where.unit?.code ?? '';
    }
    showNearby(near?.tickets ?? []);
  }

  function place(p: [number, number], pan: boolean): void {
    if (!pin) pin = L.circleMarker(p, { radius: 10, weight: 3, color: '#0b5cad', fillColor: '#f5a623', fillOpacity: 0.9 }).addTo(map);
    else pin.setLatLng(p);
    if (pan) map.setView(p, Math.max(map.getZoom(), 16));
  }

  map.on('click', (e: L.LeafletMouseEvent) => {
    lat.value = e.latlng.lat.toFixed(6);
    lng.value = e.latlng.lng.toFixed(6);
    place([e.latlng.lat, e.latlng.lng], false);
    void refresh();
  });
  // Typed in the boxes, or filled by "use my location": the pin follows.
  for (const input of [lat, lng]) {
    input.addEventListener('change', () => {
      const p = point();
      if (p) place(p, true);
      void refresh();
    });
  }
  category?.addEventListener('change', () => void refresh());

  function showNearby(tickets: NearbyTicket[]): void {
    others.clearLayers();
    if (!nearby) return;
    nearby.replaceChildren();
    nearby.hidden = tickets.length === 0;
    // A ticket chosen earlier that is no longer near the pin (or of another category) is let go.
    if (ticket?.value && !tickets.some((t) => t.code === ticket.value)) choose('');
    if (tickets.length === 0) return;
    for (const t of tickets) {
      L.circleMarker([t.lat, t.lng], { radius: 7, weight: 2, color: '#b00020', fillColor: '#fff', fillOpacity: 0.9 })
        .bindTooltip(`${t.code}: ${t.status_label}`, { direction: 'top' }).addTo(others);
    }
    nearby.append(
      h('h2', null, 'Đã có người phản ánh gần đây'),
      h('p', { class: 'hint' }, 'Nếu đây cũng là vấn đề của bạn, hãy chọn hồ sơ đó rồi gửi như bình thường: phản ánh của bạn được gộp vào để xử lý một lần, và bạn vẫn có mã theo dõi riêng.'),
      h('ul', { class: 'nearby-list' }, tickets.map((t) => h('li', { 'data-ticket': t.code },
        h('p', null, h('strong', null, t.category.name), ' · ', h('span', { class: 'nearby-status' }, t.status_label)),
        h('p', { class: 'hint' },
          `cách ${t.distance_m} m${t.area ? `, ${t.area.name}` : ''} · ${t.reporters} người đã phản ánh · lần gần nhất ${ago(t.last_reported_at)} · `,
          h('a', { href: `/track/${t.code}`, target: '_blank', rel: 'noopener' }, t.code)),
        h('button', { type: 'button', class: 'secondary join', 'data-join': t.code, 'aria-pressed': 'false', onclick: () => choose(ticket?.value === t.code ? '' : t.code) },
          'Đây cũng là vấn đề của tôi')))),
    );
    if (ticket?.value) choose(ticket.value);
  }

  /** Chooses the ticket the report joins ('' for none): the form is then sent as usual, with `ticket` set. */
  function choose(code: string): void {
    if (!ticket) return;
    ticket.value = code;
    const banner = byId('joining');
    const shown = byId('joining-code');
    if (banner && shown) {
      banner.hidden = !code;
      shown.textContent = code;
    }
    nearby?.querySelectorAll<HTMLButtonElement>('button[data-join]').forEach((b) => {
      const on = b.dataset.join === code;
      b.setAttribute('aria-pressed', on ? 'true' : 'false');
      b.textContent = on ? 'Đã chọn: cũng là vấn đề của tôi (bấm để bỏ chọn)' : 'Đây cũng là vấn đề của tôi';
    });
  }

  // A landmark chosen in the address box moves the pin there.
  suggestions((at) => {
    lat.value = at.lat.toFixed(6);
    lng.value = at.lng.toFixed(6);
    place([at.lat, at.lng], true);
    void refresh();
  });

  const p = point();
  if (p) {
    place(p, true);
    void refresh();
  }
  // The map was laid out while the page was still settling (fonts, the open details).
  setTimeout(() => map.invalidateSize(), 0);
}

/** Address suggestions while typing (a listbox under the box, arrow keys and Enter to choose). */
function suggestions(moveTo: (at: { lat: number; lng: number }) => void): void {
  const input = byId<HTMLInputElement>('address');
  const list = byId<HTMLUListElement>('address-list');
  const unitLine = byId<HTMLParagraphElement>('place-unit');
  if (!input || !list) return;
  input.setAttribute('role', 'combobox');
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-controls', 'address-list');
  input.setAttribute('aria-expanded', 'false');
  let items: PlaceSuggestion[] = [];
  let active = -1;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let asked: AbortController | null = null;

  const close = () => {
    list.hidden = true;
    list.replaceChildren();
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    items = [];
    active = -1;
  };
  /** What is being typed: the words after the last comma, without a leading house number ("12 Lê Lợi, 45 ng"). */
  const typed = () => {
    const v = input.value;
    const cut = v.lastIndexOf(',') + 1;
    const m = /^(\s*\d[\w/]*\s+)?(.*)$/.exec(v.slice(cut))!;
    return { kept: v.slice(0, cut) + (cut ? ' ' : '') + (m[1]?.trim() ? `${m[1].trim()} ` : ''), q: m[2]!.trim().slice(0, 80) };
  };
  const choose = (s: PlaceSuggestion) => {
    input.value = `${typed().kept.replace(/\s+$/, ' ').trimStart()}${s.value}`;
    close();
    if (s.point) moveTo(s.point);
    else if (unitLine && s.unit && !byId<HTMLInputElement>('lat')?.value) unitLine.textContent = `Địa chỉ thuộc: ${s.unit.name}`;
    input.focus();
  };
  const render = () => {
    list.replaceChildren(...items.map((s, i) => h('li', {
      id: `address-option-${i}`, role: 'option', 'aria-selected': i === active ? 'true' : 'false', class: i === active ? 'active' : '',
      onmousedown: (e: Event) => { e.preventDefault(); choose(s); },
    }, s.label)));
    list.hidden = items.length === 0;
    input.setAttribute('aria-expanded', items.length ? 'true' : 'false');
    if (active >= 0) input.setAttribute('aria-activedescendant', `address-option-${active}`);
    else input.removeAttribute('aria-activedescendant');
  };
  input.addEventListener('input', () => {
    clearTimeout(timer);
    const { q } = typed();
    if (q.length < 2) return close();
    timer = setTimeout(async () => {
      asked?.abort();
      asked = new AbortController();
      const got = await getJson<{ suggestions: PlaceSuggestion[] }>(`/api/v1/places/suggest?q=${encodeURIComponent(q)}`, asked.signal);
      items = got?.suggestions ?? [];
      active = -1;
      render();
    }, 150);
  });
  input.addEventListener('keydown', (e) => {
    if (list.hidden || items.length === 0) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      active = (active + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length;
      render();
    } else if (e.key === 'Enter' && active >= 0) {
      e.preventDefault();
      choose(items[active]!);
    } else if (e.key === 'Escape') close();
  });
  input.addEventListener('blur', () => setTimeout(close, 100));
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
else start();
