import { api } from '../lib/api.ts';
import { h, replaceChildren, type Child } from '../lib/dom.ts';
import {
  DELIVERY_VI, IDENTITY_VI, label, OUTBOUND_KIND_VI, OUTBOUND_STATUS_VI, PRIORITY_VI, RELATION_VI, SOURCE_VI, STATUS_VI, STEP_VI, formatTime,
  CALL_STATUS_VI, SLA_STAGE_VI,
} from '../lib/labels.ts';
import { notify } from '../lib/notice.ts';
import { reasonText } from '../lib/reasons.ts';
import { markSlaHost, slaBadge, stageBadge } from '../lib/sla-badge.ts';
import { drawLocation, fileList, messageList, photoGallery, timeline } from '../lib/ticket-parts.ts';
import { channelBadge, channelLabel } from '../lib/channels.ts';
import type { OutboundView, ReportView, TicketDetail, TicketEventView } from '../../src/wire/staff-api.ts';
import { isOpen } from '../../src/core/tickets/statuses.ts';
import type { Action } from '../../src/core/staff/policy.ts';
import { act } from './actions.ts';
import { classifyForm, dispatchForm, FACEBOOK_CHANNEL, mergeForm, noteForm, reasonForm, replyForm, setReplyVia, SMS_CHANNEL } from './forms.ts';
import { areaName, categoryName, ctx, names, ticketPath, type OpenTicket } from './state.ts';

// The open ticket: its head (status, deadlines, claim, close, reject), the reports across
// channels with their reasons, the citizens, the map and the log. Sections are re-rendered in
// place on every change while open forms keep what the agent is typing.

/** The open ticket's panel: its sections and forms, empty until the ticket loads (renderTicket). */
export function buildPanel(code: string): OpenTicket {
  const dirty = new Set<string>();
  const classify = classifyForm(code, dirty);
  const dispatch = dispatchForm(code, dirty);
  const reply = replyForm(code);
  const note = noteForm(code);
  const merge = mergeForm(code);
  const section = (id: string, title: string, ...content: Child[]) =>
    h('section', { class: 'block', 'aria-labelledby': `${id}-title` }, h('h3', { id: `${id}-title` }, title), ...content);
  const head = h('div', { class: 't-head' });
  const presence = h('p', { id: 'presence', class: 'presence', 'data-testid': 'presence', 'aria-live': 'polite' }, 'Đang mở bởi: chỉ bạn');
  const reports = h('div', { id: 't-reports' });
  const locationEl = h('div', { id: 't-location' });
  const citizens = h('div', { id: 't-citizens' });
  const messages = h('div', { id: 't-messages' });
  const events = h('div', { id: 't-events' });
  const root = h('article', { class: 'ticket', 'data-code': code, 'aria-labelledby': 't-title', 'data-testid': 'ticket' },
    head, presence,
    h('div', { class: 'block' }, classify),
    h('div', { class: 'block' }, dispatch),
    section('reports', 'Phản ánh trong hồ sơ', reports),
    section('location', 'Vị trí', locationEl),
    section('citizens', 'Người phản ánh', citizens),
    section('messages', 'Tin gửi người dân', messages),
    h('div', { class: 'block' }, reply),
    h('div', { class: 'block' }, note),
    h('div', { class: 'block' }, merge),
    section('events', 'Nhật ký xử lý', events));
  return {
    code, detail: null, root, head, presence, classify, dispatch, reports, location: locationEl, citizens, messages, reply, note, merge, events, dirty, loading: 0,
  };
}

/** Whether the server said the signed-in user may do `action` to this ticket now (TicketView.allowed). */
export const allowed = (d: TicketDetail | null | undefined, action: Action): boolean => !!d && d.ticket.allowed.includes(action);

