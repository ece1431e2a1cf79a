import { api, errorMessage, session, type SessionUser } from './lib/api.ts';
import { byId, debounce, h, replaceChildren } from './lib/dom.ts';
import { formatTime, label, PRIORITY_VI, STATUS_VI } from './lib/labels.ts';
import { channelLabel, setChannels } from './lib/channels.ts';
import type { ConsoleMeta } from '../src/wire/staff-api.ts';
import { notify } from './lib/notice.ts';
import { wardReopenNotice } from './lib/reopen-notice.ts';
import { connectRealtime, type TicketEvent } from './lib/realtime.ts';
import { markSlaHost, stageBadge, startSlaTicker } from './lib/sla-badge.ts';
import { drawLocation, photoGallery } from './lib/ticket-parts.ts';
import type { Attachment, QueueItem, TicketDetail } from '../src/wire/staff-api.ts';

// The ward force's phone view: the tasks dispatched to the officer's units, soonest deadline
// first, with big buttons for the three things done in the street. Cards are kept by ticket
// code across live refreshes, so an open resolve form (typed note, chosen photos) survives.

const MAX_PHOTOS = 5;

interface Card {
  code: string;
  item: QueueItem;
  li: HTMLLIElement;
  summary: HTMLElement;
  actions: HTMLElement;
  detail: HTMLDetailsElement;
  detailBody: HTMLElement;
  detailLoaded: boolean;
  form: HTMLFormElement;
}

let me: SessionUser;
let loaded = false;
let request = 0;
const cards = new Map<string, Card>();

