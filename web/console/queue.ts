import { api, errorMessage } from '../lib/api.ts';
import { byId, debounce, h, replaceChildren, type Child } from '../lib/dom.ts';
import { label, PRIORITY_VI, STATUS_VI } from '../lib/labels.ts';
import { notify } from '../lib/notice.ts';
import { markSlaHost, stageBadge } from '../lib/sla-badge.ts';
import { allChannels, channelBadge } from '../lib/channels.ts';
import type { QueueItem } from '../../src/wire/staff-api.ts';
import { isOpen, OPEN_STATUSES } from '../../src/core/tickets/statuses.ts';
import { areaName, ctx } from './state.ts';

// The live queue, soonest deadline first, and its filters (kept in the address). Re-rendered
// whole on every change: a few hundred rows at most.

interface Filters {
  /** A saved view (QUEUE_VIEWS of the server): '' is the whole queue. */
  view: string;
  status: string[];
  channel: string;
  category: string;
  area: string;
  /** Received from / to (YYYY-MM-DD, inclusive). */
  from: string;
  to: string;
  q: string;
}

let items: QueueItem[] = [];
/** The last search matched more tickets than the engine ranks: the list is the best of the newest matches. */
let searchCapped = false;
let cursor = -1;
/** The row j/k points at, by code: it stays put when the list around it changes. */
let cursorCode: string | null = null;
let queueRequest = 0;
let queueLoaded = false;
const known = new Set<string>();
const reportCounts = new Map<string, number>();
/** Rows lit up as new, until when. */
const fresh = new Map<string, number>();

// ---------------------------------------------------------------- filters

export function readFilters(): Filters {
  const p = new URLSearchParams(location.search);
  const status = p.get('status');
  return {
    view: p.get('view') ?? '',
    status: status === null ? [...OPEN_STATUSES] : status.split(',').filter(Boolean),
    channel: p.get('channel') ?? '', category: p.get('category') ?? '', area: p.get('area') ?? '', q: p.get('q') ?? '',
    from: p.get('from') ?? '', to: p.get('to') ?? '',
  };
}

function currentFilters(): Filters {
  const form = byId<HTMLFormElement>('filters');
  const data = new FormData(form);
  return {
    view: String(data.get('view') ?? ''),
    status: data.getAll('status').map(String),
    channel: String(data.get('channel') ?? ''), category: String(data.get('category') ?? ''),
    area: String(data.get('area') ?? ''), q: String(data.get('q') ?? '').trim(),
    from: String(data.get('from') ?? ''), to: String(data.get('to') ?? ''),
  };
}

function queryOf(f: Filters): URLSearchParams {
  const p = new URLSearchParams();
  if (f.view) p.set('view', f.view);
  if (f.status.length) p.set('status', f.status.join(','));
  if (f.channel) p.set('channel', f.channel);
  if (f.category) p.set('category', f.category);
  if (f.area) p.set('area', f.area);
  if (f.from) p.set('from', f.from);
  if (f.to) p.set('to', f.to);
  if (f.q) p.set('q', f.q);
  return p;
}

/** The saved views, one click (or the digit key) each; '' is the whole queue. */
export const VIEWS: { value: string; text: string; key: string }[] = [
  { value: '', text: 'Tất cả', key: '0' },
  { value: 'mine', text: 'Của tôi', key: '1' },
  { value: 'unclaimed', text: 'Chưa ai nhận', key: '2' },
  { value: 'triage', text: 'Cần phân loại', key: '3' },
  { value: 'breached', text: 'Quá hạn', key: '4' },
  { value: 'unit', text: 'Theo phường', key: '5' },
];

/** How many filters beyond the defaults are set (the folded bar says so). */
function activeCount(f: Filters): number {
  const defaultStatus = f.status.length === OPEN_STATUSES.length && OPEN_STATUSES.every((s) => f.status.includes(s));
  return [!defaultStatus, f.channel, f.category, f.area, f.from, f.to].filter(Boolean).length;
}