function renderHead(o: OpenTicket, d: TicketDetail): void {
  const t = d.ticket;
  const settled = !isOpen(t.status);
  const mine = t.claimed_by === ctx.me.username;
  const mayRelease = t.claimed_by && (mine || allowed(d, 'ticket.release_any'));
  // Claiming is offered only where the policy allows it (never on a settled ticket); one's own claim shows as such.
  const claimButton = mine || allowed(d, 'ticket.claim')
    ? h('button', { type: 'button', 'data-action': 'claim', disabled: mine || !!t.claimed_by, 'aria-keyshortcuts': 'c', onclick: () => void claim() },
      mine ? 'Bạn đang xử lý' : 'Nhận xử lý')
    : null;
  const releaseButton = mayRelease
    ? h('button', { type: 'button', class: 'secondary', 'data-action': 'release', 'aria-keyshortcuts': 'u', onclick: () => void release() },
      mine ? 'Trả hồ sơ' : 'Thu hồi hồ sơ')
    : null;
  const closeButton = allowed(d, 'ticket.close')
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
  const rejectButton = allowed(d, 'ticket.reject')
    ? h('button', { type: 'button', class: 'secondary danger-text', 'data-action': 'reject', onclick: () => {
      rejectForm.hidden = false;
      (rejectForm.querySelector('#reject-note') as HTMLInputElement).focus();
    } }, 'Từ chối…')
    : null;
  // The nearest deadline counts down; a settled ticket's clock has stopped and its status says so (once).
  const badge = settled ? null : stageBadge(t.sla_started_at, t.next_stage, { large: true });
  replaceChildren(o.head,
    h('h2', { id: 't-title', tabindex: -1 }, h('span', { class: 'code' }, t.code), ' ', t.title),
    h('div', { class: 'badges' },
      h('span', { class: `status status-${t.status}`, 'data-testid': 'ticket-status' }, label(STATUS_VI, t.status)), badge,
      h('span', { class: `prio prio-${t.priority}` }, `Ưu tiên: ${label(PRIORITY_VI, t.priority)}`),
      t.needs_triage ? h('span', { class: 'tag tag-warn' }, 'Cần phân loại') : null,
      t.hotspot_count > 0 ? h('span', { class: 'tag tag-hot' }, `Điểm nóng: ${t.hotspot_count} lần trước`) : null),
    h('dl', { class: 'facts-list' },
      h('dt', null, 'Tiếp nhận'), h('dd', null, h('time', { datetime: t.received_at }, formatTime(t.received_at))),
      t.next_stage && t.next_stage.stage !== 'resolve'
        ? [h('dt', null, `Hạn ${label(SLA_STAGE_VI, t.next_stage.stage)}`), h('dd', null, h('time', { datetime: t.next_stage.due_at }, formatTime(t.next_stage.due_at)))]
        : null,
      h('dt', null, 'Hạn xử lý xong'), h('dd', null, t.due_at ? [h('time', { datetime: t.due_at }, formatTime(t.due_at)),
        settled ? null : [' ', slaBadge(t.sla_started_at, t.due_at)]] : '—'),
      h('dt', null, 'Lĩnh vực'), h('dd', null, t.category?.name ?? 'Chưa phân loại'),
      h('dt', null, 'Địa bàn'), h('dd', null, t.area?.name ?? 'Chưa xác định'),
      t.dispatched_area ? [h('dt', null, 'Đã giao cho'), h('dd', null, areaName(t.dispatched_area))] : null,
      t.address ? [h('dt', null, 'Địa chỉ'), h('dd', null, t.address)] : null,
      h('dt', null, 'Người xử lý'), h('dd', { 'data-testid': 'claimed-by' }, t.claimed_by ? (t.claimed_by_name ?? t.claimed_by) + (mine ? ' (bạn)' : '') : 'Chưa có ai nhận')),
    h('div', { class: 'actions' }, claimButton, releaseButton, closeButton, rejectButton),
    rejectForm);
  if (badge) markSlaHost(o.head, badge);
  else o.head.removeAttribute('data-sla');
}

