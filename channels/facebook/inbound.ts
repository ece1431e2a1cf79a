import { isAppError, type ChannelContext } from '../../src/intake/channel-kit.ts';
import type { WebhookEvent } from './events.ts';
import { graphPost } from './graph.ts';
import { CHANNEL, noteKey } from './notes.ts';
import { parseComment, parseMessage } from './parse.ts';
import { applyReceipt } from './receipts.ts';
import type { FacebookSettings } from './settings.ts';
import { greeting } from './wording.ts';

// What the webhook does with the events of one body, all before it answers Meta: every message
// and comment that is a report is stored raw (ctx.intake.accept, idempotent on its id), then what
// the channel keeps beside them is noted (the m.me link that
// opened a conversation, edits of comments), and receipts update what we sent. The report itself
// is made later, by the inbound job, through the adapter's `parse`.

/** The payload of the "Get Started" button (set on the Page's Messenger profile, see README, Facebook fanpage). */
export const GET_STARTED = 'GET_STARTED';
/** An m.me link or ad is credited to the person's next message within this time. */
const REFERRAL_TTL_MS = 24 * 3_600_000;

type Ctx = ChannelContext<FacebookSettings>;
type Of<T extends WebhookEvent['type']> = Extract<WebhookEvent, { type: T }>;

/** What one body came to (logged by the route). */
export interface Tally {
  stored: number;
  replayed: number;
  receipts: number;
  noted: number;
  /** Events not handled, by reason (`echo`, `standby`, `reaction`...). */
  ignored: Record<string, number>;
}

interface Stored {
  code: string;
  replay: boolean;
}

/**
 * Stores one message or comment. A redelivery whose payload differs from the first (Meta adds a
 * field to an old event) is the same message all the same: it must not fail the whole body.
 */
async function store(ctx: Ctx, externalId: string, endpoint: string, payload: unknown): Promise<Stored> {
  try {
    const a = await ctx.intake.accept({ channel: CHANNEL, externalId, endpoint, payload });
    return { code: a.code, replay: a.replay };
  } catch (err) {
    if (!isAppError(err) || err.code !== 'idempotency_key_conflict') throw err;
    ctx.log.warn({ channel: CHANNEL, externalId }, 'facebook event redelivered with another payload; the first is kept');
    return { code: '', replay: true };
  }
}

/** Answers "Get Started" with how to report, without holding the webhook's answer (a lost greeting is only logged). */
function greet(ctx: Ctx, e: Of<'postback'>): void {
  const text = greeting(ctx.city.hotline, ctx.config.PUBLIC_URL);
  graphPost<{ message_id?: unknown }>(ctx.settings, '/me/messages', { recipient: { id: e.psid }, messaging_type: 'RESPONSE', message: { text } })
    .then((r) => ctx.note(CHANNEL, noteKey.postback(e.psid, e.timestamp), 'greeted', { message_id: typeof r.message_id === 'string' ? r.message_id : null }))
    .catch((err: unknown) => ctx.log.warn({ channel: CHANNEL, err: err instanceof Error ? err.message : String(err) }, 'facebook greeting not sent'));
}

/** Handles the events of one webhook body (see the file's comment). */
export async function handleEvents(ctx: Ctx, events: WebhookEvent[]): Promise<Tally> {
  const tally: Tally = { stored: 0, replayed: 0, receipts: 0, noted: 0, ignored: {} };
  const ignore = (why: string) => { tally.ignored[why] = (tally.ignored[why] ?? 0) + 1; };
  const of = <T extends WebhookEvent['type']>(type: T) => events.filter((e): e is Of<T> => e.type === type);
  for (const e of of('ignored')) ignore(e.why);

  // 1. Reports, stored in the order they were written (one body may batch them out of order):
  // the next message of a thread continues the report of the one before. All in one turn of the
  // event loop, so that intake writes them in one statement.
  const keep = (isReport: boolean, why: string) => {
    if (!isReport) ignore(why);
    return isReport;
  };
  const messages = of('message').sort((a, b) => a.timestamp - b.timestamp)
    .filter((e) => keep(parseMessage(e.raw) !== null, 'no_content')); // a sticker, a like
  const comments = of('comment').filter((e) => e.verb === 'add')
    .filter((e) => keep(parseComment(e.raw) !== null, 'empty_comment'));
  const [storedMessages, storedComments] = await Promise.all([
    Promise.all(messages.map((e) => store(ctx, e.mid, e.pageId, e.raw))),
    Promise.all(comments.map((e) => store(ctx, noteKey.comment(e.commentId), e.pageId, e.raw))),
  ]);
  for (const s of [...storedMessages, ...storedComments]) if (s.replay) tally.replayed++; else tally.stored++;

  // 2. Buttons and links: "Get Started" is answered once (Meta may resend it), a referral waits
  // for the person's next message.
  for (const e of of('postback')) {
    const key = noteKey.postback(e.psid, e.timestamp);
    if ((await ctx.notes(CHANNEL, key)).length) continue;
    await ctx.note(CHANNEL, key, 'postback', { payload: e.payload.slice(0, 200), ...(e.referral ? { referral: e.referral } : {}) });
    tally.noted++;
    if (e.referral) await ctx.note(CHANNEL, noteKey.referral(e.psid), 'referral', { ...e.referral, timestamp: e.timestamp });
    if (e.payload === GET_STARTED) greet(ctx, e);
  }
  for (const e of of('referral')) {
    await ctx.note(CHANNEL, noteKey.referral(e.psid), 'referral', { ...e.referral, timestamp: e.timestamp });
    tally.noted++;
  }
  // The person's first new message after a referral carries it, beside its report.
  const firsts = new Map<string, string>();
  for (const [i, e] of messages.entries()) if (!storedMessages[i]!.replay && !firsts.has(e.psid)) firsts.set(e.psid, e.mid);
  for (const [psid, mid] of firsts) {
    const notes = await ctx.notes(CHANNEL, noteKey.referral(psid));
    const last = notes.at(-1);
    if (!last || last.kind !== 'referral' || Date.now() - last.at.getTime() > REFERRAL_TTL_MS) continue;
    const { timestamp: _t, ...referral } = last.data;
    await ctx.note(CHANNEL, mid, 'referral', referral);
    await ctx.note(CHANNEL, noteKey.referral(psid), 'referral_used', { mid });
    tally.noted++;
  }

  // 4. A message edited or taken back, a comment edited, removed, hidden: noted beside its
  // report (under the same external id), never a new one.
  for (const e of of('message_change')) {
    await ctx.note(CHANNEL, e.mid, `message_${e.change}`, e.text !== null ? { text: e.text } : {});
    tally.noted++;
  }
  for (const e of of('comment')) {
    if (e.verb === 'add') continue;
    await ctx.note(CHANNEL, noteKey.comment(e.commentId), `comment_${e.verb}`, {
      ...(e.verb === 'edited' && e.message !== null ? { message: e.message } : {}), created_time: e.createdTime,
    });
    tally.noted++;
  }

  // 5. Receipts on what we sent.
  for (const e of of('delivery')) tally.receipts += await applyReceipt(ctx, e.psid, 'delivered', e.mids, e.watermark);
  for (const e of of('read')) tally.receipts += await applyReceipt(ctx, e.psid, 'read', [], e.watermark);
  return tally;
}