/**
 * One bar: the saved views, the search box and the other filters folded behind "Bộ lọc" (the
 * count of those set shows on it), so that the queue keeps the height of the screen.
 */
export function filterBar(f: Filters): HTMLFormElement {
  const select = (name: string, text: string, all: string, options: { value: string; text: string }[], value: string) =>
    h('div', { class: 'field' },
      h('label', { for: `f-${name}` }, text),
      h('select', { id: `f-${name}`, name },
        h('option', { value: '' }, all),
        options.map((o) => h('option', { value: o.value, selected: o.value === value }, o.text))));
  const count = h('span', { class: 'filter-count', id: 'f-count' });
  const form = h('form', { id: 'filters', class: 'filters', role: 'search', 'aria-label': 'Lọc hàng đợi' },
    h('div', { class: 'filter-bar' },
      h('fieldset', { class: 'views', 'data-testid': 'views' },
        h('legend', { class: 'sr-only' }, 'Danh sách nhanh'),
        VIEWS.map((v) => h('label', { class: 'view', title: `Phím ${v.key}` },
          h('input', { type: 'radio', name: 'view', value: v.value, checked: v.value === f.view, 'aria-keyshortcuts': v.key }), v.text))),
      h('div', { class: 'field field-search' },
        h('label', { for: 'f-q', class: 'sr-only' }, 'Tìm kiếm'),
        h('input', { id: 'f-q', name: 'q', type: 'search', value: f.q, placeholder: 'Tìm: mã TK-/PA-, nội dung, địa chỉ, số điện thoại ( / )', autocomplete: 'off', 'aria-keyshortcuts': '/' })),
      h('details', { class: 'more-filters', id: 'f-more' },
        h('summary', null, 'Bộ lọc', count),
        h('div', { class: 'more-body' },
          h('fieldset', { class: 'chips' },
            h('legend', null, 'Trạng thái'),
            ctx.meta.statuses.map((s) => h('label', { class: 'chip' },
              h('input', { type: 'checkbox', name: 'status', value: s, checked: f.status.includes(s) }), ' ', label(STATUS_VI, s)))),
          h('div', { class: 'filter-row' },
            select('channel', 'Kênh', 'Tất cả kênh', allChannels().map((c) => ({ value: c.name, text: c.label.vi })), f.channel),
            select('category', 'Lĩnh vực', 'Tất cả lĩnh vực', ctx.meta.categories.map((c) => ({ value: c.code, text: c.name })), f.category),
            select('area', 'Địa bàn', 'Tất cả phường, xã', ctx.meta.areas.map((a) => ({ value: a.code, text: a.name })), f.area),
            h('div', { class: 'field' }, h('label', { for: 'f-from' }, 'Từ ngày'), h('input', { id: 'f-from', name: 'from', type: 'date', value: f.from })),
            h('div', { class: 'field' }, h('label', { for: 'f-to' }, 'Đến ngày'), h('input', { id: 'f-to', name: 'to', type: 'date', value: f.to })),
            h('button', { type: 'button', class: 'secondary', id: 'f-reset' }, 'Xoá bộ lọc'))))));
  const showCount = (x: Filters) => { const n = activeCount(x); count.textContent = n ? ` (${n})` : ''; };
  showCount(f);
  const changed = () => {
    const f = currentFilters();
    // The default (ctx.open statuses) stays out of the address.
    const isDefault = f.status.length === OPEN_STATUSES.length && OPEN_STATUSES.every((s) => f.status.includes(s));
    const p = queryOf(isDefault ? { ...f, status: [] } : f);
    history.replaceState(null, '', `${location.pathname}${p.toString() ? `?${p}` : ''}${location.hash}`);
    showCount(f);
    void loadQueue();
  };
  const typed = debounce(changed, 300);
  form.addEventListener('change', (e) => { if ((e.target as HTMLElement).id !== 'f-q') changed(); });
  form.addEventListener('input', (e) => { if ((e.target as HTMLElement).id === 'f-q') typed(); });
  form.addEventListener('submit', (e) => { e.preventDefault(); changed(); });
  form.querySelector('#f-reset')?.addEventListener('click', () => {
    form.querySelectorAll<HTMLInputElement>('input[name=status]').forEach((i) => { i.checked = (OPEN_STATUSES as readonly string[]).includes(i.value); });
    form.querySelectorAll<HTMLSelectElement>('select').forEach((s) => { s.value = ''; });
    form.querySelectorAll<HTMLInputElement>('input[type=date]').forEach((i) => { i.value = ''; });
    (form.querySelector('#f-q') as HTMLInputElement).value = '';
    (form.querySelector('input[name=view][value=""]') as HTMLInputElement).checked = true;
    changed();
  });
  return form;
}

