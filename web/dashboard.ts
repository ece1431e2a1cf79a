import { api, errorMessage, goToLogin } from './lib/api.ts';
import { byId, h, replaceChildren } from './lib/dom.ts';
import { notify } from './lib/notice.ts';
import { connectRealtime } from './lib/realtime.ts';
import { breachNotice } from './lib/sla-notice.ts';
import { mountTileMap } from './dashboard-map.ts';

// The supervisors' dashboard: the server renders the whole page (tables, SVG charts, the map);
// this script keeps its live part current. Any ticket event schedules one refresh of
// /dashboard/live for the chosen period, at most once every REFRESH_MS (the first event of a
// quiet spell refreshes soon, a storm of events still makes one request per interval), and the
// server shares one computation per period among every supervisor (src/http/dashboard), as long
// as it started after the newest event this page heard of (`since`).

const REFRESH_MS = 5000;
/** The first refresh after a quiet spell waits this long, so that a burst counts once. */
const SETTLE_MS = 500;

const live = byId('dashboard-live');
let last = 0;
let timer: ReturnType<typeof setTimeout> | null = null;
let inFlight = false;
/** The server time of the newest event heard: the refresh asks for figures computed after it. */
let lastEventAt = 0;

async function refresh(): Promise<void> {
  timer = null;
  if (inFlight) return schedule();
  inFlight = true;
  last = Date.now();
  try {
    const q = new URLSearchParams(live.dataset.period ?? '');
    if (lastEventAt) q.set('since', String(lastEventAt));
    const res = await fetch(`/dashboard/live?${q}`, { credentials: 'same-origin', headers: { accept: 'text/html' } });
    if (res.status === 401 || res.redirected) return goToLogin();
    if (res.ok) {
      live.innerHTML = await res.text(); // our own server's markup, escaped there
      mountTileMap(live);
    }
  } catch {
    // offline: the connection badge says so; the next event or reconnect refreshes
  } finally {
    inFlight = false;
  }
}

function schedule(): void {
  if (timer) return;
  timer = setTimeout(() => void refresh(), Math.max(SETTLE_MS, last + REFRESH_MS - Date.now()));
}

mountTileMap(live);

connectRealtime({
  onEvent: (e) => {
    breachNotice(e, '/console');
    lastEventAt = Math.max(lastEventAt, Date.parse(e.at) || 0);
    schedule();
  },
  onReconnect: schedule,
});

// Exports: the buttons beside each table (hidden without this script) queue an export of the
// page's period, then its progress shows until the download link appears.

interface ExportState {
  id: number;
  status: string;
  progress: number;
  rows: number;
  error: string | null;
  download: string | null;
}

const exportStatus = byId('export-status');

function periodQuery(): Record<string, string> {
  const q = new URLSearchParams(live.dataset.period ?? '');
  const out: Record<string, string> = {};
  for (const k of ['period', 'from', 'to']) {
    const v = q.get(k);
    if (v) out[k] = v;
  }
  return out;
}

async function startExport(what: string, format: string): Promise<void> {
  exportStatus.textContent = 'Đang chuẩn bị tệp xuất…';
  try {
    let e = await api<ExportState>('POST', '/api/dashboard/exports', { what, format, ...periodQuery() });
    while (e.status === 'queued' || e.status === 'running') {
      exportStatus.textContent = `Đang xuất… ${Math.round(e.progress * 100)} %`;
      await new Promise((r) => setTimeout(r, 1000));
      e = await api<ExportState>('GET', `/api/dashboard/exports/${e.id}`);
    }
    if (e.status !== 'done' || !e.download) throw new Error(e.error ?? 'xuất không thành công');
    replaceChildren(exportStatus, `Tệp xuất sẵn sàng (${e.rows} dòng, giữ trong một ngày): `, h('a', { href: e.download }, 'Tải về'));
  } catch (err) {
    exportStatus.textContent = '';
    notify(`Không xuất được: ${errorMessage(err)}`, 'error');
  }
}

function showExportBars(): void {
  document.querySelectorAll<HTMLElement>('[data-export]').forEach((el) => { el.hidden = false; });
}

document.addEventListener('click', (ev) => {
  const button = (ev.target as Element | null)?.closest<HTMLButtonElement>('[data-export] button[data-format]');
  const bar = button?.closest<HTMLElement>('[data-export]');
  if (!button || !bar) return;
  void startExport(bar.dataset.export ?? '', button.dataset.format ?? '');
});
new MutationObserver(showExportBars).observe(live, { childList: true });
showExportBars();
