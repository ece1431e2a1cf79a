import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { connect } from '../../src/db/connect.ts';
import type { Db } from '../../src/db/schema.ts';
import { emptyServerDatabase, TEST_DB } from './db.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/phananh.mjs');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The real command line as an operator runs it, against one database for the test file:
 * embedded PGlite under a temporary DATA_DIR, or a new empty PostgreSQL database when
 * TEST_DB=postgres. Registers the hooks that create and remove it.
 */
export function cliSandbox(prefix: string) {
  const box = { dataDir: '', databaseUrl: '' };
  let drop: (() => Promise<void>) | null = null;
  beforeAll(async () => {
    box.dataDir = mkdtempSync(path.join(tmpdir(), `${prefix}-`));
    if (TEST_DB === 'postgres') {
      const server = await emptyServerDatabase();
      box.databaseUrl = server.url;
      drop = server.drop;
    }
  });
  afterAll(async () => {
    await drop?.();
    rmSync(box.dataDir, { recursive: true, force: true });
  });

  /** Runs `node bin/phananh.mjs ...args` on the sandbox's database. */
  const cli = (...args: string[]): Promise<CliRun> => new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: box.dataDir, DATABASE_URL: box.databaseUrl, LOG_LEVEL: 'warn' };
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });

  /** Opens the CLI's database in this process (after the child has exited: PGlite is single-process). */
  const inspect = async <T>(fn: (db: Db) => Promise<T>): Promise<T> => {
    const handle = await connect(box.databaseUrl ? { databaseUrl: box.databaseUrl, poolMax: 2 } : { dataDir: box.dataDir });
    try {
      return await fn(handle.db);
    } finally {
      await handle.close();
    }
  };
  return { box, cli, inspect };
}
