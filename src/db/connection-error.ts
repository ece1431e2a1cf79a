// SQLSTATE classes and socket errors that mean "the database is not there", as opposed to
// "the database refused this statement". Only the first may be answered from the spool: a
// constraint violation or a bad value must still fail the request.

const SOCKET_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH',
  'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN', 'EADDRNOTAVAIL',
]);

// 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up or shutting down).
const SQLSTATES = new Set(['57P01', '57P02', '57P03']);

// pg reports some losses only in the message: a pool connect timeout, a socket closed mid-query.
const MESSAGES = [
  /timeout exceeded when trying to connect/i,
  /connection terminated/i,
  /connection error and is not queryable/i,
  /client was closed and is not queryable/i,
  /connect(ion)? timeout/i,
];

/** True when `err` says the database could not be reached (refused, reset, shut down, timed out). */
export function isConnectionError(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 3) return false;
  const e = err as { code?: unknown; message?: unknown; errors?: unknown; cause?: unknown };
  if (typeof e.code === 'string' && (SOCKET_CODES.has(e.code) || SQLSTATES.has(e.code) || /^08[0-9A-Z]{3}$/.test(e.code))) return true;
  if (typeof e.message === 'string' && MESSAGES.some((re) => re.test(e.message as string))) return true;
  // Node reports a refused connection to a name with several addresses as an AggregateError.
  if (Array.isArray(e.errors) && e.errors.some((x) => isConnectionError(x, depth + 1))) return true;
  return isConnectionError(e.cause, depth + 1);
}

// 40001 serialization_failure, 40P01 deadlock_detected, 53xxx insufficient resources, 55P03
// lock_not_available, 57014 query_canceled (a statement timeout), 58xxx system errors.
const TRANSIENT = /^(40001|40P01|53...|55P03|57014|58...)$/;

/**
 * True when the database refused a statement for a reason of the moment (a deadlock, a timeout,
 * no memory) that the same statement may not meet again: worth a retry. A data or constraint
 * error, or an error that is not the database's at all, is not.
 */
export function isTransientError(err: unknown): boolean {
  const code = err && typeof err === 'object' ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && TRANSIENT.test(code);
}
