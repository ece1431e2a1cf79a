import { AppError, cleanText } from '../../src/intake/channel-kit.ts';

// What one webhook body from Meta holds, read defensively: every field a stranger could send is
// checked for its type and bounded before anything uses it, and a body holds at most
// WEBHOOK_EVENTS_MAX events. An event we do not handle, or one malformed, is `ignored` with a
// short reason (counted and logged by the route), never an error: Meta resends a whole body that
// was not answered 200, so one odd event must not hold back the others.

/** Largest webhook body accepted (Meta batches at most 1000 events; a message event is a few hundred bytes). */
export const WEBHOOK_MAX_BYTES = 1024 * 1024;
/** Most events (messaging items and feed changes, all entries together) one body may hold. */
export const WEBHOOK_EVENTS_MAX = 1000;
/** Most message ids one delivery receipt may name. */
const DELIVERY_MIDS_MAX = 100;

/** Page-scoped ids, Page ids and user ids: digits only (what identity.ts accepts for facebook_id). */
export const DIGIT_ID = /^\d{5,25}$/;
/** Post and comment ids: `<digits>_<digits>` (`<page id>_<post id>`, `<post id>_<comment id>`). */
export const OBJECT_ID = /^\d{1,30}_\d{1,30}$/;
/**
 * Message ids: today's (`m_` and about 90 base64url characters) and older ones
 * (`mid.1457764197618:41d102a3e1ae206a38`, `mid.$cAAJ...`) are longer than 64 characters, so
 * they get 200 (what a channel note keeps of an id) and a strict alphabet instead.
 */
export const MESSAGE_ID = /^[\w.:$+/=-]{1,200}$/;

/** The parameters of an m.me link or an ad that opened the conversation. */
export interface Referral {
  ref?: string;
  source?: string;
  type?: string;
  ad_id?: string;
}

/** What a comment on the Page's feed became: written, edited, removed, hidden or shown again. */
export type CommentVerb = 'add' | 'edited' | 'remove' | 'hide' | 'unhide';

type Raw = Record<string, unknown>;

/** One event of a webhook body, as the route handles it. `raw` is the event exactly as Meta sent it. */
export type WebhookEvent =
  | { type: 'message'; pageId: string; psid: string; mid: string; timestamp: number; raw: Raw }
  | { type: 'message_change'; pageId: string; psid: string; mid: string; change: 'edited' | 'unsent'; text: string | null }
  | {
    type: 'comment'; pageId: string; commentId: string; postId: string; verb: CommentVerb;
    /** The comment it answers, when it is a reply in a comment's thread (else null: it is on the post). */
    parentId: string | null;
    fromId: string | null; createdTime: number | null; message: string | null; raw: Raw;
  }
  | { type: 'delivery'; pageId: string; psid: string; mids: string[]; watermark: number | null }
  | { type: 'read'; pageId: string; psid: string; watermark: number }
  | { type: 'postback'; pageId: string; psid: string; payload: string; timestamp: number; referral: Referral | null }
  | { type: 'referral'; pageId: string; psid: string; timestamp: number; referral: Referral }
  | { type: 'ignored'; why: string };

const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown, max: number): string | null => (typeof v === 'string' && v.length > 0 && v.length <= max ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null);
const idOf = (v: unknown): string | null => {
  const id = isObject(v) ? str(v.id, 25) : null;
  return id && DIGIT_ID.test(id) ? id : null;
};
/** A name from the payload fit for a log line and a count (an event type, a webhook field). */
const label = (v: unknown): string => (typeof v === 'string' && /^[a-z_]{1,40}$/.test(v) ? v : 'other');
const ignored = (why: string): WebhookEvent => ({ type: 'ignored', why });
const invalid = (why: string) => new AppError('facebook_payload_invalid', 400, why);

function referralOf(v: unknown): Referral | null {
  if (!isObject(v)) return null;
  const r: Referral = {};
  // An m.me ref is at most 250 characters of [A-Za-z0-9+/=-.:_]; the others are Meta's words.
  const ref = str(v.ref, 250);
  if (ref && /^[\w+/=.:-]+$/.test(ref)) r.ref = ref;
  const source = str(v.source, 40);
  if (source) r.source = label(source.toLowerCase());
  const type = str(v.type, 40);
  if (type) r.type = label(type.toLowerCase());
  const ad = str(v.ad_id, 25);
  if (ad && /^\d+$/.test(ad)) r.ad_id = ad;
  return Object.keys(r).length ? r : null;
}

/** The keys of a messaging item other than the envelope: what kind of event it is. */
function kindOf(item: Raw): string {
  for (const k of Object.keys(item).slice(0, 20)) if (k !== 'sender' && k !== 'recipient' && k !== 'timestamp') return label(k);
  return 'empty';
}

