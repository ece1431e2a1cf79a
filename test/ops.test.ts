import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../src/runtime.ts';
import { reportBody } from './support/factories.ts';
import { postReport, testRuntime } from './support/runtime.ts';

let rt: Runtime;
beforeAll(async () => {
  rt = await testRuntime();
});
afterAll(async () => {
  await rt?.close();
});

/** The value of one sample line of Prometheus text, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('GET /healthz', () => {
  it('answers 200 {"ok":true} when the database answers', async () => {
    const res = await rt.app.request('/healthz');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ ok: true });
  });

  // It builds a runtime of its own to break: the runtime's start counts in the test's time.
  it('answers 503 {"ok":false,"degraded":"database","spooled":0} once the database is gone', { timeout: 120_000 }, async () => {
    const other = await testRuntime({}, { startWorker: false });
    try {
      expect((await other.app.request('/healthz')).status).toBe(200);
      await other.handle.close();
      const res = await other.app.request('/healthz');
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ ok: false, degraded: 'database', spooled: 0 });
      // Metrics still answer without the database.
      const metrics = await other.app.request('/metrics');
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('phananh_http_request_duration_seconds');
    } finally {
      await other.worker.stop();
    }
  });
});

describe('GET /metrics', () => {
  it('serves Prometheus text with intake counters and HTTP latency by route', async () => {
    const metricsText = async () => (await rt.app.request('/metrics')).text();
    const before = await metricsText();
    const stored = sample(before, 'phananh_inbound_total', { channel: 'app', result: 'stored' }) ?? 0;
    expect((await postReport(rt, reportBody())).status).toBe(201);
    await rt.app.request('/track/PA-00000000');

    const res = await rt.app.request('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toContain('# TYPE phananh_inbound_total counter');
    expect(text).toContain('# TYPE phananh_http_request_duration_seconds histogram');
    expect(text).toContain('# TYPE phananh_jobs_pending gauge');
    expect(sample(text, 'phananh_inbound_total', { channel: 'app', result: 'stored' })).toBe(stored + 1);
    // Routes are labelled by pattern, not by the path requested (bounded label values).
    expect(sample(text, 'phananh_http_request_duration_seconds_count', { method: 'POST', route: '/api/v1/reports', status: '201' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'phananh_http_request_duration_seconds_count', { method: 'GET', route: '/track/:code', status: '404' })).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain('PA-00000000');
  });
});

describe('unknown routes and common headers', () => {
  it('answers 404 with the JSON error not_found', async () => {
    const res = await rt.app.request('/khong-co-trang-nay');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = (await res.json()) as { error: { code: string; message: string; message_vi: string } };
    expect(body.error.code).toBe('not_found');
    expect(body.error.message).toBe('no route for GET /khong-co-trang-nay');
    expect(body.error.message_vi).toBe('Không tìm thấy trang hoặc tài nguyên này.');
  });

  it('answers 404 for a known path with the wrong method', async () => {
    const res = await rt.app.request('/healthz', { method: 'DELETE' });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  const requests: [string, string, RequestInit?][] = [
    ['a JSON answer', '/healthz'],
    ['an HTML page', '/'],
    ['a redirect', '/track?code=PA-00000000'],
    ['the metrics', '/metrics'],
    ['an unknown route', '/nope'],
    ['a thrown error', '/report', { method: 'POST', headers: { origin: 'https://evil.example' }, body: new FormData() }],
  ];
  for (const [what, url, init] of requests) {
    it(`sends X-Content-Type-Options: nosniff on ${what}`, async () => {
      const res = await rt.app.request(url, init);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('same-origin');
    });
  }
});
