import { createHash } from 'node:crypto';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../src/core/errors.ts';
import {
  LOGIN_LIMITS, login, resolveSession, SESSION_IDLE_MS, SESSION_MAX_MS, sessionTokenFromCookies, SESSION_COOKIE,
} from '../src/core/staff/sessions.ts';
import { upsertUser } from '../src/core/staff/users.ts';
import {
  CSRF_HEADER, requireUser, safeNextPath, sessionMiddleware, type AuthEnv,
} from '../src/http/auth.ts';
import type { Runtime } from '../src/runtime.ts';
import type { SessionUser } from '../src/wire/staff-api.ts';
import { authRoutes } from '../src/http/auth.ts';
import { clientAddress } from '../src/http/client-address.ts';
import { TrustedProxies } from '../src/trusted-proxies.ts';
import { fromAddress, testRuntime } from './support/runtime.ts';

// Sign-in, sessions, roles and CSRF through the real app (and a tiny app built from the exported
// middleware for routes that other modules will own). scrypt is deliberately slow, so the file
// creates few accounts and each test signs in from its own client address (the socket's peer),
// keeping the per-client rate limit of one test out of the others.

const BEN_THANH = '26743';
const SAI_GON = '26740';
const PW = { agent: 'matkhau-agent-1', ward: 'matkhau-ward-1', off: 'matkhau-off-1', limited: 'matkhau-lim-1' };

let rt: Runtime;
let ids: { agent: number; ward: number; off: number; limited: number };
let probe: Hono<AuthEnv>;
let ipCounter = 0;

beforeAll(async () => {
  rt = await testRuntime({}, { startWorker: false });
  const db = rt.handle.db;
  const [agent, ward, off, limited] = await Promise.all([
    upsertUser(db, { username: 'agent1', password: PW.agent, role: 'agent', displayName: 'Nguyễn Thị Tổng Đài' }),
    upsertUser(db, { username: 'ward1', password: PW.ward, role: 'ward_officer', displayName: 'Cán bộ Bến Thành', areaCodes: [BEN_THANH, SAI_GON] }),
    upsertUser(db, { username: 'off1', password: PW.off, role: 'agent' }),
    upsertUser(db, { username: 'Limited', password: PW.limited, role: 'supervisor' }),
  ]);
  ids = { agent: agent!.id, ward: ward!.id, off: off!.id, limited: limited!.id };
  await db.updateTable('users').set({ disabled: true }).where('id', '=', ids.off).execute();

  // Routes that the console and ward modules will own, guarded only by the exported middleware.
  probe = new Hono<AuthEnv>();
  probe.use('*', sessionMiddleware(db));
  probe.get('/console', requireUser('agent', 'supervisor', 'admin'), (c) => c.text(`console of ${c.get('user').username}`));
  probe.get('/api/console/me', requireUser('agent', 'supervisor', 'admin'), (c) => c.json({ me: c.get('user').username }));
  probe.post('/api/console/tickets/1/claim', requireUser('agent'), (c) => c.json({ claimed: true }));
  probe.post('/api/ward/tasks/1/ack', requireUser('ward_officer'), (c) => c.json({ acknowledged: true }));
  probe.get('/api/anyone', requireUser(), (c) => c.json({ role: c.get('user').role }));
}, 120_000);

afterAll(async () => {
  await rt?.close();
});

/** A client address of its own, so that per-client counting in one test does not touch another. */
const newClient = () => `198.51.100.${++ipCounter}`;

function postLogin(fields: Record<string, string>, headers: Record<string, string> = {}, url = '/login', client = newClient(), app: { request: Hono['request'] } = rt.app) {
  return app.request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  }, fromAddress(client));
}

/** The session token set by a response. */
function tokenOf(res: Response): string {
  const m = new RegExp(`${SESSION_COOKIE}=([^;]*)`).exec(res.headers.get('set-cookie') ?? '');
  if (!m?.[1]) throw new Error(`no ${SESSION_COOKIE} cookie in ${res.headers.get('set-cookie')}`);
  return m[1];
}

