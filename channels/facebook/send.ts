import { AppError, type ChannelContext, type OutboundMessage, type SendResult } from '../../src/intake/channel-kit.ts';
import { DIGIT_ID } from './events.ts';
import { graphPost } from './graph.ts';
import { CHANNEL, commentTarget, noteKey, type CommentTarget } from './notes.ts';
import type { FacebookSettings } from './settings.ts';
import { publicNotice, unreachable } from './wording.ts';

// Answers through the fanpage. A Messenger report is answered by the Send API within Meta's
// windows, counted from the citizen's last message (`lastInboundAt`): anything within 24 hours
// (RESPONSE); after that only a person's answer, for 7 days, tagged HUMAN_AGENT; nothing after
// that, and no automatic notice after 24 hours (the message is undeliverable and the ticket shows
// it with the citizen's other contacts). A comment report is answered under the comment (a public
// reply; notices worded for the public), or once, privately, by Messenger (`private_reply`).

const HOUR = 3_600_000;
/** Meta's standard messaging window after a person's last message. */
export const REPLY_WINDOW_MS = 24 * HOUR;
/** How long after a person's last message a human agent may still answer (the HUMAN_AGENT tag). */
export const HUMAN_AGENT_WINDOW_MS = 7 * 24 * HOUR;
/** How long after a comment was written its one private reply may be sent. */
export const PRIVATE_REPLY_WINDOW_MS = 7 * 24 * HOUR;
/**
 * Our clock and Meta's differ a little and a send takes time: a notice this close to the end of
 * the 24 hours is not attempted (Meta would refuse it), an agent's answer goes tagged.
 */
const WINDOW_MARGIN_MS = 60_000;
/** Longest text of one Messenger message (Send API); longer answers go as several. */
export const MESSENGER_TEXT_MAX = 2000;
/** Longest comment Facebook takes. */
const COMMENT_TEXT_MAX = 8000;
/** At most this many Messenger messages for one answer (the longest notice, a resolution with its result, takes 3). */
const PARTS_MAX = 5;

/** What a person writes (an agent's answer), as opposed to a notice the system sends by itself. */
const BY_A_PERSON: ReadonlySet<string> = new Set(['reply', 'private_reply']);

export type MessagingType = { messaging_type: 'RESPONSE' } | { messaging_type: 'MESSAGE_TAG'; tag: 'HUMAN_AGENT' };

/**
 * How a message of `kind` may go by Messenger at `now`, given the citizen's last message; the
 * reason (as the ticket shows it) when it cannot.
 */
export function messagingTypeFor(kind: string, lastInboundAt: Date | null, now: Date): MessagingType | { refused: string } {
  if (!lastInboundAt) return { refused: unreachable.neverWrote };
  const age = Math.max(0, now.getTime() - lastInboundAt.getTime());
  if (age <= REPLY_WINDOW_MS - WINDOW_MARGIN_MS) return { messaging_type: 'RESPONSE' };
  if (!BY_A_PERSON.has(kind)) return { refused: age <= HUMAN_AGENT_WINDOW_MS ? unreachable.noticeAfterDay : unreachable.afterWeek };
  if (age <= HUMAN_AGENT_WINDOW_MS - WINDOW_MARGIN_MS) return { messaging_type: 'MESSAGE_TAG', tag: 'HUMAN_AGENT' };
  return { refused: unreachable.afterWeek };
}

/** A text cut into Messenger-sized parts: at a line break or a space where it can, never inside a character. */
export function messageParts(text: string, max = MESSENGER_TEXT_MAX): string[] {
  const parts: string[] = [];
  let rest = text.trim();
  while (rest.length > max && parts.length < PARTS_MAX - 1) {
    let cut = rest.lastIndexOf('\n', max);
    if (cut < max / 2) cut = rest.lastIndexOf(' ', max);
    if (cut < max / 2) cut = max;
    const c = rest.charCodeAt(cut - 1);
    if (c >= 0xd800 && c <= 0xdbff) cut--;
    parts.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest.length > max) rest = `${rest.slice(0, max - 1)}…`;
  if (rest) parts.push(rest);
  return parts;
}

