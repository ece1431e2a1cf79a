import { api, errorMessage, session } from '../lib/api.ts';
import { byId, h, replaceChildren } from '../lib/dom.ts';
import { bindShortcuts } from '../lib/keys.ts';
import { breachNotice } from '../lib/sla-notice.ts';
import { reopenNotice } from '../lib/reopen-notice.ts';
import { can } from '../../src/core/staff/policy.ts';
import { connectRealtime, type TicketEvent } from '../lib/realtime.ts';
import { startSlaTicker } from '../lib/sla-badge.ts';
import { setChannels } from '../lib/channels.ts';
import type { ConsoleMeta } from '../../src/wire/staff-api.ts';
import { callPops, dismissCurrent, focusPop, onSignal } from './call-pop.ts';
import { claim, release } from './panel.ts';
import { closePhoneReport, openPhoneReport, phoneReportFocused, phoneReportPanel } from './phone-report.ts';
import { quarantineTools } from './quarantine.ts';
import { chooseView, cursorItem, fadeFresh, filterBar, loadQueue, moveCursor, readFilters, refreshQueue, VIEWS } from './queue.ts';
import { CHANGED, ctx } from './state.ts';
import { closeTicket, emptyPane, focusField, loadTicket, openTicket, refreshOpen, showPresence } from './ticket.ts';

// The agents' console (/console): the live queue (queue.ts) beside the open ticket (ticket.ts,
// panel.ts, forms.ts). Plain DOM; the page frame, the socket, the shortcuts and the start here.

function helpDialog(): HTMLDialogElement {
  const rows: [string, string][] = [
    ['j / k', 'Xuống / lên trong hàng đợi'], ['Enter', 'Mở hồ sơ đang chọn'], ['c', 'Nhận xử lý hồ sơ đang mở'],
    ['u', 'Trả hồ sơ đang mở'], ['d', 'Đến ô chuyển phường xử lý'], ['r', 'Đến ô trả lời người dân'], ['n', 'Đến ô ghi chú nội bộ'],
    ['p', 'Ghi nhận phản ánh qua điện thoại'], ['Ctrl+Enter', 'Gửi biểu mẫu phản ánh qua điện thoại'], ['g', 'Đến cửa sổ cuộc gọi đến'],
    ['0 – 5', 'Danh sách nhanh: tất cả, của tôi, chưa ai nhận, cần phân loại, quá hạn, theo phường'],
    ['/', 'Đến ô tìm kiếm (mã, nội dung, địa chỉ, số điện thoại)'], ['Esc', 'Rời ô nhập liệu / đóng cửa sổ cuộc gọi, biểu mẫu, hộp thoại'], ['?', 'Mở bảng phím tắt này'],
  ];
  const dialog = h('dialog', { id: 'help', 'aria-labelledby': 'help-title' },
    h('h2', { id: 'help-title' }, 'Phím tắt'),
    h('p', { class: 'hint' }, 'Phím tắt không hoạt động khi đang gõ trong ô nhập liệu; nhấn Esc để rời ô.'),
    h('table', { class: 'keys' }, h('tbody', null, rows.map(([k, what]) => h('tr', null, h('th', { scope: 'row' }, h('kbd', null, k)), h('td', null, what))))),
    h('form', { method: 'dialog' }, h('button', { type: 'submit' }, 'Đóng')));
  return dialog;
}

function layoutPage(): void {
  const app = byId('app');
  const f = readFilters();
  replaceChildren(app,
    h('div', { class: 'console' },
      h('section', { class: 'queue-pane', 'aria-labelledby': 'queue-title' },
        phoneReportPanel(),
        filterBar(f),
        h('h2', { id: 'queue-title', class: 'queue-title' }, 'Hàng đợi ', h('span', { id: 'queue-count' }), h('span', { class: 'hint' }, ' · theo hạn xử lý, tự cập nhật')),
        h('div', { class: 'table-wrap' },
          h('table', { id: 'queue', class: 'queue', 'data-testid': 'queue' },
            h('caption', { class: 'sr-only' }, 'Hàng đợi hồ sơ, hạn xử lý gần nhất ở trên'),
            h('thead', null, h('tr', null,
              h('th', { scope: 'col' }, 'Hạn gần nhất'), h('th', { scope: 'col' }, 'Hồ sơ · kênh · địa bàn · lĩnh vực'),
              h('th', { scope: 'col' }, 'Trạng thái · người xử lý'))),
            h('tbody', { id: 'queue-body' }, h('tr', null, h('td', { colspan: 3, class: 'empty' }, 'Đang tải hàng đợi…')))))),
      h('section', { id: 'ticket-pane', class: 'ticket-pane', 'aria-label': 'Hồ sơ đang mở', tabindex: -1 }, emptyPane())),
    callPops(),
    helpDialog());
  byId('queue-body').addEventListener('click', (e) => {
    const row = (e.target as HTMLElement).closest<HTMLElement>('tr[data-code]');
    if (!row || (e.target as HTMLElement).closest('a')) return; // links navigate by themselves
    location.hash = row.dataset.code!;
  });
  // The skip link must not replace the ticket code in the address.
  document.querySelector('.skip-link')?.addEventListener('click', (e) => {
    e.preventDefault();
    byId('app').focus();
  });
  const tools = document.querySelector('.topbar-tools');
  tools?.prepend(
    h('button', { type: 'button', class: 'topbar-button', 'data-action': 'phone-report-open', 'aria-keyshortcuts': 'p', onclick: () => openPhoneReport() },
      '+ Phản ánh qua điện thoại'),
    h('button', { type: 'button', class: 'topbar-button', 'aria-keyshortcuts': '?', onclick: () => byId<HTMLDialogElement>('help').showModal() }, 'Phím tắt (?)'));
  // Admins: the messages the channels could not read.
  const held = quarantineTools();
  if (held) {
    tools?.prepend(held.button);
    app.append(held.dialog);
  }
}

