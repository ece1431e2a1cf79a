import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

// The page frame shared by the public portal (channels/web-form) and the staff pages under
// src/http (sign-in, errors). It lives here because channels may import src/, never the reverse.

/** What hono/html templates produce. */
export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

/** The site stylesheet, inlined in every page (no external assets). */
export const PAGE_CSS = `
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
.field-error{border-color:var(--err)}
.status{font-size:1.25rem;font-weight:700;color:var(--ok)}
ol.timeline{padding-left:1.2rem}ol.timeline li{margin:.3rem 0}time{color:var(--muted);font-size:.9rem}
dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem}dt{color:var(--muted)}dd{margin:0}
code{font-size:1.1rem;background:#eef;padding:.1rem .4rem;border-radius:4px;white-space:nowrap}
footer{color:var(--muted);font-size:.85rem;text-align:center;padding:2rem 1rem}`;

/** Page frame: Vietnamese, responsive, no external assets. */
export function layout(title: string, body: Html, opts: { refreshSeconds?: number; /** extra CSS for this page */ css?: string } = {}): Html {
  return html`<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${title} – Phản ánh 1022</title><link rel="icon" href="data:,">${opts.refreshSeconds ? html`<meta http-equiv="refresh" content="${opts.refreshSeconds}">` : ''}
<style>${raw(PAGE_CSS)}${opts.css ? raw(opts.css) : ''}</style></head>
<body><header><a href="/">Cổng phản ánh, kiến nghị 1022 – TP. Hồ Chí Minh</a></header>
<main>${body}</main>
<footer>Tổng đài 1022 · Tra cứu phản ánh: <a href="/track">nhập mã</a></footer></body></html>`;
}
