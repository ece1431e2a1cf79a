import { AppError } from '../../src/intake/channel-kit.ts';
import type { FacebookSettings } from './settings.ts';
import { appSecretProof } from './signature.ts';

// The few Graph API calls the channel makes (the Send API, a reply under a comment), with the
// global fetch. The Page token goes as the access_token parameter Meta documents, with its
// appsecret_proof; it is never put in an error message or a log line (errors name the path,
// which holds ids only). Graph's answer decides what a failure is: one that another try cannot
// mend (the person blocked the Page, the reply window closed, the comment is gone) becomes an
// AppError of UNDELIVERABLE_CODES; anything else (5xx, rate limits, a network failure, a token
// Meta refuses) is thrown as is, for the outbound job to retry with backoff.

/** How long one Graph call may take before it counts as failed (and is retried). */
const GRAPH_TIMEOUT_MS = 15_000;
/** How much of Graph's answer is read (its answers to us are a few hundred bytes). */
const ANSWER_MAX_CHARS = 64 * 1024;

/** Graph's error object (`{"error":{...}}`). */
export interface GraphErrorBody {
  message?: string;
  type?: string;
  code?: number;
  error_subcode?: number;
  fbtrace_id?: string;
}

const vi = {
  window: 'Không thể nhắn tin cho người dân qua Messenger nữa: đã quá thời hạn Facebook cho phép Trang trả lời. Vui lòng liên hệ qua số điện thoại hoặc email nếu có.',
  blocked: 'Người dân hiện không nhận được tin nhắn Messenger từ Trang (có thể đã chặn Trang hoặc không còn dùng tài khoản). Vui lòng liên hệ qua kênh khác.',
  unknownUser: 'Facebook không tìm thấy người nhận này. Vui lòng liên hệ qua kênh khác.',
  commentGone: 'Bình luận này không còn trên Trang (đã bị xoá hoặc ẩn), không thể trả lời dưới bình luận.',
  alreadyPrivate: 'Bình luận này đã được trả lời riêng một lần; Facebook chỉ cho phép một tin nhắn riêng cho mỗi bình luận.',
  notReplyable: 'Facebook không cho phép trả lời bình luận này.',
  appNotLive: 'Ứng dụng Facebook của Trang chưa được phép nhắn tin cho người này (ứng dụng chưa được Meta duyệt).',
} as const;

/** Subcodes that say the 24-hour / 7-day window is closed ("This message is sent outside of allowed window"). */
const WINDOW_SUBCODES: ReadonlySet<number> = new Set([2018065, 2018278, 2534022]);

/**
 * Graph errors after which another try cannot succeed, as an UNDELIVERABLE_CODES code and what
 * an agent reads; null for anything else. From Meta's Messenger and Pages error code tables.
 */
export function permanentFailure(e: GraphErrorBody): { code: string; vi: string } | null {
  const { code, error_subcode: sub } = e;
  if (code === 551) return { code: 'recipient_unreachable', vi: vi.blocked }; // "This person isn't available right now"
  if (code === 200 && sub === 1545041) return { code: 'recipient_unreachable', vi: vi.blocked };
  // Code 10 (or 100) with these subcodes: outside the allowed window.
  if (sub !== undefined && WINDOW_SUBCODES.has(sub)) return { code: 'recipient_unreachable', vi: vi.window };
  if (code === 10 && sub === 2018108) return { code: 'recipient_unreachable', vi: vi.appNotLive }; // app in development mode
  if (code === 100 && sub === 2018001) return { code: 'recipient_invalid', vi: vi.unknownUser }; // "No matching user found"
  if (code === 100 && sub === 33) return { code: 'recipient_unreachable', vi: vi.commentGone }; // object does not exist
  if (code === 10900) return { code: 'recipient_unreachable', vi: vi.alreadyPrivate }; // "Activity already replied to"
  if (code === 10903) return { code: 'recipient_unreachable', vi: vi.notReplyable }; // "This activity can't be replied to"
  return null;
}

/** POSTs JSON to a Graph path (`/me/messages`) as the Page; returns Graph's JSON answer. */
export async function graphPost<T>(s: FacebookSettings, path: string, body: Record<string, unknown>): Promise<T> {
  const url = new URL(`${s.FB_GRAPH_URL}${path}`);
  url.searchParams.set('access_token', s.FB_PAGE_ACCESS_TOKEN);
  url.searchParams.set('appsecret_proof', appSecretProof(s.FB_PAGE_ACCESS_TOKEN, s.FB_APP_SECRET));
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(GRAPH_TIMEOUT_MS),
    });
  } catch (err) {
    // Not the error itself: some carry the URL, and with it the token.
    const cause = (err as { cause?: { code?: unknown } }).cause?.code;
    throw new Error(`graph POST ${path} failed: ${(err as Error).name}${typeof cause === 'string' ? ` (${cause})` : ''}`);
  }
  const text = (await res.text()).slice(0, ANSWER_MAX_CHARS);
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // a proxy's HTML page, a cut answer: handled below as a failure
  }
  const error = (json as { error?: GraphErrorBody } | null)?.error;
  if (res.ok && json && typeof json === 'object' && !error) return json as T;
  const e: GraphErrorBody = error && typeof error === 'object' ? error : {};
  const what = `graph POST ${path} answered ${res.status}: ${e.type ?? 'error'} ${e.code ?? '-'}/${e.error_subcode ?? '-'} ${String(e.message ?? '').slice(0, 300)}${e.fbtrace_id ? ` (fbtrace ${String(e.fbtrace_id).slice(0, 40)})` : ''}`;
  const final = res.status < 500 ? permanentFailure(e) : null;
  if (final) throw new AppError(final.code, 422, what, final.vi, { graph_code: e.code, graph_subcode: e.error_subcode });
  throw new Error(what);
}
