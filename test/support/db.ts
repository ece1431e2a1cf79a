import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { connect, type DbHandle } from '../../src/db/connect.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { seedReferenceData } from '../../src/db/seed.ts';

/** Which database this test run uses: set per vitest project. */
export const TEST_DB = process.env.TEST_DB === 'postgres' ? 'postgres' : 'pglite';

/**
 * A fresh, migrated and seeded database for one test file: an in-memory PGlite, or a new
 * database on the PostgreSQL server of TEST_DATABASE_URL (dropped again by `close`).
 */
export async function freshDb(opts: { seed?: boolean } = {}): Promise<DbHandle & { url?: string }> {
  let handle: DbHandle & { url?: string };
  if (TEST_DB === 'postgres') {
    const base = process.env.TEST_DATABASE_URL;
    if (!base) throw new Error('TEST_DB=postgres needs TEST_DATABASE_URL');
    const name = `phananh_t_${randomBytes(5).toString('hex')}`;
    const admin = new pg.Client({ connectionString: base });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();
    const url = new URL(base);
    url.pathname = `/${name}`;
    const inner = await connect({ databaseUrl: url.toString(), poolMax: 10 });
    handle = {
      ...inner,
      url: url.toString(),
      async close() {
        await inner.close();
        const c = new pg.Client({ connectionString: base });
        await c.connect();
        await c.query(`drop database if exists ${name} with (force)`);
        await c.end();
      },
    };
  } else {
    handle = await connect({ inMemory: true });
  }
  await migrateToLatest(handle.db);
  if (opts.seed !== false) await seedReferenceData(handle.db);
  return handle;
}
