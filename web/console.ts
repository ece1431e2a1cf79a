import { api, ApiError, errorMessage, session, type SessionUser } from './lib/api.ts';
import { byId, debounce, h, replaceChildren, type Child } from './lib/dom.ts';
import { bindShortcuts } from './lib/keys.ts';
import {
  IDENTITY_VI, label, PRIORITY_VI, REASON_VI, RELATION_VI, SOURCE_VI, STATUS_VI, STEP_VI, formatTime,
} from './lib/labels.ts';
import { notify } from './lib/notice.ts';
import { connectRealtime, type Presence, type Realtime, type TicketEvent } from './lib/realtime.ts';
import { markSlaHost, slaBadge, startSlaTicker } from './lib/sla-badge.ts';
import { drawLocation, photoGallery, timeline } from './lib/ticket-parts.ts';
import type { ConsoleMeta, QueueItem, ReportView, TicketDetail } from '../src/wire/staff-api.ts';
import { allChannels, channelBadge, channelLabel, setChannels } from './lib/channels.ts';
import { isOpen, OPEN_STATUSES } from '../src/core/tickets/statuses.ts';
import { can } from '../src/core/staff/policy.ts';

// The agents' console: the live queue (soonest deadline first) beside the open ticket. Plain
// DOM: the queue is re-rendered whole on every change (a few hundred rows at most), the open
// ticket's sections are re-rendered in place while its forms keep what the agent is typing.


interface Filters {
  status: string[];
  channel: string;
  category: string;
  area: string;
  q: string;
}

interface OpenTicket {
  code: string;
  detail: TicketDetail | null;
  root: HTMLElement;
  head: HTMLElement;
  presence: HTMLElement;
  classify: HTMLFormElement;
  dispatch: HTMLFormElement;
  reports: HTMLElement;
  location: HTMLElement;
  citizens: HTMLElement;
  reply: HTMLFormElement;
  note: HTMLFormElement;
  merge: HTMLFormElement;
  events: HTMLElement;
  /** Form fields the agent changed since the last load: not overwritten by live refreshes. */
  dirty: Set<string>;
  loading: number;
}

let me: SessionUser;
let meta: ConsoleMeta;
let realtime: Realtime;
let items: QueueItem[] = [];
let cursor = -1;
/** The row j/k points at, by code: it stays put when the list around it changes. */
let cursorCode: string | null = null;
let open: OpenTicket | null = null;
let queueRequest = 0;
let queueLoaded = false;
const known = new Set<string>();
const reportCounts = new Map<string, number>();
const fresh = new Map<string, number>();

const areaName = (code: string | null) => (code ? meta.areas.find((a) => a.code === code)?.name ?? code : '—');
const categoryName = (code: string | null) => (code ? meta.categories.find((c) => c.code === code)?.name ?? code : '—');
const names = { area: areaName, category: categoryName };

// ---------------------------------------------------------------- filters

function readFilters(): Filters {
  const p = new URLSearchParams(location.search);
  const status = p.get('status');
  return {
    status: status === null ? [...OPEN_STATUSES] : status.split(',').filter(Boolean),
    channel: p.get('channel') ?? '', category: p.get('category') ?? '', area: p.get('area') ?? '', q: p.get('q') ?? '',
  };
}

function currentFilters(): Filters {
  const form = byId<HTMLFormElement>('filters');
  const data = new FormData(form);
  return {
    status: data.getAll('status').map(String),
    channel: String(data.get('channel') ?? ''), category: String(data.get('category') ?? ''),
    area: String(data.get('area') ?? ''), q: String(data.get('q') ?? '').trim(),
  };
}

function queryOf(f: Filters): URLSearchParams {
  const p = new URLSearchParams();
  if (f.status.length) p.set('status', f.status.join(','));
  if (f.channel) p.set('channel', f.channel);
  if (f.category) p.set('category', f.category);
  if (f.area) p.set('area', f.area);
  if (f.q) p.set('q', f.q);
  return p;
}

function filterBar(f: Filters): HTMLFormElement {
  const select = (name: string, text: string, all: string, options: { value: string; text: string }[], value: string) =>
    h('div', { class: 'field' },
      h('label', { for: `f-${name}` }, text),
      h('select', { id: `f-${name}`, name },
        h('option', { value: '' }, all),
        options.map((o) => h('option', { value: o.value, selected: o.value === value }, o.text))));
  const form = h('form', { id: 'filters', class: 'filters', role: 'search', 'aria-label': 'Lọc hàng đợi' },
    h('fieldset', { class: 'chips' },
      h('legend', null, 'Trạng thái'),
      meta.statuses.map((s) => h('label', { class: 'chip' },
        h('input', { type: 'checkbox', name: 'status', value: s, checked: f.status.includes(s) }), ' ', label(STATUS_VI, s)))),
    h('div', { class: 'filter-row' },
      h('div', { class: 'field field-search' },
        h('label', { for: 'f-q' }, 'Tìm kiếm ', h('kbd', null, '/')),
        h('input', { id: 'f-q', name: 'q', type: 'search', value: f.q, placeholder: 'Mã TK-/PA-, nội dung, địa chỉ', autocomplete: 'off' })),
      select('channel', 'Kênh', 'Tất cả kênh', allChannels().map((c) => ({ value: c.name, text: c.label.vi })), f.channel),
      select('category', 'Lĩnh vực', 'Tất cả lĩnh vực', meta.categories.map((c) => ({ value: c.code, text: c.name })), f.category),
      select('area', 'Địa bàn', 'Tất cả phường, xã', meta.areas.map((a) => ({ value: a.code, text: a.name })), f.area),
      h('button', { type: 'button', class: 'secondary', id: 'f-reset' }, 'Xoá bộ lọc')));
  const changed = () => {
    const f = currentFilters();
    // The default (open statuses) stays out of the address.
    const isDefault = f.status.length === OPEN_STATUSES.length && OPEN_STATUSES.every((s) => f.status.includes(s));
    const p = queryOf(isDefault ? { ...f, status: [] } : f);
    history.replaceState(null, '', `${location.pathname}${p.toString() ? `?${p}` : ''}${location.hash}`);
    void loadQueue();
  };
  const typed = debounce(changed, 300);
  form.addEventListener('change', (e) => { if ((e.target as HTMLElement).id !== 'f-q') changed(); });
  form.addEventListener('input', (e) => { if ((e.target as HTMLElement).id === 'f-q') typed(); });
  form.addEventListener('submit', (e) => { e.preventDefault(); changed(); });
  form.querySelector('#f-reset')?.addEventListener('click', () => {
    form.querySelectorAll<HTMLInputElement>('input[name=status]').forEach((i) => { i.checked = (OPEN_STATUSES as readonly string[]).includes(i.value); });
    form.querySelectorAll<HTMLSelectElement>('select').forEach((s) => { s.value = ''; });
    (form.querySelector('#f-q') as HTMLInputElement).value = '';
    changed();
  });
  return form;
}

