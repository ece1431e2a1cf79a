import { fileTypeFromBuffer } from 'file-type';
import { simpleParser, type AddressObject, type Attachment as MailPart, type HeaderValue, type ParsedMail } from 'mailparser';
import { AppError, cleanText, imageProblem, type ChannelContext, type InboundReport } from '../../src/intake/channel-kit.ts';
import { LegacyCharsetDecoder, repairTcvn3 } from './charsets.ts';
import { htmlToPlainText } from './html-text.ts';
import { foldQuotes, isForward } from './quotes.ts';

/** A file of a message we keep: where the store put it, and the name the sender gave it. */
export type StoredFile = InboundReport['attachments'][number] & { name: string };

/** A file of a message we did not keep, and why (the raw message still holds it). */
export interface RefusedFile {
  name: string;
  type: string;
  size: number;
  why: string;
}

/** Why a message was written by a machine, and what that means for answering it. */
export interface Automated {
  /**
   * `bounce`: a delivery report (RFC 3464) or a mailer daemon's; `auto_reply`: an out-of-office
   * or other automatic answer (RFC 3834 auto-replied); `auto_generated`, `bulk`, `list`,
   * `no_reply`: written by a system, to be read but never answered automatically.
   */
  kind: 'bounce' | 'auto_reply' | 'auto_generated' | 'bulk' | 'list' | 'no_reply';
  /** The header or pattern that said so. */
  reason: string;
}

/** One recipient of a delivery report (RFC 3464). */
export interface DeliveryRecipient {
  address: string;
  /** failed, delayed, delivered, relayed, expanded. */
  action: string;
  /** The enhanced status code (5.1.1): 5 is permanent, 4 transient. */
  status: string | null;
  diagnostic: string | null;
}

/** What a delivery report says: which recipients, and the Message-IDs of the mail it is about. */
export interface DeliveryNotice {
  recipients: DeliveryRecipient[];
  originalMessageIds: string[];
}

/** Everything phananh reads from one message, made safe (NFC text, no markup, bounded), JSON-ready. */
export interface MailDigest {
  messageId: string | null;
  inReplyTo: string[];
  references: string[];
  subject: string;
  from: { address: string | null; name: string | null };
  replyTo: string | null;
  to: string[];
  date: string | null;
  /** The whole body as text (the text part, or the HTML part made text), forwards included. */
  body: string;
  bodyFrom: 'text' | 'html' | 'none';
  /** The citizen's own words: the body with the quoted history folded away. */
  text: string;
  /** What was folded away. */
  history: string;
  forward: boolean;
  files: StoredFile[];
  refused: RefusedFile[];
  automated: Automated | null;
  delivery: DeliveryNotice | null;
}

/** Limits of one message's reading. */
export interface DigestLimits {
  /** Largest file kept (the app's UPLOAD_MAX_BYTES). */
  fileMaxBytes: number;
  photosMax: number;
  pdfsMax: number;
}

/** Longest body kept as text (the report takes the first REPORT_LIMITS.textMax of the new words). */
export const BODY_MAX = 100_000;
/** An address as we keep it: one @, no spaces or control characters, at most 254 characters. */
const ADDRESS = /^[^@\s\p{Cc}]{1,64}@[^@\s\p{Cc}]{1,189}$/u;
/** Message-IDs kept from References (the newest). */
const REFERENCES_MAX = 30;
/** Inline images smaller than this are a signature's logo or a spacer, not a photo of the street. */
const DECORATION_MAX_BYTES = 5 * 1024;
const PHOTO_TYPES = new Set(['image/jpeg', 'image/png', 'image/webp', 'image/gif', 'image/heic', 'image/heif', 'image/avif']);

/** The error a message that cannot be read is quarantined with. */
export const unparsable = (why: string) => new AppError('email_unparsable', 422, `the message cannot be read: ${why}`, 'Không đọc được thư điện tử này.');

/** The first `max` UTF-16 units of a text, never half an emoji (a lone surrogate is refused in jsonb). */
export function cut(s: string, max: number): string {
  if (s.length <= max) return s;
  const last = s.charCodeAt(max - 1);
  return s.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}

/** Client text made safe (`cleanText`: no controls, NFC), bounded before and after. */
const clean = (s: string, max: number) => cut(cleanText(cut(s, max * 2)), max);

/** `<id@host>` without its brackets, or null when it is not one. */
export function bareId(id: string): string | null {
  const m = /^\s*<?([^<>\s\p{Cc}]{1,900})>?\s*$/u.exec(id.length > 1000 ? '' : id);
  return m ? m[1]! : null;
}

