import { createHash } from 'node:crypto';
import { isAppError, REPORT_LIMITS, type ChannelContext } from '../../src/intake/channel-kit.ts';
import { digestMail, type DeliveryRecipient, type MailDigest } from './digest.ts';
import { allNotes, CHANNEL, externalIdOf, latest, msgKey, note, reportKey, type ReportNote } from './notes.ts';
import type { EmailPayload, RawRef } from './parse.ts';
import { mailboxesOf, senderOf, type EmailSettings } from './settings.ts';
import { decideThread, ownThreadKey, reportOfOurId, type Threading } from './threading.ts';

/** At most this many PDFs are kept from one message (scanned letters); photos follow REPORT_LIMITS.photosMax. */
export const PDFS_MAX = 3;

/** What became of one message of a mailbox. */
export type Outcome = 'stored' | 'duplicate' | 'bounce' | 'auto_reply' | 'loop' | 'quarantine';

/** Where a message was read: which mailbox, in which UIDVALIDITY, at which UID. */
export interface Location {
  mailbox: string;
  uidValidity: string;
  uid: number;
}

/**
 * Where the tests stop the channel as a crash would (a hook that throws): after the inbound row
 * is committed but before anything else is noted, and after a message is stored but before the
 * server is told (\Seen or moved).
 */
export const faults: { afterAccept?: ((externalId: string) => void) | undefined; afterStore?: ((uid: number) => void) | undefined } = {};

/**
 * What a second look at a message finds done: stored, or set aside before any report. (A
 * `duplicate` note is not: a copy met first may have been noted while the original's own notes
 * were still to be written.)
 */
const DONE = new Set(['stored', 'bounce', 'auto_reply', 'loop']);

/** Our own addresses: MAIL_FROM and the mailboxes' users. Mail from them is a loop, never a report. */
export function ownAddresses(s: EmailSettings): Set<string> {
  const own = new Set([senderOf(s).address]);
  for (const m of mailboxesOf(s)) if (m.user.includes('@')) own.add(m.user.toLowerCase());
  return own;
}

