import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import { connectServer, INT8, NUMERIC, type DbHandle } from './connect-server.ts';
import { lockEmbeddedDatabase } from './embedded-lock.ts';

export type { DbHandle } from './connect-server.ts';

export interface ConnectOptions {
  /** A PostgreSQL URL; absent -> embedded PGlite. */
  databaseUrl?: string | undefined;
  /** Folder for the embedded database; `memory://` or absent with `inMemory` for tests. */
  dataDir?: string;
  inMemory?: boolean;
  /** An embedded database to start from (PGlite's `dumpDataDir`): tests clone a migrated one. */
  loadDataDir?: Blob;
  poolMax?: number;
}

/** An embedded database's handle, which can also be dumped (to be loaded again with `loadDataDir`). */
export type PgliteHandle = DbHandle & { dump(): Promise<Blob> };

/** Opens the database: a PostgreSQL server when a URL is given, embedded PGlite otherwise. */
export async function connect(opts: ConnectOptions & { databaseUrl?: undefined }): Promise<PgliteHandle>;
export async function connect(opts: ConnectOptions): Promise<DbHandle>;
export async function connect(opts: ConnectOptions): Promise<DbHandle> {
  if (opts.databaseUrl) return connectServer(opts.databaseUrl, opts.poolMax);
  const [{ PGlite }, { pg_trgm }, { unaccent }, { PGliteDialect }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('@electric-sql/pglite/contrib/pg_trgm'),
    import('@electric-sql/pglite/contrib/unaccent'),
    import('./pglite-dialect.ts'),
  ]);
  let dataDir: string | undefined;
  let release = () => {};
  if (!opts.inMemory) {
    dataDir = path.join(opts.dataDir ?? './data', 'pglite');
    mkdirSync(dataDir, { recursive: true });
    // Before PGlite reads the files: a second process must not open them at all.
    release = lockEmbeddedDatabase(dataDir);
  }
  let instance: Awaited<ReturnType<typeof PGlite.create>>;
  try {
    instance = await PGlite.create({
      ...(dataDir ? { dataDir } : {}),
      ...(opts.loadDataDir ? { loadDataDir: opts.loadDataDir } : {}),
      extensions: { pg_trgm, unaccent },
      parsers: { [INT8]: (v: string) => Number(v), [NUMERIC]: (v: string) => Number(v) },
    });
  } catch (e) {
    release();
    throw e;
  }
  const db = new Kysely<Database>({ dialect: new PGliteDialect(instance) });
  const close = async () => {
    try {
      await db.destroy();
    } finally {
      release();
    }
  };
  const handle: PgliteHandle = { db, kind: 'pglite', close, dump: () => instance.dumpDataDir('none') };
  return handle;
}
