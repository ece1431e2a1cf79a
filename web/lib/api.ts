// The one way the browser talks to the server: same-origin fetch with the session cookie, the
// CSRF header on writes, and errors turned into ApiError carrying the Vietnamese message.

import type { SessionUser } from '../../src/wire/staff-api.ts';

export type { Role, SessionUser } from '../../src/wire/staff-api.ts';

export interface Session {
  user: SessionUser;
  csrf: string;
}

/** An error answer of the API (or the network): `messageVi` is what the user is shown. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly messageVi: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(messageVi);
    this.name = 'ApiError';
  }
}

const FALLBACK_VI: Record<number, string> = {
  400: 'Yêu cầu không hợp lệ.',
  401: 'Phiên đăng nhập đã hết, vui lòng đăng nhập lại.',
  403: 'Bạn không có quyền thực hiện thao tác này.',
  404: 'Không tìm thấy dữ liệu.',
  409: 'Dữ liệu vừa được người khác thay đổi, vui lòng thử lại.',
  413: 'Dữ liệu gửi lên quá lớn.',
  422: 'Dữ liệu chưa hợp lệ.',
  429: 'Thao tác quá nhanh, vui lòng thử lại sau ít phút.',
};

/** The Vietnamese message for anything thrown by `api()` (or anything else). */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.messageVi;
  return 'Đã có lỗi xảy ra, vui lòng thử lại.';
}

let current: Promise<Session> | null = null;

/** Sends the browser to the sign-in page, coming back here afterwards. */
export function goToLogin(): void {
  const next = location.pathname + location.search + location.hash;
  location.assign(`/login?next=${encodeURIComponent(next)}`);
}

async function toApiError(res: Response): Promise<ApiError> {
  let body: { error?: { code?: string; message?: string; message_vi?: string; details?: Record<string, unknown> } } | null = null;
  try {
    body = await res.json();
  } catch {
    // not JSON (a proxy's page): fall back to the status
  }
  const e = body?.error;
  const vi = e?.message_vi || FALLBACK_VI[res.status] || (res.status >= 500 ? 'Hệ thống đang gặp sự cố, vui lòng thử lại sau.' : 'Đã có lỗi xảy ra, vui lòng thử lại.');
  return new ApiError(res.status, e?.code ?? `http_${res.status}`, vi, e?.details);
}

async function send(method: string, path: string, body: unknown, csrf: string | null, extra: Record<string, string> = {}): Promise<Response> {
  const headers: Record<string, string> = { ...extra, Accept: 'application/json' };
  if (csrf) headers['X-CSRF-Token'] = csrf;
  let payload: BodyInit | undefined;
  if (body instanceof FormData) {
    payload = body; // the browser sets the multipart boundary
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  try {
    return await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'network_error', 'Không kết nối được máy chủ, vui lòng kiểm tra mạng và thử lại.');
  }
}

/** The signed-in user and the CSRF token (fetched once; `refresh` asks again). */
export function session(refresh = false): Promise<Session> {
  if (!current || refresh) {
    const p = (async () => {
      const res = await send('GET', '/api/session', undefined, null);
      if (res.status === 401) {
        goToLogin();
        throw await toApiError(res);
      }
      if (!res.ok) throw await toApiError(res);
      return (await res.json()) as Session;
    })();
    current = p;
    p.catch(() => {
      if (current === p) current = null;
    });
  }
  return current;
}

/**
 * Calls the API. Writes carry the CSRF header; a refused token (the session was renewed in
 * another tab) is fetched again and the call retried once. 401 sends the user to sign in.
 * `headers`: more request headers (an Idempotency-Key).
 */
export async function api<T>(method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
  const write = method !== 'GET';
  let csrf = write ? (await session()).csrf : null;
  let res = await send(method, path, body, csrf, headers);
  if (write && res.status === 403) {
    const err = await toApiError(res.clone());
    if (err.code === 'csrf_token_invalid') {
      csrf = (await session(true)).csrf;
      res = await send(method, path, body, csrf, headers);
    }
  }
  if (res.status === 401) {
    goToLogin();
    throw await toApiError(res);
  }
  if (!res.ok) throw await toApiError(res);
  return (await res.json()) as T;
}
