import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { createRuntime, type Runtime } from '../../src/runtime.ts';
import { freshDb } from './db.ts';

/** A whole app (HTTP, intake, worker) on a fresh test database and a temporary DATA_DIR. */
export async function testRuntime(env: Record<string, string> = {}, opts: { startWorker?: boolean } = {}): Promise<Runtime> {
  const handle = await freshDb();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'phananh-test-'));
  const config = loadConfig({ DATA_DIR: dataDir, SESSION_SECRET: 'test-secret-0123456789abcdef', WORKER_CONCURRENCY: '2', ...env });
  return createRuntime(config, { log: createLogger('silent'), handle, skipSetup: true, startWorker: opts.startWorker });
}

/** Posts a JSON report to the app API. */
export function postReport(rt: Runtime, body: unknown, headers: Record<string, string> = {}) {
  return rt.app.request('/api/v1/reports', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}