function reasonList(r: ReportView): HTMLElement {
  const reasons = r.reasons ?? [];
  return h('details', { class: 'reasons', open: r.relation !== null && r.relation !== 'new' },
    h('summary', null, `Lý do phân loại và gộp (${reasons.length})`),
    h('ul', null, reasons.map((x) => h('li', { 'data-step': x.step, 'data-code': x.code },
      h('span', { class: 'step' }, label(STEP_VI, x.step)), ' ',
      h('strong', null, reasonText(x, names)),
      typeof x.score === 'number' ? h('span', { class: 'score' }, ` · điểm ${x.score.toFixed(2)}`) : null,
      x.message ? h('div', { class: 'muted reason-msg', lang: 'en', title: 'Chi tiết kỹ thuật' }, x.message) : null))));
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
    const form = many && allowed(d, 'report.move') ? moveForm(r, o.code) : null;
    return h('li', { class: 'report', 'data-report': r.code, 'data-testid': 'report' },
      h('div', { class: 'report-head' },
        channelBadge(r.channel), ' ',
        h('strong', null, r.code), ' ',
        h('time', { datetime: r.received_at }, formatTime(r.received_at)), ' ',
        r.relation ? h('span', { class: `relation relation-${r.relation}` },
          label(RELATION_VI, r.relation), typeof r.score === 'number' && r.relation !== 'new' ? ` · điểm ${r.score.toFixed(2)}` : '') : null),
      // A message kept as written (email) is shown as such; the report's text is what the engine read of it.
      r.messages.length ? messageList(r.messages, `phản ánh ${r.code}`) : h('p', { class: 'report-text' }, r.text),
      h('dl', { class: 'facts-list small' },
        r.address ? [h('dt', null, 'Địa chỉ'), h('dd', null, r.address)] : null,
        h('dt', null, 'Lĩnh vực'), h('dd', null, categoryName(r.category_code), r.category_source ? ` (${label(SOURCE_VI, r.category_source)}${typeof r.category_confidence === 'number' ? `, ${Math.round(r.category_confidence * 100)}%` : ''})` : ''),
        h('dt', null, 'Địa bàn'), h('dd', null, areaName(r.area_code), r.area_source ? ` (${label(SOURCE_VI, r.area_source)})` : ''),
        h('dt', null, 'Người gửi'), h('dd', null, citizen ? citizen.display_name || `Người dân #${citizen.id}` : r.citizen_id === null ? 'Ẩn danh' : `#${r.citizen_id}`),
        ...(r.call ? [h('dt', null, 'Cuộc gọi'), h('dd', { 'data-call': '' }, callSummary(r.call))] : [])),
      r.messages.length ? null : photoGallery(r.attachments, `phản ánh ${r.code}`),
      r.messages.length ? null : fileList(r.attachments, `phản ánh ${r.code}`),
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

/** How a call went, in a phrase ("hoàn tất · 1 phút 14 giây · chờ 35 giây"). */
function callSummary(c: NonNullable<ReportView['call']>): string {
  const secs = (n: number) => (n >= 60 ? `${Math.floor(n / 60)} phút ${n % 60} giây` : `${n} giây`);
  return [c.status ? label(CALL_STATUS_VI, c.status) : null, c.duration_s !== null ? secs(c.duration_s) : null, c.queue_s !== null ? `chờ ${secs(c.queue_s)}` : null]
    .filter(Boolean).join(' · ') || 'chưa có thông tin';
}

/** Links an identifier the agent learned (a phone given on a call) to this citizen; a known one merges the two. */
function linkForm(citizenId: number): HTMLElement {
  const form = h('form', { class: 'link-identity', hidden: true, 'aria-label': 'Liên kết định danh' },
    h('label', null, 'Loại ', h('select', { name: 'kind' },
      ...(['phone', 'email', 'facebook', 'zalo', 'national_id'] as const).map((k) => h('option', { value: k }, label(IDENTITY_VI, k))))),
    h('label', null, 'Giá trị ', h('input', { name: 'value', required: true, maxlength: 300, autocomplete: 'off' })),
    h('label', null, 'Lý do ', h('input', { name: 'reason', required: true, maxlength: 500, value: 'Người dân xác nhận khi liên hệ' })),
    h('button', { type: 'submit', 'data-action': 'link-identity' }, 'Liên kết'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const button = form.querySelector('button') as HTMLButtonElement;
    void act(button, () => api('POST', `/api/console/citizens/${citizenId}/identities`, { kind: f.get('kind'), value: f.get('value'), reason: f.get('reason') }),
      'Đã liên kết định danh với người phản ánh.');
  });
  return h('span', null,
    h('button', { type: 'button', class: 'link', 'data-action': 'link', onclick: () => {
      form.hidden = false;
      (form.querySelector('input') as HTMLInputElement).focus();
    } }, '+ Liên kết định danh'), form);
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
      linkForm(c.id),
      c.history.length
        ? h('details', { class: 'history' }, h('summary', null, `Đã phản ánh ${c.history.length} lần khác`),
          h('ul', null, c.history.map((x) => h('li', null,
            h('a', { href: `#${x.code}` }, x.code), ` · ${x.title} · `, h('span', { class: `status status-${x.status}` }, label(STATUS_VI, x.status)),
            ` · ${channelLabel(x.channel)} · `, h('time', { datetime: x.received_at }, formatTime(x.received_at))))))
        : h('p', { class: 'muted' }, 'Chưa từng phản ánh việc khác.'));
  })) : h('p', { class: 'muted' }, 'Không có thông tin người phản ánh (ẩn danh).')));
}

type Tone = 'ok' | 'pending' | 'retrying' | 'failed';

