import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import type { FeatureCollection } from 'geojson';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { checkApiKey } from '../src/core/staff/api-keys.ts';
import { login, sessionUser } from '../src/core/staff/sessions.ts';
import { connect } from '../src/db/connect.ts';
import { migrateToLatest } from '../src/db/migrate.ts';
import { cliSandbox } from './support/cli.ts';
import { TEST_DB } from './support/db.ts';

// The real command line, as a child process, against one database: embedded PGlite under a
// temporary DATA_DIR, or a new empty PostgreSQL database when TEST_DB=postgres. Each start of
// the CLI costs seconds (PGlite boots in every process), so the runs are few, share one database
// and build on each other in order: migrate, then accounts (the first seeds HCMC's units), then
// an areas import.

const { box, cli, inspect } = cliSandbox('phananh-cli');

const square = (minLng: number, minLat: number): number[][][] =>
  [[[minLng, minLat], [minLng + 0.01, minLat], [minLng + 0.01, minLat + 0.01], [minLng, minLat + 0.01], [minLng, minLat]]];

function geojsonFile(name: string, features: { props: Record<string, unknown>; coords: number[][][] }[]): string {
  const fc: FeatureCollection = {
    type: 'FeatureCollection',
    features: features.map((f) => ({ type: 'Feature', properties: f.props, geometry: { type: 'Polygon', coordinates: f.coords } })),
  };
  const file = path.join(box.dataDir, name);
  writeFileSync(file, JSON.stringify(fc));
  return file;
}

