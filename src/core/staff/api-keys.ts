// Keys that Open311 clients (another city system, a third-party app) post reports with. An admin
// issues one per client with `phananh apikey add --name ...`; the key is shown once and only its
// SHA-256 is stored, so a copy of the database lets no one post as a client.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { sql } from 'kysely';
import type { Db } from '../../db/schema.ts';
import { AppError } from '../errors.ts';

/** A key's length as issued: 32 random bytes in base64url. */
const KEY_LENGTH = 43;
const NAME_MAX = 100;
/** last_used_at is written at most this often per key (not once per request). */
const USE_RESOLUTION_MS = 60_000;

/** A client that holds a working key. */
export interface ApiClient {
  id: number;
  name: string;
}

/** A key as `apikey list` shows it (never the key). */
export interface ApiKeyInfo extends ApiClient {
  createdAt: Date;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

const hashOf = (key: string) => createHash('sha256').update(key, 'utf8').digest('hex');

function cleanName(raw: string): string {
  const name = raw.trim();
  if (!name || name.length > NAME_MAX || /\p{Cc}/u.test(name)) {
    throw new AppError('api_key_name_invalid', 422, `the key's name must be 1 to ${NAME_MAX} characters, no control characters`);
  }
  return name;
}

/** Issues a key for a client; the key is returned here and nowhere else. One active key per name. */
export async function issueApiKey(db: Db, rawName: string): Promise<ApiClient & { key: string }> {
  const name = cleanName(rawName);
  const key = randomBytes(32).toString('base64url');
  const taken = await db.selectFrom('api_keys').select('id').where('name', '=', name).where('revoked_at', 'is', null).executeTakeFirst();
  if (taken) throw new AppError('api_key_name_taken', 409, `an active key named "${name}" exists: revoke it first or choose another name`);
  const row = await db.insertInto('api_keys').values({ name, key_hash: hashOf(key) }).returning('id').executeTakeFirstOrThrow();
  return { id: row.id, name, key };
}

/** Every key, active first, newest first. */
export async function listApiKeys(db: Db): Promise<ApiKeyInfo[]> {
  const rows = await db.selectFrom('api_keys').select(['id', 'name', 'created_at', 'last_used_at', 'revoked_at'])
    .orderBy(sql`revoked_at is not null`).orderBy('id', 'desc').execute();
  return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at, lastUsedAt: r.last_used_at, revokedAt: r.revoked_at }));
}

/** Revokes the active key of that name (or that id): it stops working at once. */
export async function revokeApiKey(db: Db, by: { name: string } | { id: number }): Promise<ApiClient> {
  const q = db.updateTable('api_keys').set({ revoked_at: new Date() }).where('revoked_at', 'is', null);
  const row = await ('id' in by ? q.where('id', '=', by.id) : q.where('name', '=', by.name.trim())).returning(['id', 'name']).executeTakeFirst();
  if (!row) throw new AppError('api_key_not_found', 404, 'no active key with this name or id');
  return row;
}

/**
 * The client holding `key`, or null when it is unknown or revoked. The key is bounded before it
 * is hashed; the stored hash is compared in constant time; last_used_at follows within a minute.
 */
export async function checkApiKey(db: Db, key: string | undefined): Promise<ApiClient | null> {
  if (!key || key.length !== KEY_LENGTH) return null;
  const hash = hashOf(key);
  const row = await db.selectFrom('api_keys').select(['id', 'name', 'key_hash', 'last_used_at'])
    .where('key_hash', '=', hash).where('revoked_at', 'is', null).executeTakeFirst();
  if (!row || !timingSafeEqual(Buffer.from(row.key_hash, 'hex'), Buffer.from(hash, 'hex'))) return null;
  if (!row.last_used_at || Date.now() - row.last_used_at.getTime() > USE_RESOLUTION_MS) {
    await db.updateTable('api_keys').set({ last_used_at: new Date() }).where('id', '=', row.id).execute();
  }
  return { id: row.id, name: row.name };
}