async function post(code: string, action: 'acknowledge' | 'start', done: string, button: HTMLButtonElement): Promise<void> {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    await api('POST', `/api/ward/tickets/${encodeURIComponent(code)}/${action}`);
    notify(done, 'ok');
    refresh();
  } catch (err) {
    notify(errorMessage(err), 'error');
    refresh();
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

function bigButton(text: string, action: string, primary: boolean, onclick: (b: HTMLButtonElement) => void): HTMLButtonElement {
  const b = h('button', { type: 'button', class: primary ? 'big' : 'big secondary', 'data-action': action }, text);
  b.addEventListener('click', () => onclick(b));
  return b;
}

function renderActions(c: Card): void {
  const { code, status } = c.item;
  const buttons: HTMLElement[] = [];
  if (status === 'dispatched') buttons.push(bigButton('Đã nhận', 'acknowledge', true, (b) => void post(code, 'acknowledge', `Đã xác nhận nhận nhiệm vụ ${code}.`, b)));
  if (status === 'dispatched' || status === 'acknowledged') {
    buttons.push(bigButton('Bắt đầu xử lý', 'start', status === 'acknowledged', (b) => void post(code, 'start', `Đã bắt đầu xử lý ${code}.`, b)));
  }
  if (status === 'dispatched' || status === 'acknowledged' || status === 'in_progress') {
    buttons.push(bigButton('Hoàn thành', 'resolve', status === 'in_progress', () => {
      c.form.hidden = false;
      c.form.querySelector<HTMLTextAreaElement>('textarea')?.focus();
    }));
  }
  if (status === 'resolved') buttons.push(h('p', { class: 'done-note' }, 'Đã báo cáo hoàn thành. Tổng đài sẽ kiểm tra và đóng hồ sơ.'));
  replaceChildren(c.actions, buttons);
  if (status === 'resolved') c.form.hidden = true;
}

function renderSummary(c: Card): void {
  const i = c.item;
  const badge = i.status === 'resolved' ? null : stageBadge(i.sla_started_at, i.next_stage, { large: true });
  replaceChildren(c.summary,
    h('div', { class: 'task-top' },
      h('span', { class: 'code' }, i.code),
      h('span', { class: `status status-${i.status}` }, label(STATUS_VI, i.status)),
      i.priority === 'high' || i.priority === 'urgent' ? h('span', { class: `prio prio-${i.priority}` }, label(PRIORITY_VI, i.priority)) : null),
    badge,
    h('h3', { id: `task-${i.code}` }, i.title),
    h('p', { class: 'task-meta' },
      [i.area?.name, i.category?.name, `${i.reporter_count} người phản ánh`].filter(Boolean).join(' · '),
      i.hotspot_count > 0 ? h('span', { class: 'tag tag-hot' }, ` Điểm nóng (${i.hotspot_count})`) : null));
  if (badge) markSlaHost(c.li, badge);
  else c.li.setAttribute('data-sla', 'none');
}

function resolveForm(c: Card): HTMLFormElement {
  const id = (s: string) => `${c.code}-${s}`;
  const previews = h('div', { class: 'previews', 'aria-live': 'polite' });
  const error = h('p', { class: 'form-error', role: 'alert' });
  // The browser's own file button speaks the browser's language: a labelled button of ours instead.
  const fileField = (name: 'before' | 'after', text: string) => [
    h('input', { id: id(name), name, type: 'file', accept: 'image/*', multiple: true, class: 'file-input', 'aria-describedby': id(`${name}-count`) }),
    h('label', { for: id(name), class: 'file-button' }, text),
    h('p', { id: id(`${name}-count`), class: 'file-count' }, 'Chưa chọn ảnh.'),
  ];
  const form = h('form', { class: 'resolve-form', hidden: true, 'data-testid': 'resolve-form', 'aria-labelledby': id('resolve-title') },
    h('h4', { id: id('resolve-title') }, 'Báo cáo kết quả xử lý'),
    h('label', { for: id('note') }, 'Kết quả xử lý ', h('span', { class: 'hint' }, '(bắt buộc)')),
    h('textarea', { id: id('note'), name: 'note', required: true, rows: 4, maxlength: 4000, placeholder: 'Ví dụ: Đã thu gom rác, vệ sinh mặt đường.' }),
    fileField('before', 'Chụp hoặc chọn ảnh trước khi xử lý'),
    fileField('after', 'Chụp hoặc chọn ảnh sau khi xử lý'),
    h('p', { class: 'hint' }, `Tối đa ${MAX_PHOTOS} ảnh tổng cộng.`),
    previews, error,
    h('div', { class: 'form-buttons' },
      h('button', { type: 'submit', class: 'big', 'data-action': 'resolve-submit' }, 'Gửi kết quả'),
      h('button', { type: 'button', class: 'big secondary', onclick: () => { form.hidden = true; } }, 'Huỷ')));
  const files = () => [
    ...Array.from((form.elements.namedItem('before') as HTMLInputElement).files ?? []).map((f) => ({ f, when: 'truoc' })),
    ...Array.from((form.elements.namedItem('after') as HTMLInputElement).files ?? []).map((f) => ({ f, when: 'sau' })),
  ];
  form.addEventListener('change', () => {
    previews.querySelectorAll('img').forEach((img) => URL.revokeObjectURL(img.src));
    const chosen = files();
    for (const name of ['before', 'after']) {
      const n = (form.elements.namedItem(name) as HTMLInputElement).files?.length ?? 0;
      byId(id(`${name}-count`)).textContent = n ? `Đã chọn ${n} ảnh.` : 'Chưa chọn ảnh.';
    }
    replaceChildren(previews, chosen.map(({ f, when }, n) => h('figure', null,
      h('img', { src: URL.createObjectURL(f), alt: `Ảnh ${when === 'truoc' ? 'trước' : 'sau'} khi xử lý ${n + 1}`, width: 72, height: 72 }),
      h('figcaption', null, when === 'truoc' ? 'Trước' : 'Sau'))));
    error.textContent = chosen.length > MAX_PHOTOS ? `Chỉ gửi tối đa ${MAX_PHOTOS} ảnh, bạn đang chọn ${chosen.length} ảnh.` : '';
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const chosen = files();
    const note = String(new FormData(form).get('note') ?? '').trim();
    if (!note) {
      error.textContent = 'Vui lòng ghi kết quả xử lý.';
      form.querySelector('textarea')?.focus();
      return;
    }
    if (chosen.length > MAX_PHOTOS) {
      error.textContent = `Chỉ gửi tối đa ${MAX_PHOTOS} ảnh.`;
      return;
    }
    const body = new FormData();
    body.set('note', note);
    // The API takes one list of photos; the file name keeps which ones were taken before.
    for (const { f, when } of chosen) body.append('photos', f, `${when}-${f.name}`);
    const button = e.submitter as HTMLButtonElement | null;
    if (button) {
      button.disabled = true;
      button.textContent = 'Đang gửi…';
    }
    error.textContent = '';
    try {
      await api('POST', `/api/ward/tickets/${encodeURIComponent(c.code)}/resolve`, body);
      notify(`Đã báo cáo hoàn thành ${c.code}. Cảm ơn anh/chị!`, 'ok');
      form.reset();
      replaceChildren(previews);
      form.querySelectorAll('.file-count').forEach((p) => { p.textContent = 'Chưa chọn ảnh.'; });
      form.hidden = true;
      refresh();
    } catch (err) {
      error.textContent = errorMessage(err);
    } finally {
      if (button) {
        button.disabled = false;
        button.textContent = 'Gửi kết quả';
      }
    }
  });
  return form;
}

async function loadDetail(c: Card): Promise<void> {
  try {
    const d = await api<TicketDetail>('GET', `/api/console/tickets/${encodeURIComponent(c.code)}`);
    c.detailLoaded = true;
    const dispatched = [...d.events].reverse().find((e) => e.type === 'ticket.dispatched');
    const instructions = typeof dispatched?.data?.instructions === 'string' ? dispatched.data.instructions : null;
    const point = d.reports.find((r) => r.lat !== null && r.lng !== null) ?? (d.ticket.lat !== null ? d.ticket : null);
    const mapBox = h('div', { class: 'task-map' });
    const resolved = [...d.events].reverse().find((e) => e.type === 'ticket.resolved');
    const resolvedNote = typeof resolved?.data?.note === 'string' ? resolved.data.note : resolved?.reason ?? null;
    replaceChildren(c.detailBody,
      resolved ? h('div', { class: 'result' },
        h('p', null, h('strong', null, `Đã báo cáo hoàn thành lúc ${formatTime(resolved.created_at)}`)),
        resolvedNote ? h('p', null, resolvedNote) : null,
        photoGallery(Array.isArray(resolved.data?.attachments) ? resolved.data.attachments as Attachment[] : null, 'kết quả xử lý')) : null,
      h('dl', { class: 'facts-list' },
        h('dt', null, 'Chỉ đạo'), h('dd', null, instructions ?? 'Không có chỉ đạo riêng.'),
        d.ticket.address ? [h('dt', null, 'Địa chỉ'), h('dd', null, d.ticket.address)] : null,
        h('dt', null, 'Tiếp nhận'), h('dd', null, formatTime(d.ticket.received_at)),
        h('dt', null, 'Hạn xử lý'), h('dd', null, formatTime(d.ticket.due_at))),
      point && point.lat !== null && point.lng !== null
        ? h('p', null, h('a', { href: `geo:${point.lat},${point.lng}`, class: 'geo-link' }, 'Mở vị trí trong ứng dụng bản đồ của điện thoại'))
        : null,
      mapBox,
      h('h4', null, `Nội dung phản ánh (${d.reports.length})`),
      h('ul', { class: 'ward-reports' }, d.reports.map((r) => h('li', null,
        h('div', { class: 'muted' }, `${r.code} · ${channelLabel(r.channel)} · ${formatTime(r.received_at)}`),
        h('p', null, r.text),
        r.address ? h('p', { class: 'muted' }, r.address) : null,
        photoGallery(r.attachments, `phản ánh ${r.code}`)))));
    void drawLocation(mapBox, d);
  } catch (err) {
    replaceChildren(c.detailBody, h('p', { class: 'form-error', role: 'alert' }, `Không tải được chi tiết: ${errorMessage(err)}`));
  }
}

function newCard(item: QueueItem): Card {
  const summary = h('div', { class: 'task-summary' });
  const actions = h('div', { class: 'task-actions' });
  const detailBody = h('div', { class: 'task-detail-body' }, h('p', { class: 'muted' }, 'Đang tải…'));
  const detail = h('details', { class: 'task-detail' }, h('summary', null, 'Chi tiết, ảnh và vị trí'), detailBody);
  const li = h('li', { class: 'task', 'data-code': item.code, 'data-testid': 'task' });
  const c: Card = { code: item.code, item, li, summary, actions, detail, detailBody, detailLoaded: false, form: null as unknown as HTMLFormElement };
  c.form = resolveForm(c);
  detail.addEventListener('toggle', () => { if (detail.open && !c.detailLoaded) void loadDetail(c); });
  li.append(h('article', { 'aria-labelledby': `task-${item.code}` }, summary, actions, c.form, detail));
  return c;
}

/** Puts the cards of `list` into `ul` in order, moving only what moved (a focused field keeps focus). */
function place(ul: HTMLElement, list: Card[]): void {
  list.forEach((c, i) => {
    if (ul.children[i] !== c.li) ul.insertBefore(c.li, ul.children[i] ?? null);
  });
  while (ul.children.length > list.length) ul.lastElementChild?.remove();
}

async function loadTasks(): Promise<void> {
  const id = ++request;
  try {
    const res = await api<{ items: QueueItem[] }>('GET', '/api/ward/tasks');
    if (id !== request) return;
    const seen = new Set<string>();
    const arrived: QueueItem[] = [];
    for (const item of res.items) {
      seen.add(item.code);
      let c = cards.get(item.code);
      if (!c) {
        c = newCard(item);
        cards.set(item.code, c);
        if (loaded) arrived.push(item);
      }
      const changed = c.item.status !== item.status;
      c.item = item;
      c.li.dataset.status = item.status;
      renderSummary(c);
      renderActions(c);
      // A folded detail is stale once the status changes: load it again when it is next opened.
      if (changed) {
        if (c.detail.open) void loadDetail(c);
        else c.detailLoaded = false;
      }
    }
    for (const [code, c] of cards) {
      if (!seen.has(code)) {
        c.li.remove();
        cards.delete(code);
      }
    }
    const all = res.items.map((i) => cards.get(i.code)!);
    const todo = all.filter((c) => c.item.status !== 'resolved');
    const done = all.filter((c) => c.item.status === 'resolved');
    place(byId('tasks'), todo);
    place(byId('done'), done);
    byId('tasks-count').textContent = `(${todo.length})`;
    byId('done-count').textContent = `(${done.length})`;
    byId('tasks-empty').hidden = todo.length > 0;
    byId('done-section').hidden = done.length === 0;
    for (const item of arrived) {
      const c = cards.get(item.code)!;
      c.li.classList.add('is-new');
      setTimeout(() => c.li.classList.remove('is-new'), 8000);
    }
    if (arrived.length) {
      notify(arrived.length === 1 ? `Nhiệm vụ mới: ${arrived[0]!.code} – ${arrived[0]!.title}` : `${arrived.length} nhiệm vụ mới`, 'info');
      navigator.vibrate?.(200);
    }
    loaded = true;
  } catch (err) {
    if (id === request) notify(`Không tải được danh sách nhiệm vụ: ${errorMessage(err)}`, 'error');
  }
}

const refresh = debounce(() => void loadTasks(), 250);

function onEvent(e: TicketEvent): void {
  wardReopenNotice(e);
  refresh();
  const c = cards.get(e.ticket);
  if (c?.detail.open) void loadDetail(c);
}

async function main(): Promise<void> {
  const [s, m] = await Promise.all([session(), api<ConsoleMeta>('GET', '/api/console/meta')]);
  me = s.user;
  setChannels(m.channels);
  const app = byId('app');
  replaceChildren(app,
    h('section', { class: 'ward', 'aria-labelledby': 'tasks-title' },
      h('h2', { id: 'tasks-title' }, 'Nhiệm vụ cần xử lý ', h('span', { id: 'tasks-count' })),
      h('p', { class: 'hint' }, me.role === 'ward_officer'
        ? 'Hạn gần nhất ở trên cùng. Danh sách tự cập nhật khi có nhiệm vụ mới.'
        : 'Bạn đang xem với quyền giám sát: nhiệm vụ của mọi phường, xã.'),
      h('ul', { id: 'tasks', class: 'tasks', 'data-testid': 'tasks' }),
      h('p', { id: 'tasks-empty', class: 'empty-card', hidden: true }, 'Hiện không có nhiệm vụ nào cần xử lý.')),
    h('section', { id: 'done-section', class: 'ward', hidden: true, 'aria-labelledby': 'done-title' },
      h('h2', { id: 'done-title' }, 'Đã hoàn thành trong 24 giờ qua ', h('span', { id: 'done-count' })),
      h('ul', { id: 'done', class: 'tasks tasks-done' })));
  connectRealtime({ onEvent, onReconnect: () => void loadTasks() });
  startSlaTicker();
  await loadTasks();
}

main().catch((err) => {
  replaceChildren(byId('app'), h('div', { class: 'error', role: 'alert' }, `Không tải được danh sách nhiệm vụ: ${errorMessage(err)}`,
    ' ', h('button', { type: 'button', onclick: () => location.reload() }, 'Tải lại trang')));
});
