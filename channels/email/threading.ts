import { createHash, createHmac } from 'node:crypto';
import { canonicalCode, type ChannelContext } from '../../src/intake/channel-kit.ts';
import type { MailDigest } from './digest.ts';
import { CHANNEL, externalIdOf, latest, msgKey, reportKey, type ReportNote } from './notes.ts';

// A follow-up is not a new complaint: before identity and grouping guess, the channel looks
// whether a message answers one of ours (In-Reply-To / References name a Message-ID we made,
// which carries the report's code), continues the citizen's own earlier message (its
// Message-ID is one we stored), or names a tracking code in its subject. Only a sender who is
// one of that ticket's reporters joins it; anyone else quoting a code opens a report of their
// own, which grouping may put on the same ticket.

/** How long after its last message a conversation can still be continued by a reply (while its ticket is open). */
export const THREAD_MINUTES = 90 * 24 * 60;

/** What a message continues, and how that was found. */
export interface Threading {
  /** The report it continues. */
  report: string;
  /** That report's conversation key. */
  key: string;
  via: 'in_reply_to' | 'references' | 'subject_code';
  /** The Message-ID or code that matched. */
  matched: string;
}

/** The conversation key of a message that opens a report. */
export const ownThreadKey = (externalId: string) => `m:${createHash('sha256').update(externalId).digest('hex').slice(0, 32)}`;

/**
 * The Message-ID of our message `id` answering report `code`, in our domain: the code lets a
 * reply find its report; the same message sent again (a retry) gets the same id, so the
 * citizen's mail client shows it once.
 */
export function ourMessageId(code: string, id: number, domain: string, secret: string): string {
  return `1022.${code}.${id}.${createHmac('sha256', secret).update(`${code}.${id}`).digest('hex').slice(0, 16)}@${domain}`;
}

/** The report code a Message-ID of ours names (made by `ourMessageId` in `domain`), or null. */
export function reportOfOurId(id: string, domain: string): string | null {
  const m = /^1022\.(PA-[0-9A-Z]{8})\.\d{1,12}\.[0-9a-f]{6,32}@(.{1,253})$/.exec(id);
  return m && m[2]!.toLowerCase() === domain.toLowerCase() ? m[1]! : null;
}

/** Tracking codes (PA-/TK-) a subject names, canonical, at most three. */
export function codesIn(subject: string): string[] {
  const found = [...subject.slice(0, 500).matchAll(/\b(?:PA|TK)[-\s]?[0-9A-Z]{8}\b/gi)].map((m) => canonicalCode(m[0]));
  return [...new Set(found.filter((c): c is string => c !== null))].slice(0, 3);
}

type Lookups = Pick<ChannelContext, 'notes' | 'citizenCard'>;

/** The report a Message-ID belongs to: one of ours (by its form), or a message we stored. */
async function reportOfId(ctx: Lookups, id: string, domain: string): Promise<{ code: string; ours: boolean } | null> {
  const ours = reportOfOurId(id, domain);
  if (ours) return { code: ours, ours: true };
  const stored = await latest<{ report?: string }>(ctx, msgKey(externalIdOf(id, '')), 'stored');
  return stored?.report ? { code: stored.report, ours: false } : null;
}

/**
 * The email report of ticket-mate `code` that `sender` wrote: that report itself when they wrote
 * it, else their own email report on the same ticket (they are one of its reporters). Null for
 * anyone else.
 */
async function reportersOwn(ctx: Lookups, sender: string, code: string): Promise<{ code: string; note: ReportNote } | null> {
  const info = await latest<ReportNote>(ctx, reportKey(code), 'message');
  if (info && info.from === sender) return { code, note: info };
  const card = await ctx.citizenCard({ email: sender });
  if (!card) return null;
  // The same citizen by another of their addresses (merged identities).
  if (info && card.reports.some((r) => r.code === code)) return { code, note: info };
  // Another reporter of the same ticket: their own email report there.
  const ticket = code.startsWith('TK-') ? code : info ? (await ctx.citizenCard({ email: info.from }))?.reports.find((r) => r.code === code)?.ticketCode : undefined;
  if (!ticket) return null;
  for (const r of card.reports.filter((x) => x.ticketCode === ticket && x.channel === CHANNEL)) {
    const own = await latest<ReportNote>(ctx, reportKey(r.code), 'message');
    if (own) return { code: r.code, note: own };
  }
  return null;
}

/**
 * Which report a message continues, or null when it opens one: a reply to our Message-ID or to
 * the citizen's own earlier message, then a code in the subject; each only when the sender is
 * one of that ticket's reporters.
 */
export async function decideThread(ctx: Lookups, mail: MailDigest, domain: string): Promise<Threading | null> {
  const sender = mail.from.address;
  if (!sender) return null;
  const ids = [...new Set([...mail.inReplyTo, ...[...mail.references].reverse()])].slice(0, 20);
  for (const id of ids) {
    const hit = await reportOfId(ctx, id, domain);
    if (!hit) continue;
    const own = await reportersOwn(ctx, sender, hit.code);
    if (own) return { report: own.code, key: own.note.threadKey, via: mail.inReplyTo.includes(id) ? 'in_reply_to' : 'references', matched: id };
  }
  for (const code of codesIn(mail.subject)) {
    const own = await reportersOwn(ctx, sender, code);
    if (own) return { report: own.code, key: own.note.threadKey, via: 'subject_code', matched: code };
  }
  return null;
}
