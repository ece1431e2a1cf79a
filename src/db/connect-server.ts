import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database, Db } from './schema.ts';

export interface DbHandle {
  db: Db;
  kind: 'pglite' | 'postgres';
  /** The server's URL (postgres only): for connections of their own, such as the leader lock's. */
  url?: string;
  /** Closes the pool (server) or the embedded database, flushing it to disk. */
  close(): Promise<void>;
}

// int8 (counts, bigserial ids) and numeric as JS numbers on both dialects: our values stay
// far below 2^53, and one representation avoids dialect-dependent bugs.
export const INT8 = 20;
export const NUMERIC = 1700;
pg.types.setTypeParser(INT8, (v) => Number(v));
pg.types.setTypeParser(NUMERIC, (v) => Number(v));

/**
 * A PostgreSQL server through a pg pool. This module has no embedded database in it, so the
 * edge bundle (src/edge.ts) imports it alone.
 */
export function connectServer(url: string, poolMax = 10): DbHandle {
  const pool = serverPool(url, poolMax);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, kind: 'postgres', url, close: () => db.destroy() };
}

/** The app's pool of connections to a PostgreSQL server (also for tools that need their own Kysely, such as a bench's EXPLAIN). */
export function serverPool(url: string, poolMax: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max: poolMax, connectionTimeoutMillis: 5_000 });
  // An idle client losing its server must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  // Nor one checked out between two statements (inside a transaction): pg-pool drops its own
  // listener while a client is lent out, and the pool discards the broken client on release.
  // And no JIT compilation: our statements are short lookups, and a batch's plan estimated
  // costly (many inputs) was compiled for ~40 ms before running in 1 ms.
  pool.on('connect', (client) => {
    client.on('error', () => {});
    client.query('set jit = off').catch(() => {});
  });
  return pool;
}
