import { byId, h, replaceChildren } from '../lib/dom.ts';
import { channelLabel } from '../lib/channels.ts';
import { CALL_STATE_VI, formatTime, label, STATUS_VI } from '../lib/labels.ts';
import type { IncomingCall, SignalMessage } from '../lib/realtime.ts';
import { localPhone, openPhoneReport } from './phone-report.ts';

// The screen pop of a call (`console.signal` call.incoming): who calls, their open tickets and
// last reports, where the call stands. Non-modal: it never takes the focus from what the agent
// is typing; it is announced (a live region), reached with `g`, closed with Esc. A second signal
// of the same call updates its pop in place (queued -> ended).

/** At most this many pops at once: the oldest goes. */
const POPS_MAX = 3;
const pops = new Map<string, HTMLElement>();

const STATES = new Set(['ringing', 'queued', 'recording', 'ended']);

/** The call a signal carries, checked field by field (the browser trusts no shape). */
function incomingCall(data: Record<string, unknown>): IncomingCall | null {
  const d = data as Partial<IncomingCall>;
  if (typeof d.call !== 'string' || !d.call || d.call.length > 100) return null;
  if (typeof d.state !== 'string' || !STATES.has(d.state)) return null;
  const c = d.citizen && typeof d.citizen === 'object' ? d.citizen : null;
  return {
    call: d.call, from: typeof d.from === 'string' ? d.from : null, state: d.state, at: typeof d.at === 'string' ? d.at : new Date().toISOString(),
    verified: d.verified === true,
    citizen: c ? {
      id: Number(c.id), name: typeof c.name === 'string' ? c.name : null,
      reports: Array.isArray(c.reports) ? c.reports.slice(0, 5) : [], openTickets: Array.isArray(c.openTickets) ? c.openTickets.slice(0, 10) : [],
    } : null,
  };
}

/** The container of the pops (main.ts puts it in the page). */
export function callPops(): HTMLElement {
  return h('div', { id: 'call-pops', class: 'call-pops', 'aria-live': 'polite', 'aria-relevant': 'additions' });
}

/** Shows or updates the pop of a `call.incoming` signal; other signals are not for it. */
export function onSignal(s: SignalMessage): void {
  if (s.type !== 'call.incoming') return;
  const call = incomingCall(s.data);
  if (call) showCall(call);
}

function showCall(call: IncomingCall): void {
  const existing = pops.get(call.call);
  const pop = existing ?? h('section', {
    class: 'call-pop', role: 'dialog', 'aria-modal': 'false', 'aria-labelledby': `call-${call.call}-title`, tabindex: -1,
    'data-call': call.call, 'data-testid': 'call-pop',
  });
  pop.dataset.state = call.state;
  // Re-rendered in place: the focus stays on the same control when it was inside.
  const focused = existing?.contains(document.activeElement) ? (document.activeElement as HTMLElement).dataset.focusKey : undefined;
  replaceChildren(pop, ...content(call));
  if (focused) pop.querySelector<HTMLElement>(`[data-focus-key="${CSS.escape(focused)}"]`)?.focus();
  if (!existing) {
    pop.addEventListener('keydown', (e) => {
      if (e.key !== 'Escape') return;
      e.preventDefault();
      dismiss(call.call);
    });
    pops.set(call.call, pop);
    byId('call-pops').prepend(pop);
    while (pops.size > POPS_MAX) dismiss(pops.keys().next().value!, false);
  }
}

function content(call: IncomingCall): HTMLElement[] {
  const number = call.from ? localPhone(call.from) : 'Số máy ẩn';
  const c = call.citizen;
  const who = c
    ? h('p', { class: 'caller' }, h('strong', null, c.name || 'Người dân đã từng phản ánh'), c.reports.length ? ` · ${c.reports.length} phản ánh gần đây` : null)
    : h('p', { class: 'caller muted' }, call.from ? 'Người gọi mới: chưa có phản ánh nào từ số này.' : 'Không biết người gọi (số máy ẩn).');
  const open = c?.openTickets.length
    ? [h('h3', null, `Hồ sơ đang xử lý (${c.openTickets.length})`),
      h('ul', { class: 'call-list' }, c.openTickets.map((t) => h('li', null,
        h('a', { href: `#${t.code}`, class: 'code', 'data-focus-key': `t-${t.code}` }, t.code), ' ', h('span', { class: `status status-${t.status}` }, label(STATUS_VI, t.status)),
        h('div', { class: 'title' }, t.title))))]
    : [];
  const recent = c?.reports.length
    ? [h('h3', null, 'Phản ánh gần đây'),
      h('ul', { class: 'call-list' }, c.reports.map((r) => h('li', null,
        h('span', { class: 'code' }, r.code), ' · ', h('a', { href: `#${r.ticketCode}`, 'data-focus-key': `r-${r.code}` }, r.ticketCode), ' ',
        h('span', { class: `status status-${r.status}` }, label(STATUS_VI, r.status)),
        h('div', { class: 'muted' }, `${r.title} · ${channelLabel(r.channel)} · `, h('time', { datetime: r.receivedAt }, formatTime(r.receivedAt))))))]
    : [];
  return [
    h('div', { class: 'call-head' },
      h('h2', { id: `call-${call.call}-title` }, 'Cuộc gọi đến: ', h('span', { class: 'call-number', 'data-testid': 'call-number' }, number),
        // Caller ID can be forged: what the pop shows is who the number belongs to, not proof of who calls.
        call.from && !call.verified ? h('span', { class: 'muted call-unverified', 'data-testid': 'call-unverified', title: 'Nhà mạng chưa xác thực số này: hãy hỏi lại người gọi trước khi nói về phản ánh của họ.' }, ' (số chưa xác thực)') : null),
      h('button', { type: 'button', class: 'notice-close', 'aria-label': 'Đóng cửa sổ cuộc gọi (Esc)', 'data-focus-key': 'close', onclick: () => dismiss(call.call) }, '×')),
    h('p', { class: 'call-state', 'data-testid': 'call-state' }, label(CALL_STATE_VI, call.state), ' · ', h('time', { datetime: call.at }, formatTime(call.at))),
    who,
    ...open,
    ...recent,
    h('div', { class: 'actions' },
      h('button', { type: 'button', 'data-action': 'call-report', 'data-focus-key': 'report', onclick: () => openPhoneReport({
        phone: call.from, name: c?.name ?? null, call: call.call,
      }) }, 'Ghi nhận phản ánh qua điện thoại')),
  ];
}

/** Closes a call's pop; the focus, if it was inside, goes back to the page. */
export function dismiss(callId: string, restoreFocus = true): void {
  const pop = pops.get(callId);
  if (!pop) return;
  const hadFocus = pop.contains(document.activeElement);
  pop.remove();
  pops.delete(callId);
  if (restoreFocus && hadFocus) (pops.size ? newestPop() : byId('app'))?.focus();
}

const newestPop = (): HTMLElement | undefined => [...pops.values()].pop();

/** Esc outside a text field: closes the pop that has the focus, else the newest one. Returns whether one was closed. */
export function dismissCurrent(): boolean {
  const inside = [...pops.entries()].find(([, el]) => el.contains(document.activeElement));
  const id = inside?.[0] ?? [...pops.keys()].pop();
  if (id === undefined) return false;
  dismiss(id);
  return true;
}

/** `g`: to the newest pop (its first button or link). */
export function focusPop(): boolean {
  const pop = newestPop();
  if (!pop) return false;
  (pop.querySelector<HTMLElement>('[data-action="call-report"]') ?? pop).focus();
  return true;
}