async function signIn(username: string, password: string): Promise<{ token: string; cookie: string; csrf: string }> {
  const res = await postLogin({ username, password }, { accept: 'application/json' });
  expect(res.status).toBe(200);
  const body = await res.json() as { csrf: string };
  const token = tokenOf(res);
  return { token, cookie: `${SESSION_COOKIE}=${token}`, csrf: body.csrf };
}

const userOfCookies = async (header: string | undefined) => (await resolveSession(rt.handle.db, sessionTokenFromCookies(header)))?.user ?? null;
const sessionOf = (cookie: string) => rt.app.request('/api/session', { headers: { cookie } });
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const alertText = (page: string) => /<div class="error" role="alert" id="login-error">([^<]*)<\/div>/.exec(page)?.[1];

describe('the sign-in page', () => {
  it('is Vietnamese, labelled, uncached and keeps a safe next path', async () => {
    const res = await rt.app.request('/login?next=%2Fward%3Fticket%3D7');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const page = await res.text();
    expect(page).toContain('<html lang="vi">');
    expect(page).toContain('<label for="username">Tên đăng nhập</label>');
    expect(page).toMatch(/<input id="username" name="username" autocomplete="username"/);
    expect(page).toContain('<label for="password">Mật khẩu</label>');
    expect(page).toMatch(/<input id="password" name="password" type="password" autocomplete="current-password" required/);
    expect(page).toContain('<form class="card" method="post" action="/login"');
    expect(page).toContain('<input type="hidden" name="next" value="/ward?ticket=7">');
    expect(page).not.toContain('<script');
  });

  it('drops a next that leaves the site', async () => {
    for (const next of ['%2F%2Fevil.example%2Fx', '/.//evil.example', '/a/..//evil.example', '/%252e//evil.example']) {
      const page = await (await rt.app.request(`/login?next=${next}`)).text();
      expect(page, next).not.toContain('name="next"');
    }
  });

  it('never offers a signed-in user an off-site "continue" link', async () => {
    const s = await signIn('agent1', PW.agent);
    const page = await (await rt.app.request('/login?next=/.//evil.example', { headers: { cookie: s.cookie } })).text();
    expect(page).toContain('Tiếp tục làm việc');
    expect(page).not.toContain('evil.example');
    expect(page).toContain('href="/console"');
  });
});

