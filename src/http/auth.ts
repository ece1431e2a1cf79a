import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from '../intake/body-limit.ts';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import { AppError, isAppError } from '../core/errors.ts';
import {
  csrfMatches, destroySession, login, resolveSession, SESSION_COOKIE, SESSION_MAX_MS,
  type SessionInfo,
} from '../core/staff/sessions.ts';
import type { Role, SessionUser } from '../wire/staff-api.ts';
import type { Db } from '../db/schema.ts';
import type { Logger } from '../log.ts';
import { isSameOrigin } from '../intake/form-token.ts';
import { formText, readForm, readJsonObject } from '../intake/request-body.ts';
import { forbiddenPage, loginPage } from './auth-pages.ts';
import { siteOf } from '../intake/page-layout.ts';
import { clientAddress } from './client-address.ts';
import { TrustedProxies } from '../trusted-proxies.ts';
import { can } from '../core/staff/policy.ts';
import { errorBody } from './errors.ts';


/** Header that state-changing console and ward API requests must carry (the session's csrf token). */
export const CSRF_HEADER = 'X-CSRF-Token';
/** Path prefixes whose POST/PUT/PATCH/DELETE requests need the CSRF header. */
export const CSRF_PROTECTED_PREFIXES = ['/api/console', '/api/ward', '/api/dashboard'] as const;

/**
 * Context variables set by `sessionMiddleware`: present only when the request carries a valid
 * session, which `requireUser` guarantees for the handlers after it.
 */
export interface AuthVariables {
  user: SessionUser;
  session: SessionInfo;
}

/** Hono Env for routes behind the session middleware: `new Hono<AuthEnv>()`, then `c.get('user')`. */
export type AuthEnv = { Variables: AuthVariables };

/** Options of the sign-in routes. */
export interface AuthRoutesOptions {
  db: Db;
  /** PUBLIC_URL: an extra allowed form origin, and https here makes the cookie Secure. */
  publicUrl?: string;
  /** Proxies whose X-Forwarded-For names the client (TRUSTED_PROXIES); none by default. */
  trustedProxies?: TrustedProxies;
  /** Hears of an account failing many sign-ins from many clients (guessing spread over addresses). */
  log?: Logger;
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const underPrefix = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`);
const isApiPath = (path: string) => underPrefix(path, '/api');
// Requests whose session lookup already ran (the middleware may be mounted twice: app and sub-app).
const resolved = new WeakSet<Request>();

/** The signed-in user of a request, or null; for pages that work with or without a session. */
export function optionalUser(c: Context): SessionUser | null {
  return (c.get('user') as SessionUser | undefined) ?? null;
}

/** Where a role lands after sign-in: /ward for ward officers, /console for everyone else. */
export function homePathFor(role: Role): string {
  return can({ role, areaCodes: [] }, 'console.use') ? '/console' : '/ward';
}

/** A post-sign-in target from user input, or null unless it is a same-site relative path. */
export function safeNextPath(next: string | undefined | null): string | null {
  if (!next || next.length > 2000 || !next.startsWith('/') || next.startsWith('//') || /[\\\s]/.test(next)) return null;
  // Browsers drop control characters inside URLs, which can turn `/\t/evil` into `//evil`.
  if ([...next].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f)) return null;
  try {
    const base = 'http://phananh.invalid';
    const url = new URL(next, base);
    // Dot segments (also written %2e) can fold a path into `//host`: a link or Location that a
    // browser reads as another site. Only the normalised path counts.
    if (url.origin !== base || url.pathname.startsWith('//') || url.pathname.startsWith('/\\')) return null;
    // Sending someone back to the sign-in page after signing in would loop.
    if (url.pathname === '/login' || url.pathname === '/logout') return null;
    return url.pathname + url.search + url.hash;
  } catch {
    return null;
  }
}

/** Sets `user` and `session` on the context when the request carries a valid session cookie. */
export function sessionMiddleware(db: Db): MiddlewareHandler<AuthEnv> {
  return createMiddleware<AuthEnv>(async (c, next) => {
    if (!resolved.has(c.req.raw)) {
      resolved.add(c.req.raw);
      const token = getCookie(c, SESSION_COOKIE);
      if (token) {
        const found = await resolveSession(db, token);
        if (found) {
          c.set('user', found.user);
          c.set('session', found.session);
        }
      }
    }
    await next();
  });
}

