import { compile } from 'html-to-text';

/** Longest HTML body read (characters); the rest of a larger one is cut before it is parsed. */
export const HTML_MAX = 1_000_000;

// Markup never reaches an agent: HTML-only mail (most webmail) is read as text, images and
// scripts dropped, links kept with their address (a Google Maps link is a place). Quoted
// history in its clients' containers (Gmail's gmail_quote, Yahoo's yahoo_quoted, a cited
// blockquote) comes out as `>` lines, which `foldQuotes` then folds like plain-text quotes.
const toText = compile({
  wordwrap: false,
  preserveNewlines: false,
  limits: { maxInputLength: HTML_MAX, maxDepth: 60, maxChildNodes: 5000, ellipsis: '…' },
  selectors: [
    { selector: 'img', format: 'skip' },
    { selector: 'style', format: 'skip' },
    { selector: 'script', format: 'skip' },
    { selector: 'head', format: 'skip' },
    { selector: 'a', options: { hideLinkHrefIfSameAsText: true, linkBrackets: ['<', '>'], ignoreHref: false } },
    { selector: 'div.gmail_quote', format: 'blockquote', options: { trimEmptyLines: true } },
    { selector: 'div.yahoo_quoted', format: 'blockquote', options: { trimEmptyLines: true } },
    { selector: 'div.moz-cite-prefix', format: 'blockquote', options: { trimEmptyLines: true } },
    { selector: 'blockquote', format: 'blockquote', options: { trimEmptyLines: true } },
    { selector: 'h1', options: { uppercase: false } },
    { selector: 'h2', options: { uppercase: false } },
    { selector: 'h3', options: { uppercase: false } },
    { selector: 'table', format: 'dataTable', options: { uppercaseHeaderCells: false } },
  ],
});

/** An HTML body as plain text (entities decoded, markup gone, links as `text <url>`). */
export function htmlToPlainText(html: string): string {
  // html-to-text writes a warning to stderr when it truncates: cut first, quietly.
  return toText(html.length > HTML_MAX ? html.slice(0, HTML_MAX) : html).replace(/[ \t]+\n/g, '\n').replace(/\n{3,}/g, '\n\n').trim();
}
