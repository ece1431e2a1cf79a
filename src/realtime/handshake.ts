import type { IncomingMessage } from 'node:http';
import type { ExtendedError } from 'socket.io';
import { resolveSession, sessionId, sessionTokenFromCookies } from '../core/staff/sessions.ts';
import type { Db } from '../db/schema.ts';
import type { Logger } from '../log.ts';
import type { RealtimeSocket } from './rooms.ts';

/** A connect_error the client can tell apart: `err.message` and `err.data.code` are the code. */
function refusal(code: string): ExtendedError {
  return Object.assign(new Error(code), { data: { code } });
}

/**
 * Browsers send Origin on WebSocket and XHR handshakes; a page of another site must not ride
 * the session cookie (cross-site WebSocket hijacking). Clients that send no Origin (server-side
 * clients) are not browsers acting for someone else.
 */
export function originAllowed(req: IncomingMessage, publicUrl: string | undefined): boolean {
  const origin = req.headers.origin;
  if (!origin) return true;
  try {
    const host = new URL(origin).host;
    if (req.headers.host && host === req.headers.host) return true;
    return publicUrl !== undefined && new URL(publicUrl).origin === origin;
  } catch {
    return false;
  }
}

/** The `lastSeq` a client sent in its handshake's `auth`, when it is a non-negative integer. */
export function lastSeqOf(auth: unknown): number | null {
  const v = auth && typeof auth === 'object' ? (auth as { lastSeq?: unknown }).lastSeq : undefined;
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null;
}

/**
 * The handshake middleware: the session cookie must name a live session, whose user becomes
 * the socket's data and whose id is noted in `sessionOf` (for revalidation). The cookie is
 * then dropped from the handshake, which fetchSockets ships to other processes.
 */
export function authenticate(db: Db, log: Logger, sessionOf: WeakMap<RealtimeSocket, string>) {
  return (socket: RealtimeSocket, next: (err?: ExtendedError) => void) => {
    const token = sessionTokenFromCookies(socket.handshake.headers.cookie);
    resolveSession(db, token).then((found) => {
      const user = found?.user;
      if (!user || !token) return next(refusal('session_required'));
      sessionOf.set(socket, sessionId(token));
      socket.data = { userId: user.id, username: user.username, displayName: user.displayName, role: user.role, areaCodes: [...user.areaCodes] };
      // fetchSockets ships the handshake to the other processes (through NOTIFY, and the
      // attachments table when large): the session token must not travel with it.
      const headers = { ...socket.handshake.headers };
      delete headers.cookie;
      socket.handshake.headers = headers;
      next();
    }, (err: unknown) => {
      log.error({ err }, 'realtime: session lookup failed');
      next(refusal('session_check_failed'));
    });
  };
}
