import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type Config } from '../../src/config.ts';
import { connect } from '../../src/db/connect.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { seedReferenceData } from '../../src/city/seed.ts';
import { pgInstanceUnavailable, startPgInstance, type PgInstance } from './pg-instance.ts';

// Shared by the drills (test/drills/*.drill.test.ts) and `npm run drill` (run-drills.ts): the
// drills measure, write their figures to test-output/drills/<id>.json, and the runner prints
// them as one table. The suite and the runner therefore report the same measurement.

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const RESULTS_DIR = path.join(ROOT, 'test-output', 'drills');

/**
 * The drills run in the postgres project of the suite (CI), or alone under `npm run drill`
 * (PHANANH_DRILLS=1). They never touch the shared server: each starts its own PostgreSQL.
 */
export const DRILLS_ON = process.env.TEST_DB === 'postgres' || process.env.PHANANH_DRILLS === '1';

/** Why drills cannot run on this machine (no initdb, no runuser), or null. */
export const DRILLS_UNAVAILABLE = DRILLS_ON ? pgInstanceUnavailable() : null;
if (DRILLS_UNAVAILABLE) console.warn(`reliability drills skipped: ${DRILLS_UNAVAILABLE}`);

export const RUN_DRILLS = DRILLS_ON && !DRILLS_UNAVAILABLE;

export interface DrillResult {
  id: string;
  drill: string;
  /** What was sent: reports posted, or SLA deadlines that came due. */
  sent: number;
  /** Of those, what the database holds at the end. */
  stored: number;
  lost: number;
  /** Stored or delivered more than once. */
  doubled: number;
  /** Events a client should have had and did not get (null: not applicable). */
  eventsMissed: number | null;
  /** From the failure to the service being whole again, seconds (null: not applicable). */
  failoverSeconds: number | null;
  /** Free-form figures (timings) shown under the table. */
  notes?: string;
  ok: boolean;
  at: string;
}

export function recordDrill(r: Omit<DrillResult, 'at'>): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(path.join(RESULTS_DIR, `${r.id}.json`), JSON.stringify({ ...r, at: new Date().toISOString() }, null, 2));
}

/** A throwaway PostgreSQL with the phananh schema and reference data. */
export async function drillDatabase(prefix: string): Promise<PgInstance> {
  const pg = await startPgInstance({ prefix: `phananh-${prefix}-` });
  try {
    const h = await connect({ databaseUrl: pg.url, poolMax: 4 });
    try {
      await migrateToLatest(h.db);
      await seedReferenceData(h.db);
    } finally {
      await h.close();
    }
  } catch (err) {
    await pg.destroy();
    throw err;
  }
  return pg;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `cond` holds; returns the milliseconds it took. */
export async function within(ms: number, what: string, cond: () => boolean | Promise<boolean>, everyMs = 25): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (await cond()) return Date.now() - start;
    await sleep(everyMs);
  }
  throw new Error(`${what}: not within ${ms} ms`);
}

/** Configuration of an app process for a drill: its own DATA_DIR, the drill's database, port 0. */
export function drillConfig(databaseUrl: string): { config: Config; dataDir: string } {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'phananh-drill-'));
  const config = loadConfig({
    DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1', SESSION_SECRET: 'drill-secret-0123456789abcdef',
    DATABASE_URL: databaseUrl, WORKER_CONCURRENCY: '4',
  });
  return { config, dataDir };
}