/** Sends a message by Messenger to the person a report came from (or who is known by a Messenger id). */
async function sendMessenger(m: OutboundMessage, ctx: ChannelContext<FacebookSettings>, now: Date): Promise<SendResult> {
  const psid = m.contact.facebook_id?.trim();
  if (!psid || !DIGIT_ID.test(psid)) throw new AppError('recipient_missing', 422, 'the citizen has no Messenger id', unreachable.noPsid);
  const how = messagingTypeFor(m.kind, m.lastInboundAt, now);
  if ('refused' in how) {
    throw new AppError('recipient_unreachable', 422,
      `Messenger window closed for a ${m.kind} (last message from the citizen: ${m.lastInboundAt?.toISOString() ?? 'never'})`, how.refused);
  }
  const parts = messageParts(m.body);
  // A retry after some parts of a long answer went out sends only the rest.
  const sent = m.attempt > 1 && parts.length > 1 ? await partsSent(ctx, psid, m.id, now) : new Map<number, string>();
  for (const [part, text] of parts.entries()) {
    if (sent.has(part)) continue;
    const before = Date.now();
    const r = await graphPost<{ message_id?: unknown }>(ctx.settings, '/me/messages', { recipient: { id: psid }, ...how, message: { text } });
    if (typeof r.message_id !== 'string' || r.message_id.length > 200) throw new Error('graph POST /me/messages answered without a message_id');
    // Delivery and read receipts name a time, not a message: they are matched against these.
    await ctx.note(CHANNEL, noteKey.sent(psid, new Date(before)), 'sent', { mid: r.message_id, sent_at: before, outbound: m.id, part });
    sent.set(part, r.message_id);
  }
  return { providerId: sent.get(parts.length - 1), to: psid };
}

/** The parts of outbound message `id` already sent to `psid` (this month or the last), by part. */
async function partsSent(ctx: ChannelContext<FacebookSettings>, psid: string, id: number, now: Date): Promise<Map<number, string>> {
  const lastMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
  const notes = [...await ctx.notes(CHANNEL, noteKey.sent(psid, lastMonth)), ...await ctx.notes(CHANNEL, noteKey.sent(psid, now))];
  const sent = new Map<number, string>();
  for (const n of notes) {
    if (n.kind === 'sent' && n.data.outbound === id && typeof n.data.part === 'number' && typeof n.data.mid === 'string') sent.set(n.data.part, n.data.mid);
  }
  return sent;
}

/** Answers a comment report: publicly under the comment, or (`private_reply`) once by Messenger. */
async function sendOnComment(m: OutboundMessage, target: CommentTarget, ctx: ChannelContext<FacebookSettings>, now: Date): Promise<SendResult> {
  const comment = target.comment_id;
  if (m.kind === 'private_reply') {
    const written = target.created_time !== null ? target.created_time * 1000 : null;
    if (written !== null && now.getTime() - written > PRIVATE_REPLY_WINDOW_MS - WINDOW_MARGIN_MS) {
      throw new AppError('recipient_unreachable', 422, `private reply to comment ${comment} more than 7 days after it was written`, unreachable.privateAfterWeek);
    }
    const earlier = (await ctx.notes(CHANNEL, noteKey.comment(comment))).some((n) => n.kind === 'private_reply');
    if (earlier) throw new AppError('recipient_unreachable', 422, `comment ${comment} already had its one private reply`, unreachable.privateTwice);
    const text = messageParts(m.body)[0] ?? '';
    const r = await graphPost<{ message_id?: unknown; recipient_id?: unknown }>(ctx.settings, '/me/messages', { recipient: { comment_id: comment }, message: { text } });
    if (typeof r.message_id !== 'string' || r.message_id.length > 200) throw new Error('graph POST /me/messages answered without a message_id');
    const psid = typeof r.recipient_id === 'string' && DIGIT_ID.test(r.recipient_id) ? r.recipient_id : null;
    // The commenter's Messenger id: their answer opens a conversation (a report of its own).
    await ctx.note(CHANNEL, noteKey.comment(comment), 'private_reply', { message_id: r.message_id, psid, outbound: m.id });
    if (psid) await ctx.note(CHANNEL, noteKey.sent(psid, now), 'sent', { mid: r.message_id, sent_at: now.getTime(), outbound: m.id });
    return { providerId: r.message_id, to: psid ?? `comment:${comment}` };
  }
  const text = publicNotice(m.kind, m.reportCode, m.body, ctx.city.hotline, ctx.config.PUBLIC_URL).slice(0, COMMENT_TEXT_MAX);
  // Under the comment; a comment that is itself a reply is answered in its thread, as Facebook
  // shows a reply to a reply (threads are one level deep).
  const under = target.parent_id ?? comment;
  const r = await graphPost<{ id?: unknown }>(ctx.settings, `/${under}/comments`, { message: text });
  if (typeof r.id !== 'string' || r.id.length > 200) throw new Error(`graph POST /${under}/comments answered without an id`);
  return { providerId: r.id, to: `comment:${comment}` };
}

/**
 * The channel's `send`: a report from a comment is answered on the comment, any other (a
 * Messenger report, or a citizen known by their Messenger id) by Messenger.
 */
export async function sendToCitizen(m: OutboundMessage, ctx: ChannelContext<FacebookSettings>): Promise<SendResult> {
  const now = new Date();
  // Only a report that came through this channel can be a comment (`endpoint` is its Page); its
  // stored feed change says which (read with the message: no note the webhook has yet to write).
  const target = m.endpoint !== null ? commentTarget(m.source) : null;
  return target ? sendOnComment(m, target, ctx, now) : sendMessenger(m, ctx, now);
}