// ---------------------------------------------------------------- queue

const refreshQueue = debounce(() => void loadQueue(), 120);

async function loadQueue(): Promise<void> {
  const id = ++queueRequest;
  const p = queryOf(currentFilters());
  byId('queue').setAttribute('aria-busy', 'true');
  try {
    const res = await api<{ items: QueueItem[] }>('GET', `/api/console/queue?${p}`);
    if (id !== queueRequest) return; // a newer request is on its way
    const arrived = queueLoaded ? res.items.filter((i) => !known.has(i.code)) : [];
    // A report grouped into a ticket already listed is news too: its row lights up.
    const grown = queueLoaded ? res.items.filter((i) => known.has(i.code) && i.report_count > (reportCounts.get(i.code) ?? i.report_count)) : [];
    for (const i of res.items) {
      known.add(i.code);
      reportCounts.set(i.code, i.report_count);
    }
    const until = Date.now() + 8000;
    for (const i of [...arrived, ...grown]) fresh.set(i.code, until);
    if (grown.length && !arrived.length) {
      notify(grown.length === 1 ? `Phản ánh mới được gộp vào ${grown[0]!.code} (${grown[0]!.report_count} phản ánh).` : `${grown.length} hồ sơ có phản ánh mới.`, 'info');
    }
    if (arrived.length) {
      const one = arrived.length === 1 ? arrived[0]! : null;
      notify(one ? `Hồ sơ mới trong hàng đợi: ${one.code} – ${one.title}.` : `${arrived.length} hồ sơ mới trong hàng đợi.`, 'info',
        one ? { href: `#${one.code}`, text: 'Mở hồ sơ' } : undefined);
    }
    queueLoaded = true;
    items = res.items;
    renderQueue();
  } catch (err) {
    if (id === queueRequest) notify(`Không tải được hàng đợi: ${errorMessage(err)}`, 'error');
  } finally {
    if (id === queueRequest) byId('queue').removeAttribute('aria-busy');
  }
}

function queueRow(item: QueueItem, index: number): HTMLTableRowElement {
  const settled = !isOpen(item.status);
  const badge = slaBadge(item.received_at, item.due_at, { stopped: settled ? label(STATUS_VI, item.status) : undefined });
  const isCurrent = open?.code === item.code;
  const newUntil = fresh.get(item.code);
  const classes = ['row', isCurrent ? 'is-open' : '', index === cursor ? 'is-cursor' : '', newUntil && newUntil > Date.now() ? 'is-new' : '']
    .filter(Boolean).join(' ');
  const facts: Child[] = [
    item.channels.map((c) => channelBadge(c)),
    h('span', null, `${item.report_count} phản ánh · ${item.reporter_count} người`),
    item.needs_triage ? h('span', { class: 'tag tag-warn' }, 'Cần phân loại') : null,
    item.hotspot_count > 0 ? h('span', { class: 'tag tag-hot' }, `Điểm nóng (${item.hotspot_count})`) : null,
  ];
  const row = h('tr', { class: classes, 'data-code': item.code, 'data-testid': 'queue-row', 'data-status': item.status },
    h('td', { class: 'col-sla' }, badge),
    h('td', { class: 'col-main' },
      h('a', { href: `#${item.code}`, class: 'code', 'aria-current': isCurrent ? 'true' : null }, item.code),
      item.priority === 'high' || item.priority === 'urgent' ? h('span', { class: `prio prio-${item.priority}` }, label(PRIORITY_VI, item.priority)) : null,
      h('div', { class: 'title' }, item.title),
      h('div', { class: 'facts' }, facts)),
    h('td', { class: 'col-status' }, h('span', { class: `status status-${item.status}` }, label(STATUS_VI, item.status))),
    h('td', { class: 'col-area' }, item.area?.name ?? h('span', { class: 'muted' }, 'Chưa rõ địa bàn'),
      h('div', { class: 'muted' }, item.category?.name ?? 'Chưa phân loại')),
    h('td', { class: 'col-claim' }, item.claimed_by ?? h('span', { class: 'muted' }, '—')));
  markSlaHost(row, badge);
  return row;
}

function renderQueue(): void {
  const body = byId('queue-body');
  const focusedCode = (document.activeElement?.closest('tr[data-code]') as HTMLElement | null)?.dataset.code;
  cursor = cursorCode ? items.findIndex((i) => i.code === cursorCode) : -1;
  replaceChildren(body, items.length
    ? items.map((item, i) => queueRow(item, i))
    : h('tr', null, h('td', { colspan: 5, class: 'empty' }, 'Không có hồ sơ nào khớp bộ lọc.')));
  byId('queue-count').textContent = `(${items.length})`;
  if (focusedCode) body.querySelector<HTMLElement>(`tr[data-code="${CSS.escape(focusedCode)}"] a.code`)?.focus({ preventScroll: true });
}

