import { api, errorMessage } from '../lib/api.ts';
import { byId, debounce, h, replaceChildren } from '../lib/dom.ts';
import { notify } from '../lib/notice.ts';
import type { Presence } from '../lib/realtime.ts';
import type { TicketDetail } from '../../src/wire/staff-api.ts';
import { buildPanel, renderTicket } from './panel.ts';
import { pointAt, renderQueue } from './queue.ts';
import { ctx, ticketPath, type OpenTicket } from './state.ts';

// Opening, loading and closing the ticket of the address (`/console#TK-…`), and who else has it open.

export async function loadTicket(o: OpenTicket): Promise<void> {
  const id = ++o.loading;
  try {
    const d = await api<TicketDetail>('GET', ticketPath(o.code));
    if (ctx.open !== o || id !== o.loading) return;
    // A merged ticket lives on in its target: follow it.
    if (d.ticket.merged_into !== null) {
      const into = [...d.events].reverse().find((e) => e.type === 'ticket.merged')?.data?.into;
      if (typeof into === 'string') {
        notify(`Hồ sơ ${o.code} đã được gộp vào ${into}.`, 'info');
        location.hash = into;
        return;
      }
    }
    o.detail = d;
    renderTicket(o);
  } catch (err) {
    if (ctx.open !== o) return;
    if (!o.detail) {
      replaceChildren(o.root, h('div', { class: 'error', role: 'alert' }, `Không mở được hồ sơ ${o.code}: ${errorMessage(err)}`));
    } else {
      notify(`Không cập nhật được hồ sơ: ${errorMessage(err)}`, 'error');
    }
  }
}

export const refreshOpen = debounce(() => { if (ctx.open) void loadTicket(ctx.open); }, 250);

export function openTicket(code: string): void {
  if (ctx.open?.code === code) {
    void loadTicket(ctx.open);
    return;
  }
  const o = buildPanel(code);
  ctx.open = o;
  const pane = byId('ticket-pane');
  replaceChildren(pane, o.root);
  o.head.append(h('p', { class: 'muted' }, `Đang tải hồ sơ ${code}…`));
  ctx.realtime.watch(code);
  pointAt(code);
  renderQueue();
  void loadTicket(o).then(() => {
    if (ctx.open === o && !pane.contains(document.activeElement)) o.root.querySelector<HTMLElement>('#t-title')?.focus({ preventScroll: true });
  });
  pane.scrollTop = 0;
}

export function closeTicket(): void {
  ctx.open = null;
  ctx.realtime.watch(null);
  replaceChildren(byId('ticket-pane'), emptyPane());
  renderQueue();
}

export function emptyPane(): HTMLElement {
  return h('div', { class: 'pane-empty' },
    h('p', null, 'Chọn một hồ sơ trong hàng đợi để xem và xử lý.'),
    h('p', { class: 'muted' }, 'Dùng phím ', h('kbd', null, 'j'), ' / ', h('kbd', null, 'k'), ' để di chuyển, ', h('kbd', null, 'Enter'),
      ' để mở, ', h('kbd', null, '?'), ' để xem tất cả phím tắt.'));
}

export function showPresence(p: Presence): void {
  if (!ctx.open || p.code !== ctx.open.code) return;
  const others = p.viewers.filter((v) => v.username !== ctx.me.username);
  const el = ctx.open.presence;
  el.classList.toggle('presence-others', others.length > 0);
  el.textContent = others.length
    ? `Đang mở bởi: ${others.map((v) => v.displayName || v.username).join(', ')} và bạn – chú ý tránh xử lý trùng.`
    : 'Đang mở bởi: chỉ bạn';
}

export function focusField(id: string): void {
  if (!ctx.open) return notify('Mở một hồ sơ trước (Enter).', 'info');
  const el = ctx.open.root.querySelector<HTMLElement>(`#${id}`);
  if (!el) return;
  el.scrollIntoView({ block: 'center' });
  el.focus();
}
