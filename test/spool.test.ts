import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { AppError } from '../src/core/errors.ts';
import { connect, type DbHandle } from '../src/db/connect.ts';
import { isConnectionError } from '../src/db/connection-error.ts';
import { issueFormToken } from '../src/intake/form-token.ts';
import { IntakeService, payloadHash } from '../src/intake/intake-service.ts';
import { POISON_AFTER_PASSES, POISON_FILE, readPoisoned, retryPoisoned, Spool, type SpoolEntry } from '../src/intake/spool.ts';
import { createLogger } from '../src/log.ts';
import { createRuntime } from '../src/runtime.ts';
import { freshDb, TEST_DB } from './support/db.ts';
import { reportBody } from './support/factories.ts';
import { postReport } from './support/runtime.ts';

// The spool against a database that is really not there (a pg pool aimed at a port where
// nothing listens) and one that is (the test database), on both dialects.

const made: string[] = [];
const tmp = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'phananh-spool-'));
  made.push(dir);
  return dir;
};
const text = (n: number) => ({ text: `Đèn đường hẻm 12 bị hỏng số ${n}` });
const report = (n: number) => ({ ...text(n), citizen: {}, attachments: [] });

let live: DbHandle;
let dead: DbHandle;

beforeAll(async () => {
  live = await freshDb();
  dead = await connect({ databaseUrl: 'postgres://nobody@127.0.0.1:1/none', poolMax: 2 });
});
afterAll(async () => {
  await dead?.close();
  await live?.close();
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

const deadIntake = (spool?: Spool) => new IntakeService(dead.db, { spool });
const liveIntake = (spool?: Spool) => new IntakeService(live.db, { spool });
const lines = (dir: string) => readdirSync(dir).sort().flatMap((f) => readFileSync(path.join(dir, f), 'utf8').split('\n').filter(Boolean));
const rows = (channel: string) => live.db.selectFrom('inbound_messages').select(['id', 'code', 'external_id', 'received_at'])
  .where('channel', '=', channel).orderBy('id').execute();

async function spoolThree(channel: string, dir = tmp()) {
  const spool = await Spool.open(dir);
  const intake = deadIntake(spool);
  const accepted = [];
  for (let i = 0; i < 3; i++) accepted.push(await intake.accept({ channel, externalId: `k${i}`, payload: text(i), report: report(i) }));
  return { spool, dir, accepted };
}

describe('isConnectionError', () => {
  it.each([
    [{ code: 'ECONNREFUSED' }, true],
    [{ code: 'ECONNRESET' }, true],
    [{ code: '57P01' }, true],
    [{ code: '57P03' }, true],
    [{ code: '08006' }, true],
    [new Error('timeout exceeded when trying to connect'), true],
    [new Error('Connection terminated unexpectedly'), true],
    [new AggregateError([{ code: 'ECONNREFUSED' }]), true],
    [{ code: '23505', message: 'duplicate key value violates unique constraint' }, false],
    [{ code: '22P02', message: 'invalid input syntax' }, false],
    [new AppError('report_text_missing', 422, 'text is required'), false],
  ])('%o -> %s', (err, expected) => {
    expect(isConnectionError(err)).toBe(expected);
  });
});

describe('Spool', () => {
  it('acknowledges from the spool when the database is unreachable, fsyncs one line per report, in order', async () => {
    const { spool, dir, accepted } = await spoolThree('t-order');
    expect(accepted.map((a) => a.spooled)).toEqual([true, true, true]);
    expect(accepted.every((a) => /^PA-[0-9A-Z]{8}$/.test(a.code) && a.replay === false)).toBe(true);
    expect(spool.depth()).toBe(3);
    const written = lines(dir).map((l) => JSON.parse(l) as SpoolEntry);
    expect(written.map((e) => [e.externalId, e.code])).toEqual(accepted.map((a, i) => [`k${i}`, a.code]));
    expect(written[0]).toMatchObject({ channel: 't-order', payload: text(0), report: report(0), requestHash: payloadHash(text(0)) });
    await spool.close();
  });

  it('answers a retry of a spooled message with its first code, and refuses the key with another body', async () => {
    const spool = await Spool.open(tmp());
    const intake = deadIntake(spool);
    const first = await intake.accept({ channel: 't-retry', externalId: 'same', payload: text(1) });
    const again = await intake.accept({ channel: 't-retry', externalId: 'same', payload: text(1) });
    expect(again).toMatchObject({ code: first.code, replay: true, spooled: true });
    await expect(intake.accept({ channel: 't-retry', externalId: 'same', payload: text(2) }))
      .rejects.toMatchObject({ code: 'idempotency_key_conflict', status: 409 });
    // Concurrent first deliveries of one key: one line, one code.
    const both = await Promise.all([1, 2, 3].map(() => intake.accept({ channel: 't-retry', externalId: 'race', payload: text(3) })));
    expect(new Set(both.map((a) => a.code)).size).toBe(1);
    expect(spool.depth()).toBe(2);
    // Even once the database is back, before the drain: the spooled code, not a new row.
    expect(await liveIntake(spool).accept({ channel: 't-retry', externalId: 'same', payload: text(1) })).toMatchObject({ code: first.code, replay: true });
    expect(await rows('t-retry')).toEqual([]);
    await spool.close();
  });

  it('keeps concurrent appends whole', async () => {
    const dir = tmp();
    const spool = await Spool.open(dir);
    const intake = deadIntake(spool);
    await Promise.all(Array.from({ length: 40 }, (_, i) => intake.accept({ channel: 't-many', externalId: `m${i}`, payload: { text: 'x'.repeat(2000 + i) } })));
    const written = lines(dir).map((l) => JSON.parse(l) as SpoolEntry);
    expect(written).toHaveLength(40);
    expect(new Set(written.map((e) => e.externalId)).size).toBe(40);
    await spool.close();
  });

  it('rebuilds its index from disk after a restart, and skips a torn last line', async () => {
    const { spool, dir, accepted } = await spoolThree('t-rebuild');
    await spool.close();
    writeFileSync(path.join(dir, 'active.jsonl'), readFileSync(path.join(dir, 'active.jsonl'), 'utf8') + '{"channel":"t-rebuild","exte');
    const reopened = await Spool.open(dir);
    expect(reopened.depth()).toBe(3);
    expect(reopened.lookup('t-rebuild', 'k1')?.code).toBe(accepted[1]!.code);
    expect(reopened.byCode(accepted[2]!.code)?.externalId).toBe('k2');
    // The next append never lands after the torn bytes.
    await deadIntake(reopened).accept({ channel: 't-rebuild', externalId: 'k3', payload: text(3) });
    const again = await Spool.open(dir);
    expect(again.depth()).toBe(4);
    await reopened.close();
  });

  it('drains in order with the codes it gave, enqueues the jobs, and a second drain is a no-op', async () => {
    const { spool, dir, accepted } = await spoolThree('t-drain');
    const intake = liveIntake(spool);
    expect(await spool.drain((e) => intake.storeSpooled(e))).toBe(3);
    expect(spool.depth()).toBe(0);
    expect(readdirSync(dir)).toEqual([]);
    const stored = await rows('t-drain');
    expect(stored.map((r) => [r.external_id, r.code])).toEqual(accepted.map((a, i) => [`k${i}`, a.code]));
    expect(stored.map((r) => r.received_at.toISOString())).toEqual(accepted.map((a) => a.receivedAt.toISOString()));
    const jobs = await live.db.selectFrom('jobs').select('key').where('key', 'in', stored.map((r) => `inbound:${r.id}`)).execute();
    expect(jobs).toHaveLength(3);
    expect(await spool.drain((e) => intake.storeSpooled(e))).toBe(0);
    // A retry after the drain finds the row: same code.
    expect(await intake.accept({ channel: 't-drain', externalId: 'k0', payload: text(0) })).toMatchObject({ code: accepted[0]!.code, replay: true });
    await spool.close();
  });

  it('finishes a drain cut short, in the same process or after a crash, without duplicates', async () => {
    const { spool, dir, accepted } = await spoolThree('t-cut');
    const intake = liveIntake(spool);
    let calls = 0;
    const flaky = async (e: SpoolEntry) => {
      if (++calls === 2) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      await intake.storeSpooled(e);
    };
    await expect(spool.drain(flaky)).rejects.toThrow('ECONNREFUSED');
    expect(spool.depth()).toBe(2);
    // A crash now: the next process finds all three on disk and stores the missing two.
    const restarted = await Spool.open(dir);
    expect(restarted.depth()).toBe(3);
    expect(await restarted.drain((e) => liveIntake(restarted).storeSpooled(e))).toBe(3);
    expect((await rows('t-cut')).map((r) => r.code)).toEqual(accepted.map((a) => a.code));
    // The first process resuming instead: nothing left, nothing doubled.
    expect(await spool.drain(flaky)).toBe(0);
    expect(await rows('t-cut')).toHaveLength(3);
    await spool.close();
  });

  it('sets aside an entry the database refuses for itself, stores the ones after it, and stores it on retry after a fix', async () => {
    const { spool, dir, accepted } = await spoolThree('t-poison');
    const intake = liveIntake(spool);
    await sql`alter table inbound_messages add constraint test_poison check (not (channel = 't-poison' and external_id = 'k1'))`.execute(live.db);
    try {
      expect(await spool.drain((e) => intake.storeSpooled(e))).toBe(2);
    } finally {
      await sql`alter table inbound_messages drop constraint test_poison`.execute(live.db);
    }
    expect(spool.depth()).toBe(0);
    expect(await spool.poisoned()).toBe(1);
    expect((await rows('t-poison')).map((r) => r.code)).toEqual([accepted[0]!.code, accepted[2]!.code]);
    const [set] = await readPoisoned(dir);
    expect(set).toMatchObject({ entry: { channel: 't-poison', externalId: 'k1', code: accepted[1]!.code }, error: { code: '23514' } });
    // A restart finds it set aside, not spooled; the next drain leaves it be.
    const restarted = await Spool.open(dir);
    expect(restarted.depth()).toBe(0);
    expect(await restarted.poisoned()).toBe(1);
    expect(await restarted.drain((e) => intake.storeSpooled(e))).toBe(0);
    // After the fix, a retry stores it under the code its sender was given.
    expect(await retryPoisoned(dir, (e) => intake.storeSpooled(e))).toEqual({ stored: 1, still: [] });
    expect(await spool.poisoned()).toBe(0);
    expect(readdirSync(dir)).not.toContain(POISON_FILE);
    expect((await rows('t-poison')).map((r) => r.code).sort()).toEqual(accepted.map((a) => a.code).sort());
    await spool.close();
  });

  it('retries an entry a failure of the moment stops at, and sets it aside only after POISON_AFTER_PASSES passes', async () => {
    const { spool } = await spoolThree('t-deadlock');
    const intake = liveIntake(spool);
    const store = async (e: SpoolEntry) => {
      if (e.externalId === 'k1') throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
      await intake.storeSpooled(e);
    };
    for (let pass = 1; pass < POISON_AFTER_PASSES; pass++) {
      await expect(spool.drain(store)).rejects.toThrow('deadlock');
      expect(spool.depth()).toBe(2);
    }
    expect(await spool.drain(store)).toBe(1);
    expect(spool.depth()).toBe(0);
    expect(await spool.poisoned()).toBe(1);
    expect(await rows('t-deadlock')).toHaveLength(2);
    await spool.close();
  });

  it('refuses with intake_unavailable (503) when the spool cannot be written, and acknowledges nothing', async () => {
    const file = path.join(tmp(), 'a-file');
    writeFileSync(file, 'not a folder');
    const spool = await Spool.open(path.join(file, 'spool'));
    const err = await deadIntake(spool).accept({ channel: 't-full', externalId: 'x', payload: text(1) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ code: 'intake_unavailable', status: 503 });
    expect((err as AppError).messageVi).toMatch(/thử lại|gửi lại/);
    expect(spool.depth()).toBe(0);
    // Without a spool (the edge entry) an unreachable database is the same stable 503.
    await expect(deadIntake().accept({ channel: 't-full', externalId: 'y', payload: text(1) })).rejects.toMatchObject({ code: 'intake_unavailable', status: 503 });
  });

  it('does not spool what the database refused for another reason', async () => {
    const spool = await Spool.open(tmp());
    // A constraint violation (23514) is a bad request, not an outage.
    await sql`alter table inbound_messages add constraint test_refuse check (external_id <> 'refused')`.execute(live.db);
    try {
      await expect(liveIntake(spool).accept({ channel: 't-bad', externalId: 'refused', payload: text(1) })).rejects.not.toMatchObject({ code: 'intake_unavailable' });
    } finally {
      await sql`alter table inbound_messages drop constraint test_refuse`.execute(live.db);
    }
    expect(spool.depth()).toBe(0);
  });
});

/** A TCP relay to the test server that can be cut (connections reset, port closed) and restored. */
async function relay(target: URL): Promise<{ port: number; cut(): Promise<void>; restore(): Promise<void>; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let server: Server;
  let port = 0;
  const listen = () => new Promise<void>((resolve) => {
    server = createServer((client) => {
      const upstream = new Socket();
      upstream.connect(Number(target.port || 5432), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('error', () => {});
        s.on('close', () => { sockets.delete(s); client.destroy(); upstream.destroy(); });
      }
      client.pipe(upstream).pipe(client);
    });
    server.listen(port, '127.0.0.1', () => {
      port = (server.address() as { port: number }).port;
      resolve();
    });
  });
  const cut = async () => {
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
  };
  await listen();
  return { port, cut, restore: listen, close: cut };
}

describe.runIf(TEST_DB === 'postgres')('PostgreSQL outage through a runtime', () => {
  // It builds its runtime on a relay it can cut: the runtime's start counts in the test's time.
  it('acknowledges from the spool, reports degraded health, then drains and processes without a restart', { timeout: 120_000 }, async () => {
    const target = new URL(live.url!);
    const link = await relay(target);
    const viaRelay = new URL(live.url!);
    viaRelay.hostname = '127.0.0.1';
    viaRelay.port = String(link.port);
    const handle = await connect({ databaseUrl: viaRelay.toString(), poolMax: 4 });
    const config = loadConfig({ DATA_DIR: tmp(), DATABASE_URL: viaRelay.toString(), SESSION_SECRET: 'test-secret-0123456789abcdef', WORKER_CONCURRENCY: '2' });
    const rt = await createRuntime(config, { log: createLogger('silent'), handle, skipSetup: true });
    try {
      await link.cut();
      const body = reportBody();
      const res = await postReport(rt, body, { 'Idempotency-Key': 'outage-1' });
      expect(res.status).toBe(201);
      const { code, status, ticket } = (await res.json()) as { code: string; status: string; ticket: string | null };
      expect(code).toMatch(/^PA-/);
      expect({ status, ticket }).toEqual({ status: 'received', ticket: null });
      const retry = await postReport(rt, body, { 'Idempotency-Key': 'outage-1' });
      expect(retry.status).toBe(201);
      expect(((await retry.json()) as { code: string }).code).toBe(code);

      const health = await rt.app.request('/healthz');
      expect(health.status).toBe(503);
      expect(await health.json()).toEqual({ ok: false, degraded: 'database', spooled: 1 });
      expect(await (await rt.app.request('/metrics')).text()).toMatch(/^phananh_spool_depth 1$/m);
      expect(((await (await rt.app.request(`/api/v1/reports/${code}`)).json()) as { status: string }).status).toBe('received');
      // What cannot go to the spool (a resident's answer) is refused as an outage, to be sent again: 503, not 500.
      const confirm = await rt.app.request(`/api/v1/reports/${code}/confirm`, { method: 'POST' });
      expect(confirm.status).toBe(503);
      expect(confirm.headers.get('retry-after')).toBe('30');
      expect(((await confirm.json()) as { error: { code: string } }).error.code).toBe('database_unavailable');
      const form = new FormData();
      form.set('_token', issueFormToken('test-secret-0123456789abcdef'));
      const page = await rt.app.request(`/track/${code}/confirm`, { method: 'POST', body: form });
      expect(page.status).toBe(503);
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await page.text()).toContain('Câu trả lời của anh/chị chưa được ghi nhận');

      // A NUL byte acknowledged during the outage, and a report the database will refuse for
      // itself (a constraint stands for it): neither may hold back the report after them.
      const nul = await postReport(rt, reportBody({ text: 'Ngập\u0000 nước sâu trước chợ Bến Thành' }), { 'Idempotency-Key': 'outage-nul' });
      expect(nul.status).toBe(201);
      const refused = await postReport(rt, reportBody(), { 'Idempotency-Key': 'outage-refused' });
      expect(refused.status).toBe(201);
      const last = await postReport(rt, reportBody(), { 'Idempotency-Key': 'outage-last' });
      const lastCode = ((await last.json()) as { code: string }).code;
      expect(rt.spool.depth()).toBe(4);

      await sql`alter table inbound_messages add constraint test_outage_refused check (external_id <> 'outage-refused')`.execute(live.db);
      try {
        await link.restore();
        const until = Date.now() + 60_000;
        while (rt.spool.depth() > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      } finally {
        await sql`alter table inbound_messages drop constraint test_outage_refused`.execute(live.db);
      }
      expect(rt.spool.depth()).toBe(0);
      const healthy = await rt.app.request('/healthz');
      expect(healthy.status).toBe(200);
      expect(await healthy.json()).toEqual({ ok: true, poisoned: 1 });
      expect(await (await rt.app.request('/metrics')).text()).toMatch(/^phananh_spool_poisoned 1$/m);
      await rt.worker.idle();
      expect(((await (await rt.app.request(`/api/v1/reports/${lastCode}`)).json()) as { ticket: string | null }).ticket).toMatch(/^TK-/);
      await rt.worker.idle();
      const after = (await (await rt.app.request(`/api/v1/reports/${code}`)).json()) as { code: string; ticket: string | null };
      expect(after.code).toBe(code);
      expect(after.ticket).toMatch(/^TK-/);
    } finally {
      await rt.close();
      await link.close();
    }
  });
});
