import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { connect, type DbHandle } from '../../src/db/connect.ts';

const LOCAL_SERVER = 'postgres://postgres@127.0.0.1:5432/postgres';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** The database a benchmark runs on; `drop()` removes the throwaway database again. */
export interface BenchDatabase {
  kind: 'postgres' | 'pglite';
  /** For the report: where it runs, without credentials. */
  label: string;
  /** URL of the throwaway database (PostgreSQL only). */
  url?: string;
  /** The already opened embedded database (PGlite only). */
  handle?: DbHandle;
  drop(): Promise<void>;
}

/**
 * A fresh database for one benchmark run, never an existing one: a new `phananh_bench_<random>`
 * database on the server named by BENCH_DATABASE_URL or DATABASE_URL (which only says where
 * the server is), else on the local server at 127.0.0.1:5432; an in-memory PGlite when no URL
 * is set and the local server does not answer. Benchmarks talk to the loopback only.
 */
export interface BenchDatabaseOptions {
  /** Part of the database name: `phananh_bench_<tag>_<random>`. */
  tag?: string;
  /** The benchmark needs a server (no PGlite fallback). */
  serverOnly?: boolean;
  /** A statement timeout for the throwaway database, so a runaway statement cannot outlive the run. */
  statementTimeout?: string;
}

/** The server benchmarks use (BENCH_DATABASE_URL, DATABASE_URL, else the local one); only one on this machine. */
function benchServer(): { server: URL; explicit: boolean } {
  const explicit = process.env.BENCH_DATABASE_URL?.trim() || process.env.DATABASE_URL?.trim() || undefined;
  const server = new URL(explicit ?? LOCAL_SERVER);
  if (!LOOPBACK.has(server.hostname)) {
    throw new Error(`benchmarks only run against a server on this machine; ${server.hostname} is not 127.0.0.1`);
  }
  return { server, explicit: explicit !== undefined };
}

export async function openBenchDatabase(opts: BenchDatabaseOptions = {}): Promise<BenchDatabase> {
  const { server, explicit } = benchServer();
  const admin = new pg.Client({ connectionString: server.toString(), connectionTimeoutMillis: 3000 });
  admin.on('error', () => {});
  try {
    await admin.connect();
  } catch (err) {
    if (explicit || opts.serverOnly) throw new Error(`cannot reach PostgreSQL at ${server.host}: ${(err as Error).message}`);
    console.log(`PostgreSQL at ${server.host} is unreachable (${(err as Error).message}); falling back to embedded PGlite in memory.`);
    console.log('PGlite serves one query at a time, so the PostgreSQL targets do not apply to these figures.\n');
    const handle = await connect({ inMemory: true });
    return { kind: 'pglite', label: 'embedded PGlite (in memory)', handle, drop: async () => {} };
  }
  const name = `phananh_bench_${opts.tag ? `${opts.tag}_` : ''}${randomBytes(5).toString('hex')}`;
  let version = '';
  try {
    version = String((await admin.query('show server_version')).rows[0]?.server_version ?? '');
    await admin.query(`create database ${name}`);
    if (opts.statementTimeout) await admin.query(`alter database ${name} set statement_timeout = '${opts.statementTimeout.replace(/'/g, '')}'`);
  } finally {
    await admin.end();
  }
  const url = new URL(server);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    kind: 'postgres',
    label: `PostgreSQL ${version} at ${server.host}, throwaway database ${name}`,
    url: url.toString(),
    async drop() {
      if (dropped) return;
      dropped = true;
      const c = new pg.Client({ connectionString: server.toString(), connectionTimeoutMillis: 3000 });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A database an earlier run kept on the benchmarks' server, used as a throwaway one is but never dropped. */
export function keptBenchDatabase(name: string): BenchDatabase & { url: string } {
  const url = new URL(benchServer().server);
  url.pathname = `/${name}`;
  return { kind: 'postgres', label: `kept database ${name} at ${url.host}`, url: url.toString(), drop: async () => {} };
}

/** A throwaway database on the PostgreSQL server, for benchmarks that need one (no fallback). */
export async function openServerBenchDatabase(opts: Omit<BenchDatabaseOptions, 'serverOnly'> = {}): Promise<BenchDatabase & { url: string }> {
  const db = await openBenchDatabase({ ...opts, serverOnly: true });
  if (!db.url) throw new Error('a PostgreSQL server is needed');
  return { ...db, url: db.url };
}
