import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { AppError, isAppError } from '../core/errors.ts';
import { unavailableError } from '../intake/unavailable.ts';
import type { Logger } from '../log.ts';

/**
 * The one JSON error shape of the API: `{"error":{"code","message","message_vi"}}`; a refused
 * form or report lists every refused field in `fields` (`[{field, code, message}]`, Vietnamese
 * messages), its first one's code at the top.
 */
export function errorBody(e: AppError) {
  const fields = Array.isArray(e.details?.fields) ? { fields: e.details.fields } : {};
  return { error: { code: e.code, message: e.message, message_vi: e.messageVi, ...fields, ...(e.details ? { details: e.details } : {}) } };
}

/** Maps any thrown value to a JSON error with a stable code; unknown errors become 500s without internals. */
export function toAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  if (err instanceof HTTPException) {
    const code = err.status === 413 ? 'payload_too_large' : err.status === 403 ? 'forbidden' : 'bad_request';
    return new AppError(code, err.status, err.message || code, err.status === 413 ? 'Dữ liệu gửi lên quá lớn.' : 'Yêu cầu không hợp lệ.');
  }
  const unavailable = unavailableError(err);
  if (unavailable) return unavailable;
  return new AppError('internal_error', 500, 'internal error', 'Hệ thống đang gặp sự cố, vui lòng thử lại sau.');
}

export function handleError(log: Logger) {
  return (err: Error, c: Context) => {
    const e = toAppError(err);
    const retryAfter = e.details?.retry_after_seconds;
    if ((e.status === 429 || e.status === 503) && typeof retryAfter === 'number') c.header('Retry-After', String(retryAfter));
    if (e.status >= 500) log.error({ err: { name: err.name, message: err.message, stack: err.stack }, path: c.req.path }, 'request failed');
    return c.json(errorBody(e), e.status as ContentfulStatusCode);
  };
}
