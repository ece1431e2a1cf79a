import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { newCode } from '../../src/core/tickets/codes.ts';
import type { DomainEvent } from '../../src/core/events.ts';
import { scheduleSla, SLA_CHECK_JOB } from '../../src/core/sla/sla.ts';
import { connect } from '../../src/db/connect.ts';
import { createLogger } from '../../src/log.ts';
import { createRuntime, type Runtime } from '../../src/runtime.ts';
import type { PgInstance } from './pg-instance.ts';
import { drillDatabase, recordDrill, RUN_DRILLS, sleep, within } from './support.ts';

// Drill 3: kill -9 of the leader during a burst of SLA deadlines. Two processes share a
// throwaway PostgreSQL: a child process running a whole runtime (it leads: it holds the
// advisory lock and runs the SLA timers) and a runtime in this process (a follower). Deadlines
// come due every 100 ms for 6 s; halfway through, the child is SIGKILLed. Every deadline must
// fire exactly once (one sla_alerts row and one sla.* ticket event), none skipped.

const src = (p: string) => JSON.stringify(fileURLToPath(new URL(`../../src/${p}`, import.meta.url)));
const TICKETS = 60;
const SPACING_MS = 100;
/** The triage stage's warning at 75 % of 15 minutes, its breach at 15 minutes (the default policy). */
const WARNING_S = 675;
const BREACH_S = 900;

