import type { PGlite } from '@electric-sql/pglite';

/**
 * Presents one PGlite instance as the small `pg.Pool` surface Kysely's PostgresDialect uses.
 * PGlite has a single connection, so `connect()` hands it out under a queue: a transaction
 * holds it until `release()`, and other queries wait instead of interleaving with it.
 */
export class PGlitePool {
  #queue: Promise<void> = Promise.resolve();
  constructor(readonly pg: PGlite) {}

  async connect(): Promise<{ query: PGliteClient['query']; release: () => void }> {
    let release!: () => void;
    const turn = new Promise<void>((resolve) => (release = resolve));
    const previous = this.#queue;
    this.#queue = previous.then(() => turn);
    await previous;
    const client = new PGliteClient(this.pg);
    let released = false;
    return {
      query: client.query.bind(client),
      release: () => {
        if (!released) {
          released = true;
          release();
        }
      },
    };
  }

  async end(): Promise<void> {
    await this.#queue;
    if (!this.pg.closed) await this.pg.close();
  }
}

class PGliteClient {
  constructor(private readonly pg: PGlite) {}

  async query(sqlText: string, params: readonly unknown[]): Promise<{ command: string; rowCount: number; rows: unknown[] }> {
    const result = await this.pg.query(sqlText, params as unknown[]);
    const first = /^\s*(\w+)/.exec(sqlText)?.[1]?.toUpperCase() ?? '';
    // PGlite does not report the command tag; Kysely needs it for affected-row counts and
    // for noticing a COMMIT that Postgres turned into a ROLLBACK.
    const command = first === 'WITH' ? 'UPDATE' : first;
    return { command, rowCount: result.affectedRows ?? result.rows.length, rows: result.rows };
  }
}
