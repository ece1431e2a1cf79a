import { goToLogin } from './lib/api.ts';
import { byId } from './lib/dom.ts';
import { connectRealtime } from './lib/realtime.ts';

// The supervisors' dashboard: the server renders the whole page (tables, SVG charts, the map);
// this script keeps its live part current. Any ticket event schedules one refresh of
// /dashboard/live for the chosen period, at most once every REFRESH_MS (the first event of a
// quiet spell refreshes soon, a storm of events still makes one request per interval), and the
// server shares one computation per period among every supervisor (src/http/dashboard).

const REFRESH_MS = 5000;
/** The first refresh after a quiet spell waits this long, so that a burst counts once. */
const SETTLE_MS = 500;

const live = byId('dashboard-live');
let last = 0;
let timer: ReturnType<typeof setTimeout> | null = null;
let inFlight = false;

async function refresh(): Promise<void> {
  timer = null;
  if (inFlight) return schedule();
  inFlight = true;
  last = Date.now();
  try {
    const res = await fetch(`/dashboard/live${live.dataset.period ?? ''}`, { credentials: 'same-origin', headers: { accept: 'text/html' } });
    if (res.status === 401 || res.redirected) return goToLogin();
    if (res.ok) live.innerHTML = await res.text(); // our own server's markup, escaped there
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

connectRealtime({ onEvent: schedule, onReconnect: schedule });