function moveCursor(step: number): void {
  if (!items.length) return;
  cursor = Math.max(0, Math.min(items.length - 1, (cursor < 0 ? (step > 0 ? -1 : items.length) : cursor) + step));
  cursorCode = items[cursor]!.code;
  const body = byId('queue-body');
  body.querySelectorAll('tr.is-cursor').forEach((r) => r.classList.remove('is-cursor'));
  const row = body.querySelector<HTMLElement>(`tr[data-code="${CSS.escape(items[cursor]!.code)}"]`);
  row?.classList.add('is-cursor');
  row?.querySelector<HTMLElement>('a.code')?.focus({ preventScroll: true });
  row?.scrollIntoView({ block: 'nearest' });
}

// ---------------------------------------------------------------- the open ticket

/** Runs an action with its button busy; notifies the result; refreshes queue and ticket. */
async function act(button: HTMLButtonElement | null, work: () => Promise<unknown>, done: string): Promise<boolean> {
  if (button?.disabled) return false;
  if (button) {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
  }
  try {
    await work();
    notify(done, 'ok');
    refreshQueue();
    if (open) void loadTicket(open);
    return true;
  } catch (err) {
    notify(errorMessage(err), 'error');
    if (err instanceof ApiError && err.status === 409 && open) void loadTicket(open);
    return false;
  } finally {
    if (button) {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }
}

const ticketPath = (code: string, rest = '') => `/api/console/tickets/${encodeURIComponent(code)}${rest}`;

function textArea(id: string, name: string, text: string, opts: { rows?: number; max?: number; required?: boolean; hint?: string } = {}): Child[] {
  return [
    h('label', { for: id }, text, opts.hint ? h('span', { class: 'hint' }, ` ${opts.hint}`) : null),
    h('textarea', { id, name, rows: opts.rows ?? 3, maxlength: opts.max ?? 2000, required: opts.required ?? false }),
  ];
}

function buildPanel(code: string): OpenTicket {
  const dirty = new Set<string>();
  const watchDirty = (form: HTMLFormElement) => form.addEventListener('input', (e) => {
    const name = (e.target as HTMLInputElement).name;
    if (name) dirty.add(`${form.id}.${name}`);
  });

  const classify = h('form', { id: 'classify-form', class: 'grid-3', 'aria-labelledby': 'classify-title' },
    h('h3', { id: 'classify-title', class: 'span-all' }, 'Phân loại'),
    h('div', { class: 'field' }, h('label', { for: 'c-category' }, 'Lĩnh vực'),
      h('select', { id: 'c-category', name: 'category' }, h('option', { value: '' }, '— Chưa phân loại —'),
        meta.categories.map((c) => h('option', { value: c.code }, c.name)))),
    h('div', { class: 'field' }, h('label', { for: 'c-area' }, 'Địa bàn'),
      h('select', { id: 'c-area', name: 'area' }, h('option', { value: '' }, '— Chưa xác định —'),
        meta.areas.map((a) => h('option', { value: a.code }, a.name)))),
    h('div', { class: 'field' }, h('label', { for: 'c-priority' }, 'Mức ưu tiên'),
      h('select', { id: 'c-priority', name: 'priority' }, meta.priorities.map((p) => h('option', { value: p }, label(PRIORITY_VI, p))))),
    h('div', { class: 'span-all' }, h('button', { type: 'submit', 'data-action': 'update' }, 'Lưu phân loại')));
  watchDirty(classify);
  classify.addEventListener('change', (e) => dirty.add(`classify-form.${(e.target as HTMLSelectElement).name}`));
  classify.addEventListener('submit', (e) => {
    e.preventDefault();
    const t = open?.detail?.ticket;
    if (!t) return;
    const data = new FormData(classify);
    const changes: Record<string, string> = {};
    const category = String(data.get('category') ?? '');
    const area = String(data.get('area') ?? '');
    const priority = String(data.get('priority') ?? '');
    if (category && category !== (t.category?.code ?? '')) changes.category = category;
    if (area && area !== (t.area?.code ?? '')) changes.area = area;
    if (priority && priority !== t.priority) changes.priority = priority;
    if (!Object.keys(changes).length) {
      notify('Không có thay đổi để lưu.', 'info');
      return;
    }
    void act(e.submitter as HTMLButtonElement, () => api('PATCH', ticketPath(code), changes), 'Đã lưu phân loại.')
      .then((ok) => { if (ok) for (const k of [...dirty]) if (k.startsWith('classify-form.')) dirty.delete(k); });
  });

  const dispatch = h('form', { id: 'dispatch-form', 'aria-labelledby': 'dispatch-title' },
    h('h3', { id: 'dispatch-title' }, 'Chuyển phường xử lý ', h('kbd', null, 'd')),
    h('div', { class: 'field' }, h('label', { for: 'dispatch-area' }, 'Phường, xã nhận nhiệm vụ'),
      h('select', { id: 'dispatch-area', name: 'area', required: true }, h('option', { value: '' }, '— Chọn phường, xã —'),
        meta.areas.map((a) => h('option', { value: a.code }, a.name)))),
    textArea('dispatch-instructions', 'instructions', 'Chỉ đạo xử lý', { hint: '(không bắt buộc)' }),
    h('button', { type: 'submit', 'data-action': 'dispatch' }, 'Chuyển xử lý'));
  watchDirty(dispatch);
  dispatch.addEventListener('change', () => dirty.add('dispatch-form.area'));
  dispatch.addEventListener('submit', (e) => {
    e.preventDefault();
    const data = new FormData(dispatch);
    const instructions = String(data.get('instructions') ?? '').trim();
    void act(e.submitter as HTMLButtonElement, () => api('POST', ticketPath(code, '/dispatch'), {
      area: String(data.get('area') ?? '') || undefined, instructions: instructions || undefined,
    }), 'Đã chuyển hồ sơ cho phường xử lý.').then((ok) => {
      if (ok) {
        dispatch.reset();
        dirty.delete('dispatch-form.area');
        dirty.delete('dispatch-form.instructions');
      }
    });
  });

  const reply = h('form', { id: 'reply-form', 'aria-labelledby': 'reply-title' },
    h('h3', { id: 'reply-title' }, 'Trả lời người dân ', h('kbd', null, 'r')),
    h('div', { class: 'field' }, h('label', { for: 'reply-to' }, 'Gửi tới'), h('select', { id: 'reply-to', name: 'report' })),
    textArea('reply-text', 'text', 'Nội dung trả lời', { required: true, hint: '(gửi qua kênh người dân đã dùng)' }),
    h('button', { type: 'submit', 'data-action': 'reply' }, 'Gửi trả lời'));
  reply.addEventListener('submit', (e) => {
    e.preventDefault();
    const data = new FormData(reply);
    const report = String(data.get('report') ?? '');
    void act(e.submitter as HTMLButtonElement, () => api('POST', ticketPath(code, '/reply'), {
      text: String(data.get('text') ?? ''), report: report ? Number(report) : undefined,
    }), 'Đã gửi trả lời cho người dân.').then((ok) => { if (ok) (reply.querySelector('#reply-text') as HTMLTextAreaElement).value = ''; });
  });

  const note = h('form', { id: 'note-form', 'aria-labelledby': 'note-title' },
    h('h3', { id: 'note-title' }, 'Ghi chú nội bộ ', h('kbd', null, 'n')),
    textArea('note-text', 'text', 'Nội dung ghi chú', { required: true, max: 4000, hint: '(người dân không thấy)' }),
    h('button', { type: 'submit', 'data-action': 'note' }, 'Lưu ghi chú'));
  note.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = String(new FormData(note).get('text') ?? '');
    void act(e.submitter as HTMLButtonElement, () => api('POST', ticketPath(code, '/notes'), { text }), 'Đã lưu ghi chú.')
      .then((ok) => { if (ok) note.reset(); });
  });

  const merge = h('form', { id: 'merge-form', 'aria-labelledby': 'merge-title' },
    h('h3', { id: 'merge-title' }, 'Gộp hồ sơ'),
    h('p', { class: 'hint' }, 'Chuyển toàn bộ phản ánh của hồ sơ này sang một hồ sơ khác cùng sự việc. Có thể tách lại từng phản ánh sau.'),
    h('div', { class: 'grid-2' },
      h('div', { class: 'field' }, h('label', { for: 'merge-into' }, 'Mã hồ sơ đích'),
        h('input', { id: 'merge-into', name: 'into', required: true, placeholder: 'TK-…', autocomplete: 'off', spellcheck: 'false' })),
      h('div', { class: 'field' }, h('label', { for: 'merge-reason' }, 'Lý do'),
        h('input', { id: 'merge-reason', name: 'reason', required: true, maxlength: 500, value: 'Cùng một sự việc' }))),
    h('button', { type: 'submit', class: 'secondary', 'data-action': 'merge' }, 'Gộp vào hồ sơ đích'));
  merge.addEventListener('submit', (e) => {
    e.preventDefault();
    const data = new FormData(merge);
    const into = String(data.get('into') ?? '').trim().toUpperCase();
    void act(e.submitter as HTMLButtonElement, () => api('POST', ticketPath(code, '/merge'), { into, reason: String(data.get('reason') ?? '') }),
      `Đã gộp ${code} vào ${into}.`).then((ok) => { if (ok) location.hash = into; });
  });

  const section = (id: string, title: string, ...content: Child[]) =>
    h('section', { class: 'block', 'aria-labelledby': `${id}-title` }, h('h3', { id: `${id}-title` }, title), ...content);
  const head = h('div', { class: 't-head' });
  const presence = h('p', { id: 'presence', class: 'presence', 'data-testid': 'presence', 'aria-live': 'polite' }, 'Đang mở bởi: chỉ bạn');
  const reports = h('div', { id: 't-reports' });
  const locationEl = h('div', { id: 't-location' });
  const citizens = h('div', { id: 't-citizens' });
  const events = h('div', { id: 't-events' });
  const root = h('article', { class: 'ticket', 'data-code': code, 'aria-labelledby': 't-title', 'data-testid': 'ticket' },
    head, presence,
    h('div', { class: 'block' }, classify),
    h('div', { class: 'block' }, dispatch),
    section('reports', 'Phản ánh trong hồ sơ', reports),
    section('location', 'Vị trí', locationEl),
    section('citizens', 'Người phản ánh', citizens),
    h('div', { class: 'block' }, reply),
    h('div', { class: 'block' }, note),
    h('div', { class: 'block' }, merge),
    section('events', 'Nhật ký xử lý', events));
  return {
    code, detail: null, root, head, presence, classify, dispatch, reports, location: locationEl, citizens, reply, note, merge, events, dirty, loading: 0,
  };
}

