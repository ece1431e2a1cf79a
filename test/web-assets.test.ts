import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { upsertUser } from '../src/core/staff/users.ts';
import { sessionMiddleware, type AuthEnv } from '../src/http/auth.ts';
import { SESSION_COOKIE } from '../src/core/staff/sessions.ts';
import { staffPages } from '../src/http/staff-pages.ts';
import { buildWebAssets, loadWebAssets, type WebAssets } from '../src/http/web-assets.ts';
import type { Runtime } from '../src/runtime.ts';
import { testRuntime, fromAddress } from './support/runtime.ts';
import { loadConfig, mapTiles } from '../src/config.ts';

// The console and ward front end: bundled by esbuild in memory, served with its content hash,
// behind sign-in. What the pages do in a browser is for the Chromium tests; here: that the
// bundles build, are self-contained, and reach only the people allowed to see them.

// URL-looking strings a bundle may contain that are not fetched: the SVG namespace (an XML
// identifier) and, inside socket.io-client, an error message's documentation link and the
// scheme it prefixes to a host-less URI (we always connect to the page's own origin); inside
// Leaflet, the link of its attribution prefix (the portal's map shows its own attribution).
const NOT_FETCHED = new Set(['http://www.w3.org/2000/svg', 'https://socket.io/docs/v3/migrating-from-2-x-to-3-0/', 'https://', 'https://leafletjs.com']);
const URLS = /\bhttps?:\/\/[^\s"'`)]*/g;

const TILES = 'https://{s}.tiles.example.org/{z}/{x}/{y}.png';
let rt: Runtime;
let assets: WebAssets;
let ip = 0;
const PW = { agent: 'matkhau-agent-9', ward: 'matkhau-ward-9' };

beforeAll(async () => {
  rt = await testRuntime({ MAP_TILE_URL: TILES, MAP_TILE_ATTRIBUTION: 'Bản đồ © Ví Dụ <https://tiles.example.org/ban-quyen>' }, { startWorker: false });
  await Promise.all([
    upsertUser(rt.handle.db, { username: 'agent9', password: PW.agent, role: 'agent', displayName: 'Trần Thị Tổng Đài' }),
    upsertUser(rt.handle.db, { username: 'ward9', password: PW.ward, role: 'ward_officer', displayName: 'Cán bộ Bến Thành', areaCodes: ['26743'] }),
  ]);
  const built = await loadWebAssets();
  if (!built.ok) throw new Error(built.error);
  assets = built.assets;
}, 120_000);

afterAll(async () => {
  await rt?.close();
});

const text = (name: string) => new TextDecoder().decode(assets.files.get(name)!.body);

async function signIn(username: string, password: string): Promise<string> {
  const res = await rt.app.request('/login', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ username, password }).toString(),
  }, fromAddress(`203.0.113.${++ip}`));
  expect(res.status).toBe(200);
  const m = new RegExp(`${SESSION_COOKIE}=([^;]*)`).exec(res.headers.get('set-cookie') ?? '');
  expect(m?.[1]).toBeTruthy();
  return `${SESSION_COOKIE}=${m![1]}`;
}

describe('the bundles', () => {
  it('builds console.js, ward.js, dashboard.js, app.css and the portal\'s map, minified, with the Vietnamese text intact', () => {
    expect([...assets.files.keys()].sort()).toEqual(['app.css', 'console.js', 'dashboard.js', 'report-map.css', 'report-map.js', 'ward.js']);
    const js = text('console.js');
    // minified: few lines for tens of kilobytes
    expect(js.length).toBeGreaterThan(20_000);
    expect(js.split('\n').length).toBeLessThan(50);
    expect(js).toContain('Mất kết nối – đang kết nối lại');
    expect(js).toContain('ticket.watch');
    expect(text('ward.js')).toContain('Bắt đầu xử lý');
    expect(text('app.css')).toContain('.sla');
    expect(text('report-map.js')).toContain('Đây cũng là vấn đề của tôi');
    // Leaflet's stylesheet with its images inlined, and ours.
    expect(text('report-map.css')).toContain('.leaflet-container');
    expect(text('report-map.css')).toContain('.nearby-list');
    for (const f of assets.files.values()) {
      expect(f.hash).toMatch(/^[0-9a-f]{16}$/);
      expect(gunzipSync(f.gzip).equals(Buffer.from(f.body))).toBe(true);
    }
  });

  it('loads nothing from another server: no CDN, no remote import, no external URL', () => {
    for (const f of assets.files.values()) {
      const body = new TextDecoder().decode(f.body);
      const found = body.match(URLS) ?? [];
      expect(found.filter((u) => !NOT_FETCHED.has(u)), f.name).toEqual([]);
      expect(body).not.toMatch(/unpkg|jsdelivr|cdnjs|googleapis|\/\/cdn\./i);
    }
    for (const css of ['app.css', 'report-map.css']) expect(text(css)).not.toMatch(/https?:|@import|url\(\s*['"]?\/\//);
  });

  it('is built once per process', async () => {
    const again = await loadWebAssets();
    expect(again.ok && again.assets).toBe(assets);
  });

  it('reports a broken source tree instead of throwing at import time', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'phananh-web-'));
    mkdirSync(path.join(dir, 'console'));
    writeFileSync(path.join(dir, 'console', 'main.ts'), 'export const x = ;\n');
    writeFileSync(path.join(dir, 'ward.ts'), 'export {};\n');
    writeFileSync(path.join(dir, 'styles.css'), 'body{}\n');
    writeFileSync(path.join(dir, 'tsconfig.json'), '{}\n');
    await expect(buildWebAssets({ webDir: dir })).rejects.toThrow();
  });
});

