import { createHash } from 'node:crypto';
import type { Context } from 'hono';
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { CityWording } from '../city/profile.ts';

// The page frame shared by the public portal (channels/web-form) and the staff pages under
// src/http (sign-in, errors). It lives here because channels may import src/, never the reverse.

/** What hono/html templates produce. */
export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

/**
 * Every page's Content-Security-Policy: this origin only, no inline script or style, never in a
 * frame (clickjacking). The console and ward shells, the portal and the sign-in page alike;
 * blob: images for the photo previews of the ward view.
 */
export const PAGE_CSP = pageCsp();

/** PAGE_CSP with more image sources (a page showing map tiles adds the tile server's origin). */
export function pageCsp(imgSrc: readonly string[] = []): string {
  return `default-src 'self'; script-src 'self'; style-src 'self'; img-src ${["'self'", 'blob:', 'data:', ...imgSrc].join(' ')}; connect-src 'self'; `
    + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
}

/** The site stylesheet, served at /static/site.css (no inline style: see PAGE_CSP). */
const PAGE_CSS = `
:root{--fg:#1a1a1a;--muted:#555;--accent:#0b5cad;--err:#b00020;--bg:#f6f7f9;--card:#fff;--ok:#1b7f3b}
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{background:var(--accent);color:#fff;padding:.75rem 1rem}header a{color:#fff;text-decoration:none;font-weight:700}
main{max-width:44rem;margin:0 auto;padding:1rem}
.card{background:var(--card);border-radius:8px;padding:1rem 1.25rem;box-shadow:0 1px 3px #0002;margin-bottom:1rem}
label{display:block;font-weight:600;margin:.9rem 0 .3rem}.hint{color:var(--muted);font-size:.9rem;font-weight:400}
input,select,textarea{width:100%;font:inherit;padding:.6rem;border:1px solid #888;border-radius:6px;background:#fff}
textarea{min-height:8rem}input:focus,select:focus,textarea:focus,button:focus{outline:3px solid #f5a623;outline-offset:1px}
.row{display:grid;grid-template-columns:1fr 1fr;gap:.75rem}@media(max-width:480px){.row{grid-template-columns:1fr}}
button{font:inherit;font-weight:700;background:var(--accent);color:#fff;border:0;border-radius:6px;padding:.75rem 1.5rem;margin-top:1rem;cursor:pointer}
button.secondary{background:#fff;color:var(--accent);border:1px solid var(--accent);padding:.4rem .8rem;margin:.4rem 0 0}
.error{border-left:4px solid var(--err);background:#fdecee;padding:.75rem 1rem;border-radius:4px;margin-bottom:1rem}
.field-error{border-color:var(--err)}.field-message{color:var(--err);font-size:.9rem;margin:.25rem 0 0}
.status{font-size:1.25rem;font-weight:700;color:var(--ok)}
.report-text{white-space:pre-wrap;overflow-wrap:anywhere}ul.thumbs{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.5rem}
ul.thumbs img{width:6.5rem;height:6.5rem;object-fit:cover;border-radius:6px;border:1px solid #ccc;display:block}
ol.timeline{padding-left:1.2rem}ol.timeline li{margin:.3rem 0}time{color:var(--muted);font-size:.9rem}
dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem}dt{color:var(--muted)}dd{margin:0}
code{font-size:1.1rem;background:#eef;padding:.1rem .4rem;border-radius:4px;white-space:nowrap}
footer{color:var(--muted);font-size:.85rem;text-align:center;padding:2rem 1rem}
.contact{border:0;padding:0;margin:1rem 0 0}.contact legend{font-weight:600}
.auth{max-width:26rem;margin:2rem auto}.auth h1{margin-top:0}.auth button{width:100%}
a:focus-visible{outline:3px solid #f5a623;outline-offset:2px}
.nearby-list{list-style:none;padding:0;margin:0}.nearby-list li{border-top:1px solid #ddd;padding:.6rem 0}.nearby-list p{margin:.15rem 0;overflow-wrap:anywhere}form.inline{display:inline}form.inline button{width:auto}`;

/** A small file the pages link, named by its content's hash so that it can be cached for good. */
export interface StaticFile {
  path: string;
  body: string;
  contentType: string;
  hash: string;
  /** The path with `?v=<hash>`, for links. */
  url: string;
}

/** A static file served at `path`. */
export function staticFile(path: string, body: string, contentType: string): StaticFile {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 16);
  return { path, body, contentType, hash, url: `${path}?v=${hash}` };
}

/** The site stylesheet every page links. */
export const SITE_CSS = staticFile('/static/site.css', PAGE_CSS, 'text/css; charset=utf-8');

/** Answers a request for a static file: immutable when asked by its hash, revalidated otherwise. */
export function serveStaticFile(c: Context, f: StaticFile): Response {
  const etag = `"${f.hash}"`;
  c.header('ETag', etag);
  c.header('Cache-Control', c.req.query('v') === f.hash ? 'public, max-age=31536000, immutable' : 'no-cache');
  if (c.req.header('if-none-match')?.split(',').some((t) => t.trim().replace(/^W\//, '') === etag)) return c.body(null, 304);
  c.header('Content-Type', f.contentType);
  return c.body(f.body);
}

/** The city's words a page frame shows (its profile's wording). */
export type SiteWording = Pick<CityWording, 'portalTitle' | 'siteName' | 'hotline'>;

/** What a page says where no city is known (a page built outside the app, a test's own router). */
export const NEUTRAL_SITE: SiteWording = { portalTitle: 'Cổng phản ánh, kiến nghị', siteName: 'Phản ánh, kiến nghị', hotline: 'Tổng đài' };

/** The city's page wording of a request: createPublicApp sets it for every request. */
export const siteOf = (c: Context): SiteWording => (c.get('site' as never) as SiteWording | undefined) ?? NEUTRAL_SITE;

/** Page frame: Vietnamese, responsive, nothing from another server, no inline script or style. */
export function layout(site: SiteWording, title: string, body: Html, opts: {
  refreshSeconds?: number;
  /** scripts of this page (static files, or bundles by URL) */
  scripts?: (StaticFile | { url: string })[];
  /** stylesheets of this page besides the site's (bundles by URL) */
  styles?: string[];
} = {}): Html {
  return html`<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} – ${site.siteName}</title><link rel="icon" href="data:,">${opts.refreshSeconds ? html`<meta http-equiv="refresh" content="${opts.refreshSeconds}">` : ''}
<link rel="stylesheet" href="${SITE_CSS.url}">${(opts.styles ?? []).map((u) => html`<link rel="stylesheet" href="${u}">`)}${(opts.scripts ?? []).map((f) => html`<script src="${f.url}" defer></script>`)}</head>
<body><header><a href="/">${site.portalTitle}</a></header>
<main>${body}</main>
<footer>${site.hotline} · Tra cứu phản ánh: <a href="/track">nhập mã</a> · <a href="/minh-bach">Minh bạch kết quả xử lý</a></footer></body></html>`;
}
