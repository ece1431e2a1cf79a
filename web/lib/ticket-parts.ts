import { api } from './api.ts';
import { h, type Child } from './dom.ts';
import { channelLabel } from './channels.ts';
import {
  actorLabel, EVENT_VI, formatTime, IDENTITY_VI, label, OUTBOUND_KIND_VI, PRIORITY_VI, SEND_ERROR_VI, SLA_STAGE_VI, STATUS_VI,
} from './labels.ts';
import { isTicketStatus } from '../../src/core/tickets/statuses.ts';
import { areaMap, type MapPoint } from './map.ts';
import type { AreaShape, Attachment, MessageView, ReportView, TicketDetail, TicketEventView } from '../../src/wire/staff-api.ts';

// Pieces of a ticket both views show: photos, the map, the event log.

const shapes = new Map<string, Promise<AreaShape | null>>();

/** The outline of an area, fetched once per page. */
export function areaShape(code: string): Promise<AreaShape | null> {
  let p = shapes.get(code);
  if (!p) {
    p = api<AreaShape>('GET', `/api/console/areas/${encodeURIComponent(code)}/shape`).catch(() => null);
    shapes.set(code, p);
  }
  return p;
}

/** The URL of a stored photo. */
export const photoUrl = (key: string) => `/api/console/photos/${key.split('/').map(encodeURIComponent).join('/')}`;
/** The URL of any stored file (a photo, a PDF): served as its bytes say, under its sender's name. */
export const fileUrl = (key: string) => `/api/console/files/${key.split('/').map(encodeURIComponent).join('/')}`;

const isPhoto = (a: Attachment) => a.content_type?.startsWith('image/') || /\.(jpe?g|png|webp|gif|avif|heic)$/i.test(a.key);

/** A size as staff read it: 812 KB, 1,4 MB. */
function sizeText(bytes: number): string {
  if (bytes >= 1048576) return `${(bytes / 1048576).toFixed(1).replace('.', ',')} MB`;
  return `${Math.max(1, Math.round(bytes / 1024))} KB`;
}

/** Thumbnails linking to the full photos; `what` names them for screen readers ("phản ánh PA-…"). */
export function photoGallery(attachments: Attachment[] | null | undefined, what: string): HTMLElement | null {
  const photos = (attachments ?? []).filter(isPhoto);
  if (!photos.length) return null;
  return h('ul', { class: 'photos', 'aria-label': `Ảnh của ${what}` },
    photos.map((a, i) => h('li', null,
      h('a', { href: photoUrl(a.key), target: '_blank', rel: 'noopener' },
        h('img', { src: photoUrl(a.key), alt: `Ảnh ${i + 1} của ${what}`, loading: 'lazy', width: 96, height: 96 })))));
}

/**
 * The files that are not photos (a PDF: a link that opens it in a new tab; anything else: a
 * download), by the names their sender gave them.
 */
export function fileList(attachments: Attachment[] | null | undefined, what: string): HTMLElement | null {
  const files = (attachments ?? []).filter((a) => !isPhoto(a));
  if (!files.length) return null;
  return h('ul', { class: 'files', 'aria-label': `Tệp đính kèm của ${what}` },
    files.map((a, i) => {
      const pdf = a.content_type === 'application/pdf';
      const name = a.name || `Tệp ${i + 1}${pdf ? '.pdf' : ''}`;
      return h('li', null,
        h('a', pdf ? { href: fileUrl(a.key), target: '_blank', rel: 'noopener', 'data-file': 'pdf' } : { href: fileUrl(a.key), download: name, 'data-file': 'download' },
          pdf ? h('span', { class: 'file-kind' }, 'PDF') : null, ' ', name),
        h('span', { class: 'muted' }, ` · ${sizeText(a.size)}`));
    }));
}

/**
 * The messages a report was made of, as their senders wrote them (email): subject and sender,
 * their own words, the quoted history folded away behind a toggle, photos as previews and PDFs
 * as links. The split between words and history is the server's; this only folds.
 */