function openFromHash(): void {
  const code = decodeURIComponent(location.hash.slice(1)).trim().toUpperCase();
  if (/^TK-[0-9A-Z]{4,}$/.test(code)) openTicket(code);
  else if (!code && ctx.open) closeTicket();
}

function onEvent(e: TicketEvent): void {
  // A stage past its deadline: supervisors (those who watch SLA on the dashboard) hear of it at once.
  if (can(ctx.me, 'dashboard.use')) breachNotice(e);
  // A resident says it is not fixed: back to the agents to dispatch again.
  reopenNotice(e);
  refreshQueue();
  if (ctx.open && e.ticket === ctx.open.code) refreshOpen();
}

/** After an action (actions.ts): the queue and the open ticket again. */
function onChanged(): void {
  refreshQueue();
  if (ctx.open) void loadTicket(ctx.open);
}

async function main(): Promise<void> {
  const [s, m] = await Promise.all([session(), api<ConsoleMeta>('GET', '/api/console/meta')]);
  ctx.me = s.user;
  ctx.meta = m;
  setChannels(m.channels);
  layoutPage();
  document.addEventListener(CHANGED, onChanged);
  ctx.realtime = connectRealtime({
    onEvent,
    onPresence: showPresence,
    onSignal: (s) => {
      // A ticket's messages to citizens changed (sent, delivered): the open one reloads them.
      if (s.type === 'outbound.updated') {
        if (ctx.open && s.data.ticket === ctx.open.code) refreshOpen();
        return;
      }
      onSignal(s);
    },
    onReconnect: () => {
      void loadQueue();
      if (ctx.open) void loadTicket(ctx.open);
    },
  });
  startSlaTicker();
  await loadQueue();
  openFromHash();
  window.addEventListener('hashchange', openFromHash);
  setInterval(fadeFresh, 1000);
  bindShortcuts({
    j: () => moveCursor(1),
    k: () => moveCursor(-1),
    Enter: (e) => {
      const target = e.target as HTMLElement;
      if (target !== document.body && !target.closest('#queue-body') && target.id !== 'ticket-pane') return;
      const code = target.closest<HTMLElement>('tr[data-code]')?.dataset.code ?? cursorItem()?.code;
      if (!code) return;
      e.preventDefault();
      location.hash = code;
      if (ctx.open?.code === code) ctx.open.root.querySelector<HTMLElement>('#t-title')?.focus();
    },
    c: () => void claim(),
    u: () => void release(),
    d: (e) => { e.preventDefault(); focusField('dispatch-instructions'); },
    r: (e) => { e.preventDefault(); focusField('reply-text'); },
    n: (e) => { e.preventDefault(); focusField('note-text'); },
    p: (e) => { e.preventDefault(); openPhoneReport(); },
    g: (e) => { if (focusPop()) e.preventDefault(); },
    Escape: (e) => {
      if (phoneReportFocused()) closePhoneReport();
      else if (!dismissCurrent()) return;
      e.preventDefault();
    },
    '/': (e) => {
      e.preventDefault();
      const q = byId<HTMLInputElement>('f-q');
      q.focus();
      q.select();
    },
    '?': (e) => { e.preventDefault(); byId<HTMLDialogElement>('help').showModal(); },
    ...Object.fromEntries(VIEWS.map((v) => [v.key, (e: KeyboardEvent) => { e.preventDefault(); chooseView(v.value); }])),
  });
}

main().catch((err) => {
  replaceChildren(byId('app'), h('div', { class: 'error', role: 'alert' }, `Không tải được bàn làm việc: ${errorMessage(err)}`,
    ' ', h('button', { type: 'button', onclick: () => location.reload() }, 'Tải lại trang')));
});
