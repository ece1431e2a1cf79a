import type { PGlite } from '@electric-sql/pglite';
import {
  AbortedTransactionError, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler,
  type CompiledQuery, type DatabaseConnection, type DatabaseIntrospector, type Dialect, type DialectAdapter, type Driver, type Kysely,
  type QueryCompiler, type QueryResult, type TransactionSettings,
} from 'kysely';

/**
 * Kysely on embedded PGlite: PostgreSQL's SQL, adapter and introspector, with a driver that
 * talks to the one PGlite instance. PGlite has a single session, so the driver lends it out
 * one holder at a time: a transaction keeps it from BEGIN to COMMIT and every other query
 * waits its turn instead of running inside someone else's transaction.
 */
export class PGliteDialect implements Dialect {
  constructor(private readonly pg: PGlite) {}
  createAdapter(): DialectAdapter {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new PGliteDriver(this.pg);
  }
  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new PostgresIntrospector(db);
  }
  createQueryCompiler(): QueryCompiler {
    return new PostgresQueryCompiler();
  }
}

const AFFECTING = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

class PGliteConnection implements DatabaseConnection {
  constructor(private readonly pg: PGlite) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.pg.query<R>(query.sql, [...query.parameters]);
    const command = result.command ?? '';
    return {
      rows: result.rows,
      ...(AFFECTING.has(command) ? { numAffectedRows: BigInt(result.affectedRows ?? 0) } : {}),
    };
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not supported on the embedded database; page with limit/offset or a keyset instead');
  }

  /** The command tag of a statement the driver runs itself (COMMIT may come back as ROLLBACK). */
  async command(sqlText: string): Promise<string> {
    return (await this.pg.query(sqlText)).command ?? '';
  }
}

class PGliteDriver implements Driver {
  readonly #connection: PGliteConnection;
  /** Resolves when the current holder releases the session; the next acquirer chains onto it. */
  #queue: Promise<void> = Promise.resolve();
  #release = new WeakMap<DatabaseConnection, () => void>();
  #destroyed = false;

  constructor(private readonly pg: PGlite) {
    this.#connection = new PGliteConnection(pg);
  }

  async init(): Promise<void> {
    await this.pg.waitReady;
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    let release!: () => void;
    const turn = new Promise<void>((resolve) => (release = resolve));
    const previous = this.#queue;
    this.#queue = previous.then(() => turn);
    await previous;
    if (this.#destroyed) {
      release();
      throw new Error('the embedded database is closed');
    }
    // One object stands for the session; the release belongs to this holder's turn.
    const lent = Object.create(this.#connection) as PGliteConnection;
    this.#release.set(lent, release);
    return lent;
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    let text = 'begin';
    if (settings.isolationLevel) text += ` isolation level ${settings.isolationLevel}`;
    if (settings.accessMode) text += ` ${settings.accessMode}`;
    await (connection as PGliteConnection).command(text);
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    // PostgreSQL completes COMMIT with a ROLLBACK tag when an earlier statement failed.
    if ((await (connection as PGliteConnection).command('commit')) === 'ROLLBACK') throw new AbortedTransactionError();
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as PGliteConnection).command('rollback');
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await (connection as PGliteConnection).command(`savepoint ${ident(name)}`);
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await (connection as PGliteConnection).command(`rollback to savepoint ${ident(name)}`);
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await (connection as PGliteConnection).command(`release savepoint ${ident(name)}`);
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const release = this.#release.get(connection);
    this.#release.delete(connection);
    release?.();
  }

  async destroy(): Promise<void> {
    this.#destroyed = true;
    // Whoever holds the session finishes first; then PGlite flushes and closes.
    await this.#queue;
    if (!this.pg.closed) await this.pg.close();
  }
}

function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
