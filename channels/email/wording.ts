import type { CityWording, OutboundMessage } from '../../src/intake/channel-kit.ts';
import type { ReportNote } from './notes.ts';
import { bareSubject } from './quotes.ts';

/** The kinds of message no person wrote (an acknowledgement, a status notice): RFC 3834 rules apply to them. */
export const AUTOMATIC_KINDS: ReadonlySet<string> = new Set(['received', 'dispatched', 'resolved']);

/** A message to a citizen as an email: subject, plain text and the same as simple HTML. */
export interface Composed {
  subject: string;
  text: string;
  html: string;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The tracking page of a report, where PUBLIC_URL is known. */
export const trackingUrl = (publicUrl: string | undefined, code: string) => (publicUrl ? `${publicUrl.replace(/\/+$/, '')}/track/${encodeURIComponent(code)}` : null);

/**
 * The subject: a reply to the citizen's own subject ("Re: ...", so their mail client keeps one
 * conversation), with the tracking code when it is not there yet; a fresh one for a report that
 * did not come by email.
 */
export function subjectOf(m: Pick<OutboundMessage, 'reportCode' | 'kind'>, thread: Pick<ReportNote, 'subject'> | null, hotline: string): string {
  const original = thread ? bareSubject(thread.subject) : '';
  if (original) return `Re: ${original.includes(m.reportCode) ? original : `${original} [${m.reportCode}]`}`.slice(0, 250);
  switch (m.kind) {
    case 'received': return `${hotline}: đã tiếp nhận phản ánh ${m.reportCode}`;
    case 'dispatched': return `${hotline}: phản ánh ${m.reportCode} đã được chuyển xử lý`;
    case 'resolved': return `${hotline}: phản ánh ${m.reportCode} đã được xử lý xong`;
    default: return `${hotline}: trả lời phản ánh ${m.reportCode}`;
  }
}

/** The email for a message to a citizen, in Vietnamese, as plain text and HTML. */
export function composeMail(m: OutboundMessage, thread: ReportNote | null, city: CityWording, publicUrl: string | undefined): Composed {
  const name = m.contact.name?.trim() || thread?.name?.trim() || null;
  // One form of address throughout, the one the city's notices (the body) and every other channel use: "bạn".
  const greeting = name ? `Chào bạn ${name},` : 'Chào bạn,';
  const link = trackingUrl(publicUrl, m.reportCode);
  const automatic = AUTOMATIC_KINDS.has(m.kind);
  const body = m.body.replace(/\r\n?/g, '\n').trim();
  const facts = [
    `Mã phản ánh: ${m.reportCode}`,
    ...(link ? [`Theo dõi tình hình xử lý: ${link}`] : []),
  ];
  const invite = m.kind === 'resolved'
    ? 'Nếu vấn đề chưa được giải quyết, bạn vui lòng trả lời thư này để chúng tôi xem xét lại.'
    : 'Để bổ sung thông tin hoặc hình ảnh, bạn chỉ cần trả lời thư này.';
  const signature = automatic
    ? `${city.hotline}\n(Thư được gửi tự động từ hệ thống tiếp nhận phản ánh, kiến nghị.)`
    : `Cán bộ ${city.hotline}`;
  const text = [greeting, '', body, '', ...facts, '', invite, '', '-- ', signature, ''].join('\n');
  const paragraphs = body.split(/\n{2,}/).map((p) => `<p>${escapeHtml(p).replace(/\n/g, '<br>')}</p>`).join('\n');
  const html = `<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>${escapeHtml(subjectOf(m, thread, city.hotline))}</title></head>
<body style="font-family: Arial, Helvetica, sans-serif; font-size: 15px; line-height: 1.5; color: #1a1a1a;">
<p>${escapeHtml(greeting)}</p>
${paragraphs}
<p><strong>Mã phản ánh: ${escapeHtml(m.reportCode)}</strong>${link ? `<br><a href="${escapeHtml(link)}">Theo dõi tình hình xử lý</a>` : ''}</p>
<p>${escapeHtml(invite)}</p>
<p style="color: #555; font-size: 13px;">${escapeHtml(signature).replace(/\n/g, '<br>')}</p>
</body></html>
`;
  return { subject: subjectOf(m, thread, city.hotline), text, html };
}
