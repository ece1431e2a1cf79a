import { AppError, REPORT_LIMITS, type InboundReport, type MessageReading } from '../../src/intake/channel-kit.ts';
import { cut, type MailDigest } from './digest.ts';
import { bareSubject } from './quotes.ts';
import { THREAD_MINUTES, type Threading } from './threading.ts';

/** The raw message as the file store keeps it (content-addressed, written before the row). */
export interface RawRef {
  key: string;
  size: number;
  sha256: string;
}

/** What the channel stores for one message (inbound_messages.payload): the raw source's place, what was read from it, and its thread. */
export interface EmailPayload {
  v: 1;
  raw: RawRef | null;
  /** What was read from it (absent when it could not be read). */
  mail?: MailDigest;
  /** The conversation it opens (its own key), or the one it continues. */
  thread?: string;
  /** The report it continues, decided at intake. */
  threading?: Threading | null;
  /** Why it could not be read: the message is quarantined, its job fails visibly with this. */
  quarantine?: { code: string; message: string };
  /** Where it was read (for an operator; it does not make two copies two reports). */
  mailbox?: string;
}

/** What a report is called when its mail had no words at all. */
const NO_TEXT = 'Thư điện tử không có nội dung';

/** Subjects that say nothing of the problem ("Phản ánh", "Góp ý", "(no subject)"). */
const EMPTY_SUBJECT = /^(?:\(?(?:no subject|không có tiêu đề|không tiêu đề)\)?|phản ánh|phan anh|kiến nghị|góp ý|gop y|hello|xin chào|chào|hi|1022|test|untitled)?[\s.!:]*$/i;

/** The report's text: the subject when it says something, then the citizen's own words. */
export function reportText(mail: MailDigest, continuing: boolean): string {
  const subject = bareSubject(mail.subject);
  const words = mail.text.trim();
  // A reply's subject is the thread's ("Re: Ngập nước ... [PA-...]"): only its words are new.
  const lead = !continuing && subject && !EMPTY_SUBJECT.test(subject) && !words.slice(0, subject.length + 20).includes(subject) ? subject : '';
  let text = [lead, words].filter(Boolean).join('\n\n');
  if (!text && !continuing) {
    text = mail.files.length ? `${subject || 'Thư điện tử'} (gửi kèm ${mail.files.length} tệp)` : subject || NO_TEXT;
  }
  return cut(text, REPORT_LIMITS.textMax);
}

/** A stored message into the report model; a quarantined one fails here, visibly, with its reason. */
export function parseEmail(payload: unknown): InboundReport {
  const p = payload as Partial<EmailPayload> | null;
  if (!p || p.v !== 1) throw new AppError('email_payload_invalid', 422, 'not an email payload of this version');
  if (p.quarantine || !p.mail) {
    const q = p.quarantine ?? { code: 'email_unparsable', message: 'nothing was read from the message' };
    throw new AppError(q.code, 422, `quarantined: ${q.message} (raw message ${p.raw?.key ?? 'not stored'})`, 'Thư điện tử này không đọc được; bản gốc được giữ để kiểm tra.');
  }
  const mail = p.mail;
  const continuing = Boolean(p.threading);
  return {
    text: reportText(mail, continuing),
    citizen: { email: mail.from.address ?? undefined, name: mail.from.name ?? undefined },
    attachments: mail.files.map((f) => ({ key: f.key, content_type: f.content_type, size: f.size, sha256: f.sha256, name: f.name })),
    ...(p.thread ? { thread: { key: p.thread, withinMinutes: THREAD_MINUTES } } : {}),
  };
}

/**
 * A stored message as an agent reads it: the sender's own words (the text part, or the HTML made
 * text), the quoted history apart (split at intake by `foldQuotes`), its kept files by name.
 * Null for a payload that holds no message (a quarantined one).
 */
export function readEmail(payload: unknown): MessageReading | null {
  const p = payload as Partial<EmailPayload> | null;
  if (!p || p.v !== 1 || !p.mail) return null;
  const m = p.mail;
  const from = m.from.address ? (m.from.name ? `${m.from.name} <${m.from.address}>` : m.from.address) : m.from.name;
  return {
    subject: m.subject || null, from: from ?? null, sent_at: m.date, text: m.text, quoted: m.history, body_from: m.bodyFrom,
    attachments: m.files.map((f) => ({ key: f.key, content_type: f.content_type, size: f.size, sha256: f.sha256, name: f.name })),
  };
}
