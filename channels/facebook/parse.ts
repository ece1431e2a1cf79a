import { AppError, cleanText, REPORT_LIMITS, type InboundReport, type RemoteMedia } from '../../src/intake/channel-kit.ts';

// A stored event (exactly as Meta sent it: a Messenger messaging item, or a feed change for a
// comment) into the report model. Everything is bounded again here: a stored payload is read by
// the job, possibly long after, and is no more trusted than the webhook was.

/** A sender's next message within this many minutes continues their report (the address sent after the photo). */
export const MESSENGER_THREAD_MINUTES = 10;

type Raw = Record<string, unknown>;
const isObject = (v: unknown): v is Raw => typeof v === 'object' && v !== null && !Array.isArray(v);
const bounded = (v: unknown, max: number): string => (typeof v === 'string' ? cleanText(v.slice(0, max)).trim() : '');
const id = (v: unknown): string | undefined => {
  const s = isObject(v) && typeof v.id === 'string' ? v.id : undefined;
  return s && /^\d{5,25}$/.test(s) ? s : undefined;
};
const url = (v: unknown): string | undefined =>
  typeof v === 'string' && v.length <= REPORT_LIMITS.mediaUrlMax && /^https?:\/\//i.test(v) ? v : undefined;
const coordinate = (v: unknown, max: number): number | undefined => (typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= max ? v : undefined);

/** What staff read in place of what could not be kept (a video, a file) or was only a link. */
const EXTRA = {
  video: '[Người dân gửi kèm một video qua Messenger; xem trong hộp thư của Trang]',
  file: '[Người dân gửi kèm một tệp qua Messenger; xem trong hộp thư của Trang]',
} as const;

/** A Messenger message's words, photos, voice clips and point; null when it holds nothing to report (a sticker, a like). */
export function parseMessage(event: Raw): InboundReport | null {
  const psid = id(event.sender);
  const m = isObject(event.message) ? event.message : null;
  if (!psid || !m) return null;
  let text = bounded(m.text, REPORT_LIMITS.textMax);
  // A quick reply's text is its button's title; a button without one leaves its payload.
  if (!text && isObject(m.quick_reply)) text = bounded(m.quick_reply.payload, 1000);
  const media: RemoteMedia[] = [];
  const extras: string[] = [];
  let lat: number | undefined;
  let lng: number | undefined;
  let audioOnly = true;
  const attachments = Array.isArray(m.attachments) ? m.attachments.slice(0, REPORT_LIMITS.mediaMax) : [];
  for (const a of attachments) {
    if (!isObject(a) || typeof a.type !== 'string') continue;
    const p = isObject(a.payload) ? a.payload : {};
    switch (a.type) {
      case 'image':
      case 'audio': {
        // A sticker (the thumbs-up "like" too) is an image with a sticker_id: no evidence of anything.
        if (p.sticker_id !== undefined) break;
        const u = url(p.url);
        if (u) {
          media.push({ url: u });
          if (a.type === 'image') audioOnly = false;
        }
        break;
      }
      case 'location': {
        const c = isObject(p.coordinates) ? p.coordinates : {};
        const la = coordinate(c.lat, 90);
        const ln = coordinate(c.long, 180);
        if (la !== undefined && ln !== undefined && lat === undefined) {
          lat = la;
          lng = ln;
        }
        break;
      }
      case 'video':
      case 'file':
        extras.push(EXTRA[a.type]);
        break;
      case 'fallback': {
        // A shared link: its title and address, for the agent to open.
        const u = url(p.url) ?? url(a.url);
        const title = bounded(a.title ?? p.title, 200);
        if (u || title) extras.push(`[Liên kết: ${[title, u].filter(Boolean).join(' ')}]`);
        break;
      }
      default:
        break;
    }
  }
  const extra = [...new Set(extras)].join('\n');
  if (!text) {
    if (media.length) text = audioOnly ? 'Tin nhắn thoại gửi qua Messenger' : 'Ảnh gửi qua Messenger';
    else if (lat !== undefined) text = 'Vị trí gửi qua Messenger';
  }
  if (!text && !extra) return null;
  return {
    text: [text, extra].filter(Boolean).join('\n').slice(0, REPORT_LIMITS.textMax),
    lat, lng,
    citizen: { facebook_id: psid },
    attachments: [],
    media,
    thread: { key: psid, withinMinutes: MESSENGER_THREAD_MINUTES },
  };
}

/** A comment on the Page's feed (its `changes[]` item): the commenter, their words and photo; null when empty. */
export function parseComment(change: Raw): InboundReport | null {
  const v = isObject(change.value) ? change.value : null;
  if (!v || v.item !== 'comment') return null;
  const from = id(v.from);
  if (!from) return null;
  const photo = url(v.photo);
  const text = bounded(v.message, REPORT_LIMITS.textMax) || (photo ? 'Ảnh bình luận trên Trang Facebook' : '');
  if (!text) return null;
  const name = isObject(v.from) ? bounded(v.from.name, REPORT_LIMITS.nameMax) : '';
  return {
    text,
    citizen: { facebook_id: from, ...(name ? { name } : {}) },
    attachments: [],
    media: photo ? [{ url: photo }] : [],
    // No thread: each comment is answered on its own (a public reply goes under that comment).
  };
}

/** Whether a stored payload is a feed change (a comment) rather than a Messenger messaging item. */
export const isFeedChange = (payload: unknown): payload is Raw => isObject(payload) && payload.field === 'feed';

/** A stored event into the report model (the adapter's `parse`). */
export function parseEvent(payload: unknown): InboundReport {
  if (!isObject(payload)) throw new AppError('facebook_payload_invalid', 422, 'stored payload is not an object');
  const report = isFeedChange(payload) ? parseComment(payload) : parseMessage(payload);
  if (!report) throw new AppError('facebook_payload_invalid', 422, 'stored payload holds no report (no text, photo or place)');
  return report;
}
