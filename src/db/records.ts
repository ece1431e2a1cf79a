import { sql } from 'kysely';
import type { DbOrTx } from './schema.ts';

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * JSON text for a jsonb parameter. A lone surrogate (half an emoji, from a cut string or a
 * client's "\\ud83d") is refused by PostgreSQL's JSON parser, and would fail every row sent with
 * it; it becomes U+FFFD, as it does in a text parameter.
 */
export function jsonParam(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' && /[\ud800-\udfff]/.test(v) ? v.replace(LONE_SURROGATE, '\ufffd') : v));
}

/** PostgreSQL types of the columns written, by column name. */
export type RecordColumns = Record<string, 'text' | 'integer' | 'bigint' | 'double precision' | 'boolean' | 'timestamptz' | 'jsonb'>;

/**
 * `INSERT ... SELECT` from `jsonb_to_recordset` of one JSON parameter: any number of rows for
 * the cost of one value. A multi-row VALUES list carries a parameter per value, each built,
 * sent and parsed (thousands for a batch of reports, and milliseconds of event-loop time).
 * Dates go as ISO strings; jsonb columns take the JSON value itself.
 */
export async function insertRecords<R>(db: DbOrTx, table: string, columns: RecordColumns, rows: Record<string, unknown>[], returning: string[]): Promise<R[]> {
  if (rows.length === 0) return [];
  const names = Object.keys(columns);
  const result = await sql<R>`
    insert into ${sql.table(table)} (${sql.join(names.map((n) => sql.ref(n)))})
    select ${sql.join(names.map((n) => sql.ref(`x.${n}`)))}
    from jsonb_to_recordset(cast(${jsonParam(rows)} as jsonb)) as x(${sql.raw(names.map((n) => `"${n}" ${columns[n]}`).join(', '))})
    returning ${sql.join(returning.map((n) => sql.ref(n)))}`.execute(db);
  return result.rows;
}
