import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database, Db } from './schema.ts';
import { PGlitePool } from './pglite-pool.ts';

export interface DbHandle {
  db: Db;
  kind: 'pglite' | 'postgres';
  /** The server's URL (postgres only): for connections of their own, such as the leader lock's. */
  url?: string;
  /** Closes the pool (server) or the embedded database, flushing it to disk. */
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** A PostgreSQL URL; absent -> embedded PGlite. */
  databaseUrl?: string | undefined;
  /** Folder for the embedded database; `memory://` or absent with `inMemory` for tests. */
  dataDir?: string;
  inMemory?: boolean;
  poolMax?: number;
}

// int8 (counts, bigserial ids) and numeric as JS numbers on both dialects: our values stay
// far below 2^53, and one representation avoids dialect-dependent bugs.
const INT8 = 20;
const NUMERIC = 1700;
pg.types.setTypeParser(INT8, (v) => Number(v));
pg.types.setTypeParser(NUMERIC, (v) => Number(v));

/** Opens the database: a PostgreSQL server when a URL is given, embedded PGlite otherwise. */
export async function connect(opts: ConnectOptions): Promise<DbHandle> {
  if (opts.databaseUrl) {
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.poolMax ?? 10, connectionTimeoutMillis: 5_000 });
    // An idle client losing its server must not crash the process; the pool replaces it.
    pool.on('error', () => {});
    // Nor one checked out between two statements (inside a transaction): pg-pool drops its own
    // listener while a client is lent out, and the pool discards the broken client on release.
    pool.on('connect', (client) => client.on('error', () => {}));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, kind: 'postgres', url: opts.databaseUrl, close: () => db.destroy() };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm');
  const { unaccent } = await import('@electric-sql/pglite/contrib/unaccent');
  let dataDir: string | undefined;
  if (!opts.inMemory) {
    dataDir = path.join(opts.dataDir ?? './data', 'pglite');
    mkdirSync(dataDir, { recursive: true });
  }
  const instance = await PGlite.create({
    ...(dataDir ? { dataDir } : {}),
    extensions: { pg_trgm, unaccent },
    parsers: { [INT8]: (v: string) => Number(v), [NUMERIC]: (v: string) => Number(v) },
  });
  const pool = new PGlitePool(instance);
  const db = new Kysely<Database>({
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    dialect: new PostgresDialect({ pool: pool as any }),
  });
  return { db, kind: 'pglite', close: () => db.destroy() };
}
