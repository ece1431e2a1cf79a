import { randomBytes } from 'node:crypto';
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
    handle = await connect({ inMemory: true });
  }
  await migrateToLatest(handle.db);
  if (opts.seed !== false) await seedReferenceData(handle.db);
  return handle;
}
