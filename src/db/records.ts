import { sql } from 'kysely';
import type { DbOrTx } from './schema.ts';

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;
// eslint-disable-next-line no-control-regex -- NUL is what PostgreSQL refuses
const REFUSED = /[\u0000\ud800-\udfff]/;

/** A string as PostgreSQL's jsonb takes it: NUL and lone surrogates become U+FFFD. */
const storable = (s: string) => (REFUSED.test(s) ? s.replace(LONE_SURROGATE, '\ufffd').replaceAll('\u0000', '\ufffd') : s);

/**
 * JSON text for a jsonb parameter. PostgreSQL's JSON parser refuses a NUL (`\u0000`) and a lone
 * surrogate (half an emoji, from a cut string or a client's "\ud83d") in any string or key, and
 * one such value would fail every row sent with it: each becomes U+FFFD, as a lone surrogate
 * does in a text parameter. Raw payloads keep everything else exactly as it arrived.
 */
export function jsonParam(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'string') return storable(v);
    if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).some((k) => REFUSED.test(k))) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [storable(k), x]));
    }
    return v;
  });
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