/** Switches to a saved view (VIEWS), as its button does. */
export function chooseView(value: string): void {
  const input = document.querySelector<HTMLInputElement>(`#filters input[name=view][value="${CSS.escape(value)}"]`);
  if (!input || input.checked) return;
  input.checked = true;
  input.dispatchEvent(new Event('change', { bubbles: true }));
}

export const refreshQueue = debounce(() => void loadQueue(), 120);

export async function loadQueue(): Promise<void> {
  const id = ++queueRequest;
  const p = queryOf(currentFilters());
  byId('queue').setAttribute('aria-busy', 'true');
  try {
    const res = await api<{ items: QueueItem[]; capped?: boolean }>('GET', `/api/console/queue?${p}`);
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
    // A ticket back in the queue because a resident reopened it a moment ago has its own notice (reopen-notice.ts).
    const news = arrived.filter((i) => i.sla_started_at === i.received_at || Date.now() - Date.parse(i.sla_started_at) > 60_000);
    if (news.length) {
      const one = news.length === 1 ? news[0]! : null;
      notify(one ? `Hồ sơ mới trong hàng đợi: ${one.code} – ${one.title}.` : `${news.length} hồ sơ mới trong hàng đợi.`, 'info',
        one ? { href: `#${one.code}`, text: 'Mở hồ sơ' } : undefined);
    }
    queueLoaded = true;
    items = res.items;
    searchCapped = res.capped === true;
    renderQueue();
  } catch (err) {
    if (id === queueRequest) notify(`Không tải được hàng đợi: ${errorMessage(err)}`, 'error');
  } finally {
    if (id === queueRequest) byId('queue').removeAttribute('aria-busy');
  }
}

function queueRow(item: QueueItem, index: number): HTMLTableRowElement {
  const settled = !isOpen(item.status);
  // The nearest deadline (the stage due next); a settled ticket's clock has stopped: its status column says so.
  const badge = settled ? null : stageBadge(item.sla_started_at, item.next_stage);
  const isCurrent = ctx.open?.code === item.code;
  const newUntil = fresh.get(item.code);
  const classes = ['row', isCurrent ? 'is-open' : '', index === cursor ? 'is-cursor' : '', newUntil && newUntil > Date.now() ? 'is-new' : '']
    .filter(Boolean).join(' ');
  // Two lines at most: code, title and tags on the first; channels, counts, unit and category on the second.
  const where = [item.area?.name ?? 'Chưa rõ địa bàn', item.category?.name ?? 'Chưa phân loại'].join(' · ');
  const row = h('tr', { class: classes, 'data-code': item.code, 'data-testid': 'queue-row', 'data-status': item.status },
    h('td', { class: 'col-sla' }, badge ?? h('span', { class: 'muted' }, '—')),
    h('td', { class: 'col-main' },
      h('div', { class: 'line' },
        h('a', { href: `#${item.code}`, class: 'code', 'aria-current': isCurrent ? 'true' : null }, item.code), ' ',
        item.priority === 'high' || item.priority === 'urgent' ? h('span', { class: `prio prio-${item.priority}` }, label(PRIORITY_VI, item.priority)) : null,
        item.needs_triage ? h('span', { class: 'tag tag-warn' }, 'Cần phân loại') : null,
        item.hotspot_count > 0 ? h('span', { class: 'tag tag-hot' }, `Điểm nóng (${item.hotspot_count})`) : null,
        ' ', h('span', { class: 'title', title: item.title }, item.title)),
      item.search ? snippet(item.search) : null,
      h('div', { class: 'line facts' },
        item.channels.map((c) => channelBadge(c)),
        h('span', { class: 'counts', title: `${item.report_count} phản ánh, ${item.reporter_count} người phản ánh` }, `${item.report_count} PA · ${item.reporter_count} người`),
        h('span', { class: 'where', title: where }, where))),
    h('td', { class: 'col-status' }, h('span', { class: `status status-${item.status}` }, label(STATUS_VI, item.status)),
      h('div', { class: 'claim muted', title: 'Người xử lý' }, item.claimed_by ?? '—')));
  if (badge) markSlaHost(row, badge);
  return row;
}

