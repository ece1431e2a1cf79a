import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { startServer, type Server } from '../../src/server.ts';
import { emptyServerDatabase, freshDb, TEST_DB } from '../support/db.ts';

// What every browser test shares: Debian's chromium (never a downloaded one), and the real
// server (HTTP, worker, socket.io) on a port of its own, on this run's database.

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const HAVE_CHROMIUM = existsSync(CHROMIUM);

/** Headless chromium with the flags these machines need (STACK-NOTES.md). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

/** A browser context as an agent at the city's call centre sees it: 1366 px wide, Vietnamese, Ho Chi Minh City time. */
export const AGENT_VIEW = { viewport: { width: 1366, height: 900 }, locale: 'vi-VN', timezoneId: 'Asia/Ho_Chi_Minh' } as const;

/**
 * The whole server on a fresh database (a new one on the PostgreSQL server when the run uses
 * it) and a temporary folder (`dir`, DATA_DIR under it); `stop()` removes both. `env`: the
 * channels' settings; `settings`: the app's own (the report form's map is off unless a test
 * serves its tiles: nothing is fetched from the internet). `template`: on PGlite, an in-memory
 * copy of the migrated and seeded template database (a second) instead of migrating and seeding
 * one under DATA_DIR (most of a minute), for a test that needs no database on disk.
 */
export async function testServer(prefix: string, env?: Record<string, string>, settings: Record<string, string> = {}, opts: { template?: boolean } = {}): Promise<{ server: Server; dir: string; stop(): Promise<void> }> {
  const tmp = mkdtempSync(path.join(tmpdir(), `phananh-${prefix}-`));
  const db = TEST_DB === 'postgres' ? await emptyServerDatabase() : null;
  const handle = !db && opts.template ? await freshDb() : undefined;
  const config = loadConfig({
    DATA_DIR: path.join(tmp, 'data'), PORT: '0', HOST: '127.0.0.1', SESSION_SECRET: 'test-secret-0123456789abcdef',
    WORKER_CONCURRENCY: '2', MAP_TILE_URL: 'off', ...(db ? { DATABASE_URL: db.url } : {}), ...settings,
  });
  const server = await startServer(config, createLogger(process.env.BROWSER_LOG ?? 'silent'), undefined, { ...(env ? { env } : {}), ...(handle ? { handle } : {}) });
  return {
    server, dir: tmp,
    async stop() {
      await server.stop();
      await db?.drop();
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** Signs in through the /login form as a person would (the page already on it, or at `base`), and waits to land on `landing`. */
export async function signInAs(page: Page, username: string, password: string, opts: { base?: string; landing?: string } = {}): Promise<void> {
  if (opts.base) await page.goto(`${opts.base}/login`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  const landed = opts.landing ? (u: URL) => u.pathname === opts.landing : (u: URL) => u.pathname !== '/login';
  await Promise.all([page.waitForURL(landed), page.click('form[action="/login"] button[type=submit]')]);
}
