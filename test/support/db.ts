import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { connect, type DbHandle } from '../../src/db/connect.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { seedReferenceData } from '../../src/city/seed.ts';

/** Which database this test run uses: set per vitest project. */
export const TEST_DB = process.env.TEST_DB === 'postgres' ? 'postgres' : 'pglite';

/**
 * A new, empty database (not migrated) on the PostgreSQL server of TEST_DATABASE_URL, for
 * tests that hand a URL to another process (the CLI); `drop` removes it again.
 */
export async function emptyServerDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = process.env.TEST_DATABASE_URL;
  if (!base) throw new Error('TEST_DB=postgres needs TEST_DATABASE_URL');
  const name = `phananh_t_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

/**
 * A fresh, migrated and seeded database for one test file: an in-memory PGlite, or a new
 * database on the PostgreSQL server of TEST_DATABASE_URL (dropped again by `close`).
 */
export async function freshDb(opts: { seed?: boolean } = {}): Promise<DbHandle & { url?: string }> {
  let handle: DbHandle & { url?: string };
  if (TEST_DB === 'postgres') {
    const server = await emptyServerDatabase();
    const inner = await connect({ databaseUrl: server.url, poolMax: 10 });
    handle = {
      ...inner,
      url: server.url,
      async close() {
        await inner.close();
        await server.drop();
      },
    };
  } else {
    // Migrating and seeding an embedded database takes seconds; a copy of one takes one.
    if (opts.seed !== false) return connect({ inMemory: true, loadDataDir: await pgliteTemplate() });
    handle = await connect({ inMemory: true });
  }
  await migrateToLatest(handle.db);
  if (opts.seed !== false) await seedReferenceData(handle.db);
  return handle;
}

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Every file under `dir` (recursively), as path and content, for a cache key. */
function hashTree(h: ReturnType<typeof createHash>, dir: string): void {
  for (const name of readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) hashTree(h, p);
    else h.update(p).update(readFileSync(p));
  }
}

/**
 * A migrated, seeded embedded database, dumped once and kept in the temp folder under a key of
 * everything that decides its content (migrations, the city profile and its data, the db and
 * engine code that seeding runs): a change to any of them makes a new one.
 */
export async function pgliteTemplate(): Promise<Blob> {
  const h = createHash('sha256');
  for (const dir of ['migrations', 'src/city', 'src/db', 'src/core/places', 'src/core/engine', 'seed']) hashTree(h, path.join(ROOT, dir));
  h.update(readFileSync(path.join(ROOT, 'package-lock.json')));
  const file = path.join(tmpdir(), `phananh-test-pglite-${h.digest('hex').slice(0, 16)}.tar`);
  try {
    return new Blob([readFileSync(file)]);
  } catch {
    const built = await connect({ inMemory: true });
    await migrateToLatest(built.db);
    await seedReferenceData(built.db);
    const blob = await built.dump();
    await built.close();
    // Written aside and renamed: a concurrent worker reads a whole file or none.
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(tmp, Buffer.from(await blob.arrayBuffer()));
    renameSync(tmp, file);
    return blob;
  }
}