function renderHead(o: OpenTicket, d: TicketDetail): void {
  const t = d.ticket;
  const settled = !isOpen(t.status);
  const mine = t.claimed_by === me.username;
  const mayRelease = t.claimed_by && (mine || can(me, 'ticket.release_any', t));
  const claimButton = h('button', { type: 'button', 'data-action': 'claim', disabled: !!t.claimed_by && !mine, 'aria-keyshortcuts': 'c' },
    mine ? 'Bạn đang xử lý' : 'Nhận xử lý');
  if (mine) claimButton.disabled = true;
  claimButton.addEventListener('click', () => void claim());
  const releaseButton = mayRelease
    ? h('button', { type: 'button', class: 'secondary', 'data-action': 'release', 'aria-keyshortcuts': 'u', onclick: () => void release() },
      mine ? 'Trả hồ sơ' : 'Thu hồi hồ sơ')
    : null;
  const closeButton = can(me, 'ticket.close', t)
    ? h('button', { type: 'button', 'data-action': 'close', onclick: (e: Event) => void act(e.currentTarget as HTMLButtonElement,
      () => api('POST', ticketPath(o.code, '/status'), { status: 'closed' }), `Đã đóng hồ sơ ${o.code}.`) }, 'Đóng hồ sơ')
    : null;
  const rejectForm = h('form', { class: 'inline-form', id: 'reject-form', hidden: true },
    h('label', { for: 'reject-note' }, 'Lý do từ chối'),
    h('input', { id: 'reject-note', name: 'note', required: true, maxlength: 500, placeholder: 'Ví dụ: không thuộc thẩm quyền thành phố' }),
    h('button', { type: 'submit', class: 'danger', 'data-action': 'reject-confirm' }, 'Xác nhận từ chối'),
    h('button', { type: 'button', class: 'secondary', onclick: () => { rejectForm.hidden = true; } }, 'Huỷ'));
  rejectForm.addEventListener('submit', (e) => {
    e.preventDefault();
    const note = String(new FormData(rejectForm).get('note') ?? '');
    void act(e.submitter as HTMLButtonElement, () => api('POST', ticketPath(o.code, '/status'), { status: 'rejected', note }), `Đã từ chối hồ sơ ${o.code}.`);
  });
  const rejectButton = can(me, 'ticket.reject', t)
    ? h('button', { type: 'button', class: 'secondary danger-text', 'data-action': 'reject', onclick: () => {
      rejectForm.hidden = false;
      (rejectForm.querySelector('#reject-note') as HTMLInputElement).focus();
    } }, 'Từ chối…')
    : null;
  const badge = slaBadge(t.received_at, t.due_at, { stopped: settled ? label(STATUS_VI, t.status) : undefined, large: true });
  replaceChildren(o.head,
    h('h2', { id: 't-title', tabindex: -1 }, h('span', { class: 'code' }, t.code), ' ', t.title),
    h('div', { class: 'badges' },
      h('span', { class: `status status-${t.status}` }, label(STATUS_VI, t.status)), badge,
      h('span', { class: `prio prio-${t.priority}` }, `Ưu tiên: ${label(PRIORITY_VI, t.priority)}`),
      t.needs_triage ? h('span', { class: 'tag tag-warn' }, 'Cần phân loại') : null,
      t.hotspot_count > 0 ? h('span', { class: 'tag tag-hot' }, `Điểm nóng: ${t.hotspot_count} lần trước`) : null),
    h('dl', { class: 'facts-list' },
      h('dt', null, 'Tiếp nhận'), h('dd', null, h('time', { datetime: t.received_at }, formatTime(t.received_at))),
      t.status === 'new' && t.triage_due_at
        ? [h('dt', null, 'Hạn phân loại'), h('dd', null, h('time', { datetime: t.triage_due_at }, formatTime(t.triage_due_at)), ' ', slaBadge(t.received_at, t.triage_due_at))]
        : null,
      h('dt', null, 'Hạn xử lý xong'), h('dd', null, t.due_at ? h('time', { datetime: t.due_at }, formatTime(t.due_at)) : '—'),
      h('dt', null, 'Lĩnh vực'), h('dd', null, t.category?.name ?? 'Chưa phân loại'),
      h('dt', null, 'Địa bàn'), h('dd', null, t.area?.name ?? 'Chưa xác định'),
      t.dispatched_area ? [h('dt', null, 'Đã giao cho'), h('dd', null, areaName(t.dispatched_area))] : null,
      t.address ? [h('dt', null, 'Địa chỉ'), h('dd', null, t.address)] : null,
      h('dt', null, 'Người xử lý'), h('dd', { 'data-testid': 'claimed-by' }, t.claimed_by ? (t.claimed_by_name ?? t.claimed_by) + (mine ? ' (bạn)' : '') : 'Chưa có ai nhận')),
    h('div', { class: 'actions' }, claimButton, releaseButton, closeButton, rejectButton),
    rejectForm);
  markSlaHost(o.head, badge);
}

