import { Hono, type Context } from 'hono';
import { html } from 'hono/html';
import type { SessionUser } from '../wire/staff-api.ts';
import { requireUser, type AuthEnv } from './auth.ts';
import { layout, PAGE_CSP, siteOf, type SiteWording } from '../intake/page-layout.ts';
import { ROLE_VI, rolesThatCan } from '../core/staff/policy.ts';
import type { WebAssetsResult } from './web-assets.ts';

// The page shells of the agents' console (/console) and the ward forces' view (/ward), and the
// bundled front end they load (/assets/*). The shells carry the top bar (user, connection
// state, sign-out) so that it shows before the script runs; everything else is built by
// web/console/ and web/ward.ts against the console API.

export interface StaffPagesOptions {
  /** The bundles of this process (src/http/web-assets.ts: loadWebAssets). */
  assets: () => Promise<WebAssetsResult>;
}


interface ShellOptions {
  site: SiteWording;
  title: string;
  heading: string;
  page: 'console' | 'ward';
  user: SessionUser;
  css: string;
  script: string;
}

function shell(o: ShellOptions) {
  return html`<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${o.title} – ${o.site.hotline}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${o.css}">
<script src="${o.script}" defer></script></head>
<body class="page-${o.page}">
<a class="skip-link" href="#app">Bỏ qua thanh tiêu đề</a>
<header class="topbar"><h1>${o.heading}</h1>
<div class="topbar-tools">
<span id="conn-state" role="status" aria-live="polite" data-state="connecting" data-testid="conn-state">Đang kết nối…</span>
<span class="me">${o.user.displayName} <span class="role">(${ROLE_VI[o.user.role]})</span></span>
<form method="post" action="/logout"><button type="submit" data-action="logout">Đăng xuất</button></form>
</div></header>
<main id="app" tabindex="-1"><noscript><p>Trang này cần bật JavaScript.</p></noscript></main>
<div id="notices" class="notices" aria-live="polite"></div>
</body></html>`;
}

function unavailable(c: Context, error: string) {
  c.header('Cache-Control', 'no-store');
  return c.html(layout(siteOf(c), 'Giao diện chưa sẵn sàng', html`<div class="card" role="alert">
<h1>Không tải được giao diện làm việc</h1>
<p>Mã nguồn giao diện (thư mục <code>web/</code>) không dựng được khi máy chủ khởi động, nên trang này tạm thời không dùng được.
Các kênh tiếp nhận phản ánh vẫn hoạt động bình thường. Vui lòng báo quản trị viên hệ thống.</p>
<details><summary>Chi tiết kỹ thuật</summary><pre>${error}</pre></details></div>`), 503);
}

/** GET /console, GET /ward and GET /assets/:file. */
export function staffPages(opts: StaffPagesOptions): Hono<AuthEnv> {
  const app = new Hono<AuthEnv>();

  const page = (p: ShellOptions['page'], title: string, heading: (site: SiteWording) => string) => async (c: Context<AuthEnv>) => {
    const built = await opts.assets();
    if (!built.ok) return unavailable(c, built.error);
    c.header('Cache-Control', 'no-store');
    c.header('Content-Security-Policy', PAGE_CSP);
    const site = siteOf(c);
    return c.html(shell({
      site, page: p, title, heading: heading(site), user: c.get('user'),
      css: built.assets.url('app.css'), script: built.assets.url(`${p}.js`),
    }));
  };

  app.get('/console', requireUser(...rolesThatCan('console.use')), page('console', 'Bàn làm việc tổng đài', (site) => `${site.hotline} · Bàn làm việc`));
  app.get('/ward', requireUser(...rolesThatCan('ward.use')), page('ward', 'Nhiệm vụ phường', () => 'Nhiệm vụ phường, xã'));

  app.get('/assets/:file', async (c) => {
    const built = await opts.assets();
    if (!built.ok) {
      c.header('Cache-Control', 'no-store');
      return c.text(`/* web assets unavailable: the front end did not build */`, 503);
    }
    const asset = built.assets.files.get(c.req.param('file'));
    if (!asset) return c.notFound();
    const etag = `"${asset.hash}"`;
    c.header('ETag', etag);
    c.header('Vary', 'Accept-Encoding');
    // A URL naming this content's hash never changes; anything else revalidates.
    c.header('Cache-Control', c.req.query('v') === asset.hash ? 'public, max-age=31536000, immutable' : 'no-cache');
    if (c.req.header('if-none-match')?.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)) return c.body(null, 304);
    c.header('Content-Type', asset.contentType);
    const gzip = /\bgzip\b/.test(c.req.header('accept-encoding') ?? '');
    if (gzip) c.header('Content-Encoding', 'gzip');
    return c.body((gzip ? asset.gzip : asset.body) as Uint8Array<ArrayBuffer>);
  });

  return app;
}