describe.runIf(RUN_DRILLS)('drill: kill -9 of the leader during a burst of SLA deadlines', () => {
  let pg: PgInstance;
  const tmp: string[] = [];
  let child: ChildProcess | null = null;
  let follower: Runtime | null = null;

  beforeAll(async () => {
    pg = await drillDatabase('drill-leader');
  });
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await follower?.close();
    await pg?.destroy();
    for (const d of tmp) rmSync(d, { recursive: true, force: true });
  });

  const dataDir = () => {
    const d = mkdtempSync(path.join(tmpdir(), 'phananh-drill-'));
    tmp.push(d);
    return d;
  };

  /** The leader: a whole runtime in a child process, which can be killed outright. Resolves once it leads. */
  async function startLeaderChild(): Promise<ChildProcess> {
    const code = `const { connect } = await import(${src('db/connect.ts')});
      const { loadConfig } = await import(${src('config.ts')});
      const { createLogger } = await import(${src('log.ts')});
      const { createRuntime } = await import(${src('runtime.ts')});
      const handle = await connect({ databaseUrl: process.env.LEADER_URL, poolMax: 4 });
      const config = loadConfig({ DATA_DIR: process.env.LEADER_DATA_DIR, SESSION_SECRET: 'drill-secret-0123456789abcdef', DATABASE_URL: process.env.LEADER_URL, WORKER_CONCURRENCY: '4' });
      const rt = await createRuntime(config, { log: createLogger('silent'), handle, skipSetup: true });
      process.stdout.write(rt.leader.isLeader() ? 'leading\\n' : 'following\\n');`;
    const c = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
      env: { ...process.env, DOTENV_CONFIG_QUIET: 'true', LEADER_URL: pg.url, LEADER_DATA_DIR: dataDir() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    c.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    c.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    await within(30_000, 'the leader child starts', () => {
      if (c.exitCode !== null) throw new Error(`leader child exited: ${err}`);
      return out.includes('leading') || out.includes('following');
    });
    expect(out).toContain('leading');
    return c;
  }

  it('fires each deadline once, none skipped, and the follower takes over within 10 s', async () => {
    child = await startLeaderChild();
    const handle = await connect({ databaseUrl: pg.url, poolMax: 6 });
    const config = loadConfig({ DATA_DIR: dataDir(), SESSION_SECRET: 'drill-secret-0123456789abcdef', DATABASE_URL: pg.url, WORKER_CONCURRENCY: '4' });
    follower = await createRuntime(config, { log: createLogger('silent'), handle, skipSetup: true });
    expect(follower.leader.isLeader()).toBe(false);
    const db = follower.handle.db;
    const published: DomainEvent[] = [];
    follower.events.on('*', (e) => { if (e.type.startsWith('sla.')) published.push(e); });

    // The burst: ticket i has one deadline due at start + i*100 ms: a triage warning (even i) or
    // a triage breach (odd i; its warning is already past and fires at once).
    const burstMs = 1_500 + TICKETS * SPACING_MS;
    const start = Date.now() + 1_500;
    const expected = new Map<number, string[]>();
    await db.transaction().execute(async (tx) => {
      for (let i = 0; i < TICKETS; i++) {
        const dueIn = (start + i * SPACING_MS - Date.now()) / 1000;
        const ago = (i % 2 === 0 ? WARNING_S : BREACH_S) - dueIn;
        const t = await tx.insertInto('tickets').values({
          code: newCode('TK'), title: `Drill ${i}`, received_at: sql<Date>`now() - make_interval(secs => ${ago})`,
        }).returning(['id', 'status', 'received_at', 'category_code', 'priority']).executeTakeFirstOrThrow();
        await scheduleSla(tx, t);
        expected.set(t.id, i % 2 === 0 ? ['triage:warning'] : ['triage:warning', 'triage:breach']);
      }
    });
    const sent = [...expected.values()].reduce((n, v) => n + v.length, 0);

    // Halfway through the burst, the leader dies: no unlock, no goodbye.
    await sleep(Math.max(0, start - Date.now()) + (TICKETS / 2) * SPACING_MS);
    const firedBeforeKill = Number((await db.selectFrom('sla_alerts').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    child.kill('SIGKILL');
    const killedAt = Date.now();
    await within(15_000, 'the follower leads', () => follower!.leader.isLeader(), 10);
    const failoverMs = Date.now() - killedAt;

    // Everything due has fired, and the jobs the dead leader had claimed ran again after their lease.
    await within(45_000, 'every SLA job is done', async () => {
      const open = await db.selectFrom('jobs').select('id').where('kind', '=', SLA_CHECK_JOB)
        .where('done_at', 'is', null).where('failed_at', 'is', null).where('run_at', '<=', new Date()).limit(1).execute();
      return open.length === 0 && Date.now() - start > burstMs;
    }, 100);
    await follower.worker.idle();

    const ids = [...expected.keys()];
    const alerts = await db.selectFrom('sla_alerts').select(['ticket_id', 'stage', 'kind', 'due_at', 'fired_at']).where('ticket_id', 'in', ids).execute();
    const events = await db.selectFrom('ticket_events').select(['ticket_id', 'type', 'data']).where('ticket_id', 'in', ids).where('type', 'like', 'sla.%').execute();
    const firedKeys = new Map<string, number>();
    for (const a of alerts) firedKeys.set(`${a.ticket_id}:${a.stage}:${a.kind}`, (firedKeys.get(`${a.ticket_id}:${a.stage}:${a.kind}`) ?? 0) + 1);
    const eventKeys = new Map<string, number>();
    for (const e of events) {
      const k = `${e.ticket_id}:${String((e.data as { stage?: unknown }).stage)}:${e.type === 'sla.warning' ? 'warning' : 'breach'}`;
      eventKeys.set(k, (eventKeys.get(k) ?? 0) + 1);
    }
    const wanted = [...expected].flatMap(([id, keys]) => keys.map((k) => `${id}:${k}`));
    const lost = wanted.filter((k) => !firedKeys.has(k) || !eventKeys.has(k)).length;
    const doubled = [...firedKeys.values(), ...eventKeys.values()].reduce((n, c) => n + Math.max(0, c - 1), 0)
      + [...firedKeys.keys()].filter((k) => !wanted.includes(k)).length;
    const lateness = alerts.map((a) => new Date(a.fired_at).getTime() - new Date(a.due_at).getTime());
    // The follower's bus saw what it fired; the dead leader's are in the database only.
    const maxLate = Math.max(...alerts.filter((a) => a.kind === 'breach').map((a) => new Date(a.fired_at).getTime() - new Date(a.due_at).getTime()));

    recordDrill({
      id: '3-leader-kill', drill: 'kill -9 of the SLA leader mid-burst', sent, stored: firedKeys.size, lost, doubled,
      eventsMissed: null, failoverSeconds: Math.round(failoverMs / 10) / 100,
      notes: `${sent} deadlines over ${(TICKETS * SPACING_MS) / 1000} s; ${firedBeforeKill} fired by the leader before the kill, `
        + `${published.length} by the follower; latest breach fired ${(maxLate / 1000).toFixed(1)} s after its deadline`,
      ok: lost === 0 && doubled === 0 && failoverMs < 10_000,
    });
    expect(lateness.length).toBe(sent);
    expect(lost).toBe(0);
    expect(doubled).toBe(0);
    expect(failoverMs).toBeLessThan(10_000);
    expect(firedBeforeKill).toBeGreaterThan(0);
    expect(published.length).toBeGreaterThan(0);
  }, 90_000);
});