function reasonList(r: ReportView): HTMLElement {
  const reasons = r.reasons ?? [];
  return h('details', { class: 'reasons', open: r.relation !== null && r.relation !== 'new' },
    h('summary', null, `Lý do phân loại và gộp (${reasons.length})`),
    h('ul', null, reasons.map((x) => h('li', { 'data-step': x.step, 'data-code': x.code },
      h('span', { class: 'step' }, label(STEP_VI, x.step)), ' ',
      h('strong', null, label(REASON_VI, x.code)),
      typeof x.score === 'number' ? h('span', { class: 'score' }, ` · điểm ${x.score.toFixed(2)}`) : null,
      x.message ? h('div', { class: 'muted reason-msg', lang: 'en', title: 'Chi tiết kỹ thuật' }, x.message) : null))));
}

/**
 * A hidden inline form asking why before an undo (move, unlink): a reason field filled with the
 * usual one, a confirm and a cancel button. `onReason` runs on submit with the button pressed.
 */
function reasonForm(o: { key: string; label: string; value: string; action: string; confirm: string },
  onReason: (reason: string, button: HTMLButtonElement) => void): HTMLFormElement {
  const form = h('form', { class: 'inline-form', hidden: true, 'data-keep': o.key },
    h('label', { for: `${o.key}-reason` }, o.label),
    h('input', { id: `${o.key}-reason`, name: 'reason', required: true, maxlength: 500, value: o.value, 'data-keep': `${o.key}-reason` }),
    h('button', { type: 'submit', 'data-action': o.action }, o.confirm),
    h('button', { type: 'button', class: 'secondary', onclick: () => { form.hidden = true; } }, 'Huỷ'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    onReason(String(new FormData(form).get('reason') ?? ''), e.submitter as HTMLButtonElement);
  });
  return form;
}