/** Every `<id>` in a header (References, In-Reply-To: several, sometimes without brackets). */
export function idsOf(value: string | string[] | undefined, max = REFERENCES_MAX): string[] {
  if (!value) return [];
  const text = (Array.isArray(value) ? value.join(' ') : value).slice(0, 64 * 1024);
  const found = [...text.matchAll(/<([^<>\s\p{Cc}]{1,900})>/gu)].map((m) => m[1]!);
  const ids = found.length ? found : text.split(/\s+/).filter((s) => /^[^<>\s@\p{Cc}]{1,400}@[^<>\s@\p{Cc}]{1,400}$/u.test(s));
  return [...new Set(ids)].slice(-max);
}

const addressesOf = (v: AddressObject | AddressObject[] | undefined) => (Array.isArray(v) ? v : v ? [v] : []).flatMap((a) => a.value);

/** A header's value as text (structured ones by their main value), or ''. */
function headerText(headers: Map<string, HeaderValue>, name: string): string {
  const v = headers.get(name);
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(String).join(' ');
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object' && 'value' in v && typeof v.value === 'string') return v.value;
  if (typeof v === 'object' && 'text' in v && typeof v.text === 'string') return v.text;
  return '';
}

const AUTO_REPLY_SUBJECT = /^\s*(?:auto(?:matic)?\s*(?:reply|response)|autoreply|out of (?:the )?office|trả lời tự động|tự động trả lời|thư trả lời tự động|vắng mặt|abwesend|absence|réponse automatique)\b/i;

/**
 * Whether a machine wrote the message, by its headers (RFC 3834 Auto-Submitted, Precedence,
 * List-*, the vendors' X- headers), its sender and its shape (a delivery report).
 */
export function automatedOf(headers: Map<string, HeaderValue>, from: string | null, subject: string, delivery: DeliveryNotice | null): Automated | null {
  const local = from ? from.slice(0, from.lastIndexOf('@')).toLowerCase() : '';
  const type = headers.get('content-type');
  const reportType = type && typeof type === 'object' && 'params' in type ? String((type.params as Record<string, string>)['report-type'] ?? '').toLowerCase() : '';
  if (delivery || reportType === 'delivery-status' || headers.has('x-failed-recipients')) return { kind: 'bounce', reason: delivery ? 'delivery-status report (RFC 3464)' : reportType ? 'multipart/report; report-type=delivery-status' : 'X-Failed-Recipients' };
  if (local === 'mailer-daemon' || local === 'postmaster' || local === 'mail-daemon') return { kind: 'bounce', reason: `sent by ${local}` };
  const auto = headerText(headers, 'auto-submitted').trim().toLowerCase();
  if (auto.startsWith('auto-replied')) return { kind: 'auto_reply', reason: 'Auto-Submitted: auto-replied' };
  if (headers.has('x-autoreply') || headers.has('x-autorespond') || headerText(headers, 'x-autogenerated').toLowerCase() === 'reply') return { kind: 'auto_reply', reason: 'X-Autoreply / X-Autorespond' };
  const precedence = headerText(headers, 'precedence').trim().toLowerCase();
  if (precedence === 'auto_reply') return { kind: 'auto_reply', reason: 'Precedence: auto_reply' };
  if (AUTO_REPLY_SUBJECT.test(subject.slice(0, 200))) return { kind: 'auto_reply', reason: 'an automatic reply\'s subject' };
  if (auto && auto !== 'no') return { kind: 'auto_generated', reason: `Auto-Submitted: ${clean(auto, 40)}` };
  if (precedence === 'bulk' || precedence === 'list' || precedence === 'junk') return { kind: 'bulk', reason: `Precedence: ${precedence}` };
  if (headers.has('list-id') || headers.has('list-unsubscribe')) return { kind: 'list', reason: headers.has('list-id') ? 'List-Id' : 'List-Unsubscribe' };
  if (/^(?:no-?reply|do-?not-?reply|noreply-[\w.-]*|notifications?)$/.test(local)) return { kind: 'no_reply', reason: `sent from ${local}@` };
  return null;
}

/** Reads a message/delivery-status part (RFC 3464): its per-recipient fields. */
export function parseDeliveryStatus(text: string): DeliveryRecipient[] {
  // Fields may be folded onto the next line; blocks are separated by blank lines.
  const unfolded = text.slice(0, 64 * 1024).replace(/\r\n?/g, '\n').replace(/\n[ \t]+/g, ' ');
  const out: DeliveryRecipient[] = [];
  for (const block of unfolded.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    for (const line of block.split('\n')) {
      const m = /^([A-Za-z-]{1,40}):\s*(.{0,1000})$/.exec(line);
      if (m) fields.set(m[1]!.toLowerCase(), m[2]!.trim());
    }
    const recipient = fields.get('final-recipient') ?? fields.get('original-recipient');
    if (!recipient) continue;
    const address = recipient.replace(/^[^;]*;\s*/, '').replace(/^<|>$/g, '').trim().toLowerCase();
    if (!ADDRESS.test(address)) continue;
    out.push({
      address: address.slice(0, 254), action: (fields.get('action') ?? '').toLowerCase().slice(0, 20),
      status: /^\d\.\d{1,3}\.\d{1,3}/.exec(fields.get('status') ?? '')?.[0] ?? null,
      diagnostic: fields.has('diagnostic-code') ? clean(fields.get('diagnostic-code')!, 300) : null,
    });
    if (out.length >= 20) break;
  }
  return out;
}

