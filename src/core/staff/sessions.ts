import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Db, DbOrTx } from '../../db/schema.ts';
import { AppError } from '../errors.ts';
import { cleanText } from '../engine/text.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
import { ROLES, type Role, type SessionUser } from '../../wire/staff-api.ts';


/** A session ends after this long without a request (sliding). */
export const SESSION_IDLE_MS = 12 * 3600_000;
/** A session ends this long after sign-in, however active it is. */
export const SESSION_MAX_MS = 7 * 24 * 3600_000;
/** last_seen_at (and the sliding expiry) is written at most this often per session. */
const TOUCH_EVERY_MS = 60_000;

/**
 * Failed sign-ins allowed within LOGIN_WINDOW_MS: per account from one client, and per client
 * across accounts. Beyond either, that client waits; an account is never locked for a client
 * that has not failed on it, so five wrong passwords from anyone cannot lock out its owner.
 */
export const LOGIN_LIMITS = { perAccountClient: 5, perClient: 20 } as const;
/** Failures on one account from every client within the window that get it a warning in the log. */
export const LOGIN_ACCOUNT_ALERT = 20;
export const LOGIN_WINDOW_MS = 15 * 60_000;
/** Attempt rows older than this are garbage. */
const ATTEMPT_RETENTION_MS = 24 * 3600_000;
/** Longer passwords are refused without hashing (scrypt's cost grows with the input). */
const PASSWORD_MAX = 1024;

/** A live session (without its token, which only the client holds). */
export interface SessionInfo {
  /** SHA-256 (hex) of the token: the row id. */
  id: string;
  csrf: string;
  createdAt: Date;
  expiresAt: Date;
}

/** What the client receives at sign-in: the cookie token and the CSRF token for API writes. */
export interface NewSession {
  token: string;
  csrf: string;
  expiresAt: Date;
}

/** Name of the session cookie (HttpOnly, SameSite=Lax, Path=/; Secure on https). */
export const SESSION_COOKIE = 'phananh_session';

/**
 * The session token in a `Cookie` request header (the socket.io handshake carries one), or
 * undefined. Header values are bounded by the HTTP server; this reads them in one pass.
 */
export function sessionTokenFromCookies(header: string | undefined | null): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The stored id of a session token. */
export const sessionId = (token: string): string => createHash('sha256').update(token).digest('hex');

// Tokens are 32 random bytes in base64url (43 characters); anything else is not worth a query.
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** Starts a session for a user: a random 32-byte token (base64url) and a CSRF token. */
export async function createSession(db: Db, userId: number, now = new Date()): Promise<NewSession> {
  const token = randomBytes(32).toString('base64url');
  const csrf = randomBytes(32).toString('base64url');
  const expiresAt = new Date(now.getTime() + Math.min(SESSION_IDLE_MS, SESSION_MAX_MS));
  // The user's expired sessions go when they sign in again (by the user_id index).
  await db.deleteFrom('sessions').where('user_id', '=', userId).where('expires_at', '<=', now).execute();
  await db.insertInto('sessions')
    .values({ id: sessionId(token), user_id: userId, csrf_token: csrf, created_at: now, last_seen_at: now, expires_at: expiresAt })
    .execute();
  return { token, csrf, expiresAt };
}

const isRole = (r: string): r is Role => (ROLES as readonly string[]).includes(r);

/**
 * The user and session behind a token, or null when the token is unknown or expired or the
 * user is disabled. Slides the expiry (12 h idle, 7 days at most), writing at most once a minute.
 */
export async function resolveSession(db: Db, token: string | undefined | null, now = new Date()): Promise<{ user: SessionUser; session: SessionInfo } | null> {
  if (!token || !TOKEN_SHAPE.test(token)) return null;
  const id = sessionId(token);
  const row = await db.selectFrom('sessions')
    .innerJoin('users', 'users.id', 'sessions.user_id')
    .select(['sessions.csrf_token', 'sessions.created_at', 'sessions.last_seen_at', 'sessions.expires_at',
      'users.id as user_id', 'users.username', 'users.display_name', 'users.role', 'users.area_codes'])
    .where('sessions.id', '=', id)
    .where('sessions.expires_at', '>', now)
    .where('users.disabled', '=', false)
    .executeTakeFirst();
  if (!row || !isRole(row.role)) return null;
  let expiresAt = new Date(row.expires_at);
  if (now.getTime() - new Date(row.last_seen_at).getTime() >= TOUCH_EVERY_MS) {
    expiresAt = new Date(Math.min(now.getTime() + SESSION_IDLE_MS, new Date(row.created_at).getTime() + SESSION_MAX_MS));
    await db.updateTable('sessions').set({ last_seen_at: now, expires_at: expiresAt }).where('id', '=', id).execute();
  }
  return {
    user: { id: row.user_id, username: row.username, displayName: row.display_name, role: row.role, areaCodes: Array.isArray(row.area_codes) ? row.area_codes : [] },
    session: { id, csrf: row.csrf_token, createdAt: new Date(row.created_at), expiresAt },
  };
}

/** The user behind a session token, or null (unknown, expired, or the user is disabled). */
export async function sessionUser(db: Db, token: string | undefined | null, now = new Date()): Promise<SessionUser | null> {
  return (await resolveSession(db, token, now))?.user ?? null;
}

/** Ends the session of a token (sign-out); unknown tokens are ignored. */
export async function destroySession(db: Db, token: string | undefined | null): Promise<void> {
  if (!token || !TOKEN_SHAPE.test(token)) return;
  await db.deleteFrom('sessions').where('id', '=', sessionId(token)).execute();
}