function moveForm(r: ReportView, code: string): HTMLElement {
  return reasonForm({ key: `move-${r.code}`, label: 'Lý do tách', value: 'Không cùng sự việc', action: 'move-confirm', confirm: 'Xác nhận tách' }, (reason, button) => {
    let moved = '';
    void act(button, async () => {
      const res = await api<{ ticket: string }>('POST', `/api/console/reports/${encodeURIComponent(r.code)}/move`, { reason });
      moved = res.ticket;
    }, `Đã tách ${r.code} khỏi ${code}.`).then((ok) => { if (ok && moved) notify(`Phản ánh ${r.code} nay thuộc hồ sơ mới ${moved}.`, 'info'); });
  });
}

function renderReports(o: OpenTicket, d: TicketDetail): void {
  const byCitizen = new Map(d.citizens.map((c) => [c.id, c]));
  const many = d.reports.length > 1;
  keepWhile(o.reports, () => replaceChildren(o.reports, h('ol', { class: 'reports' }, d.reports.map((r) => {
    const citizen = r.citizen_id !== null ? byCitizen.get(r.citizen_id) : undefined;
    const form = many ? moveForm(r, o.code) : null;
    return h('li', { class: 'report', 'data-report': r.code, 'data-testid': 'report' },
      h('div', { class: 'report-head' },
        channelBadge(r.channel), ' ',
        h('strong', null, r.code), ' ',
        h('time', { datetime: r.received_at }, formatTime(r.received_at)), ' ',
        r.relation ? h('span', { class: `relation relation-${r.relation}` },
          label(RELATION_VI, r.relation), typeof r.score === 'number' && r.relation !== 'new' ? ` · điểm ${r.score.toFixed(2)}` : '') : null),
      h('p', { class: 'report-text' }, r.text),
      h('dl', { class: 'facts-list small' },
        r.address ? [h('dt', null, 'Địa chỉ'), h('dd', null, r.address)] : null,
        h('dt', null, 'Lĩnh vực'), h('dd', null, categoryName(r.category_code), r.category_source ? ` (${label(SOURCE_VI, r.category_source)}${typeof r.category_confidence === 'number' ? `, ${Math.round(r.category_confidence * 100)}%` : ''})` : ''),
        h('dt', null, 'Địa bàn'), h('dd', null, areaName(r.area_code), r.area_source ? ` (${label(SOURCE_VI, r.area_source)})` : ''),
        h('dt', null, 'Người gửi'), h('dd', null, citizen ? citizen.display_name || `Người dân #${citizen.id}` : r.citizen_id === null ? 'Ẩn danh' : `#${r.citizen_id}`)),
      photoGallery(r.attachments, `phản ánh ${r.code}`),
      reasonList(r),
      form ? h('div', { class: 'report-actions' },
        h('button', { type: 'button', class: 'secondary', 'data-action': 'move', onclick: () => {
          form.hidden = false;
          const input = form.querySelector('input') as HTMLInputElement;
          input.focus();
          input.select();
        } }, 'Tách khỏi hồ sơ'), form) : null);
  }))));
}

function unlinkForm(identity: { id: number; kind: string; value: string }): HTMLElement {
  const form = reasonForm({ key: `unlink-${identity.id}`, label: 'Lý do gỡ', value: 'Không phải cùng một người', action: 'unlink-confirm', confirm: 'Xác nhận gỡ' }, (reason, button) => {
    void act(button, () => api('POST', `/api/console/identities/${identity.id}/unlink`, { reason }),
      `Đã tách ${label(IDENTITY_VI, identity.kind).toLowerCase()} ${identity.value} thành người phản ánh riêng.`);
  });
  return h('span', null,
    h('button', { type: 'button', class: 'link', 'data-action': 'unlink', onclick: () => {
      form.hidden = false;
      (form.querySelector('input') as HTMLInputElement).select();
    } }, 'Không phải cùng người?'), form);
}

function renderCitizens(o: OpenTicket, d: TicketDetail): void {
  keepWhile(o.citizens, () => replaceChildren(o.citizens, d.citizens.length ? h('ul', { class: 'citizens' }, d.citizens.map((c) => {
    const theirs = d.reports.filter((r) => r.citizen_id === c.id).map((r) => r.code);
    return h('li', { class: 'citizen', 'data-citizen': c.id },
      h('div', null, h('strong', null, c.display_name || `Người dân #${c.id}`), h('span', { class: 'muted' }, ` · ${theirs.join(', ')}`)),
      c.identities.length
        ? h('ul', { class: 'identities' }, c.identities.map((i) => h('li', null,
          h('span', { class: 'muted' }, `${label(IDENTITY_VI, i.kind)}: `), h('span', { class: 'identity' }, i.value), ' ',
          c.identities.length > 1 ? unlinkForm(i) : null)))
        : h('p', { class: 'muted' }, 'Không có thông tin liên hệ.'),
      c.history.length
        ? h('details', { class: 'history' }, h('summary', null, `Đã phản ánh ${c.history.length} lần khác`),
          h('ul', null, c.history.map((x) => h('li', null,
            h('a', { href: `#${x.code}` }, x.code), ` · ${x.title} · `, h('span', { class: `status status-${x.status}` }, label(STATUS_VI, x.status)),
            ` · ${channelLabel(x.channel)} · `, h('time', { datetime: x.received_at }, formatTime(x.received_at))))))
        : h('p', { class: 'muted' }, 'Chưa từng phản ánh việc khác.'));
  })) : h('p', { class: 'muted' }, 'Không có thông tin người phản ánh (ẩn danh).')));
}