export function messageList(messages: MessageView[], what: string): HTMLElement | null {
  if (!messages.length) return null;
  return h('ol', { class: 'messages-as-written', 'aria-label': `Thư gốc của ${what}` },
    messages.map((m, i) => {
      const label = `thư ${i + 1} của ${what}`;
      let quoted: HTMLElement | null = null;
      if (m.quoted) {
        const summary = h('summary', { 'data-action': 'quoted-toggle' }, 'Hiện phần trích dẫn');
        // data-keep: a live update of the panel keeps it unfolded (console keepWhile).
        quoted = h('details', { class: 'quoted', 'data-keep': `quoted:${m.code}` }, summary, h('pre', { class: 'quoted-text' }, m.quoted));
        quoted.addEventListener('toggle', () => { summary.textContent = (quoted as HTMLDetailsElement).open ? 'Ẩn phần trích dẫn' : 'Hiện phần trích dẫn'; });
      }
      return h('li', { class: 'message-as-written', 'data-message': m.code },
        h('div', { class: 'message-head small' },
          m.subject ? h('strong', null, m.subject) : h('em', null, '(không có tiêu đề)'),
          m.from ? h('span', null, ` · ${m.from}`) : null,
          ' · ', h('time', { datetime: m.received_at }, formatTime(m.received_at)),
          m.body_from === 'html' ? h('span', { class: 'muted', title: 'Thư chỉ có phần HTML; đã chuyển thành văn bản an toàn' }, ' · từ HTML') : null),
        m.text ? h('p', { class: 'report-text message-text' }, m.text) : h('p', { class: 'muted' }, '(thư không có lời nhắn)'),
        quoted,
        photoGallery(m.attachments, label),
        fileList(m.attachments, label));
    }));
}

/** Numbered points of the reports that carry coordinates (the ticket's own point when none do). */
export function reportPoints(d: TicketDetail): { points: MapPoint[]; legend: Child[] } {
  const located = d.reports.filter((r): r is ReportView & { lat: number; lng: number } => r.lat !== null && r.lng !== null);
  const points: MapPoint[] = located.map((r, i) => ({ lat: r.lat, lng: r.lng, mark: String(i + 1), title: `${i + 1}: phản ánh ${r.code}` }));
  const legend: Child[] = located.map((r, i) => h('li', null, h('span', { class: 'pin' }, String(i + 1)), ` ${r.code} – ${r.lat.toFixed(5)}, ${r.lng.toFixed(5)}`));
  if (!points.length && d.ticket.lat !== null && d.ticket.lng !== null) {
    points.push({ lat: d.ticket.lat, lng: d.ticket.lng, mark: '1', title: `Vị trí hồ sơ ${d.ticket.code}` });
    legend.push(h('li', null, h('span', { class: 'pin' }, '1'), ` Vị trí hồ sơ – ${d.ticket.lat.toFixed(5)}, ${d.ticket.lng.toFixed(5)}`));
  }
  return { points, legend };
}

/** The map of the ticket's unit with its report points, drawn into `into` once the outline is loaded. */
export async function drawLocation(into: HTMLElement, d: TicketDetail): Promise<void> {
  const areaCode = d.ticket.dispatched_area ?? d.ticket.area?.code ?? null;
  const { points, legend } = reportPoints(d);
  const shape = areaCode ? await areaShape(areaCode) : null;
  const name = shape?.name ?? d.ticket.area?.name ?? null;
  const map = areaMap(shape?.geometry ?? null, points,
    `Bản đồ ${name ?? 'vị trí'}${points.length ? ` với ${points.length} điểm phản ánh` : ', chưa có toạ độ phản ánh'}`);
  into.textContent = '';
  if (!map) {
    into.append(h('p', { class: 'muted' }, 'Chưa có toạ độ hay địa bàn để hiển thị bản đồ.'));
    return;
  }
  into.append(h('figure', { class: 'map-figure' }, map,
    h('figcaption', null, name ? h('strong', null, name) : null,
      points.length ? h('ol', { class: 'legend' }, legend) : h('p', { class: 'muted' }, 'Các phản ánh chưa có toạ độ GPS.'))));
}

const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() ? v : null);

function change(data: Record<string, unknown>, key: string, what: string, names: (c: string | null) => string): string | null {
  const v = data[key] as { from?: string | null; to?: string | null } | undefined;
  if (!v || typeof v !== 'object') return null;
  return `${what}: ${names(v.from ?? null)} → ${names(v.to ?? null)}`;
}