describe('the pages', () => {
  it('sends a visitor without a session to sign in', async () => {
    for (const page of ['/console', '/ward']) {
      const res = await rt.app.request(page);
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toBe(`/login?next=${encodeURIComponent(page)}`);
    }
  });

  it('serves an agent the console shell, which loads the hashed bundle', async () => {
    const cookie = await signIn('agent9', PW.agent);
    const res = await rt.app.request('/console', { headers: { cookie } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(`src="${assets.url('console.js')}"`);
    expect(html).toContain(`href="${assets.url('app.css')}"`);
    expect(html).toMatch(/\/assets\/console\.js\?v=[0-9a-f]{16}/);
    expect(html).toContain('id="conn-state"');
    expect(html).toContain('Trần Thị Tổng Đài');
    expect(html).toContain('action="/logout"');
    expect(html).not.toMatch(/https?:\/\//);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('cache-control')).toBe('no-store');

    const js = await rt.app.request(assets.url('console.js'));
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('cache-control')).toContain('immutable');
    expect(await js.text()).toBe(text('console.js'));
    // An agent cannot open the ward view.
    expect((await rt.app.request('/ward', { headers: { cookie } })).status).toBe(403);
  });

  it('serves the report form with the map: the tile server in its CSP, the attribution, the map bundle by hash', async () => {
    const res = await rt.app.request('/');
    const html = await res.text();
    expect(html).toContain(`data-tiles="${TILES}"`);
    expect(html).toContain('data-attribution="Bản đồ © Ví Dụ &lt;https://tiles.example.org/ban-quyen&gt;"');
    expect(html).toContain(`src="${assets.url('report-map.js')}"`);
    expect(html).toContain(`href="${assets.url('report-map.css')}"`);
    // Without the script, the boxes are still there.
    expect(html).toMatch(/<input id="lat" name="lat"/);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("img-src 'self' blob: data: https://*.tiles.example.org;");
    expect(csp).toContain("script-src 'self';");
    const css = await rt.app.request(assets.url('report-map.css'));
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    // A template that is no tile URL stops the start with the setting's name; off is off, empty the default.
    for (const bad of ['ftp://tiles.example.org/{z}/{x}/{y}.png', 'https://tiles.example.org/{z}/{x}.png', "https://x.org/{z}/{x}/{y}.png' 'unsafe-inline"]) {
      expect(() => loadConfig({ MAP_TILE_URL: bad }), bad).toThrow(/MAP_TILE_URL/);
    }
    expect(() => loadConfig({ MAP_TILE_ATTRIBUTION: 'x <javascript:alert(1)>' })).toThrow(/MAP_TILE_ATTRIBUTION/);
    expect(mapTiles(loadConfig({ MAP_TILE_URL: 'off' }))).toBeNull();
    expect(mapTiles(loadConfig({ MAP_TILE_URL: '' }))).toEqual({
      url: 'https://tile.openstreetmap.org/{z}/{x}/{y}.png', origin: 'https://tile.openstreetmap.org',
      attribution: '© OpenStreetMap contributors <https://www.openstreetmap.org/copyright>',
    });
  });

  it('serves a ward officer the ward view and not the console', async () => {
    const cookie = await signIn('ward9', PW.ward);
    const res = await rt.app.request('/ward', { headers: { cookie } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain(`src="${assets.url('ward.js')}"`);
    const denied = await rt.app.request('/console', { headers: { cookie } });
    expect(denied.status).toBe(403);
    expect(await denied.text()).toContain('Không có quyền truy cập');
  });
});

describe('the assets', () => {
  it('are cached by content: ETag, 304, gzip, and revalidation without the hash', async () => {
    const css = assets.files.get('app.css')!;
    const plain = await rt.app.request('/assets/app.css');
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect(plain.headers.get('cache-control')).toBe('no-cache');
    expect(plain.headers.get('etag')).toBe(`"${css.hash}"`);
    const again = await rt.app.request('/assets/app.css', { headers: { 'if-none-match': `"${css.hash}"` } });
    expect(again.status).toBe(304);
    const zipped = await rt.app.request(assets.url('app.css'), { headers: { 'accept-encoding': 'gzip, br' } });
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    expect(gunzipSync(Buffer.from(await zipped.arrayBuffer())).toString('utf8')).toBe(text('app.css'));
    expect((await rt.app.request('/assets/nothing.js')).status).toBe(404);
  });

  it('when the front end did not build, the app still answers and the pages say why', async () => {
    const app = new Hono<AuthEnv>();
    app.use('*', sessionMiddleware(rt.handle.db));
    app.route('/', staffPages({ assets: async () => ({ ok: false, error: 'web/console/main.ts:1: Unexpected ";"' }) }));
    const cookie = await signIn('agent9', PW.agent);
    const page = await app.request('/console', { headers: { cookie } });
    expect(page.status).toBe(503);
    const html = await page.text();
    expect(html).toContain('Không tải được giao diện làm việc');
    expect(html).toContain('web/console/main.ts:1: Unexpected &quot;;&quot;');
    expect((await app.request('/assets/console.js')).status).toBe(503);
    expect((await rt.app.request('/healthz')).status).toBe(200);
  });
});
