// Load generator for the benchmarks, run in a worker thread so that building requests and
// reading responses do not steal the server's event loop (which would inflate its latency).
// Plain JavaScript so the thread needs no TypeScript loader. Sends pre-built JSON bodies over
// node:http with keep-alive and reports per-request latency and status. (Node's fetch costs
// about 2 ms of CPU a request here, which on a two-core machine is taken from the server.)
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';

const { url, timeoutMs } = workerData;
const target = new URL(url);
// Idle sockets are dropped after 3 s, before the server's keep-alive timeout (5 s) closes them
// under a request in flight (which the client would see as a reset, not an answer).
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, timeout: 3000 });
/** Why requests got no answer, by error code (reset, refused, timeout). */
let failures = {};
const epochNow = () => performance.timeOrigin + performance.now();

/** POSTs one body; resolves with the status, or 0 when refused, reset or timed out. */
function send(body) {
  return new Promise((resolve) => {
    let done = false;
    const finish = (status) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(status);
    };
    const req = http.request(target, {
      method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': body.length },
    }, (res) => {
      res.on('data', () => {});
      res.on('end', () => finish(res.statusCode ?? 0));
      res.on('error', () => finish(0));
    });
    const timer = setTimeout(() => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })), timeoutMs);
    req.on('error', (err) => {
      if (!done) failures[err.code ?? err.message] = (failures[err.code ?? err.message] ?? 0) + 1;
      finish(0);
    });
    req.end(body);
  });
}

/** Closed loop: `concurrency` lanes, each sending its next body as soon as the last answered. */
async function closedLoop({ bodies, concurrency }) {
  const latency = new Float64Array(bodies.length);
  const status = new Uint16Array(bodies.length);
  let next = 0;
  const startedAt = epochNow();
  const lane = async () => {
    for (;;) {
      const i = next++;
      if (i >= bodies.length) return;
      const t = performance.now();
      status[i] = await send(bodies[i]);
      latency[i] = performance.now() - t;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { startedAt, finishedAt: epochNow(), latency, status, skipped: 0 };
}

/**
 * Open loop: request i is due at start + i / rate whatever the earlier ones are doing, and its
 * latency counts from when it was due (no coordinated omission). Bounded: at most `maxInFlight`
 * outstanding requests; a request due beyond that is skipped and counted.
 */
async function openLoop({ bodies, rate, maxInFlight }) {
  const latency = new Float64Array(bodies.length);
  const status = new Uint16Array(bodies.length);
  const interval = 1000 / rate;
  const t0 = performance.now();
  const startedAt = epochNow();
  const pending = new Set();
  let skipped = 0;
  let i = 0;
  while (i < bodies.length) {
    const now = performance.now();
    while (i < bodies.length && t0 + i * interval <= now) {
      const k = i++;
      const due = t0 + k * interval;
      if (pending.size >= maxInFlight) {
        skipped++;
        latency[k] = NaN;
        continue;
      }
      const p = send(bodies[k]).then((s) => {
        status[k] = s;
        latency[k] = performance.now() - due;
        pending.delete(p);
      });
      pending.add(p);
    }
    if (i < bodies.length) await new Promise((r) => setTimeout(r, Math.max(0, t0 + i * interval - performance.now())));
  }
  await Promise.all(pending);
  return { startedAt, finishedAt: epochNow(), latency, status, skipped };
}

parentPort.on('message', async (job) => {
  job.bodies = job.bodies.map((b) => Buffer.from(b));
  failures = {};
  const result = job.mode === 'open' ? await openLoop(job) : await closedLoop(job);
  result.failures = failures;
  parentPort.postMessage(result, [result.latency.buffer, result.status.buffer]);
});
parentPort.postMessage({ ready: true });