describe('POST /login', () => {
  it('sets an HttpOnly, SameSite=Lax session cookie and sends an agent to /console', async () => {
    const res = await postLogin({ username: 'agent1', password: PW.agent });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console');
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43};`));
    expect(cookie).toMatch(/; HttpOnly/i);
    expect(cookie).toMatch(/; SameSite=Lax/i);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).not.toMatch(/; Secure/i); // plain http, no https PUBLIC_URL
    // Only the hash of the token is stored.
    const token = tokenOf(res);
    const rows = await rt.handle.db.selectFrom('sessions').select(['id', 'user_id']).where('user_id', '=', ids.agent).execute();
    expect(rows.map((r) => r.id)).toContain(sha256(token));
    expect(rows.map((r) => r.id)).not.toContain(token);
  });

  it('sends a ward officer to /ward, or to a same-site next path; never off-site', async () => {
    const plain = await postLogin({ username: 'ward1', password: PW.ward });
    expect(plain.headers.get('location')).toBe('/ward');
    const next = await postLogin({ username: 'WARD1', password: PW.ward, next: '/ward/tasks?open=1' });
    expect(next.status).toBe(303);
    expect(next.headers.get('location')).toBe('/ward/tasks?open=1');
    for (const evil of ['//evil.example/', 'https://evil.example/', '/\\evil.example', '/\t/evil.example', 'javascript:alert(1)', '/.//evil.example', '/a/..//evil.example', '/%2e//evil.example']) {
      const res = await postLogin({ username: 'ward1', password: PW.ward, next: evil });
      expect(res.headers.get('location'), evil).toBe('/ward');
    }
  });

  it('accepts multipart fields too', async () => {
    const body = new FormData();
    body.set('username', 'agent1');
    body.set('password', PW.agent);
    const res = await rt.app.request('/login', { method: 'POST', body, headers: { 'x-forwarded-for': newClient() } });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/console');
  });

  it('answers JSON clients with the user and the CSRF token, and the cookie works for /api/session', async () => {
    const res = await postLogin({ username: 'ward1', password: PW.ward }, { accept: 'application/json' });
    expect(res.status).toBe(200);
    const body = await res.json() as { user: SessionUser; csrf: string };
    expect(body.user).toEqual({ id: ids.ward, username: 'ward1', displayName: 'Cán bộ Bến Thành', role: 'ward_officer', areaCodes: [BEN_THANH, SAI_GON] });
    expect(body.csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const s = await sessionOf(`${SESSION_COOKIE}=${tokenOf(res)}`);
    expect(s.status).toBe(200);
    expect(await s.json()).toEqual(body);
  });

  it('marks the cookie Secure when the request is https', async () => {
    const res = await postLogin({ username: 'agent1', password: PW.agent }, {}, 'https://phananh.example/login');
    expect(res.status).toBe(303);
    expect(res.headers.get('set-cookie')).toMatch(/; Secure/i);
  });

  it('gives a wrong password and an unknown user the same 401 and message, after the same work', async () => {
    const wrong = await postLogin({ username: 'agent1', password: 'not-the-password' });
    const unknown = await postLogin({ username: 'nobody-here', password: 'not-the-password' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const [wp, up] = [await wrong.text(), await unknown.text()];
    expect(alertText(wp)).toBe('Tên đăng nhập hoặc mật khẩu không đúng.');
    expect(alertText(up)).toBe(alertText(wp));
    expect(wrong.headers.get('set-cookie')).toBeNull();
    // The page comes back with the username kept and the password not.
    expect(wp).toMatch(/<input id="username" name="username"[^>]*value="agent1"/);
    expect(wp).not.toContain('not-the-password');

    const json = await postLogin({ username: 'nobody-here', password: 'x' }, { accept: 'application/json' });
    expect(json.status).toBe(401);
    expect(await json.json()).toMatchObject({ error: { code: 'login_invalid', message_vi: 'Tên đăng nhập hoặc mật khẩu không đúng.' } });

    // Unknown users are checked against a dummy scrypt hash: not measurably cheaper than a real one.
    const time = async (username: string) => {
      const t = performance.now();
      await postLogin({ username, password: 'still-wrong' });
      return performance.now() - t;
    };
    await time('warm-up-unknown'); // the first unknown user also computes the dummy hash
    const real = Math.min(await time('ward1'), await time('ward1'));
    const none = Math.min(await time('ghost-1'), await time('ghost-2'));
    expect(none).toBeGreaterThan(real * 0.25); // without the dummy hash it would be a few ms against 50+
    await rt.handle.db.deleteFrom('login_attempts').where('key', '=', 'user:ward1').execute();
  });

  it(`refuses a client with 429 after ${LOGIN_LIMITS.perAccountClient} failures on an account, even the right password, until the window passes`, async () => {
    const guesser = newClient();
    for (let i = 0; i < LOGIN_LIMITS.perAccountClient; i++) {
      const res = await postLogin({ username: 'limited', password: `wrong-${i}` }, {}, '/login', guesser);
      expect(res.status, `attempt ${i + 1}`).toBe(401);
    }
    const limited = await postLogin({ username: 'LIMITED', password: PW.limited }, {}, '/login', guesser);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(15 * 60);
    expect(limited.headers.get('set-cookie')).toBeNull();
    expect(alertText(await limited.text())).toMatch(/^Bạn đã đăng nhập sai quá nhiều lần\. Vui lòng thử lại sau \d+ phút\.$/);
    const json = await postLogin({ username: 'limited', password: PW.limited }, { accept: 'application/json' }, '/login', guesser);
    expect(json.status).toBe(429);
    expect(await json.json()).toMatchObject({ error: { code: 'login_rate_limited' } });

    // The count lives in the database: another process (here: the core call) sees it too.
    const other = await login(rt.handle.db, 'limited', PW.limited, guesser).catch((e: unknown) => e);
    expect(isAppError(other) && other.code).toBe('login_rate_limited');

    // The owner, from a client that has not failed, is not locked out by someone else's guesses.
    const owner = newClient();
    expect((await postLogin({ username: 'limited', password: PW.limited }, {}, '/login', owner)).status).toBe(303);

    // Refused attempts do not extend the lock: once the failures are 15 minutes old, it lifts.
    await rt.handle.db.updateTable('login_attempts').set({ at: new Date(Date.now() - 16 * 60_000) }).where('key', 'like', 'user:limited%').execute();
    const after = await postLogin({ username: 'limited', password: PW.limited }, {}, '/login', guesser);
    expect(after.status).toBe(303);
    // Success clears this client's failures on the account.
    const left = await rt.handle.db.selectFrom('login_attempts').select('id').where('key', '=', `user:limited|client:${guesser}`).execute();
    expect(left).toEqual([]);
  });

  it('lets no more than the limit through when one client\'s guesses arrive at once', async () => {
    const client = newClient();
    const burst = await Promise.all(Array.from({ length: 10 }, (_, i) => postLogin({ username: 'burst-user', password: `guess-${i}` }, {}, '/login', client)));
    const statuses = burst.map((r) => r.status);
    expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(LOGIN_LIMITS.perAccountClient);
    const rows = await rt.handle.db.selectFrom('login_attempts').select('id').where('key', '=', `user:burst-user|client:${client}`).execute();
    expect(rows.length).toBe(statuses.filter((s) => s === 401).length);
  });

  it(`refuses a client after ${LOGIN_LIMITS.perClient} failures across usernames`, async () => {
    const ip = newClient();
    for (let i = 0; i < LOGIN_LIMITS.perClient; i++) {
      const res = await postLogin({ username: `spray-${i}`, password: 'guess' }, {}, '/login', ip);
      expect(res.status, `attempt ${i + 1}`).toBe(401);
    }
    const res = await postLogin({ username: 'agent1', password: PW.agent }, {}, '/login', ip);
    expect(res.status).toBe(429);
    // Another client is not affected.
    expect((await postLogin({ username: 'agent1', password: PW.agent })).status).toBe(303);
  });

  it('believes X-Forwarded-For only from TRUSTED_PROXIES: rotating it from anywhere else does not get round the limit', async () => {
    const app = new Hono();
    app.route('/', authRoutes({ db: rt.handle.db, trustedProxies: TrustedProxies.parse('127.0.0.1, 10.0.0.0/8, fd00::/8') }));
    const direct = newClient();
    for (let i = 0; i < LOGIN_LIMITS.perAccountClient; i++) {
      const res = await postLogin({ username: 'agent1', password: 'wrong' }, { 'x-forwarded-for': `192.0.2.${i + 1}` }, '/login', direct, app);
      expect(res.status, `attempt ${i + 1}`).toBe(401);
    }
    expect((await postLogin({ username: 'agent1', password: PW.agent }, { 'x-forwarded-for': '192.0.2.99' }, '/login', direct, app)).status).toBe(429);

    // Behind a trusted proxy, the forwarded address is the client: one is limited, the next is not.
    for (let i = 0; i < LOGIN_LIMITS.perAccountClient; i++) {
      await postLogin({ username: 'agent1', password: 'wrong' }, { 'x-forwarded-for': '203.0.113.200' }, '/login', '127.0.0.1', app);
    }
    expect((await postLogin({ username: 'agent1', password: PW.agent }, { 'x-forwarded-for': '203.0.113.200' }, '/login', '::ffff:127.0.0.1', app)).status).toBe(429);
    // ...the address a chain of trusted proxies forwarded, whatever the client wrote before it.
    expect((await postLogin({ username: 'agent1', password: PW.agent }, { 'x-forwarded-for': '203.0.113.200, 203.0.113.201, 10.1.2.3' }, '/login', '127.0.0.1', app)).status).toBe(303);
  });

  it('refuses a disabled account, and a session ends when its user is disabled', async () => {
    const res = await postLogin({ username: 'off1', password: PW.off }, { accept: 'application/json' });
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: 'login_disabled' } });
    expect(res.headers.get('set-cookie')).toBeNull();
    const wrong = await postLogin({ username: 'off1', password: 'wrong-password' });
    expect(wrong.status).toBe(401);

    await rt.handle.db.updateTable('users').set({ disabled: false }).where('id', '=', ids.off).execute();
    const s = await signIn('off1', PW.off);
    expect((await sessionOf(s.cookie)).status).toBe(200);
    await rt.handle.db.updateTable('users').set({ disabled: true }).where('id', '=', ids.off).execute();
    expect((await sessionOf(s.cookie)).status).toBe(401);
    expect(await userOfCookies(s.cookie)).toBeNull();
  });

  it('refuses a cross-site form post (Origin or Sec-Fetch-Site) without counting it', async () => {
    const before = await rt.handle.db.selectFrom('login_attempts').select('id').execute();
    const cross = await postLogin({ username: 'agent1', password: PW.agent }, { origin: 'https://evil.example' });
    expect(cross.status).toBe(403);
    expect(cross.headers.get('set-cookie')).toBeNull();
    expect(await cross.text()).toContain('Yêu cầu bị từ chối vì không gửi từ trang này.');
    const fetchSite = await postLogin({ username: 'agent1', password: PW.agent }, { 'sec-fetch-site': 'cross-site', accept: 'application/json' });
    expect(fetchSite.status).toBe(403);
    expect(await fetchSite.json()).toMatchObject({ error: { code: 'csrf_origin_mismatch' } });
    const after = await rt.handle.db.selectFrom('login_attempts').select('id').execute();
    expect(after.length).toBe(before.length);
    // The same site is fine.
    const same = await postLogin({ username: 'agent1', password: PW.agent }, { origin: 'http://localhost', 'sec-fetch-site': 'same-origin' });
    expect(same.status).toBe(303);
  });

  it('asks for both fields', async () => {
    const res = await postLogin({ username: 'agent1' }, { accept: 'application/json' });
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ error: { code: 'login_fields_missing' } });
  });
});

describe('sessions', () => {
  it('GET /api/session without a cookie, or with a forged one, is 401 session_required', async () => {
    for (const cookie of ['', `${SESSION_COOKIE}=forged`, `${SESSION_COOKIE}=${'A'.repeat(43)}`]) {
      const res = await sessionOf(cookie);
      expect(res.status, cookie).toBe(401);
      expect(await res.json()).toMatchObject({ error: { code: 'session_required' } });
    }
  });

  it('an expired session is refused by the API and sends pages to the sign-in page', async () => {
    const s = await signIn('agent1', PW.agent);
    expect((await probe.request('/console', { headers: { cookie: s.cookie } })).status).toBe(200);
    await rt.handle.db.updateTable('sessions').set({ expires_at: new Date(Date.now() - 1000) }).where('id', '=', sha256(s.token)).execute();
    const api = await sessionOf(s.cookie);
    expect(api.status).toBe(401);
    expect(await api.json()).toMatchObject({ error: { code: 'session_required' } });
    const page = await probe.request('/console?tab=queue', { headers: { cookie: s.cookie } });
    expect(page.status).toBe(302);
    expect(page.headers.get('location')).toBe('/login?next=%2Fconsole%3Ftab%3Dqueue');
  });

  it('slides 12 hours past the last request, at most 7 days after sign-in, touching at most once a minute', async () => {
    const db = rt.handle.db;
    const s = await signIn('agent1', PW.agent);
    const id = sha256(s.token);
    const t0 = Date.now();
    const row = () => db.selectFrom('sessions').select(['last_seen_at', 'expires_at']).where('id', '=', id).executeTakeFirstOrThrow();
    const first = await row();
    // Within the minute: no write.
    await resolveSession(db, s.token, new Date(t0 + 30_000));
    expect((await row()).last_seen_at.getTime()).toBe(first.last_seen_at.getTime());
    // Two hours later: touched, and the expiry slides.
    const later = new Date(t0 + 2 * 3600_000);
    const r = await resolveSession(db, s.token, later);
    expect(r?.session.expiresAt.getTime()).toBe(later.getTime() + SESSION_IDLE_MS);
    expect((await row()).last_seen_at.getTime()).toBe(later.getTime());
    // Near the absolute end, the expiry stops at created_at + 7 days (here: t0 + 3 h).
    await db.updateTable('sessions').set({ created_at: new Date(t0 + 3 * 3600_000 - SESSION_MAX_MS) }).where('id', '=', id).execute();
    const capped = await resolveSession(db, s.token, new Date(later.getTime() + 2 * 60_000));
    expect(capped?.session.expiresAt.getTime()).toBe(t0 + 3 * 3600_000);
    expect(await resolveSession(db, s.token, new Date(t0 + 3 * 3600_000 + 1000))).toBeNull();
  });

  it('POST /logout ends the session and clears the cookie', async () => {
    const s = await signIn('agent1', PW.agent);
    const res = await rt.app.request('/logout', { method: 'POST', headers: { cookie: s.cookie } });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/login');
    expect(res.headers.get('set-cookie')).toMatch(new RegExp(`^${SESSION_COOKIE}=;.*Max-Age=0`, 'i'));
    expect((await sessionOf(s.cookie)).status).toBe(401);
    const row = await rt.handle.db.selectFrom('sessions').select('id').where('id', '=', sha256(s.token)).executeTakeFirst();
    expect(row).toBeUndefined();
  });

  it('POST /logout from another site is refused and the session lives on', async () => {
    const s = await signIn('agent1', PW.agent);
    const res = await rt.app.request('/logout', { method: 'POST', headers: { cookie: s.cookie, origin: 'https://evil.example' } });
    expect(res.status).toBe(403);
    expect((await sessionOf(s.cookie)).status).toBe(200);
  });

  it('finds the session cookie among others in a Cookie header (the socket.io handshake)', async () => {
    const s = await signIn('ward1', PW.ward);
    const user = await userOfCookies(`theme=dark; ${s.cookie}; lang=vi`);
    expect(user).toEqual({ id: ids.ward, username: 'ward1', displayName: 'Cán bộ Bến Thành', role: 'ward_officer', areaCodes: [BEN_THANH, SAI_GON] });
    expect(await userOfCookies(undefined)).toBeNull();
    expect(await userOfCookies('')).toBeNull();
    expect(await userOfCookies('theme=dark')).toBeNull();
    expect(await userOfCookies(`${SESSION_COOKIE}=${'B'.repeat(43)}`)).toBeNull();
  });
});

describe('roles and CSRF', () => {
  let agent: Awaited<ReturnType<typeof signIn>>;
  let ward: Awaited<ReturnType<typeof signIn>>;
  beforeAll(async () => {
    agent = await signIn('agent1', PW.agent);
    ward = await signIn('ward1', PW.ward);
  });

  it('lets the right roles through and tells the others apart by path', async () => {
    expect(await (await probe.request('/api/console/me', { headers: { cookie: agent.cookie } })).json()).toEqual({ me: 'agent1' });
    expect(await (await probe.request('/api/anyone', { headers: { cookie: ward.cookie } })).json()).toEqual({ role: 'ward_officer' });

    const api = await probe.request('/api/console/me', { headers: { cookie: ward.cookie } });
    expect(api.status).toBe(403);
    expect(await api.json()).toMatchObject({ error: { code: 'forbidden' } });
    const page = await probe.request('/console', { headers: { cookie: ward.cookie } });
    expect(page.status).toBe(403);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const html = await page.text();
    expect(html).toContain('Không có quyền truy cập');
    expect(html).toContain('href="/ward"');

    const anonymousApi = await probe.request('/api/console/me');
    expect(anonymousApi.status).toBe(401);
    expect(await anonymousApi.json()).toMatchObject({ error: { code: 'session_required' } });
    const anonymousPage = await probe.request('/console');
    expect(anonymousPage.status).toBe(302);
    expect(anonymousPage.headers.get('location')).toBe('/login?next=%2Fconsole');
  });

  it('writes under /api/console and /api/ward need the session CSRF token in X-CSRF-Token', async () => {
    const claim = (headers: Record<string, string>) => probe.request('/api/console/tickets/1/claim', { method: 'POST', headers });
    const missing = await claim({ cookie: agent.cookie });
    expect(missing.status).toBe(403);
    expect(await missing.json()).toMatchObject({ error: { code: 'csrf_token_invalid' } });
    expect((await claim({ cookie: agent.cookie, [CSRF_HEADER]: ward.csrf })).status).toBe(403); // another session's token
    expect((await claim({ cookie: agent.cookie, [CSRF_HEADER]: `${agent.csrf}x` })).status).toBe(403);
    const ok = await claim({ cookie: agent.cookie, [CSRF_HEADER]: agent.csrf });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ claimed: true });

    const ack = (headers: Record<string, string>) => probe.request('/api/ward/tasks/1/ack', { method: 'POST', headers });
    expect((await ack({ cookie: ward.cookie })).status).toBe(403);
    expect((await ack({ cookie: ward.cookie, [CSRF_HEADER]: ward.csrf })).status).toBe(200);
  });

  it('the real app guards console and ward writes before any route exists', async () => {
    const post = (path: string, headers: Record<string, string>) => rt.app.request(path, { method: 'POST', headers });
    const anon = await post('/api/console/tickets/9/dispatch', {});
    expect(anon.status).toBe(401);
    expect(await anon.json()).toMatchObject({ error: { code: 'session_required' } });
    const noToken = await post('/api/ward/tasks/9/ack', { cookie: ward.cookie });
    expect(noToken.status).toBe(403);
    expect(await noToken.json()).toMatchObject({ error: { code: 'csrf_token_invalid' } });
    // With the token the guard lets it through, to a 404 here (no console routes in this test).
    expect((await post('/api/ward/tasks/9/ack', { cookie: ward.cookie, [CSRF_HEADER]: ward.csrf })).status).toBe(404);
    // Reads and the public API are not affected.
    expect((await rt.app.request('/api/console/anything', { headers: { cookie: ward.cookie } })).status).toBe(404);
    expect((await rt.app.request('/api/v1/categories')).status).toBe(200);
  });

  it('a signed-in user opening /login sees who they are and a way out', async () => {
    const page = await (await rt.app.request('/login', { headers: { cookie: ward.cookie } })).text();
    expect(page).toContain('Cán bộ Bến Thành');
    expect(page).toContain('href="/ward"');
    expect(page).toContain('action="/logout"');
  });
});

describe('clientAddress', () => {
  const trusted = TrustedProxies.parse('127.0.0.1, 10.0.0.0/8, 2001:db8::/32');
  const probeApp = new Hono();
  probeApp.get('/ip', (c) => c.text(clientAddress(c, trusted)));
  const ip = async (peer: string | null, headers: Record<string, string> = {}) =>
    (await probeApp.request('/ip', { headers }, peer === null ? undefined : fromAddress(peer))).text();
  it.each([
    ['an untrusted peer, whatever it forwards', '198.51.100.7', { 'x-forwarded-for': '1.2.3.4' }, '198.51.100.7'],
    ['a trusted proxy forwarding a client', '127.0.0.1', { 'x-forwarded-for': '198.51.100.8' }, '198.51.100.8'],
    ['the rightmost untrusted address of a chain', '10.0.0.2', { 'x-forwarded-for': '6.6.6.6, 198.51.100.9, 10.9.9.9' }, '198.51.100.9'],
    ['a trusted proxy forwarding nothing', '127.0.0.1', {}, '127.0.0.1'],
    ['an IPv4-mapped peer', '::ffff:198.51.100.10', {}, '198.51.100.10'],
    ['a trusted IPv6 proxy', '2001:db8::1', { 'x-forwarded-for': '2001:db9::5' }, '2001:db9::5'],
    ['garbage in the header after a real hop', '127.0.0.1', { 'x-forwarded-for': 'not-an-ip, 198.51.100.11' }, '198.51.100.11'],
  ] as const)('%s', async (_what, peer, headers, want) => expect(await ip(peer, headers)).toBe(want));
  it('takes Cloudflare\'s CF-Connecting-IP at the edge (no socket), and never X-Forwarded-For there', async () => {
    expect(await ip(null, { 'cf-connecting-ip': '198.51.100.12', 'x-forwarded-for': '1.1.1.1' })).toBe('198.51.100.12');
    expect(await ip(null, { 'x-forwarded-for': '1.1.1.1' })).toBe('unknown');
  });
  it('names a bad TRUSTED_PROXIES entry', () => {
    expect(TrustedProxies.problem('10.0.0.0/8, ::1')).toBeNull();
    expect(TrustedProxies.problem('10.0.0.0/33')).toMatch(/"10\.0\.0\.0\/33" is not an IP address or a CIDR range/);
    expect(TrustedProxies.problem('proxy.local')).toMatch(/"proxy\.local"/);
  });
});

describe('safeNextPath', () => {
  it.each([
    ['/console', '/console'],
    ['/ward/tasks?open=1#t', '/ward/tasks?open=1#t'],
    ['//evil.example', null],
    ['https://evil.example/', null],
    ['/\\evil.example', null],
    ['/\t/evil.example', null],
    // Paths that normalise to a protocol-relative URL (`//evil.example`): an open redirect.
    ['/.//evil.example', null],
    ['/a/..//evil.example', null],
    ['/%2e//evil.example', null],
    ['/%2E%2E//evil.example/x', null],
    ['/./\\evil.example', null],
    ['/ward/../console', '/console'],
    ['console', null],
    ['/login?next=/x', null],
    ['', null],
  ])('%j -> %j', (input, expected) => {
    expect(safeNextPath(input)).toBe(expected);
  });
});

describe('accounts', () => {
  it('refuses an unknown role or area with a clear code, and binds an officer to several units', async () => {
    const db = rt.handle.db;
    const err = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => (isAppError(e) ? e.code : String(e)));
    expect(await err(upsertUser(db, { username: 'boss', password: 'password-1', role: 'chief' }))).toBe('user_role_invalid');
    expect(await err(upsertUser(db, { username: 'ward2', password: 'password-1', role: 'ward_officer', areaCodes: [BEN_THANH, '99999'] }))).toBe('user_area_unknown');
    expect(await err(upsertUser(db, { username: 'ward3', password: 'password-1', role: 'ward_officer' }))).toBe('user_area_missing');
    const none = await db.selectFrom('users').select('id').where('username', 'in', ['boss', 'ward2', 'ward3']).execute();
    expect(none).toEqual([]);
    const row = await db.selectFrom('users').select('area_codes').where('id', '=', ids.ward).executeTakeFirstOrThrow();
    expect(row.area_codes).toEqual([BEN_THANH, SAI_GON]);
  });
});
