import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type DbHandle } from '../../src/db/connect.ts';
import { PLACES, reportBody } from '../support/factories.ts';
import type { PgInstance } from './pg-instance.ts';
import { drillDatabase, recordDrill, ROOT, RUN_DRILLS, sleep, within } from './support.ts';

// Drill 4: kill -9 of the whole process while reports stream in, then a restart on the same
// database. Reports acknowledged just before the kill had their jobs claimed by the dead
// worker; they must not wait for a lease of minutes. Every acknowledged report must become a
// ticket within 10 s of the restarted process serving again, on the embedded database (where a
// process owns its data folder and frees its old leases at start) and on PostgreSQL (where the
// dead worker's short leases end and a live worker takes its jobs). The client behaves as the
// app does: a request cut by the kill is sent again, with the same key, once a server answers.

const BIN = path.join(ROOT, 'bin/phananh.mjs');
const REPORTS = 400;
const CONCURRENCY = 16;
/** The kill comes once this many reports have been answered. */
const KILL_AFTER = 250;
const TARGET_S = 10;
const PLACES_CYCLE = [PLACES.benThanh, PLACES.saiGon, PLACES.binhTay];

interface Child {
  proc: ChildProcess;
  url: string;
}

/** `phananh start` in a child process, resolved once it prints its URL. */
async function startChild(env: NodeJS.ProcessEnv): Promise<Child> {
  const proc = spawn(process.execPath, [BIN, 'start'], {
    cwd: ROOT, env: { ...process.env, DOTENV_CONFIG_QUIET: 'true', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn', SESSION_SECRET: 'drill-secret-0123456789abcdef', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  await within(90_000, 'the app process starts', () => {
    if (proc.exitCode !== null) throw new Error(`the app process exited (${proc.exitCode}): ${err.slice(-2000)}`);
    return /phananh is running: (\S+)/.test(out);
  }, 50);
  return { proc, url: /phananh is running: (\S+)/.exec(out)![1]! };
}

/** Jobs claimed and still under their lease: what a killed process leaves behind. */
async function heldJobs(url: string): Promise<number> {
  const h = await connect({ databaseUrl: url, poolMax: 1 });
  try {
    const r = await h.db.selectFrom('jobs').select((eb) => eb.fn.countAll().as('n'))
      .where('done_at', 'is', null).where('locked_until', '>', new Date()).executeTakeFirstOrThrow();
    return Number(r.n);
  } finally {
    await h.close();
  }
}

describe.runIf(RUN_DRILLS).each([
  { db: 'embedded PGlite', id: '4a-crash-pglite' },
  { db: 'PostgreSQL', id: '4b-crash-postgres' },
])('drill: kill -9 during a stream of reports, then a restart ($db)', ({ db, id }) => {
  let pg: PgInstance | null = null;
  let dataDir: string;
  let child: Child | null = null;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'phananh-drill-crash-'));
    if (db === 'PostgreSQL') pg = await drillDatabase('drill-crash');
  }, 120_000);
  afterAll(async () => {
    if (child && child.proc.exitCode === null) child.proc.kill('SIGKILL');
    await pg?.destroy();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`processes every acknowledged report within ${TARGET_S} s of the restart, none lost or doubled`, async () => {
    const env = { DATA_DIR: dataDir, DATABASE_URL: pg?.url ?? '' };
    child = await startChild(env);
    const answers = new Map<string, Set<string>>();
    let answered = 0;
    let killedAt = 0;
    let cut = 0;
    let restarted: Promise<Child> | null = null;
    /** On PostgreSQL: the jobs the killed process held (claimed, lease running) just after the kill. */
    let held: Promise<number> | null = null;

    /** One report as the app sends it: the same key until a server answers 201. */
    async function send(i: number): Promise<void> {
      const key = `drill4-${i}`;
      const place = PLACES_CYCLE[i % PLACES_CYCLE.length]!;
      const body = JSON.stringify(reportBody({ text: `Cây xanh gãy đổ chắn lối đi, điểm số ${i}`, lat: place.lat, lng: place.lng }));
      for (let attempt = 0; ; attempt++) {
        const target = restarted && killedAt ? await restarted : child!;
        try {
          const res = await fetch(`${target.url}/api/v1/reports`, {
            method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key }, body, signal: AbortSignal.timeout(20_000),
          });
          if (res.status !== 201) throw new Error(`${key}: answered ${res.status}: ${await res.text()}`);
          const { code } = (await res.json()) as { code: string };
          if (!answers.has(key)) answers.set(key, new Set());
          answers.get(key)!.add(code);
          if (++answered === KILL_AFTER) {
            child!.proc.kill('SIGKILL');
            killedAt = Date.now();
            if (pg) held = heldJobs(pg.url);
            restarted = startChild(env);
          }
          return;
        } catch (err) {
          if ((err as Error).message.includes('answered')) throw err;
          cut++; // the kill cut this request: send it again to whichever server answers
          if (attempt > 200) throw err;
          await sleep(100);
        }
      }
    }

    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < REPORTS) await send(next++);
    }));
    expect(killedAt).toBeGreaterThan(0);
    child = await restarted!;
    const readyAt = Date.now();

    // Until every acknowledged report has a ticket: when did each get one?
    const codes = [...answers.values()].flatMap((s) => [...s]);
    let handle: DbHandle | null = null;
    const processedAt = new Map<string, number>();
    const ticketsOf = async (list: string[]): Promise<Map<string, string | null>> => {
      const out = new Map<string, string | null>();
      if (pg) {
        handle ??= await connect({ databaseUrl: pg.url, poolMax: 2 });
        const rows = await handle.db.selectFrom('inbound_messages').leftJoin('reports', 'reports.id', 'inbound_messages.report_id')
          .select(['inbound_messages.code', 'reports.ticket_id']).where('inbound_messages.code', 'in', list).execute();
        for (const r of rows) out.set(r.code, r.ticket_id === null ? null : String(r.ticket_id));
      } else {
        // The child owns the embedded database: ask it, as the app would.
        for (let k = 0; k < list.length; k += 50) {
          await Promise.all(list.slice(k, k + 50).map(async (code) => {
            const s = (await (await fetch(`${child!.url}/api/v1/reports/${code}`)).json()) as { ticket: string | null };
            out.set(code, s.ticket);
          }));
        }
      }
      return out;
    };
    try {
      await within(60_000, 'every acknowledged report is a ticket', async () => {
        const waiting = codes.filter((c) => !processedAt.has(c));
        const now = Date.now();
        for (const [code, ticket] of await ticketsOf(waiting)) if (ticket) processedAt.set(code, now);
        return processedAt.size === codes.length;
      }, 100);
      const stored = await ticketsOf(codes);
      const lost = [...answers.values()].filter((s) => ![...s].some((c) => stored.has(c))).length;
      const doubled = [...answers.values()].filter((s) => s.size > 1).length;
      const latest = Math.max(...[...processedAt.values()].map((t) => t - readyAt)) / 1000;
      const restartS = (readyAt - killedAt) / 1000;
      const heldText = held ? `the killed process held ${await held} claimed jobs; ` : '';
      recordDrill({
        id, drill: `kill -9 during ${REPORTS} reports, restart (${db})`, sent: REPORTS, stored: REPORTS - lost, lost, doubled, eventsMissed: null,
        failoverSeconds: Math.round(Math.max(0, latest) * 100) / 100,
        notes: `${heldText}${cut} requests cut by the kill and sent again; the restarted process served ${restartS.toFixed(1)} s after the kill; `
          + `every acknowledged report was a ticket ${Math.max(0, latest).toFixed(1)} s after that (target ${TARGET_S} s)`,
        ok: lost === 0 && doubled === 0 && latest <= TARGET_S,
      });
      expect(answers.size).toBe(REPORTS);
      expect(lost).toBe(0);
      expect(doubled).toBe(0);
      expect(latest).toBeLessThanOrEqual(TARGET_S);
    } finally {
      await (handle as DbHandle | null)?.close();
    }
  }, 240_000);
});
