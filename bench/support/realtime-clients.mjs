// Console clients for the realtime benchmark, run in a worker thread so that decoding 200
// sockets' messages does not steal the servers' event loop (which would inflate the figures
// it measures). Plain JavaScript so the thread needs no TypeScript loader.
//
// Messages from the main thread (each answered with one message of the same `op`):
//   { op: 'connect', url, cookies: string[], group }   open one WebSocket client per cookie
//   { op: 'arm', id, expected }                         expect `expected` deliveries of bench event `id`;
//                                                       answered at once ('armed'), then with 'delivered'
//                                                       when all arrived (or on 'disarm', with what did)
//   { op: 'disarm', id }                                stop waiting for `id`
//   { op: 'ingest', url, bodies, rate, timeoutMs }      POST reports at `rate`/s; time until each
//                                                       report's ticket event reaches a console socket
//                                                       (results in order: status, ms, report and ticket code)
//   { op: 'close' }                                     disconnect every client
/* global fetch, AbortSignal */
import { parentPort } from 'node:worker_threads';
import { io } from 'socket.io-client';

const epochNow = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** @type {{ socket: import('socket.io-client').Socket, group: string }[]} */
let clients = [];
/** bench id -> { expected, latencies: {group, ms}[] } */
const armed = new Map();
/** Ingest bookkeeping, filled by every console socket. */
const createdAt = new Map(); // ticket code -> receive time of its ticket.created
const reportSeen = new Map(); // report code -> { ticket, type, t }

function onEvent(group, e) {
  const t = epochNow();
  const id = e?.data?.bench;
  if (id !== undefined) {
    const a = armed.get(id);
    if (!a) return;
    a.latencies.push({ group, ms: t - e.data.sentAt });
    if (a.latencies.length === a.expected) finish(id);
    return;
  }
  if (e.type === 'ticket.created' && !createdAt.has(e.ticket)) createdAt.set(e.ticket, t);
  if ((e.type === 'report.received' || e.type === 'report.grouped') && typeof e.data?.report === 'string' && !reportSeen.has(e.data.report)) {
    reportSeen.set(e.data.report, { ticket: e.ticket, type: e.type, t });
  }
}

function finish(id) {
  const a = armed.get(id);
  if (!a) return;
  armed.delete(id);
  parentPort.postMessage({ op: 'delivered', id, latencies: a.latencies });
}

function connectOne(url, cookie, group) {
  return new Promise((resolve) => {
    const socket = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: { cookie }, timeout: 10_000 });
    socket.on('ticket.event', (e) => onEvent(group, e));
    socket.once('connect', () => resolve({ socket, ok: true }));
    socket.once('connect_error', (err) => resolve({ socket, ok: false, error: err.message }));
  });
}

async function connect({ url, cookies, group }) {
  let failed = 0;
  let error = '';
  // In batches: every handshake looks its session up in the database.
  for (let i = 0; i < cookies.length; i += 50) {
    const batch = await Promise.all(cookies.slice(i, i + 50).map((c) => connectOne(url, c, group)));
    for (const r of batch) {
      if (r.ok) clients.push({ socket: r.socket, group });
      else {
        failed++;
        error = r.error;
        r.socket.disconnect();
      }
    }
  }
  return { op: 'connect', connected: cookies.length - failed, failed, error };
}

async function post(url, body, timeoutMs) {
  try {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(timeoutMs) });
    const json = await res.json().catch(() => null);
    return res.status === 201 && json && typeof json.code === 'string' ? json.code : null;
  } catch {
    return null;
  }
}

/** Open loop at `rate`/s; each report timed from just before its POST to its ticket event on a console socket. */
async function ingest({ url, bodies, rate, timeoutMs }) {
  const sent = [];
  const startedAt = epochNow();
  const inFlight = [];
  for (let i = 0; i < bodies.length; i++) {
    const due = startedAt + (i * 1000) / rate;
    const wait = due - epochNow();
    if (wait > 0) await sleep(wait);
    const t0 = epochNow();
    const entry = { t0, code: null };
    sent.push(entry);
    inFlight.push(post(url, bodies[i], 10_000).then((code) => { entry.code = code; }));
  }
  await Promise.all(inFlight);
  const until = epochNow() + timeoutMs;
  while (sent.some((s) => s.code && !reportSeen.has(s.code)) && epochNow() < until) await sleep(10);
  const results = sent.map((s) => {
    if (!s.code) return { status: 'post_failed' };
    const r = reportSeen.get(s.code);
    if (!r) return { status: 'missing', code: s.code };
    const created = r.type === 'report.received' ? createdAt.get(r.ticket) : undefined;
    // A new ticket: until its ticket.created; a report grouped onto an open ticket has no
    // ticket.created of its own, so until its report.grouped.
    return created !== undefined
      ? { status: 'created', ms: created - s.t0, code: s.code, ticket: r.ticket }
      : { status: 'grouped', ms: r.t - s.t0, code: s.code, ticket: r.ticket };
  });
  return { op: 'ingest', results };
}

parentPort.on('message', async (m) => {
  try {
    if (m.op === 'connect') parentPort.postMessage(await connect(m));
    else if (m.op === 'arm') {
      armed.set(m.id, { expected: m.expected, latencies: [] });
      parentPort.postMessage({ op: 'armed', id: m.id });
    }
    else if (m.op === 'disarm') finish(m.id);
    else if (m.op === 'ingest') parentPort.postMessage(await ingest(m));
    else if (m.op === 'close') {
      for (const c of clients) c.socket.disconnect();
      clients = [];
      createdAt.clear();
      reportSeen.clear();
      parentPort.postMessage({ op: 'close' });
    }
  } catch (err) {
    parentPort.postMessage({ op: m.op, error: String(err?.stack ?? err) });
  }
});
parentPort.postMessage({ op: 'ready' });
