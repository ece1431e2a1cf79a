import { AppError } from '../core/errors.ts';
import { isConnectionError } from '../db/connection-error.ts';

/** What a refusal for a database outage asks the caller to wait (Retry-After, seconds). */
export const DATABASE_RETRY_SECONDS = 30;

/**
 * A database outage as callers see it: 503 `database_unavailable`, nothing stored, retry as is
 * (a report goes to the spool instead and never meets this; an answer, a sign-in or a staff action
 * does). Null for any other error.
 */
export function unavailableError(err: unknown): AppError | null {
  if (!isConnectionError(err)) return null;
  return new AppError('database_unavailable', 503, 'the database is not answering; nothing was stored, try again in a minute',
    'Hệ thống tạm thời gián đoạn, yêu cầu chưa được ghi nhận. Vui lòng thử lại sau ít phút.', { retry_after_seconds: DATABASE_RETRY_SECONDS });
}