/**
 * Re-renders a section while keeping what the agent was doing in it: open inline forms, their
 * typed values and the focus (marked with data-keep).
 */
function keepWhile(section: HTMLElement, render: () => void): void {
  const kept = new Map<string, { value?: string; hidden?: boolean }>();
  section.querySelectorAll<HTMLElement>('[data-keep]').forEach((el) => {
    kept.set(el.dataset.keep!, el instanceof HTMLInputElement ? { value: el.value } : { hidden: el.hidden });
  });
  const focused = (document.activeElement as HTMLElement | null)?.closest<HTMLElement>('[data-keep]');
  const focusKey = focused && section.contains(focused) ? focused.dataset.keep : undefined;
  render();
  section.querySelectorAll<HTMLElement>('[data-keep]').forEach((el) => {
    const k = kept.get(el.dataset.keep!);
    if (!k) return;
    if (k.value !== undefined && el instanceof HTMLInputElement) el.value = k.value;
    if (k.hidden !== undefined) el.hidden = k.hidden;
  });
  if (focusKey) section.querySelector<HTMLElement>(`[data-keep="${CSS.escape(focusKey)}"]`)?.focus();
}

/** Sets a form field from fresh data unless the agent has changed it. */
function syncField(o: OpenTicket, form: HTMLFormElement, name: string, value: string): void {
  if (o.dirty.has(`${form.id}.${name}`)) return;
  const el = form.elements.namedItem(name) as HTMLSelectElement | null;
  if (el && document.activeElement !== el) el.value = value;
}

function renderTicket(o: OpenTicket): void {
  const d = o.detail;
  if (!d) return;
  const t = d.ticket;
  renderHead(o, d);
  syncField(o, o.classify, 'category', t.category?.code ?? '');
  syncField(o, o.classify, 'area', t.area?.code ?? '');
  syncField(o, o.classify, 'priority', t.priority);
  syncField(o, o.dispatch, 'area', t.dispatched_area ?? t.area?.code ?? '');
  const canDispatch = can(me, 'ticket.dispatch', t);
  o.dispatch.querySelectorAll<HTMLElement>('select, textarea, button').forEach((el) => { (el as HTMLButtonElement).disabled = !canDispatch; });
  const dispatchHint = o.dispatch.querySelector('.form-note') ?? o.dispatch.appendChild(h('p', { class: 'form-note hint' }));
  dispatchHint.textContent = canDispatch ? '' : `Không thể chuyển khi hồ sơ ở trạng thái "${label(STATUS_VI, t.status)}".`;
  const replyTo = o.reply.querySelector<HTMLSelectElement>('#reply-to')!;
  if (document.activeElement !== replyTo) {
    const value = replyTo.value;
    replaceChildren(replyTo, h('option', { value: '' }, `Tất cả người phản ánh (${d.reports.length} phản ánh)`),
      d.reports.map((r) => h('option', { value: r.id }, `${r.code} · ${channelLabel(r.channel)}`)));
    replyTo.value = value;
  }
  renderReports(o, d);
  renderCitizens(o, d);
  void drawLocation(o.location, d);
  replaceChildren(o.events, timeline(d.events, names));
}

async function loadTicket(o: OpenTicket): Promise<void> {
  const id = ++o.loading;
  try {
    const d = await api<TicketDetail>('GET', ticketPath(o.code));
    if (open !== o || id !== o.loading) return;
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
    if (open !== o) return;
    if (!o.detail) {
      replaceChildren(o.root, h('div', { class: 'error', role: 'alert' }, `Không mở được hồ sơ ${o.code}: ${errorMessage(err)}`));
    } else {
      notify(`Không cập nhật được hồ sơ: ${errorMessage(err)}`, 'error');
    }
  }
}

const refreshOpen = debounce(() => { if (open) void loadTicket(open); }, 250);

function openTicket(code: string): void {
  if (open?.code === code) {
    void loadTicket(open);
    return;
  }
  const o = buildPanel(code);
  open = o;
  const pane = byId('ticket-pane');
  replaceChildren(pane, o.root);
  o.head.append(h('p', { class: 'muted' }, `Đang tải hồ sơ ${code}…`));
  realtime.watch(code);
  cursorCode = code;
  renderQueue();
  void loadTicket(o).then(() => {
    if (open === o && !pane.contains(document.activeElement)) o.root.querySelector<HTMLElement>('#t-title')?.focus({ preventScroll: true });
  });
  pane.scrollTop = 0;
}

function closeTicket(): void {
  open = null;
  realtime.watch(null);
  replaceChildren(byId('ticket-pane'), emptyPane());
  renderQueue();
}

function emptyPane(): HTMLElement {
  return h('div', { class: 'pane-empty' },
    h('p', null, 'Chọn một hồ sơ trong hàng đợi để xem và xử lý.'),
    h('p', { class: 'muted' }, 'Dùng phím ', h('kbd', null, 'j'), ' / ', h('kbd', null, 'k'), ' để di chuyển, ', h('kbd', null, 'Enter'),
      ' để mở, ', h('kbd', null, '?'), ' để xem tất cả phím tắt.'));
}

function showPresence(p: Presence): void {
  if (!open || p.code !== open.code) return;
  const others = p.viewers.filter((v) => v.username !== me.username);
  const el = open.presence;
  el.classList.toggle('presence-others', others.length > 0);
  el.textContent = others.length
    ? `Đang mở bởi: ${others.map((v) => v.displayName || v.username).join(', ')} và bạn – chú ý tránh xử lý trùng.`
    : 'Đang mở bởi: chỉ bạn';
}

