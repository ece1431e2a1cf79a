import { api, errorMessage } from '../lib/api.ts';
import { h, replaceChildren } from '../lib/dom.ts';
import { formatTime } from '../lib/labels.ts';
import { notify } from '../lib/notice.ts';
import { can } from '../../src/core/staff/policy.ts';
import type { QuarantineView } from '../../src/wire/staff-api.ts';
import { ctx } from './state.ts';

// Admins only (the policy's quarantine.manage): the messages a channel could not read, held with
// their error. Each can be downloaded raw (.eml), retried through its channel (after a fix or an
// upgrade) or dismissed; the server audits each action.

const sizeText = (n: number | null) => (n === null ? '—' : n >= 1048576 ? `${(n / 1048576).toFixed(1).replace('.', ',')} MB` : `${Math.max(1, Math.round(n / 1024))} KB`);

/** The topbar button and its dialog, for admins; null for everyone else. */
export function quarantineTools(): { button: HTMLElement; dialog: HTMLDialogElement } | null {
  if (!can(ctx.me, 'quarantine.manage')) return null;
  const body = h('div', { id: 'quarantine-list' });
  const count = h('span', { id: 'quarantine-count' });
  const dialog = h('dialog', { id: 'quarantine', class: 'wide-dialog', 'aria-labelledby': 'quarantine-title' },
    h('h2', { id: 'quarantine-title' }, 'Thư không đọc được (bị giữ lại)'),
    h('p', { class: 'hint' }, 'Thư được giữ nguyên bản gốc, không thành phản ánh và không chặn các thư sau. Thử lại sau khi đã sửa lỗi hoặc nâng cấp; bỏ qua nếu không cần xử lý.'),
    body,
    h('form', { method: 'dialog' }, h('button', { type: 'submit' }, 'Đóng')));
  const button = h('button', { type: 'button', class: 'topbar-button', 'data-action': 'quarantine-open', onclick: () => { dialog.showModal(); void load(body, count); } },
    'Thư bị giữ lại ', count);
  void load(body, count);
  return { button, dialog };
}

async function load(body: HTMLElement, count: HTMLElement): Promise<void> {
  let items: QuarantineView[];
  try {
    items = (await api<{ items: QuarantineView[] }>('GET', '/api/console/quarantine')).items;
  } catch (err) {
    replaceChildren(body, h('p', { class: 'error', role: 'alert' }, `Không tải được danh sách: ${errorMessage(err)}`));
    return;
  }
  count.textContent = items.length ? `(${items.length})` : '';
  if (!items.length) {
    replaceChildren(body, h('p', { class: 'muted' }, 'Không có thư nào bị giữ lại.'));
    return;
  }
  const act = async (button: HTMLButtonElement, path: string, done: (q: QuarantineView) => string) => {
    button.disabled = true;
    try {
      const q = await api<QuarantineView>('POST', path, {});
      notify(done(q), q.status === 'held' ? 'error' : 'ok');
    } catch (err) {
      notify(errorMessage(err), 'error');
    }
    await load(body, count);
  };
  replaceChildren(body, h('table', { class: 'quarantine', 'data-testid': 'quarantine' },
    h('thead', null, h('tr', null, ['Hộp thư', 'UID', 'Ngày nhận', 'Người gửi', 'Dung lượng', 'Lỗi', ''].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', null, items.map((q) => h('tr', { 'data-quarantine': q.id },
      h('td', { class: 'small' }, q.endpoint ?? q.channel),
      h('td', null, q.uid ?? '—'),
      h('td', null, h('time', { datetime: q.received_at }, formatTime(q.received_at))),
      h('td', null, q.sender ?? h('span', { class: 'muted' }, 'không đọc được')),
      h('td', null, sizeText(q.size)),
      h('td', null, h('code', null, q.error.code), h('div', { class: 'muted small', lang: 'en' }, q.error.message),
        q.attempts > 1 ? h('div', { class: 'small' }, `Đã thử ${q.attempts} lần`) : null),
      h('td', { class: 'actions' },
        q.raw ? h('a', { href: `/api/console/quarantine/${q.id}/raw`, download: `quarantine-${q.id}.eml` }, 'Tải bản gốc (.eml)') : h('span', { class: 'muted' }, 'Chưa tải về'),
        ' ',
        q.raw ? h('button', { type: 'button', 'data-action': 'quarantine-retry', onclick: (e) => void act(e.currentTarget as HTMLButtonElement, `/api/console/quarantine/${q.id}/retry`,
          (r) => (r.status === 'held' ? `Thư vẫn không đọc được: ${r.error.message}` : `Đã xử lý lại thư${r.outcome?.code ? `: ${r.outcome.code}` : ''}.`)) }, 'Thử lại') : null,
        ' ',
        h('button', { type: 'button', class: 'secondary', 'data-action': 'quarantine-dismiss', onclick: (e) => void act(e.currentTarget as HTMLButtonElement, `/api/console/quarantine/${q.id}/dismiss`,
          () => 'Đã bỏ qua thư.') }, 'Bỏ qua')))))));
}
