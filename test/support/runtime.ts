import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { createRuntime, type Runtime } from '../../src/runtime.ts';
import type { AnyChannel } from '../../src/intake/channel-kit.ts';
import { freshDb } from './db.ts';

/** A whole app (HTTP, intake, worker) on a fresh test database and a temporary DATA_DIR. */
export async function testRuntime(env: Record<string, string> = {}, opts: { startWorker?: boolean; channels?: AnyChannel[] } = {}): Promise<Runtime> {
  const handle = await freshDb();
  const dataDir = mkdtempSync(path.join(tmpdir(), 'phananh-test-'));
  // The public intake limits are off unless a test sets them: many tests file many reports from
  // one (absent) address; test/intake-limits.test.ts sets them.
  const config = loadConfig({
    DATA_DIR: dataDir, SESSION_SECRET: 'test-secret-0123456789abcdef', WORKER_CONCURRENCY: '2',
    // No map tiles from the internet: a test that shows the map serves its own tiles.
    INTAKE_LIMIT_ANONYMOUS_PER_HOUR: '0', INTAKE_LIMIT_CONTACT_PER_HOUR: '0', MAP_TILE_URL: 'off', ...env,
  });
  // Channels read their settings from `env` too, never from the test process's environment.
  return createRuntime(config, { log: createLogger('silent'), handle, skipSetup: true, startWorker: opts.startWorker, env, channels: opts.channels })
    .catch(async (err: unknown) => {
      await handle.close();
      throw err;
    });
}

/** Posts a JSON report to the app API. */
export function postReport(rt: Runtime, body: unknown, headers: Record<string, string> = {}) {
  return rt.app.request('/api/v1/reports', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

let clientCounter = 0;

/** The environment @hono/node-server gives a request from a socket at `address` (for app.request). */
export const fromAddress = (address: string) => ({ incoming: { socket: { remoteAddress: address } } });

/** Signs in through POST /login (as a script would) and returns the cookie and CSRF token. */
export async function signIn(rt: Runtime, username: string, password: string): Promise<{ cookie: string; csrf: string }> {
  const res = await rt.app.request('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ username, password }).toString(),
  }, fromAddress(`203.0.113.${++clientCounter % 250}`));
  if (res.status !== 200) throw new Error(`sign-in of ${username} answered ${res.status}: ${await res.text()}`);
  const cookie = /(phananh_session=[^;]*)/.exec(res.headers.get('set-cookie') ?? '')?.[1];
  if (!cookie) throw new Error('no session cookie');
  const { csrf } = (await res.json()) as { csrf: string };
  return { cookie, csrf };
}

/** A signed-in client of the staff API: JSON in, JSON out, cookie and CSRF header set. */
export function staffClient(rt: Runtime, session: { cookie: string; csrf: string }) {
  const call = (method: string, path: string, body?: unknown) => rt.app.request(path, {
    method,
    headers: { cookie: session.cookie, 'x-csrf-token': session.csrf, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {
    get: (path: string) => call('GET', path),
    post: (path: string, body: unknown = {}) => call('POST', path, body),
    patch: (path: string, body: unknown) => call('PATCH', path, body),
    raw: (path: string, init: RequestInit) => rt.app.request(path, { ...init, headers: { cookie: session.cookie, 'x-csrf-token': session.csrf, ...(init.headers as Record<string, string> | undefined) } }),
  };
}
