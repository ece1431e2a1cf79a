import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { newCode } from '../src/core/tickets/codes.ts';
import type { DomainEvent } from '../src/core/events.ts';
import { checkTicket, scheduleSla, SLA_CHECK_JOB } from '../src/core/sla/sla.ts';
import { connect } from '../src/db/connect.ts';
import { createLogger } from '../src/log.ts';
import { createRuntime, type Runtime } from '../src/runtime.ts';
import { Leader, LEADER_LOCK_ID } from '../src/workers/leader.ts';
import { emptyServerDatabase, freshDb, TEST_DB } from './support/db.ts';

const LEADER_MODULE = fileURLToPath(new URL('../src/workers/leader.ts', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `cond` holds; returns the milliseconds it took. */
async function within(ms: number, what: string, cond: () => boolean | Promise<boolean>): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (await cond()) return Date.now() - start;
    await sleep(25);
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

/** Kills the backend holding the leader lock of the database at `url`, as if its process died. */
async function killLockHolder(url: string): Promise<number> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    const r = await admin.query<{ pid: number }>(
      `select pid from pg_locks where locktype = 'advisory' and granted and database = (select oid from pg_database where datname = current_database())
         and classid = 0 and objid = $1 and objsubid = 1`, [LEADER_LOCK_ID]);
    expect(r.rows).toHaveLength(1);
    const pid = r.rows[0]!.pid;
    await admin.query('select pg_terminate_backend($1)', [pid]);
    return pid;
  } finally {
    await admin.end();
  }
}

describe.runIf(TEST_DB === 'pglite')('Leader on the embedded database', () => {
  it('is always leader (one process owns the data dir)', async () => {
    const l = new Leader();
    expect(l.isLeader()).toBe(true);
    await l.start();
    expect(l.isLeader()).toBe(true);
    await l.stop();
    expect(l.isLeader()).toBe(false);
  });
});