const sessionRequired = () => new AppError('session_required', 401, 'sign in first', 'Vui lòng đăng nhập để tiếp tục.');
const csrfInvalid = () => new AppError('csrf_token_invalid', 403, `missing or wrong ${CSRF_HEADER} header`, 'Phiên làm việc không hợp lệ, vui lòng tải lại trang.');

/** True when the request is a write under a CSRF-protected prefix. */
function needsCsrf(c: Context): boolean {
  return STATE_CHANGING.has(c.req.method) && CSRF_PROTECTED_PREFIXES.some((p) => underPrefix(c.req.path, p));
}

/** The CSRF refusal for this request, or null when it may proceed. */
function csrfRefusal(c: Context): Response | null {
  if (!needsCsrf(c)) return null;
  const session = c.get('session') as SessionInfo | undefined;
  if (!session) return c.json(errorBody(sessionRequired()), 401);
  if (!csrfMatches(session, c.req.header(CSRF_HEADER))) return c.json(errorBody(csrfInvalid()), 403);
  return null;
}

/**
 * Refuses writes under CSRF_PROTECTED_PREFIXES without a session (401 `session_required`) or
 * without the session's token in the X-CSRF-Token header (403 `csrf_token_invalid`). Runs after
 * `sessionMiddleware`; `requireUser` applies the same rule itself.
 */
export function csrfGuard(): MiddlewareHandler<AuthEnv> {
  return createMiddleware<AuthEnv>(async (c, next) => {
    const refused = csrfRefusal(c);
    if (refused) return refused;
    await next();
  });
}

/**
 * Lets only signed-in users (of the given roles, when any are named) through. Without a session:
 * 401 JSON `session_required` under /api, otherwise 302 to /login?next=<path>. Wrong role: 403
 * JSON `forbidden` under /api, otherwise a Vietnamese 403 page. Also enforces the CSRF header
 * on writes under CSRF_PROTECTED_PREFIXES. Runs after `sessionMiddleware`.
 */
export function requireUser(...roles: Role[]): MiddlewareHandler<AuthEnv> {
  return createMiddleware<AuthEnv>(async (c, next) => {
    const user = optionalUser(c);
    const api = isApiPath(c.req.path);
    if (!user) {
      if (api) return c.json(errorBody(sessionRequired()), 401);
      const url = new URL(c.req.url);
      return c.redirect(`/login?next=${encodeURIComponent(url.pathname + url.search)}`, 302);
    }
    if (roles.length && !roles.includes(user.role)) {
      if (api) {
        const e = new AppError('forbidden', 403, `this needs the role ${roles.join(' or ')}`, 'Tài khoản của bạn không có quyền thực hiện thao tác này.');
        return c.json(errorBody(e), 403);
      }
      return c.html(forbiddenPage(siteOf(c), user, homePathFor(user.role)), 403);
    }
    const refused = csrfRefusal(c);
    if (refused) return refused;
    await next();
  });
}

/** True when the client asked for JSON rather than a page. */
function wantsJson(c: Context): boolean {
  const accept = c.req.header('accept') ?? '';
  return (accept.includes('application/json') && !accept.includes('text/html'))
    || (c.req.header('content-type') ?? '').startsWith('application/json');
}

const isHttps = (c: Context, publicUrl?: string) => publicUrl?.startsWith('https:') === true || new URL(c.req.url).protocol === 'https:';

type LoginStatus = 400 | 401 | 403 | 413 | 415 | 422 | 429;
const LOGIN_STATUS: Record<number, LoginStatus> = { 400: 400, 401: 401, 403: 403, 413: 413, 415: 415, 422: 422, 429: 429 };

