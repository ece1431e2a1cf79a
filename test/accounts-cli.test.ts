import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../src/db/connect.ts';
import { sessionUser, login } from '../src/core/sessions.ts';
import { emptyServerDatabase, TEST_DB } from './support/db.ts';

// `npx phananh user add` as an operator runs it: a child process on its own database (embedded
// PGlite under a temporary DATA_DIR, or a new PostgreSQL database). Each run boots the database,
// so there are three, in order: a two-unit officer, then the two refusals.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin/phananh.mjs');

let dataDir: string;
let databaseUrl = '';
let dropDatabase: (() => Promise<void>) | null = null;

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), 'phananh-accounts-'));
  if (TEST_DB === 'postgres') {
    const server = await emptyServerDatabase();
    databaseUrl = server.url;
    dropDatabase = server.drop;
  }
});
afterAll(async () => {
  await dropDatabase?.();
  rmSync(dataDir, { recursive: true, force: true });
});

function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' };
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('phananh user add', { timeout: 120_000 }, () => {
  it('binds a ward officer to every repeated --area, and the account can sign in', async () => {
    const r = await cli('user', 'add', '--username', 'hai.phuong', '--password', 'matkhau-2phuong', '--role', 'ward_officer',
      '--name', 'Cán bộ hai phường', '--area', '26743', '--area', '26740');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('created user hai.phuong (ward_officer)');
    // The child has exited, so the embedded database can be opened here.
    const handle = await connect(databaseUrl ? { databaseUrl, poolMax: 2 } : { dataDir });
    try {
      const s = await login(handle.db, 'hai.phuong', 'matkhau-2phuong', 'cli-test');
      expect(s.user).toMatchObject({ username: 'hai.phuong', displayName: 'Cán bộ hai phường', role: 'ward_officer', areaCodes: ['26743', '26740'] });
      expect((await sessionUser(handle.db, s.token))?.areaCodes).toEqual(['26743', '26740']);
    } finally {
      await handle.close();
    }
  });

  it('names a wrong role (user_role_invalid) and an unknown area (user_area_unknown)', async () => {
    const role = await cli('user', 'add', '--username', 'sep', '--password', 'matkhau-sep-1', '--role', 'chief');
    expect(role.code).not.toBe(0);
    expect(role.stderr).toMatch(/^phananh: user_role_invalid: role must be one of agent, supervisor, ward_officer, admin$/m);
    const area = await cli('user', 'add', '--username', 'lac.duong', '--password', 'matkhau-lac-1', '--role', 'ward_officer', '--area', '26743', '--area', '99999');
    expect(area.code).not.toBe(0);
    expect(area.stderr).toMatch(/^phananh: user_area_unknown: unknown area code\(s\): 99999$/m);
  });
});