function messagingEvent(pageId: string, item: unknown): WebhookEvent {
  if (!isObject(item)) return ignored('invalid_item');
  const psid = idOf(item.sender);
  const timestamp = num(item.timestamp) ?? 0;
  if (isObject(item.message)) {
    const m = item.message;
    // The Page's own messages (an agent in the Page inbox, or ours) come back as echoes.
    if (m.is_echo === true) return ignored('echo');
    if (!psid) return ignored('invalid_sender');
    if (psid === pageId) return ignored('own_message');
    const mid = str(m.mid, 200);
    if (!mid || !MESSAGE_ID.test(mid)) return ignored('invalid_mid');
    // A message its sender took back ("unsend"): noted beside its report, the report stays.
    if (m.is_deleted === true) return { type: 'message_change', pageId, psid, mid, change: 'unsent', text: null };
    return { type: 'message', pageId, psid, mid, timestamp, raw: item };
  }
  if (!psid) return ignored(`invalid_sender_${kindOf(item)}`);
  if (isObject(item.message_edit)) {
    const mid = str(item.message_edit.mid, 200);
    if (!mid || !MESSAGE_ID.test(mid)) return ignored('invalid_mid');
    const text = typeof item.message_edit.text === 'string' ? cleanText(item.message_edit.text.slice(0, 2000)).trim() : null;
    return { type: 'message_change', pageId, psid, mid, change: 'edited', text };
  }
  if (isObject(item.delivery)) {
    const d = item.delivery;
    const mids = Array.isArray(d.mids)
      ? d.mids.slice(0, DELIVERY_MIDS_MAX).filter((x): x is string => typeof x === 'string' && x.length <= 200 && MESSAGE_ID.test(x))
      : [];
    const watermark = num(d.watermark);
    if (!mids.length && watermark === null) return ignored('invalid_delivery');
    return { type: 'delivery', pageId, psid, mids, watermark };
  }
  if (isObject(item.read)) {
    const watermark = num(item.read.watermark);
    return watermark === null ? ignored('invalid_read') : { type: 'read', pageId, psid, watermark };
  }
  if (isObject(item.postback)) {
    const payload = str(item.postback.payload, 1000);
    if (!payload) return ignored('invalid_postback');
    return { type: 'postback', pageId, psid, payload, timestamp, referral: referralOf(item.postback.referral) };
  }
  if (isObject(item.referral)) {
    const referral = referralOf(item.referral);
    return referral ? { type: 'referral', pageId, psid, timestamp, referral } : ignored('invalid_referral');
  }
  return ignored(kindOf(item));
}

const VERBS: ReadonlySet<string> = new Set(['add', 'edited', 'remove', 'hide', 'unhide']);

function changeEvent(pageId: string, change: unknown): WebhookEvent {
  if (!isObject(change)) return ignored('invalid_change');
  if (change.field !== 'feed') return ignored(`field_${label(change.field)}`);
  const v = change.value;
  if (!isObject(v)) return ignored('invalid_feed');
  // Posts, reactions, shares... on the Page's feed: only comments are reports.
  if (v.item !== 'comment') return ignored(`feed_${label(v.item)}`);
  if (typeof v.verb !== 'string' || !VERBS.has(v.verb)) return ignored(`comment_${label(v.verb)}`);
  const commentId = str(v.comment_id, 64);
  const postId = str(v.post_id, 64);
  if (!commentId || !OBJECT_ID.test(commentId) || !postId || !OBJECT_ID.test(postId)) return ignored('invalid_comment_id');
  const fromId = idOf(v.from);
  if (fromId === pageId) return ignored('own_comment');
  const verb = v.verb as CommentVerb;
  if (verb === 'add' && !fromId) return ignored('invalid_commenter');
  // Meta's created_time is in seconds; taken in milliseconds too, should it ever come so.
  const created = num(v.created_time);
  const parent = str(v.parent_id, 64);
  return {
    type: 'comment', pageId, commentId, postId, verb, fromId,
    parentId: parent && parent !== postId && OBJECT_ID.test(parent) ? parent : null,
    createdTime: created !== null && created > 1e12 ? Math.floor(created / 1000) : created,
    message: typeof v.message === 'string' ? cleanText(v.message.slice(0, 2000)).trim() : null, raw: change,
  };
}

/**
 * The events of a webhook body (already a JSON object): Messenger's `entry[].messaging[]` and the
 * feed's `entry[].changes[]`, in order. A body that is not a Page webhook's shape is
 * `facebook_payload_invalid` (400); events of another Page than `onlyPage` are ignored.
 */
export function readWebhook(body: Raw, onlyPage?: string): WebhookEvent[] {
  // The app may be subscribed to other objects (an Instagram account, the app itself): not ours.
  if (body.object !== 'page') return [ignored(`object_${label(body.object)}`)];
  if (!Array.isArray(body.entry)) throw invalid('entry must be an array');
  if (body.entry.length > WEBHOOK_EVENTS_MAX) throw invalid(`more than ${WEBHOOK_EVENTS_MAX} entries`);
  let total = 0;
  for (const e of body.entry) {
    if (!isObject(e)) continue;
    for (const k of ['messaging', 'changes', 'standby'] as const) {
      const list = e[k];
      if (list !== undefined && !Array.isArray(list)) throw invalid(`entry.${k} must be an array`);
      total += Array.isArray(list) ? list.length : 0;
    }
  }
  if (total > WEBHOOK_EVENTS_MAX) throw invalid(`more than ${WEBHOOK_EVENTS_MAX} events`);
  const events: WebhookEvent[] = [];
  for (const e of body.entry as unknown[]) {
    if (!isObject(e)) {
      events.push(ignored('invalid_entry'));
      continue;
    }
    const pageId = str(e.id, 25);
    const messaging = (e.messaging ?? []) as unknown[];
    const changes = (e.changes ?? []) as unknown[];
    // Messages another app handles (the handover protocol's secondary receiver): not ours to answer.
    for (let i = 0; i < ((e.standby ?? []) as unknown[]).length; i++) events.push(ignored('standby'));
    if (!pageId || !DIGIT_ID.test(pageId)) {
      for (let i = 0; i < messaging.length + changes.length; i++) events.push(ignored('invalid_page'));
      continue;
    }
    if (onlyPage && pageId !== onlyPage) {
      for (let i = 0; i < messaging.length + changes.length; i++) events.push(ignored('other_page'));
      continue;
    }
    for (const item of messaging) events.push(messagingEvent(pageId, item));
    for (const change of changes) events.push(changeEvent(pageId, change));
  }
  return events;
}
