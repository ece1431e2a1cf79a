import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DbHandle } from '../src/db/connect.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/log.ts';
import { createRuntime, type Runtime } from '../src/runtime.ts';
import { freshDb, TEST_DB } from './support/db.ts';
import { PLACES, PNG_1PX } from './support/factories.ts';
import { waitFor } from './support/wait.ts';

// The Workers entry as Cloudflare runs it: `wrangler dev` (workerd, the Workers runtime, on
// this machine; no account, no network) with its Hyperdrive binding pointed at the test
// server and a local R2 bucket. Runs on the PostgreSQL project only: the edge writes to a
// server, and the Node runtime that processes what it stored connects to the same one.
const root = fileURLToPath(new URL('..', import.meta.url));
const wrangler = path.join(root, 'node_modules/wrangler/bin/wrangler.js');
const SECRET = 'edge-secret-0123456789abcdef';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

describe.runIf(TEST_DB === 'postgres' && existsSync(wrangler))('Workers entry under wrangler dev (workerd)', () => {
  let handle: DbHandle & { url?: string };
  let child: ChildProcess;
  let base: string;
  let output = '';
  let persist: string;
  let rt: Runtime | undefined;

  beforeAll(async () => {
    handle = await freshDb();
    // Hyperdrive's local connection string must name a password; a trust-auth server ignores it.
    const url = new URL(handle.url!);
    if (!url.password) url.password = 'local';
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    persist = mkdtempSync(path.join(tmpdir(), 'phananh-wrangler-'));
    child = spawn(process.execPath, [
      wrangler, 'dev', '--port', String(port), '--ip', '127.0.0.1', '--persist-to', persist,
      '--var', `SESSION_SECRET:${SECRET}`, '--var', `PUBLIC_URL:${base}`, '--log-level', 'warn', '--show-interactive-dev-session=false',
    ], {
      cwd: root,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        CLOUDFLARE_HYPERDRIVE_LOCAL_CONNECTION_STRING_HYPERDRIVE: url.toString(),
        // Offline: no metrics, no request for the `cf` object's placeholder data.
        WRANGLER_SEND_METRICS: 'false',
        CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      },
    });
    child.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
    await waitFor('wrangler dev to serve /healthz', async () => {
      if (child.exitCode !== null) throw new Error(`wrangler dev exited ${child.exitCode}:\n${output}`);
      return fetch(`${base}/healthz`).then((r) => r.ok, () => false);
    }, 90_000, 250);
  }, 120_000);

  afterAll(async () => {
    if (child?.pid && child.exitCode === null) {
      // wrangler starts workerd as a child of its own: end the whole process group.
      try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
      await waitFor('wrangler dev to stop', async () => child.exitCode !== null || child.signalCode !== null, 10_000, 50)
        .catch(() => process.kill(-child.pid!, 'SIGKILL'));
    }
    await rt?.close();
    await handle?.close();
    if (persist) rmSync(persist, { recursive: true, force: true });
  });

  it('serves one request after another, each on a connection of its own', async () => {
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${base}/`, { signal: AbortSignal.timeout(10_000) });
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('<form');
    }
    // What the form's footer links to, and Open311's services, under workerd too.
    const transparency = await fetch(`${base}/minh-bach`, { signal: AbortSignal.timeout(10_000) });
    expect(transparency.status).toBe(200);
    expect(await transparency.text()).toContain('Minh bạch kết quả xử lý');
    const services = await fetch(`${base}/open311/v2/services.json`, { signal: AbortSignal.timeout(10_000) });
    expect(services.status).toBe(200);
  });

  it('stores a report with a photo in R2, shows its status, and a Node process routes it to its ward', async () => {
    const form = new FormData();
    form.set('text', 'Nước ngập sâu trước chợ Bến Thành, xe máy chết máy');
    form.set('lat', String(PLACES.benThanh.lat));
    form.set('lng', String(PLACES.benThanh.lng));
    form.append('photos', new File([PNG_1PX], 'ngap.png', { type: 'image/png' }));
    const res = await fetch(`${base}/api/v1/reports`, { method: 'POST', body: form, signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(201);
    const filed = (await res.json()) as { code: string; photos: number; tracking_url: string };
    expect(filed.photos).toBe(1);
    expect(filed.tracking_url).toBe(`${base}/track/${filed.code}`);

    const stored = await handle.db.selectFrom('inbound_messages').select(['channel', 'report']).where('code', '=', filed.code).executeTakeFirstOrThrow();
    expect(stored.channel).toBe('app');
    expect((stored.report as { attachments: { sha256: string }[] }).attachments).toHaveLength(1);

    // Its status twice (a second request on the same isolate), and the tracking page.
    for (let i = 0; i < 2; i++) {
      const status = await fetch(`${base}/api/v1/reports/${filed.code}`, { signal: AbortSignal.timeout(10_000) });
      expect(status.status).toBe(200);
      expect(await status.json()).toMatchObject({ code: filed.code, status: 'received', channel: 'app' });
    }
    const page = await fetch(`${base}/track/${filed.code}`, { signal: AbortSignal.timeout(10_000) });
    expect(await page.text()).toContain('Đã tiếp nhận');

    // Workers run no jobs: a Node runtime on the same database processes what the edge stored.
    const config = loadConfig({ DATA_DIR: mkdtempSync(path.join(tmpdir(), 'phananh-edge-node-')), SESSION_SECRET: SECRET, DATABASE_URL: handle.url });
    rt = await createRuntime(config, { log: createLogger('silent'), skipSetup: true, env: {} });
    const ticket = await waitFor('the Node worker to route the edge report', () =>
      handle.db.selectFrom('reports').innerJoin('tickets', 'tickets.id', 'reports.ticket_id')
        .select(['tickets.area_code', 'tickets.status']).where('reports.code', '=', filed.code).executeTakeFirst(), 30_000, 100);
    expect(ticket.area_code).toBe(PLACES.benThanh.code);

    const after = await fetch(`${base}/api/v1/reports/${filed.code}`, { signal: AbortSignal.timeout(10_000) });
    expect(await after.json()).toMatchObject({ code: filed.code, area: { code: PLACES.benThanh.code } });
  }, 60_000);
});