const MESSAGE_ID_LINE = /^message-id:\s*<([^<>\s\p{Cc}]{1,900})>/gimu;

/** The delivery report a message is, or null: its recipients and the Message-IDs it returns. */
function deliveryOf(parsed: ParsedMail, body: string): DeliveryNotice | null {
  const statusParts = parsed.attachments.filter((a) => a.contentType === 'message/delivery-status' || a.contentType === 'message/global-delivery-status');
  const recipients = statusParts.flatMap((a) => parseDeliveryStatus(a.content.toString('utf8')));
  const failedHeader = headerText(parsed.headers, 'x-failed-recipients');
  if (!statusParts.length && !failedHeader) return null;
  for (const address of failedHeader.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s.includes('@')).slice(0, 20)) {
    if (!recipients.some((r) => r.address === address)) recipients.push({ address, action: 'failed', status: null, diagnostic: null });
  }
  const returned = parsed.attachments.filter((a) => ['message/rfc822', 'text/rfc822-headers', 'message/global-headers', 'message/global'].includes(a.contentType));
  const texts = [...returned.map((a) => a.content.subarray(0, 64 * 1024).toString('utf8')), body.slice(0, 64 * 1024)];
  const ids = texts.flatMap((t) => [...t.matchAll(MESSAGE_ID_LINE)].map((m) => m[1]!));
  return { recipients, originalMessageIds: [...new Set(ids)].slice(0, 10) };
}

/** What a file is by its bytes (never its declared type or name), if we keep that kind. */
async function keptKind(bytes: Uint8Array): Promise<{ mime: string; ext: string; pdf: boolean } | null> {
  const type = await fileTypeFromBuffer(bytes);
  if (!type) return null;
  // A photo only if its header reads (dimensions present and sensible), not only its first bytes.
  if (PHOTO_TYPES.has(type.mime)) return imageProblem(bytes, type.mime) ? null : { mime: type.mime, ext: type.ext, pdf: false };
  if (type.mime === 'application/pdf') return { mime: type.mime, ext: 'pdf', pdf: true };
  return null;
}

const nameOf = (a: MailPart, n: number) => clean(a.filename ?? '', 200) || `${a.contentType.replace(/\W+/g, '-')}-${n + 1}`;

/** Keeps a message's photos and PDFs (checked by their bytes, bounded in size and number); the rest is listed as refused. */
async function keepFiles(parts: MailPart[], html: string, files: ChannelContext['files'], limits: DigestLimits): Promise<{ files: StoredFile[]; refused: RefusedFile[] }> {
  const kept: StoredFile[] = [];
  const refused: RefusedFile[] = [];
  let photos = 0;
  let pdfs = 0;
  for (const [n, a] of parts.entries()) {
    if (a.contentType.startsWith('message/') || a.contentType === 'text/rfc822-headers') continue; // read as messages, not files
    const name = nameOf(a, n);
    const refuse = (why: string) => { refused.push({ name, type: clean(a.contentType, 100), size: a.size, why }); };
    if (a.size > limits.fileMaxBytes) { refuse(`larger than ${limits.fileMaxBytes} bytes`); continue; }
    const bytes = new Uint8Array(a.content.buffer, a.content.byteOffset, a.content.byteLength);
    const kind = await keptKind(bytes);
    if (!kind) { refuse('not a photo or a PDF'); continue; }
    const inline = a.contentDisposition === 'inline' || (a.cid !== undefined && html.includes(`cid:${a.cid}`));
    if (!kind.pdf && inline && a.size < DECORATION_MAX_BYTES) { refuse('a small inline image (a logo or a spacer)'); continue; }
    if (kind.pdf ? pdfs >= limits.pdfsMax : photos >= limits.photosMax) { refuse(kind.pdf ? `more than ${limits.pdfsMax} PDFs` : `more than ${limits.photosMax} photos`); continue; }
    if (kind.pdf) pdfs++;
    else photos++;
    const stored = await files.put(bytes, kind.mime, kind.ext);
    kept.push({ ...stored, name });
  }
  return { files: kept, refused };
}

