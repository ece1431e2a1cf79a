import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { Context } from 'hono';
import { sql } from 'kysely';
import { identitiesOf, type CitizenContact } from '../core/citizens/identity.ts';
import { AppError } from '../core/errors.ts';
import { isConnectionError } from '../db/connection-error.ts';
import type { Db } from '../db/schema.ts';

/** The fixed window every public intake limit counts in. */
export const INTAKE_LIMIT_WINDOW_MS = 3600_000;

/** How many reports an hour (0: no limit). */
export interface IntakeLimitSettings {
  /** Reports that give no contact, per client address. */
  anonymousPerHour: number;
  /** Reports that give a contact, per contact (never per address: a kiosk files for many). */
  contactPerHour: number;
}

/** What a public route asks before it stores anything (ChannelContext.limits). */
export interface IntakeGate {
  /**
   * Counts one report of this request and contact; `intake_rate_limited` (429, with
   * `details.retry_after_seconds`) when over the limit. Signed-in staff are never counted.
   */
  check(c: Context, contact: CitizenContact): Promise<void>;
}

/**
 * The key an address is counted under: an IPv4 address as it is, an IPv6 address by its /64
 * (one household or phone gets a whole /64 and can pick any address in it).
 */
export function addressKey(address: string): string {
  const a = address.slice(0, 64).toLowerCase();
  if (isIP(a) !== 6) return `addr:${a}`;
  const [head = '', tail = ''] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = a.includes('::') ? (tail ? tail.split(':') : []) : [];
  // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups; only the first four groups matter.
  const groups = [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `addr6:${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/**
 * The key a contact is counted under: its first identity (phone, email, ...) normalised, then
 * hashed, so the table holds no personal data and no key is longer than a hash. Null: no usable contact.
 */
export function contactKey(contact: CitizenContact): string | null {
  const first = identitiesOf(contact).identities[0];
  if (!first) return null;
  return `contact:${createHash('sha256').update(`${first.kind}:${first.value}`).digest('hex').slice(0, 40)}`;
}

const windowOf = (now: Date) => new Date(Math.floor(now.getTime() / INTAKE_LIMIT_WINDOW_MS) * INTAKE_LIMIT_WINDOW_MS);

/**
 * Limits on public intake, held in the database so that every process counts together: one row
 * per key and hour, incremented by one atomic upsert per check (no read-then-write race); the
 * first check of a new window deletes the rows of windows that have ended.
 */
export class IntakeLimits implements IntakeGate {
  constructor(
    private readonly db: Db,
    private readonly settings: IntakeLimitSettings,
    private readonly clientOf: (c: Context) => string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async check(c: Context, contact: CitizenContact): Promise<void> {
    if (c.get('user' as never)) return; // signed-in staff file for callers and walk-ins
    const byContact = contactKey(contact);
    const [key, limit] = byContact ? [byContact, this.settings.contactPerHour] : [addressKey(this.clientOf(c)), this.settings.anonymousPerHour];
    if (limit <= 0) return;
    let counted: Awaited<ReturnType<IntakeLimits['hit']>>;
    try {
      counted = await this.hit(key, limit);
    } catch (err) {
      // The database away: the report goes to the spool like any other (store first); a limit
      // that cannot be counted lets it through rather than lose it.
      if (isConnectionError(err)) return;
      throw err;
    }
    const { allowed, retryAfterSeconds } = counted;
    if (allowed) return;
    const minutes = Math.max(1, Math.ceil(retryAfterSeconds / 60));
    throw new AppError('intake_rate_limited', 429,
      `too many reports from this ${byContact ? 'contact' : 'address'} (${limit} an hour); retry after ${retryAfterSeconds} s`,
      `Bạn đã gửi quá nhiều phản ánh trong một giờ (tối đa ${limit}). Vui lòng thử lại sau khoảng ${minutes} phút hoặc gọi tổng đài.`,
      { retry_after_seconds: retryAfterSeconds, limit });
  }

  /** Counts one hit of `key` in the current window; allowed while the count stays within `limit`. */
  async hit(key: string, limit: number): Promise<{ allowed: boolean; count: number; retryAfterSeconds: number }> {
    const now = this.now();
    const start = windowOf(now);
    // Capped at limit + 1: a client hammering a closed window does not grow the number.
    const row = await sql<{ count: number }>`
      insert into intake_limits (key, window_start, count) values (${key.slice(0, 200)}, ${start}, 1)
      on conflict (key, window_start) do update set count = least(intake_limits.count + 1, ${limit + 1})
      returning count`.execute(this.db);
    const count = Number(row.rows[0]?.count ?? 1);
    if (count === 1) await this.sweep(start);
    const retryAfterSeconds = Math.max(1, Math.ceil((start.getTime() + INTAKE_LIMIT_WINDOW_MS - now.getTime()) / 1000));
    return { allowed: count <= limit, count, retryAfterSeconds };
  }

  /** Deletes the counts of windows that ended before `current`. */
  async sweep(current: Date): Promise<void> {
    await this.db.deleteFrom('intake_limits').where('window_start', '<', current).execute();
  }
}