async function claim(): Promise<void> {
  if (!open) return notify('Chưa mở hồ sơ nào.', 'info');
  const button = open.head.querySelector<HTMLButtonElement>('[data-action=claim]');
  if (open.detail?.ticket.claimed_by === me.username) return notify('Bạn đã nhận hồ sơ này.', 'info');
  await act(button, () => api('POST', ticketPath(open!.code, '/claim')), `Bạn đã nhận xử lý ${open.code}.`);
}

async function release(): Promise<void> {
  if (!open) return notify('Chưa mở hồ sơ nào.', 'info');
  if (!open.detail?.ticket.claimed_by) return notify('Hồ sơ chưa có người nhận.', 'info');
  const button = open.head.querySelector<HTMLButtonElement>('[data-action=release]');
  await act(button, () => api('POST', ticketPath(open!.code, '/release')), `Đã trả ${open.code} về hàng đợi.`);
}

function focusField(id: string): void {
  if (!open) return notify('Mở một hồ sơ trước (Enter).', 'info');
  const el = open.root.querySelector<HTMLElement>(`#${id}`);
  if (!el) return;
  el.scrollIntoView({ block: 'center' });
  el.focus();
}

// ---------------------------------------------------------------- page

function helpDialog(): HTMLDialogElement {
  const rows: [string, string][] = [
    ['j / k', 'Xuống / lên trong hàng đợi'], ['Enter', 'Mở hồ sơ đang chọn'], ['c', 'Nhận xử lý hồ sơ đang mở'],
    ['u', 'Trả hồ sơ đang mở'], ['d', 'Đến ô chuyển phường xử lý'], ['r', 'Đến ô trả lời người dân'], ['n', 'Đến ô ghi chú nội bộ'],
    ['/', 'Đến ô tìm kiếm'], ['Esc', 'Rời ô nhập liệu / đóng hộp thoại'], ['?', 'Mở bảng phím tắt này'],
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
        filterBar(f),
        h('h2', { id: 'queue-title', class: 'queue-title' }, 'Hàng đợi ', h('span', { id: 'queue-count' }), h('span', { class: 'hint' }, ' · theo hạn xử lý, tự cập nhật')),
        h('div', { class: 'table-wrap' },
          h('table', { id: 'queue', class: 'queue', 'data-testid': 'queue' },
            h('caption', { class: 'sr-only' }, 'Hàng đợi hồ sơ, hạn xử lý gần nhất ở trên'),
            h('thead', null, h('tr', null,
              h('th', { scope: 'col' }, 'Hạn xử lý'), h('th', { scope: 'col' }, 'Hồ sơ'), h('th', { scope: 'col' }, 'Trạng thái'),
              h('th', { scope: 'col' }, 'Địa bàn · lĩnh vực'), h('th', { scope: 'col' }, 'Người xử lý'))),
            h('tbody', { id: 'queue-body' }, h('tr', null, h('td', { colspan: 5, class: 'empty' }, 'Đang tải hàng đợi…')))))),
      h('section', { id: 'ticket-pane', class: 'ticket-pane', 'aria-label': 'Hồ sơ đang mở', tabindex: -1 }, emptyPane())),
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
  tools?.prepend(h('button', { type: 'button', class: 'topbar-button', 'aria-keyshortcuts': '?', onclick: () => byId<HTMLDialogElement>('help').showModal() }, 'Phím tắt (?)'));
}

function openFromHash(): void {
  const code = decodeURIComponent(location.hash.slice(1)).trim().toUpperCase();
  if (/^TK-[0-9A-Z]{4,}$/.test(code)) openTicket(code);
  else if (!code && open) closeTicket();
}

function onEvent(e: TicketEvent): void {
  refreshQueue();
  if (open && e.ticket === open.code) refreshOpen();
}

async function main(): Promise<void> {
  const [s, m] = await Promise.all([session(), api<ConsoleMeta>('GET', '/api/console/meta')]);
  me = s.user;
  meta = m;
  setChannels(m.channels);
  layoutPage();
  realtime = connectRealtime({
    onEvent,
    onPresence: showPresence,
    onReconnect: () => {
      void loadQueue();
      if (open) void loadTicket(open);
    },
  });
  startSlaTicker();
  await loadQueue();
  openFromHash();
  window.addEventListener('hashchange', openFromHash);
  // "new" highlights fade once their time is up.
  setInterval(() => {
    const now = Date.now();
    for (const [code, until] of fresh) {
      if (until > now) continue;
      fresh.delete(code);
      document.querySelector(`tr[data-code="${CSS.escape(code)}"]`)?.classList.remove('is-new');
    }
  }, 1000);
  bindShortcuts({
    j: () => moveCursor(1),
    k: () => moveCursor(-1),
    Enter: (e) => {
      const target = e.target as HTMLElement;
      if (target !== document.body && !target.closest('#queue-body') && target.id !== 'ticket-pane') return;
      const code = target.closest<HTMLElement>('tr[data-code]')?.dataset.code ?? items[cursor]?.code;
      if (!code) return;
      e.preventDefault();
      location.hash = code;
      if (open?.code === code) open.root.querySelector<HTMLElement>('#t-title')?.focus();
    },
    c: () => void claim(),
    u: () => void release(),
    d: (e) => { e.preventDefault(); focusField('dispatch-instructions'); },
    r: (e) => { e.preventDefault(); focusField('reply-text'); },
    n: (e) => { e.preventDefault(); focusField('note-text'); },
    '/': (e) => {
      e.preventDefault();
      const q = byId<HTMLInputElement>('f-q');
      q.focus();
      q.select();
    },
    '?': (e) => { e.preventDefault(); byId<HTMLDialogElement>('help').showModal(); },
  });
}

main().catch((err) => {
  replaceChildren(byId('app'), h('div', { class: 'error', role: 'alert' }, `Không tải được bàn làm việc: ${errorMessage(err)}`,
    ' ', h('button', { type: 'button', onclick: () => location.reload() }, 'Tải lại trang')));
});