/** A date as residents read it, in Ho Chi Minh City time (UTC+7 all year): 20/05/2025 19:40. */
function vietnamTime(iso: string): string {
  const d = new Date(new Date(iso).getTime() + 7 * 3_600_000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${p(d.getUTCMonth() + 1)}/${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}`;
}

/** A forwarded message (attached as message/rfc822) as the lines a reader of the forward sees. */
function forwardedBlock(d: MailDigest): string {
  const head = [
    '---------- Thư chuyển tiếp ----------',
    d.from.address ? `Từ: ${d.from.name ? `${d.from.name} ` : ''}<${d.from.address}>` : null,
    d.date ? `Ngày: ${vietnamTime(d.date)}` : null,
    d.subject ? `Tiêu đề: ${d.subject}` : null,
  ].filter(Boolean);
  return `${head.join('\n')}\n\n${d.body}`;
}

/**
 * Reads a raw message (RFC 822): headers, the body as NFC text in whatever charset it came,
 * HTML made text, quoted history folded away, photos and PDFs stored, a forwarded message
 * (attached) read into the body, and whether a machine wrote it. Throws `email_unparsable` when
 * it is not a message one can answer (no sender address, or not MIME at all).
 */
export async function digestMail(raw: Uint8Array, files: ChannelContext['files'], limits: DigestLimits, depth = 0): Promise<MailDigest> {
  let parsed: ParsedMail;
  try {
    parsed = await simpleParser(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength), {
      Iconv: LegacyCharsetDecoder, skipHtmlToText: true, keepCidLinks: true, keepDeliveryStatus: true, skipTextToHtml: true, skipTextLinks: true,
    } as Parameters<typeof simpleParser>[1]);
  } catch (err) {
    throw unparsable((err as Error).message.slice(0, 300));
  }
  const sender = addressesOf(parsed.from)[0];
  const fromAddress = sender?.address && ADDRESS.test(sender.address) ? sender.address.toLowerCase() : null;
  if (!fromAddress && depth === 0) throw unparsable(parsed.headers.size === 0 ? 'no headers: not an RFC 822 message' : 'no sender address (From)');
  const subject = clean(repairTcvn3(parsed.subject ?? ''), 500);
  let body = '';
  let bodyFrom: MailDigest['bodyFrom'] = 'none';
  if (parsed.text && parsed.text.trim()) {
    body = parsed.text;
    bodyFrom = 'text';
  } else if (typeof parsed.html === 'string' && parsed.html.trim()) {
    body = htmlToPlainText(parsed.html);
    bodyFrom = 'html';
  }
  body = clean(body, BODY_MAX).replace(/[ \t]+$/gm, '').trim();
  const html = typeof parsed.html === 'string' ? parsed.html.slice(0, 1_000_000) : '';
  const kept = await keepFiles(parsed.attachments, html, files, limits);
  // A message forwarded as an attachment (Outlook's "Forward as attachment") is read as part of this one.
  let forwarded = false;
  if (depth === 0) {
    for (const a of parsed.attachments.filter((p) => p.contentType === 'message/rfc822' || p.contentType === 'message/global').slice(0, 3)) {
      const inner = await digestMail(new Uint8Array(a.content), files, { ...limits, photosMax: limits.photosMax - kept.files.filter((f) => f.content_type !== 'application/pdf').length, pdfsMax: limits.pdfsMax - kept.files.filter((f) => f.content_type === 'application/pdf').length }, depth + 1).catch(() => null);
      if (!inner) continue;
      forwarded = true;
      body = clean(`${body}\n\n${forwardedBlock(inner)}`, BODY_MAX).trim();
      kept.files.push(...inner.files);
      kept.refused.push(...inner.refused);
    }
  }
  const delivery = depth === 0 ? deliveryOf(parsed, body) : null;
  const forward = forwarded || isForward(subject, body);
  const folded = forward ? { text: body, history: '' } : foldQuotes(body, subject);
  const replyTo = addressesOf(parsed.replyTo)[0]?.address?.toLowerCase() ?? null;
  const messageId = parsed.messageId ? bareId(parsed.messageId) : null;
  return {
    messageId,
    inReplyTo: idsOf(parsed.inReplyTo, 5),
    references: idsOf(parsed.references),
    subject,
    from: { address: fromAddress, name: sender?.name ? clean(repairTcvn3(sender.name), 120) || null : null },
    replyTo: replyTo && replyTo !== fromAddress && ADDRESS.test(replyTo) && replyTo.includes('.', replyTo.indexOf('@')) ? replyTo : null,
    to: addressesOf(parsed.to).map((a) => a.address?.toLowerCase() ?? '').filter((a) => ADDRESS.test(a)).slice(0, 20),
    date: parsed.date && !Number.isNaN(parsed.date.getTime()) ? parsed.date.toISOString() : null,
    body, bodyFrom, text: folded.text, history: folded.history, forward,
    files: kept.files, refused: kept.refused,
    automated: depth === 0 ? automatedOf(parsed.headers, fromAddress, subject, delivery) : null,
    delivery,
  };
}