/** Ends every session of a user (after disabling the account or changing its password). */
export async function destroyUserSessions(db: DbOrTx, userId: number): Promise<void> {
  await db.deleteFrom('sessions').where('user_id', '=', userId).execute();
}

/** Constant-time comparison of a session's CSRF token with the one a request carries. */
export function csrfMatches(session: Pick<SessionInfo, 'csrf'>, given: string | undefined | null): boolean {
  if (!given) return false;
  const a = Buffer.from(session.csrf);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

let dummyHash: Promise<string> | null = null;
/** A hash to verify against for unknown usernames, so that they cost the same time as real ones. */
const dummy = () => (dummyHash ??= hashPassword(randomBytes(18).toString('base64url')));

const invalid = () => new AppError('login_invalid', 401, 'wrong username or password', 'Tên đăng nhập hoặc mật khẩu không đúng.');

/**
 * Signs a user in and starts a session. At most LOGIN_LIMITS.perAccountClient failed attempts on
 * one account from one client key (IP), and LOGIN_LIMITS.perClient from one client key across
 * accounts, within LOGIN_WINDOW_MS, counted in the database so that the limits hold across
 * processes; beyond them that client's every attempt, even with the right password, gets
 * `login_rate_limited` (429). Other clients are not affected: the owner of an account that
 * someone is guessing at still signs in. Unknown users and wrong passwords get the same
 * `login_invalid` (401) after the same work. `onAccountAlert` hears of an account failing
 * LOGIN_ACCOUNT_ALERT times in the window from all clients (guessing spread over many addresses).
 */
export async function login(db: Db, username: string, password: string, clientKey: string, now = new Date(), onAccountAlert?: (failures: number) => void): Promise<NewSession & { user: SessionUser }> {
  const name = cleanText(username.slice(0, 256)).trim().toLowerCase();
  if (!name || !password) {
    throw new AppError('login_fields_missing', 422, 'username and password are required', 'Vui lòng nhập tên đăng nhập và mật khẩu.');
  }
  const client = cleanText(clientKey.slice(0, 100));
  const accountKey = `user:${name.slice(0, 100)}`;
  const pairKey = `${accountKey}|client:${client}`;
  const clientKeyed = `client:${client}`;

  // Record the attempt before counting: concurrent attempts then see each other, so a burst of
  // parallel guesses cannot all slip under the limit. A successful sign-in removes its rows.
  const pending = await db.insertInto('login_attempts')
    .values([{ key: pairKey, at: now }, { key: clientKeyed, at: now }, { key: accountKey, at: now }])
    .returning('id').execute();
  const pendingIds = pending.map((r) => r.id);
  const counts = await db.selectFrom('login_attempts')
    .select((eb) => ['key', eb.fn.countAll<number>().as('n'), eb.fn.min('at').as('first')])
    .where('key', 'in', [pairKey, clientKeyed])
    .where('at', '>', new Date(now.getTime() - LOGIN_WINDOW_MS))
    .groupBy('key')
    .execute();
  const over = counts.filter((r) => Number(r.n) > (r.key === pairKey ? LOGIN_LIMITS.perAccountClient : LOGIN_LIMITS.perClient));
  if (over.length) {
    // A refused attempt is not a guess: drop it, so that the limit lifts on time.
    await db.deleteFrom('login_attempts').where('id', 'in', pendingIds).execute();
    const retryMs = Math.max(...over.map((r) => new Date(r.first as Date | string).getTime() + LOGIN_WINDOW_MS - now.getTime()));
    const retryAfterSeconds = Math.max(1, Math.ceil(retryMs / 1000));
    const minutes = Math.max(1, Math.ceil(retryAfterSeconds / 60));
    throw new AppError('login_rate_limited', 429, 'too many failed sign-in attempts; try again later',
      `Bạn đã đăng nhập sai quá nhiều lần. Vui lòng thử lại sau ${minutes} phút.`, { retryAfterSeconds });
  }

  const user = await db.selectFrom('users')
    .select(['id', 'username', 'display_name', 'role', 'area_codes', 'password_hash', 'disabled'])
    .where('username', '=', name).executeTakeFirst();
  const ok = password.length <= PASSWORD_MAX && await verifyPassword(password, user?.password_hash ?? await dummy());
  if (!user || !ok) {
    await db.deleteFrom('login_attempts').where('at', '<', new Date(now.getTime() - ATTEMPT_RETENTION_MS)).execute();
    if (onAccountAlert) {
      const { n } = await db.selectFrom('login_attempts').select((eb) => eb.fn.countAll<number>().as('n'))
        .where('key', '=', accountKey).where('at', '>', new Date(now.getTime() - LOGIN_WINDOW_MS)).executeTakeFirstOrThrow();
      if (Number(n) % LOGIN_ACCOUNT_ALERT === 0) onAccountAlert(Number(n));
    }
    throw invalid();
  }
  if (user.disabled || !isRole(user.role)) {
    throw new AppError('login_disabled', 403, 'this account is disabled', 'Tài khoản này đã bị khóa. Vui lòng liên hệ quản trị viên.');
  }
  // This client's failures on this account are forgiven; other clients' still count.
  await db.deleteFrom('login_attempts')
    .where((eb) => eb.or([eb('id', 'in', pendingIds), eb('key', '=', pairKey)]))
    .execute();
  const session = await createSession(db, user.id, now);
  return {
    ...session,
    user: { id: user.id, username: user.username, displayName: user.display_name, role: user.role, areaCodes: Array.isArray(user.area_codes) ? user.area_codes : [] },
  };
}