/** The bytes' hash: the id of a message without a Message-ID, or that could not be read. */
const hashOf = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Stores the raw bytes (content-addressed, fsync'd) before anything is read from them. */
export async function keepRaw(ctx: ChannelContext<EmailSettings>, source: Uint8Array): Promise<RawRef> {
  const stored = await ctx.files.put(source, 'message/rfc822', 'eml');
  return { key: stored.key, size: stored.size, sha256: stored.sha256 };
}

/** The sender's address as the raw header block names it (for admins, when the message cannot be read whole), or null. */
export function senderOfRaw(source: Uint8Array): string | null {
  const head = Buffer.from(source.buffer, source.byteOffset, Math.min(source.byteLength, 32 * 1024)).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  const from = /^from:[ \t]*([^\r\n]{0,400})/im.exec(end >= 0 ? head.slice(0, end) : head)?.[1] ?? '';
  const address = /<([^<>\s@]{1,64}@[^<>\s@]{1,190})>/.exec(from)?.[1] ?? /(?:^|\s)([^<>\s@"]{1,64}@[^<>\s@"]{1,190})(?:\s|$)/.exec(from)?.[1];
  return address ? address.toLowerCase() : null;
}

/**
 * Quarantines a message: kept raw (when we have it) and held for admins with its error (the
 * kit's quarantine), never a report and no inbound row, so no job fails over it. Read again (a
 * restart before it was marked) it is held once, its attempts counted.
 */
export async function quarantine(ctx: ChannelContext<EmailSettings>, at: Location, raw: RawRef | null, externalId: string, error: { code: string; message: string }, receivedAt: Date, more: { size?: number | null; sender?: string | null } = {}): Promise<{ outcome: Outcome; code?: string }> {
  const held = await ctx.quarantine({
    channel: CHANNEL, endpoint: at.mailbox, externalId, place: { ...at }, rawKey: raw?.key ?? null,
    size: raw?.size ?? more.size ?? null, sender: more.sender ?? null, error, receivedAt,
  });
  if (held.first) ctx.log.warn({ channel: CHANNEL, mailbox: at.mailbox, uid: at.uid, code: error.code, err: error.message, raw: raw?.key ?? null, quarantine: held.id }, 'email quarantined: kept raw, not a report');
  return { outcome: 'quarantine' };
}

/** A plain-text bounce says the failure is temporary (a 4.x.x status, "delayed", "will retry"). */
const TRANSIENT_BOUNCE = /\b4\.\d{1,3}\.\d{1,3}\b|\bdelayed\b|will (?:be )?retr(?:y|ied)|tạm thời/i;
/** An address as a bounce's text names it. */
const NAMED_ADDRESS = /[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}/g;

/**
 * The recipients a bounce without a delivery-status part (a mailer daemon's plain text) fails:
 * the citizen of a report whose message of ours it quotes, and any address it names that is a
 * known citizen's. Permanent unless its text says the failure is temporary.
 */
async function plainBounceRecipients(ctx: ChannelContext<EmailSettings>, mail: MailDigest, ourReports: string[]): Promise<DeliveryRecipient[]> {
  const text = mail.body.slice(0, 64 * 1024);
  const status = /\b([45])\.\d{1,3}\.\d{1,3}\b/.exec(text)?.[0] ?? null;
  const action = !status?.startsWith('5') && TRANSIENT_BOUNCE.test(text) ? 'delayed' : 'failed';
  const own = ownAddresses(ctx.settings);
  const named = [...new Set([...text.matchAll(NAMED_ADDRESS)].map((m) => m[0].toLowerCase()))].filter((a) => !own.has(a) && a !== mail.from.address).slice(0, 10);
  const found = new Set<string>();
  for (const code of ourReports) {
    const n = await latest<ReportNote>(ctx, reportKey(code), 'message');
    const to = n ? (n.replyTo ?? n.from) : null;
    if (to && (named.length === 0 || named.includes(to))) found.add(to);
  }
  for (const address of named.slice(0, 5)) {
    if (found.has(address)) continue;
    if (await ctx.citizenCard({ email: address })) found.add(address);
  }
  return [...found].map((address) => ({ address, action, status, diagnostic: null }));
}

/** Marks addresses a delivery report says are dead, and tells the outbound messages it returns that they failed. */
async function applyBounce(ctx: ChannelContext<EmailSettings>, mail: MailDigest, domain: string): Promise<Record<string, unknown>> {
  const d = mail.delivery;
  // The mail it returns, when it is ours: by the returned headers, or our ids anywhere in the text.
  const ids = new Set([...(d?.originalMessageIds ?? []), ...(d ? [] : [...mail.inReplyTo, ...mail.references])]);
  for (const m of mail.body.slice(0, 64 * 1024).matchAll(/<(1022\.PA-[0-9A-Z]{8}\.\d{1,12}\.[0-9a-f]{6,32}@[^<>\s]{1,253})>/g)) ids.add(m[1]!);
  const ours = [...ids].filter((id) => reportOfOurId(id, domain)).slice(0, 5);
  // A mailer daemon's plain text (no multipart/report): who it names, as an RFC 3464 report would.
  const recipients = d ? d.recipients : await plainBounceRecipients(ctx, mail, [...new Set(ours.map((id) => reportOfOurId(id, domain)!))]);
  const failed = recipients.filter((r) => r.action === 'failed');
  // Permanent: a 5.x.x status, or "failed" with none given. A delay (4.x.x) changes nothing yet.
  const permanent = failed.filter((r) => !r.status || r.status.startsWith('5'));
  for (const r of permanent) await ctx.optOuts.set(CHANNEL, r.address, true, 'bounce');
  for (const providerId of ours) {
    const status = permanent[0]?.status ?? failed[0]?.status ?? undefined;
    await ctx.delivery({ channel: CHANNEL, providerId, status: failed.length ? 'failed' : 'undelivered', errorCode: status, permanent: permanent.length > 0 });
  }
  return { recipients, messages: ours, opted_out: permanent.map((r) => r.address), plain_text: !d };
}

/** What a stored payload says of how to answer its message (an email payload's), or null for anything else. */
export function noteOfPayload(payload: unknown): ReportNote | null {
  const p = payload as Partial<EmailPayload> | null;
  if (!p || p.v !== 1 || !p.mail || typeof p.thread !== 'string' || !p.mail.from?.address) return null;
  return reportNoteOf(p.mail, p.thread, '');
}

/** The report note of a message: how to answer it, and whether automatically. */
function reportNoteOf(mail: MailDigest, threadKey: string, mailbox: string): ReportNote {
  const a = mail.automated;
  return {
    from: mail.from.address!, replyTo: mail.replyTo, name: mail.from.name,
    messageId: mail.messageId, references: [...mail.references, ...(mail.messageId ? [mail.messageId] : [])].slice(-20),
    subject: mail.subject, threadKey,
    noAutoReply: a ? `${a.kind}: ${a.reason}` : null, mailbox,
  };
}

/**
 * Stores one message of a mailbox, or sets it aside; never both, never twice. In order: the raw
 * bytes (file store), what they say (parsed; unreadable -> quarantine), whether we have it already
 * (by Message-ID, else by its bytes), whether a machine wrote it (a bounce marks the address dead,
 * an auto-reply and our own mail are only noted), which report it continues (decided once, kept,
 * so that a retry stores the same payload), then the inbound row and its job (intake), then the
 * notes a reply and the next message need. The caller marks it \Seen (or moves it) only after
 * this returns.
 */
export async function storeMessage(ctx: ChannelContext<EmailSettings>, at: Location, source: Uint8Array, internalDate: Date | null): Promise<{ outcome: Outcome; code?: string }> {
  const sender = senderOf(ctx.settings);
  const receivedAt = internalDate && internalDate.getTime() < Date.now() ? internalDate : new Date();
  const raw = await keepRaw(ctx, source);
  const sha256 = hashOf(source);
  let mail: MailDigest;
  try {
    mail = await digestMail(source, ctx.files, { fileMaxBytes: ctx.config.UPLOAD_MAX_BYTES, photosMax: REPORT_LIMITS.photosMax, pdfsMax: PDFS_MAX });
  } catch (err) {
    if (!isAppError(err)) throw err;
    return quarantine(ctx, at, raw, externalIdOf(null, sha256), { code: err.code, message: err.message }, receivedAt, { sender: senderOfRaw(source) });
  }
  const externalId = externalIdOf(mail.messageId, sha256);
  const seen = await allNotes(ctx, msgKey(externalId));
  const done = seen.find((n) => DONE.has(n.kind));
  if (done) {
    const first = done.data as Partial<Location>;
    // The same message again: a restart before it was marked, or a copy in another mailbox or UIDVALIDITY.
    if (first.mailbox !== at.mailbox || first.uidValidity !== at.uidValidity || first.uid !== at.uid) {
      await note(ctx, msgKey(externalId), 'duplicate', { ...at, raw, first: done.kind });
    }
    return { outcome: done.kind === 'stored' ? 'duplicate' : (done.kind as Outcome) };
  }
  const from = mail.from.address!;
  if (ownAddresses(ctx.settings).has(from)) {
    await note(ctx, msgKey(externalId), 'loop', { ...at, raw, from });
    return { outcome: 'loop' };
  }
  if (mail.automated?.kind === 'bounce') {
    const applied = await applyBounce(ctx, mail, sender.domain);
    await note(ctx, msgKey(externalId), 'bounce', { ...at, raw, from, subject: mail.subject, ...applied });
    return { outcome: 'bounce' };
  }
  if (mail.automated?.kind === 'auto_reply') {
    await note(ctx, msgKey(externalId), 'auto_reply', { ...at, raw, from, subject: mail.subject, reason: mail.automated.reason });
    return { outcome: 'auto_reply' };
  }
  const decided = seen.find((n) => n.kind === 'decided');
  let threading: Threading | null;
  if (decided) threading = (decided.data as { threading: Threading | null }).threading;
  else {
    threading = await decideThread(ctx, mail, sender.domain);
    await note(ctx, msgKey(externalId), 'decided', { threading });
  }
  const threadKey = threading?.key ?? ownThreadKey(externalId);
  const payload: EmailPayload = { v: 1, raw, mail, thread: threadKey, threading };
  let accepted;
  try {
    accepted = await ctx.intake.accept({ channel: CHANNEL, externalId, endpoint: at.mailbox, payload, receivedAt });
  } catch (err) {
    // Stored before under this Message-ID with other bytes (a copy that took another path, or
    // a sender reusing an id): one message, already a report; this copy stays raw and noted.
    if (isAppError(err) && err.code === 'idempotency_key_conflict') {
      await note(ctx, msgKey(externalId), 'duplicate', { ...at, raw, why: 'same Message-ID, other bytes' });
      return { outcome: 'duplicate' };
    }
    throw err;
  }
  faults.afterAccept?.(externalId);
  const report = threading?.report ?? accepted.code;
  await note(ctx, msgKey(externalId), 'stored', { ...at, code: accepted.code, report });
  const info = reportNoteOf(mail, threadKey, at.mailbox);
  await note(ctx, reportKey(accepted.code), 'message', info);
  if (threading) await note(ctx, reportKey(threading.report), 'message', info);
  return { outcome: 'stored', code: accepted.code };
}