/** GET/POST /login, POST /logout and GET /api/session. */
export function authRoutes(opts: AuthRoutesOptions): Hono<AuthEnv> {
  const { db, publicUrl } = opts;
  const trusted = opts.trustedProxies ?? TrustedProxies.parse(undefined);
  const app = new Hono<AuthEnv>();
  app.use('/login', sessionMiddleware(db));
  app.use('/logout', sessionMiddleware(db));
  app.use('/api/session', sessionMiddleware(db));

  const noStore = (c: Context) => c.header('Cache-Control', 'no-store');
  const sameOrigin = (c: Context) =>
    isSameOrigin(c.req.url, { origin: c.req.header('origin'), secFetchSite: c.req.header('sec-fetch-site') }, publicUrl);

  app.get('/login', (c) => {
    noStore(c);
    const user = optionalUser(c);
    const next = safeNextPath(c.req.query('next')) ?? undefined;
    return c.html(loginPage(siteOf(c), { next, current: user ?? undefined, continueTo: user ? next ?? homePathFor(user.role) : undefined }));
  });

  app.post('/login',
    bodyLimit({ maxSize: 64 * 1024, onError: (c) => refuse(c, new AppError('payload_too_large', 413, 'sign-in form too large', 'Dữ liệu gửi lên quá lớn.'), {}) }),
    async (c) => {
      noStore(c);
      let fields: { username?: string; password?: string; next?: string } = {};
      try {
        if (!sameOrigin(c)) {
          throw new AppError('csrf_origin_mismatch', 403, 'cross-site sign-in refused', 'Yêu cầu bị từ chối vì không gửi từ trang này.');
        }
        fields = await readLoginFields(c);
        const username = fields.username ?? '';
        const r = await login(db, username, fields.password ?? '', clientAddress(c, trusted), new Date(), (failures) => {
          opts.log?.warn({ account: username.trim().toLowerCase().slice(0, 64), failures }, 'sign-in: many failures on one account from several clients in 15 minutes');
        });
        // A new sign-in replaces the session this browser had, if any.
        await destroySession(db, getCookie(c, SESSION_COOKIE));
        setCookie(c, SESSION_COOKIE, r.token, {
          httpOnly: true, sameSite: 'Lax', path: '/', secure: isHttps(c, publicUrl), maxAge: Math.floor(SESSION_MAX_MS / 1000),
        });
        if (wantsJson(c)) return c.json({ user: r.user, csrf: r.csrf });
        return c.redirect(safeNextPath(fields.next) ?? homePathFor(r.user.role), 303);
      } catch (err) {
        if (!isAppError(err) || !LOGIN_STATUS[err.status]) throw err;
        return refuse(c, err, fields);
      }
    });

  /** A refused sign-in: the JSON error, or the page again with the message and the username kept. */
  function refuse(c: Context, e: AppError, fields: { username?: string; next?: string }) {
    const status = LOGIN_STATUS[e.status] ?? 401;
    const retry = e.details?.retryAfterSeconds;
    if (typeof retry === 'number') c.header('Retry-After', String(retry));
    if (wantsJson(c)) return c.json(errorBody(e), status);
    return c.html(loginPage(siteOf(c), { username: fields.username?.trim().slice(0, 64), next: safeNextPath(fields.next) ?? undefined, error: e.messageVi }), status);
  }

  app.post('/logout', async (c) => {
    if (!sameOrigin(c)) {
      const e = new AppError('csrf_origin_mismatch', 403, 'cross-site sign-out refused', 'Yêu cầu bị từ chối vì không gửi từ trang này.');
      return c.json(errorBody(e), 403);
    }
    await destroySession(db, getCookie(c, SESSION_COOKIE));
    deleteCookie(c, SESSION_COOKIE, { path: '/', secure: isHttps(c, publicUrl), httpOnly: true, sameSite: 'Lax' });
    noStore(c);
    if (wantsJson(c)) return c.json({ ok: true });
    return c.redirect('/login', 303);
  });

  app.get('/api/session', (c) => {
    noStore(c);
    const user = optionalUser(c);
    const session = c.get('session') as SessionInfo | undefined;
    if (!user || !session) return c.json(errorBody(sessionRequired()), 401);
    return c.json({ user, csrf: session.csrf });
  });

  return app;
}

/** username, password and next from an urlencoded, multipart or JSON body. */
async function readLoginFields(c: Context): Promise<{ username?: string; password?: string; next?: string }> {
  const type = c.req.header('content-type') ?? '';
  if (type.startsWith('application/json')) {
    const o = await readJsonObject(c);
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    return { username: str(o.username), password: str(o.password), next: str(o.next) };
  }
  if (!type.startsWith('application/x-www-form-urlencoded') && !type.startsWith('multipart/form-data')) {
    throw new AppError('content_type_unsupported', 415, 'send the form as application/x-www-form-urlencoded or multipart/form-data', 'Định dạng dữ liệu không được hỗ trợ.');
  }
  const form = await readForm(c);
  return { username: formText(form, 'username'), password: formText(form, 'password'), next: formText(form, 'next') };
}