// A first PGlite start initialises its data folder; on a busy machine that alone can take 20 s.
describe('phananh CLI', { timeout: 120_000 }, () => {
  it('migrate brings an empty database up to date', async () => {
    const r = await cli('migrate');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^0001_initial: Success$/m);
    const applied = await inspect(async (db) => (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db)).rows);
    expect(applied.map((m) => m.name)).toContain('0001_initial');
    // The schema is really there: an empty table answers.
    expect(await inspect((db) => db.selectFrom('inbound_messages').select('id').execute())).toEqual([]);
  });

  it('user add creates a ward officer bound to every repeated --area, with a scrypt password hash, who can sign in', async () => {
    const r = await cli('user', 'add', '--username', 'hai.phuong', '--password', 'matkhau-2phuong', '--role', 'ward_officer',
      '--name', 'Cán bộ hai phường', '--area', '26743', '--area', '26740');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('created user hai.phuong (ward_officer)');
    // The child has exited, so the embedded database can be opened here.
    await inspect(async (db) => {
      const user = await db.selectFrom('users').select(['role', 'password_hash', 'area_codes']).where('username', '=', 'hai.phuong').executeTakeFirstOrThrow();
      expect(user).toMatchObject({ role: 'ward_officer', area_codes: ['26743', '26740'] });
      expect(user.password_hash.startsWith('scrypt$')).toBe(true);
      expect(user.password_hash).not.toContain('matkhau-2phuong');
      const s = await login(db, 'hai.phuong', 'matkhau-2phuong', 'cli-test');
      expect(s.user).toMatchObject({ username: 'hai.phuong', displayName: 'Cán bộ hai phường', role: 'ward_officer', areaCodes: ['26743', '26740'] });
      expect((await sessionUser(db, s.token))?.areaCodes).toEqual(['26743', '26740']);
    });
  });

  it('user add refuses a ward officer without an area (user_area_missing) and creates nobody', async () => {
    const r = await cli('user', 'add', '--username', 'nobody', '--password', 'secret123', '--role', 'ward_officer');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('user_area_missing');
    const user = await inspect((db) => db.selectFrom('users').select('id').where('username', '=', 'nobody').executeTakeFirst());
    expect(user).toBeUndefined();
  });

  it('user add names a wrong role (user_role_invalid) and an unknown area (user_area_unknown)', async () => {
    const role = await cli('user', 'add', '--username', 'sep', '--password', 'matkhau-sep-1', '--role', 'chief');
    expect(role.code).not.toBe(0);
    expect(role.stderr).toMatch(/^phananh: user_role_invalid: role must be one of agent, supervisor, ward_officer, admin$/m);
    const area = await cli('user', 'add', '--username', 'lac.duong', '--password', 'matkhau-lac-1', '--role', 'ward_officer', '--area', '26743', '--area', '99999');
    expect(area.code).not.toBe(0);
    expect(area.stderr).toMatch(/^phananh: user_area_unknown: unknown area code\(s\): 99999$/m);
  });

  it('user disable ends the account\'s sessions and refuses its sign-in; user enable lets it in again', async () => {
    const token = await inspect(async (db) => (await login(db, 'hai.phuong', 'matkhau-2phuong', 'cli-test-2')).token);
    const off = await cli('user', 'disable', '--username', 'Hai.Phuong');
    expect(off.stdout).toContain('disabled user hai.phuong');
    await inspect(async (db) => {
      expect(await sessionUser(db, token)).toBeNull();
      expect(await db.selectFrom('sessions').select('id').execute()).toEqual([]);
      await expect(login(db, 'hai.phuong', 'matkhau-2phuong', 'cli-test-3')).rejects.toMatchObject({ code: 'login_disabled' });
    });
    expect((await cli('user', 'enable', '--username', 'hai.phuong')).code).toBe(0);
    await inspect(async (db) => expect((await login(db, 'hai.phuong', 'matkhau-2phuong', 'cli-test-4')).user.username).toBe('hai.phuong'));
    const unknown = await cli('user', 'disable', '--username', 'nobody');
    expect(unknown.stderr).toMatch(/user_not_found/);
  });

  it('areas import reads a GeoJSON file with the given properties', async () => {
    const file = geojsonFile('units.geojson', [
      { props: { id: 'T-1', ten: 'Phường Thử Một', other: 'x' }, coords: square(120.0, 20.0) },
      { props: { id: 90002, ten: ' Xã Thử Hai ' }, coords: square(120.02, 20.0) },
    ]);
    const r = await cli('areas', 'import', file, '--code-prop', 'id', '--name-prop', 'ten');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('imported 2 areas');
    const rows = await inspect((db) => db.selectFrom('areas').select(['code', 'name', 'short_name', 'kind', 'min_lng', 'max_lat'])
      .where('code', 'in', ['T-1', '90002']).orderBy('code').execute());
    expect(rows).toEqual([
      { code: '90002', name: 'Xã Thử Hai', short_name: 'Thử Hai', kind: 'xã', min_lng: 120.02, max_lat: 20.01 },
      { code: 'T-1', name: 'Phường Thử Một', short_name: 'Thử Một', kind: 'phường', min_lng: 120.0, max_lat: 20.01 },
    ]);
  });

  it('areas import stops on a feature without its name (areas_name_missing) and writes none of the file', async () => {
    const file = geojsonFile('broken.geojson', [
      { props: { id: 'B-1', ten: 'Phường Hợp Lệ' }, coords: square(121.0, 20.0) },
      { props: { id: 'B-2', name: 'wrong property' }, coords: square(121.02, 20.0) },
    ]);
    const r = await cli('areas', 'import', file, '--code-prop', 'id', '--name-prop', 'ten');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('areas_name_missing');
    expect(r.stdout).not.toContain('imported');
    const rows = await inspect((db) => db.selectFrom('areas').select('code').where('code', 'in', ['B-1', 'B-2']).execute());
    expect(rows).toEqual([]);
  });

  it('spool lists the reports set aside, and --retry stores them under the codes their senders were given', async () => {
    const dir = path.join(box.dataDir, 'spool');
    mkdirSync(dir, { recursive: true });
    const entry = {
      channel: 'app', externalId: 'cli-poison-1', payload: { text: 'Ngập nước' }, receivedAt: '2026-12-01T03:00:00.000Z',
      code: 'PA-CL1P0150', requestHash: 'x', report: { text: 'Ngập nước trước chợ Bến Thành', citizen: {}, attachments: [] },
    };
    writeFileSync(path.join(dir, 'poison.jsonl'), `${JSON.stringify({ entry, error: { code: '23514', message: 'check violated' }, at: '2026-12-01T03:00:01.000Z' })}\n`);
    const listed = await cli('spool');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('0 waiting for the database');
    expect(listed.stdout).toContain('1 set aside');
    expect(listed.stdout).toContain('PA-CL1P0150  app  received 2026-12-01T03:00:00.000Z');
    const retried = await cli('spool', '--retry');
    expect(retried.stdout).toContain('stored 1; still refused 0');
    expect(retried.code).toBe(0);
    expect(existsSync(path.join(dir, 'poison.jsonl'))).toBe(false);
    const row = await inspect((db) => db.selectFrom('inbound_messages').select(['code', 'received_at']).where('external_id', '=', 'cli-poison-1').executeTakeFirst());
    expect(row?.code).toBe('PA-CL1P0150');
  });

  // One run: list and revoke call the functions channels/open311/open311.test.ts covers.
  it('apikey add prints a working Open311 key once and stores only its hash', async () => {
    const r = await cli('apikey', 'add', '--name', 'Ứng dụng CLI');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const key = /^([A-Za-z0-9_-]{43})$/m.exec(r.stdout)?.[1];
    expect(key).toBeDefined();
    await inspect(async (db) => {
      expect(await checkApiKey(db, key)).toMatchObject({ name: 'Ứng dụng CLI' });
      expect(JSON.stringify(await db.selectFrom('api_keys').selectAll().execute())).not.toContain(key);
    });
  });

  it('dashboard compact folds the rollup\'s pending deltas into it and says how many', async () => {
    await inspect(async (db) => {
      await migrateToLatest(db); // already done when the whole file runs
      // A new ticket: the triggers append its deltas (the city's, its day's and month's).
      await db.insertInto('tickets').values({ code: 'PA-COMPACT1', title: 'Rác thải chất đống', received_at: new Date() }).execute();
    });
    const pending = await inspect(async (db) => Number((await sql<{ n: string }>`select count(*) as n from dashboard_rollup_delta`.execute(db)).rows[0]!.n));
    expect(pending).toBeGreaterThan(0);
    const r = await cli('dashboard', 'compact');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^compacted the dashboard rollup: ${pending} delta rows in [\\d.]+ s$`, 'm'));
    const after = await inspect(async (db) => ({
      deltas: Number((await sql<{ n: string }>`select count(*) as n from dashboard_rollup_delta`.execute(db)).rows[0]!.n),
      city: Number((await sql<{ n: string }>`select coalesce(sum(volume), 0) as n from dashboard_rollup where grain = 'd' and dim = 'city'`.execute(db)).rows[0]!.n),
    }));
    expect(after.deltas).toBe(0);
    expect(after.city).toBeGreaterThanOrEqual(1);
  });

  it('search reindex rebuilds every ticket\'s search document, with its progress on stderr', async () => {
    const id = await inspect(async (db) => {
      await migrateToLatest(db); // already done when the whole file runs
      const t = await db.insertInto('tickets').values({ code: 'PA-REINDEX1', title: 'Ngập nước đường Nguyễn Hữu Cảnh', received_at: new Date() })
        .returning('id').executeTakeFirstOrThrow();
      // Two years back: before the months the database was made with, its document waits in the catch-all.
      const old = await db.insertInto('tickets').values({ code: 'PA-REINDEX2', title: 'Rác thải chất đống', received_at: new Date(Date.now() - 730 * 86_400_000) })
        .returning('id').executeTakeFirstOrThrow();
      await db.deleteFrom('ticket_search').where('ticket_id', '<>', old.id).execute();
      return t.id;
    });
    const r = await cli('search', 'reindex');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^indexed \d+ tickets \((postgres|meilisearch)\) in [\d.]+ s$/m);
    expect(r.stderr).toMatch(/\[#+\] 100% {2}(\d+)\/\1 tickets/);
    if (!process.env.MEILI_URL) {
      const doc = await inspect((db) => db.selectFrom('ticket_search').select('folded').where('ticket_id', '=', id).executeTakeFirst());
      expect(doc?.folded).toContain('ngap nuoc duong nguyen huu canh');
      // Every document in its month's partition: reindex adds the months back to the oldest ticket.
      const parts = await inspect(async (db) => (await sql<{ part: string }>`
        select distinct s.tableoid::regclass::text as part from ticket_search s join tickets t on t.id = s.ticket_id where t.code like 'PA-REINDEX%'`.execute(db)).rows.map((r) => r.part));
      expect(parts).toHaveLength(2);
      expect(parts.every((p) => /^ticket_search_y\d{4}m\d{2}$/.test(p))).toBe(true);
    }
  });
  it.skipIf(TEST_DB === 'postgres')('refuses the embedded database while another process has it open, and takes over a dead one\'s lock', async () => {
    // This test process holds it, as `npm start` would.
    const server = await connect({ dataDir: box.dataDir });
    let r;
    try {
      r = await cli('apikey', 'list');
    } finally {
      await server.close();
    }
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`phananh: database_in_use: the embedded database in ${path.join(box.dataDir, 'pglite')} is open in process ${process.pid}`);
    expect(r.stderr).toContain('DATABASE_URL');
    // Closed: the lock is gone and the command runs.
    expect(existsSync(path.join(box.dataDir, 'pglite.lock'))).toBe(false);
    expect((await cli('apikey', 'list')).code).toBe(0);
    // A lock left by a process that died (killed, the machine restarted) does not stop anyone.
    writeFileSync(path.join(box.dataDir, 'pglite.lock'), JSON.stringify({ pid: 2 ** 22 + 4321, since: '2026-12-01T00:00:00Z' }));
    expect((await cli('apikey', 'list')).code).toBe(0);
    expect(existsSync(path.join(box.dataDir, 'pglite.lock'))).toBe(false);
    // Nor one naming this very process's id that this process does not hold (a restarted
    // container's one process is pid 1 every time); one it holds refuses a second open.
    writeFileSync(path.join(box.dataDir, 'pglite.lock'), JSON.stringify({ pid: process.pid, since: '2026-12-01T00:00:00Z' }));
    const again = await connect({ dataDir: box.dataDir });
    try {
      await expect(connect({ dataDir: box.dataDir })).rejects.toThrow(`is open in process ${process.pid} (this one)`);
    } finally {
      await again.close();
    }
    expect(existsSync(path.join(box.dataDir, 'pglite.lock'))).toBe(false);
  });
  it('start stops with port_in_use, no stack, when its port is taken, and leaves the database free', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    process.env.PORT = String(port);
    process.env.HOST = '127.0.0.1';
    let r;
    try {
      r = await cli('start');
    } finally {
      delete process.env.PORT;
      delete process.env.HOST;
      await new Promise((resolve) => taken.close(resolve));
    }
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`phananh: port_in_use: port ${port} on 127.0.0.1 is in use`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(path.join(box.dataDir, 'pglite.lock'))).toBe(false);
  });
});