/** Where a message to a citizen stands, in one phrase, and whether it went wrong. */
function messageState(m: OutboundView): { text: string; tone: Tone } {
  if (m.status === 'undeliverable') return { text: label(OUTBOUND_STATUS_VI, m.status), tone: 'failed' };
  if (m.status === 'retrying') return { text: label(OUTBOUND_STATUS_VI, m.status), tone: 'retrying' };
  if (m.status === 'sent' && m.delivery_status) {
    const d = m.delivery_status;
    const tone: Tone = d === 'undelivered' || d === 'failed' ? 'failed' : d === 'delivered' || d === 'read' ? 'ok' : 'pending';
    return { text: `${label(OUTBOUND_STATUS_VI, 'sent')} · ${label(DELIVERY_VI, d)}`, tone };
  }
  if (m.status === 'sent' || m.status === 'published') return { text: label(OUTBOUND_STATUS_VI, m.status), tone: 'ok' };
  return { text: label(OUTBOUND_STATUS_VI, m.status), tone: m.error ? 'retrying' : 'pending' };
}

function renderMessages(o: OpenTicket, d: TicketDetail): void {
  if (!d.messages.length) {
    replaceChildren(o.messages, h('p', { class: 'muted' }, 'Chưa có tin nào gửi người dân về hồ sơ này.'));
    return;
  }
  const failed = d.messages.filter((m) => messageState(m).tone === 'failed').length;
  replaceChildren(o.messages,
    failed ? h('p', { class: 'send-failure', role: 'note' }, `${failed} tin không gửi được – xem lý do bên dưới.`) : null,
    h('table', { class: 'messages', 'data-testid': 'messages' },
      h('caption', { class: 'sr-only' }, 'Tin gửi người dân, cũ nhất ở trên'),
      h('thead', null, h('tr', null, ['Lúc', 'Phản ánh', 'Kênh', 'Loại tin', 'Tình trạng'].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', null, d.messages.map((m) => {
        const st = messageState(m);
        const when = m.delivered_at ?? m.sent_at;
        return h('tr', { class: `msg msg-${st.tone}`, 'data-message': m.id, 'data-status': m.status },
          h('td', null, h('time', { datetime: m.created_at }, formatTime(m.created_at))),
          h('td', { class: 'code' }, m.report_code),
          h('td', null, channelBadge(m.channel)),
          h('td', null, label(OUTBOUND_KIND_VI, m.kind)),
          h('td', null,
            h('span', { class: `msg-state msg-state-${st.tone}` }, st.text),
            when && st.tone === 'ok' ? h('span', { class: 'muted' }, ` · ${formatTime(when)}`) : null,
            m.segments && m.segments > 1 ? h('span', { class: 'muted' }, ` · ${m.segments} tin SMS`) : null,
            m.error && st.tone !== 'ok' ? h('div', { class: 'muted reason-msg', lang: 'en', title: 'Chi tiết kỹ thuật' }, m.error) : null));
      }))));
}

const channelOn = (name: string) => ctx.meta.channels.some((c) => c.name === name && c.enabled);

/**
 * On a message that could not be sent to a citizen who also has a phone number: "Gửi qua SMS",
 * which readies the reply form for that report through SMS (the failed answer's words filled in).
 */
function smsOffer(o: OpenTicket, d: TicketDetail, e: TicketEventView): Child {
  const data = e.data ?? {};
  const others = Array.isArray(data.other_contacts) ? data.other_contacts : [];
  if (e.type !== 'outbound.failed' || !others.includes('phone') || data.channel === SMS_CHANNEL) return null;
  if (!channelOn(SMS_CHANNEL) || !allowed(d, 'ticket.reply')) return null;
  const report = d.reports.find((r) => r.code === data.report);
  if (!report) return null;
  return h('div', { class: 'event-actions' }, h('button', { type: 'button', class: 'secondary', 'data-action': 'reply-via-sms', onclick: () => {
    const to = o.reply.querySelector<HTMLSelectElement>('#reply-to')!;
    to.value = String(report.id);
    setReplyVia(o.reply, SMS_CHANNEL);
    const text = o.reply.querySelector<HTMLTextAreaElement>('#reply-text')!;
    if (!text.value.trim() && (data.kind === 'reply' || data.kind === 'private_reply')) {
      const answered = [...d.events].reverse().find((x) => x.type === 'ticket.replied' && x.id < e.id
        && Array.isArray(x.data?.reports) && (x.data.reports as unknown[]).includes(report.code));
      if (typeof answered?.data?.text === 'string') text.value = answered.data.text;
    }
    text.scrollIntoView({ block: 'center' });
    text.focus();
  } }, 'Gửi qua SMS'));
}

