import { byId, h } from './dom.ts';

// Short messages after an action, read out by screen readers (#notices is a live region).

/** Shows a message for a few seconds; errors stay longer and are announced assertively. */
export function notify(message: string, kind: 'ok' | 'error' | 'info' = 'ok', link?: { href: string; text: string }): void {
  const region = byId('notices');
  const item = h('div', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('span', null, message, link ? [' ', h('a', { href: link.href, onclick: () => item.remove() }, link.text)] : null));
  const close = h('button', { type: 'button', class: 'notice-close', 'aria-label': 'Đóng thông báo', onclick: () => item.remove() }, '×');
  item.append(close);
  region.append(item);
  while (region.children.length > 4) region.firstElementChild?.remove();
  setTimeout(() => item.remove(), kind === 'error' ? 12_000 : 5000);
}