describe.runIf(TEST_DB === 'postgres')('Leader on a PostgreSQL server', () => {
  let server: { url: string; drop(): Promise<void> };
  const started: Leader[] = [];
  const leader = (name: string, retryMs?: number) => {
    const l = new Leader({ connectionString: server.url, ...(retryMs ? { retryMs } : {}) });
    started.push(l);
    const changes: boolean[] = [];
    l.onChange((v) => changes.push(v));
    return Object.assign(l, { label: name, changes });
  };

  beforeAll(async () => {
    server = await emptyServerDatabase();
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((l) => l.stop()));
  });
  afterAll(async () => {
    await server?.drop();
  });

  it('two processes on one database: exactly one leads', async () => {
    const a = leader('a');
    const b = leader('b');
    await Promise.all([a.start(), b.start()]);
    expect([a.isLeader(), b.isLeader()].filter(Boolean)).toHaveLength(1);
    await sleep(2_500); // a retry round later, still one
    expect([a.isLeader(), b.isLeader()].filter(Boolean)).toHaveLength(1);
    const first = a.isLeader() ? a : b;
    expect(first.changes).toEqual([true]);
  });

  it('when the leader\'s connection is killed, it steps down and the other leads within 10 s', async () => {
    // `a` retries slowly, like a process that hangs after losing its connection; otherwise it
    // may simply win the lock back, which is correct but not what this test is about.
    const a = leader('a', 60_000);
    await a.start();
    expect(a.isLeader()).toBe(true);
    const b = leader('b');
    await b.start();
    expect(b.isLeader()).toBe(false);

    await killLockHolder(server.url);
    await within(2_000, 'old leader notices', () => !a.isLeader());
    const took = await within(10_000, 'the other takes over', () => b.isLeader());
    expect(took).toBeLessThan(10_000);
    expect(a.changes).toEqual([true, false]);
    expect(b.changes).toEqual([true]);
  });

  it('when the leader process is killed (SIGKILL), the other leads within 10 s', async () => {
    // The leader runs in a child process that is killed outright: no unlock, no goodbye;
    // PostgreSQL sees the connection close and drops the lock.
    const code = `const { Leader } = await import(${JSON.stringify(LEADER_MODULE)});
      const l = new Leader({ connectionString: process.env.LEADER_URL });
      l.onChange((v) => process.stdout.write(v ? 'leader\\n' : 'follower\\n'));
      await l.start();
      process.stdout.write('started\\n');
      setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      env: { ...process.env, LEADER_URL: server.url }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
      await within(20_000, `child leads (stderr: ${err})`, () => out.includes('leader') && out.includes('started'));
      const b = leader('b');
      await b.start();
      expect(b.isLeader()).toBe(false);
      child.kill('SIGKILL');
      const took = await within(10_000, 'the other takes over', () => b.isLeader());
      expect(took).toBeLessThan(10_000);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('a leader that stops releases the lock; the other leads at its next retry', async () => {
    const a = leader('a');
    await a.start();
    const b = leader('b');
    await b.start();
    await a.stop();
    await within(3_000, 'b takes over', () => b.isLeader());
  });
});

describe.runIf(TEST_DB === 'postgres')('SLA timers across two processes', () => {
  let url: string;
  let closeDb: () => Promise<void>;
  const runtimes: Runtime[] = [];
  const children: ReturnType<typeof spawn>[] = [];

  /** A whole phananh runtime (worker, leader) in this process, collecting the SLA events it publishes. */
  async function startProcess(): Promise<Runtime & { sla: DomainEvent[] }> {
    const handle = await connect({ databaseUrl: url, poolMax: 4 });
    const config = loadConfig({ DATA_DIR: mkdtempSync(path.join(tmpdir(), 'phananh-leader-')), SESSION_SECRET: 'test-secret-0123456789abcdef', WORKER_CONCURRENCY: '2' });
    const rt = await createRuntime(config, { log: createLogger('silent'), handle, skipSetup: true });
    runtimes.push(rt);
    const sla: DomainEvent[] = [];
    rt.events.on('*', (e) => { if (e.type.startsWith('sla.')) sla.push(e); });
    return Object.assign(rt, { sla });
  }

  /** The same runtime in a child process, which the test can kill outright. Resolves once it leads. */
  async function startChild(): Promise<ReturnType<typeof spawn>> {
    const code = `const { connect } = await import(${JSON.stringify(fileURLToPath(new URL('../src/db/connect.ts', import.meta.url)))});
      const { loadConfig } = await import(${JSON.stringify(fileURLToPath(new URL('../src/config.ts', import.meta.url)))});
      const { createLogger } = await import(${JSON.stringify(fileURLToPath(new URL('../src/log.ts', import.meta.url)))});
      const { createRuntime } = await import(${JSON.stringify(fileURLToPath(new URL('../src/runtime.ts', import.meta.url)))});
      const handle = await connect({ databaseUrl: process.env.LEADER_URL, poolMax: 2 });
      const config = loadConfig({ DATA_DIR: process.env.LEADER_DATA_DIR, SESSION_SECRET: 'test-secret-0123456789abcdef', DATABASE_URL: process.env.LEADER_URL });
      const rt = await createRuntime(config, { log: createLogger('silent'), handle, skipSetup: true });
      process.stdout.write(rt.leader.isLeader() ? 'leading\\n' : 'following\\n');`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      env: { ...process.env, DOTENV_CONFIG_QUIET: 'true', LEADER_URL: url, LEADER_DATA_DIR: mkdtempSync(path.join(tmpdir(), 'phananh-child-')) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    await within(30_000, 'the child runtime starts', () => {
      if (child.exitCode !== null) throw new Error(`child exited: ${err}`);
      return out.includes('leading') || out.includes('following');
    });
    expect(out).toContain('leading');
    return child;
  }

  beforeAll(async () => {
    const h = await freshDb();
    url = h.url!;
    closeDb = () => h.close();
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await Promise.all(runtimes.map((r) => r.close()));
    await closeDb?.();
  });

  /**
   * A ticket received `minutesAgo` with its first timer scheduled (the triage warning: already
   * due). `claimedBy` leaves that timer claimed by a worker, as if it had just taken it.
   */
  async function overdueTicket(rt: Runtime, minutesAgo: number, claimedBy?: string): Promise<number> {
    return rt.handle.db.transaction().execute(async (tx) => {
      const t = await tx.insertInto('tickets').values({
        code: newCode('TK'), title: 'Ngập nước', received_at: sql<Date>`now() - make_interval(mins => ${minutesAgo})`,
      }).returning(['id', 'status', 'received_at', 'category_code', 'priority']).executeTakeFirstOrThrow();
      await scheduleSla(tx, t);
      if (claimedBy) {
        await tx.updateTable('jobs').set({ locked_by: claimedBy, locked_until: sql<Date>`now() + interval '8 seconds'`, attempts: 1 })
          .where('kind', '=', SLA_CHECK_JOB).where('key', '=', `sla:${t.id}:triage:warning`).execute();
      }
      return t.id;
    });
  }

  it('only the leader runs them; killing it hands them to the other within 10 s, none twice, none skipped', async () => {
    const child = await startChild();
    const b = await startProcess();
    expect(b.leader.isLeader()).toBe(false);
    const db = b.handle.db;
    const alertsOf = (ids: number[]) => db.selectFrom('sla_alerts').select(['ticket_id', 'stage', 'kind']).where('ticket_id', 'in', ids)
      .orderBy('ticket_id').orderBy('id').execute();

    const first = await overdueTicket(b, 20); // its timer is due: triage warning and breach fire
    await within(5_000, 'the leader (child) fires', async () => (await alertsOf([first])).length === 2);
    expect(b.sla).toEqual([]); // the follower ran none of it

    // The leader dies. A timer comes due while nobody leads; and the dead leader had claimed
    // another ticket's timer and run its check (committed) but not marked the job done.
    child.kill('SIGKILL');
    const killedAt = Date.now();
    const second = await overdueTicket(b, 20);
    const third = await overdueTicket(b, 20, 'w-dead');
    expect((await checkTicket(db, third)).map((e) => e.type)).toEqual(['sla.warning', 'sla.breached']); // the dead leader's run
    await within(10_000, 'b leads', () => b.leader.isLeader());
    await within(10_000 - (Date.now() - killedAt), 'b fires what came due', () => b.sla.length === 2);
    expect(b.sla.map((e) => `${e.type}:${String(e.data.stage)}:${e.ticketId}`)).toEqual([`sla.warning:triage:${second}`, `sla.breached:triage:${second}`]);

    // The job the dead leader held comes round when its lease ends, fires nothing again, and
    // leaves the ticket's next timer (the one the dead leader's check chained) in place.
    await within(12_000, 'the orphaned job is done', async () => {
      const j = await db.selectFrom('jobs').select('done_at').where('kind', '=', SLA_CHECK_JOB).where('key', '=', `sla:${third}:triage:warning`).executeTakeFirstOrThrow();
      return j.done_at !== null;
    });
    await b.worker.idle();
    expect(await alertsOf([first, second, third])).toEqual([first, second, third].flatMap((id) => [
      { ticket_id: id, stage: 'triage', kind: 'warning' }, { ticket_id: id, stage: 'triage', kind: 'breach' },
    ]));
    const events = await db.selectFrom('ticket_events').select(['ticket_id', 'type'])
      .where('ticket_id', 'in', [first, second, third]).where('type', 'like', 'sla.%').orderBy('ticket_id').orderBy('id').execute();
    expect(events).toEqual([first, second, third].flatMap((id) => [{ ticket_id: id, type: 'sla.warning' }, { ticket_id: id, type: 'sla.breached' }]));
    expect(b.sla).toHaveLength(2);
    const pending = await db.selectFrom('jobs').select(['key']).where('kind', '=', SLA_CHECK_JOB).where('done_at', 'is', null)
      .where('key', 'like', `sla:${third}:%`).execute();
    expect(pending).toEqual([{ key: `sla:${third}:dispatch:warning` }]);
  }, 60_000);
});