/**
 * Re-renders a section while keeping what the agent was doing in it: ctx.open inline forms, their
 * typed values, the quoted histories they unfolded, and the focus (marked with data-keep).
 */
function keepWhile(section: HTMLElement, render: () => void): void {
  const kept = new Map<string, { value?: string; hidden?: boolean; open?: boolean }>();
  section.querySelectorAll<HTMLElement>('[data-keep]').forEach((el) => {
    kept.set(el.dataset.keep!, el instanceof HTMLInputElement ? { value: el.value } : el instanceof HTMLDetailsElement ? { open: el.open } : { hidden: el.hidden });
  });
  const focused = (document.activeElement as HTMLElement | null)?.closest<HTMLElement>('[data-keep]');
  const focusKey = focused && section.contains(focused) ? focused.dataset.keep : undefined;
  render();
  section.querySelectorAll<HTMLElement>('[data-keep]').forEach((el) => {
    const k = kept.get(el.dataset.keep!);
    if (!k) return;
    if (k.value !== undefined && el instanceof HTMLInputElement) el.value = k.value;
    if (k.hidden !== undefined) el.hidden = k.hidden;
    if (k.open !== undefined && el instanceof HTMLDetailsElement) el.open = k.open;
  });
  if (focusKey) section.querySelector<HTMLElement>(`[data-keep="${CSS.escape(focusKey)}"]`)?.focus();
}

/** Sets a form field from fresh data unless the agent has changed it. */
function syncField(o: OpenTicket, form: HTMLFormElement, name: string, value: string): void {
  if (o.dirty.has(`${form.id}.${name}`)) return;
  const el = form.elements.namedItem(name) as HTMLSelectElement | null;
  if (el && document.activeElement !== el) el.value = value;
}

export function renderTicket(o: OpenTicket): void {
  const d = o.detail;
  if (!d) return;
  const t = d.ticket;
  renderHead(o, d);
  syncField(o, o.classify, 'category', t.category?.code ?? '');
  syncField(o, o.classify, 'area', t.area?.code ?? '');
  syncField(o, o.classify, 'priority', t.priority);
  syncField(o, o.dispatch, 'area', t.dispatched_area ?? t.area?.code ?? '');
  // Only the forms of actions that apply now are shown (the server's `allowed`).
  const show = (form: HTMLFormElement, action: Action) => { form.parentElement!.hidden = !allowed(d, action); };
  show(o.classify, 'ticket.update');
  show(o.dispatch, 'ticket.dispatch');
  show(o.reply, 'ticket.reply');
  show(o.note, 'ticket.note');
  show(o.merge, 'ticket.merge');
  const replyTo = o.reply.querySelector<HTMLSelectElement>('#reply-to')!;
  if (document.activeElement !== replyTo) {
    const value = replyTo.value;
    replaceChildren(replyTo, h('option', { value: '' }, `Tất cả người phản ánh (${d.reports.length} phản ánh)`),
      d.reports.map((r) => h('option', { value: r.id, 'data-channel': r.channel }, `${r.code} · ${channelLabel(r.channel)}`)));
    replyTo.value = value;
  }
  // A private answer: only where a report came from Facebook (a comment answered by a message).
  const privateField = o.reply.querySelector<HTMLElement>('#reply-private-field')!;
  privateField.hidden = !d.reports.some((r) => r.channel === FACEBOOK_CHANNEL);
  renderReports(o, d);
  renderCitizens(o, d);
  renderMessages(o, d);
  void drawLocation(o.location, d);
  replaceChildren(o.events, timeline(d.events, names, (e) => smsOffer(o, d, e)));
}

export async function claim(): Promise<void> {
  if (!ctx.open) return notify('Chưa mở hồ sơ nào.', 'info');
  const button = ctx.open.head.querySelector<HTMLButtonElement>('[data-action=claim]');
  if (ctx.open.detail?.ticket.claimed_by === ctx.me.username) return notify('Bạn đã nhận hồ sơ này.', 'info');
  await act(button, () => api('POST', ticketPath(ctx.open!.code, '/claim')), `Bạn đã nhận xử lý ${ctx.open.code}.`);
}

export async function release(): Promise<void> {
  if (!ctx.open) return notify('Chưa mở hồ sơ nào.', 'info');
  if (!ctx.open.detail?.ticket.claimed_by) return notify('Hồ sơ chưa có người nhận.', 'info');
  const button = ctx.open.head.querySelector<HTMLButtonElement>('[data-action=release]');
  await act(button, () => api('POST', ticketPath(ctx.open!.code, '/release')), `Đã trả ${ctx.open.code} về hàng đợi.`);
}