/** What an event adds beyond its name: the note, the reply, the instructions, what changed. */
export function eventDetails(e: TicketEventView, names: { area(c: string | null): string; category(c: string | null): string }): Child[] {
  const d = e.data ?? {};
  const out: Child[] = [];
  const text = str(d.text) ?? str(d.note) ?? str(d.instructions);
  if (text) out.push(h('p', { class: 'event-text' }, text));
  if (e.type === 'ticket.dispatched' && str(d.area)) out.push(h('p', null, `Giao cho: ${names.area(str(d.area))}`));
  for (const line of [
    change(d, 'category', 'Lĩnh vực', names.category),
    change(d, 'area', 'Địa bàn', names.area),
    change(d, 'priority', 'Ưu tiên', (c) => label(PRIORITY_VI, c)),
  ]) if (line) out.push(h('p', null, line));
  if (str(d.stage)) out.push(h('p', null, `Mốc: ${label(SLA_STAGE_VI, str(d.stage))}${str(d.due_at) ? `, hạn ${formatTime(str(d.due_at))}` : ''}`));
  if (e.type !== 'ticket.dispatched' && str(d.from) && str(d.to) && isTicketStatus(String(d.to))) {
    out.push(h('p', null, `Trạng thái: ${label(STATUS_VI, str(d.from))} → ${label(STATUS_VI, str(d.to))}`));
  }
  const code = (k: string) => (str(d[k]) && /^(PA|TK)-/.test(String(d[k])) ? String(d[k]) : null);
  if (e.type === 'report.moved' && code('report')) out.push(h('p', null, `${code('report')} → hồ sơ mới ${code('to') ?? ''}`));
  if (code('split_from')) out.push(h('p', null, `Tách từ hồ sơ ${code('split_from')}${code('report') ? ` (phản ánh ${code('report')})` : ''}`));
  if (code('into')) out.push(h('p', null, `Gộp vào hồ sơ ${code('into')}`));
  if (e.type === 'ticket.absorbed' && code('from')) out.push(h('p', null, `Từ hồ sơ ${code('from')}`));
  if (Array.isArray(d.reports) && d.reports.length) {
    out.push(h('p', { class: 'muted' }, `${e.type === 'ticket.replied' ? 'Gửi tới' : 'Phản ánh'}: ${d.reports.join(', ')}`));
  }
  if (e.type === 'ticket.replied' && (str(d.via) || d.private === true)) {
    out.push(h('p', null, str(d.via) ? `Gửi qua: ${channelLabel(String(d.via))}` : null, d.private === true ? h('span', { class: 'tag' }, 'Trả lời riêng') : null));
  }
  if (e.type === 'outbound.failed') out.push(...sendFailure(d));
  // Why a resident reopened it, in their words, and how they said it (the tracking page, or a message the engine read).
  if (e.type === 'ticket.reopened') {
    out.push(h('p', { class: 'event-text' }, `Người dân báo chưa được khắc phục: ${e.reason ?? ''}`));
    if (code('report')) out.push(h('p', { class: 'muted' }, `${d.via === 'message' ? 'Qua tin nhắn, phản ánh' : 'Trên trang tra cứu, phản ánh'} ${code('report')}`));
  } else if (e.type === 'ticket.confirmed' && code('report')) out.push(h('p', { class: 'muted' }, `Phản ánh ${code('report')}`));
  else if (e.reason && e.reason !== text) out.push(h('p', null, `Lý do: ${e.reason}`));
  const photos = photoGallery(Array.isArray(d.attachments) ? d.attachments as Attachment[] : null, `sự kiện lúc ${formatTime(e.created_at)}`);
  if (photos) out.push(photos);
  return out;
}

/** Why a message to a citizen did not go (an `outbound.failed` event), and how else they can be reached. */
function sendFailure(d: Record<string, unknown>): Child[] {
  const error = str(d.error);
  const why = str(d.message) ?? (error ? SEND_ERROR_VI[error] ?? error : null);
  const others = Array.isArray(d.other_contacts) ? d.other_contacts.filter((k): k is string => typeof k === 'string') : [];
  return [
    h('p', null, [str(d.channel) ? `Kênh: ${channelLabel(String(d.channel))}` : null, str(d.kind) ? label(OUTBOUND_KIND_VI, str(d.kind)) : null,
      str(d.report) ? `phản ánh ${str(d.report)}` : null].filter(Boolean).join(' · ')),
    why ? h('p', { class: 'send-failure' }, `Lý do: ${why}`) : null,
    h('p', null, d.retrying === true ? 'Hệ thống sẽ tự gửi lại.' : 'Đã ngừng gửi tin này.'),
    others.length ? h('p', null, `Có thể liên lạc qua: ${others.map((k) => label(IDENTITY_VI, k)).join(', ')}`) : null,
  ];
}

/**
 * The ticket's event log, newest first. `extra` adds what a view offers on an event (the
 * console's "Gửi qua SMS" on a message that could not be sent).
 */
export function timeline(events: TicketEventView[], names: { area(c: string | null): string; category(c: string | null): string },
  extra?: (e: TicketEventView) => Child): HTMLElement {
  if (!events.length) return h('p', { class: 'muted' }, 'Chưa có sự kiện.');
  return h('ol', { class: 'timeline', reversed: true },
    [...events].reverse().map((e) => h('li', { 'data-type': e.type, class: e.type.startsWith('sla.') ? 'event-sla' : e.type === 'outbound.failed' ? 'event-failed' : null },
      h('div', { class: 'event-head' },
        h('time', { datetime: e.created_at }, formatTime(e.created_at)), ' ',
        h('strong', null, label(EVENT_VI, e.type)), ' · ', actorLabel(e.actor),
        e.public ? h('span', { class: 'tag' }, 'công khai') : null),
      eventDetails(e, names), extra?.(e))));
}