const MATCH_VI: Record<NonNullable<QueueItem['search']>['match'], string> = {
  exact: 'Khớp đúng từ', unaccented: 'Khớp không dấu', typo: 'Gần đúng',
};

/** Where a searched ticket matched: its text around the words, the words marked (as text nodes, never HTML). */
function snippet(hit: NonNullable<QueueItem['search']>): HTMLElement {
  const { text, highlights } = hit.snippet;
  const parts: Child[] = [];
  let at = 0;
  for (const [a, b] of highlights) {
    if (a < at) continue;
    parts.push(text.slice(at, a), h('mark', null, text.slice(a, b)));
    at = b;
  }
  parts.push(text.slice(at));
  return h('div', { class: 'snippet', 'data-match': hit.match, title: MATCH_VI[hit.match] }, parts);
}

export function renderQueue(): void {
  const body = byId('queue-body');
  const focusedCode = (document.activeElement?.closest('tr[data-code]') as HTMLElement | null)?.dataset.code;
  cursor = cursorCode ? items.findIndex((i) => i.code === cursorCode) : -1;
  const byUnit = currentFilters().view === 'unit';
  let unit: string | null | undefined;
  const rows: HTMLElement[] = [];
  items.forEach((item, i) => {
    // Grouped by the unit in charge: a heading row where the unit changes.
    const here = item.dispatched_area ?? item.area?.code ?? null;
    if (byUnit && here !== unit) {
      unit = here;
      const n = items.filter((x) => (x.dispatched_area ?? x.area?.code ?? null) === here).length;
      rows.push(h('tr', { class: 'group-row' }, h('th', { colspan: 3, scope: 'colgroup' }, here ? areaName(here) : 'Chưa rõ địa bàn', h('span', { class: 'muted' }, ` · ${n} hồ sơ`))));
    }
    rows.push(queueRow(item, i));
  });
  replaceChildren(body, items.length ? rows : h('tr', null, h('td', { colspan: 3, class: 'empty' }, 'Không có hồ sơ nào khớp bộ lọc.')));
  const count = byId('queue-count');
  count.textContent = searchCapped ? `(${items.length} · trong các hồ sơ mới nhất)` : `(${items.length})`;
  if (searchCapped) count.title = 'Quá nhiều hồ sơ khớp từ khóa: chỉ xếp hạng các hồ sơ mới nhất. Thêm từ, chọn trạng thái, đơn vị hoặc khoảng ngày để tìm hồ sơ cũ hơn.';
  else count.removeAttribute('title');
  if (focusedCode) body.querySelector<HTMLElement>(`tr[data-code="${CSS.escape(focusedCode)}"] a.code`)?.focus({ preventScroll: true });
}

export function moveCursor(step: number): void {
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

/** Puts the cursor on a ticket's row (the ticket opened). */
export function pointAt(code: string): void {
  cursorCode = code;
}

/** The ticket under the cursor. */
export function cursorItem(): QueueItem | undefined {
  return items[cursor];
}

/** "New" highlights fade once their time is up. */
export function fadeFresh(): void {
  const now = Date.now();
  for (const [code, until] of fresh) {
    if (until > now) continue;
    fresh.delete(code);
    document.querySelector(`tr[data-code="${CSS.escape(code)}"]`)?.classList.remove('is-new');
  }
}
