import { h } from './dom.ts';

// What the pages with a tile map share (the report form's, the dashboard's): the attribution the
// tiles require, drawn as DOM from the setting (`text <url>`), never as HTML from a setting.

/** The attribution the tiles require, as DOM (text, and its link when given as `text <url>`). */
export function attribution(spec: string): HTMLElement {
  const m = /^([^<>]+?)\s*(?:<(https?:\/\/[^<>\s]+)>)?$/.exec(spec.trim().slice(0, 500));
  const text = m?.[1] ?? spec;
  return h('span', null, m?.[2] ? h('a', { href: m[2], target: '_blank', rel: 'noopener' }, text) : text);
}
