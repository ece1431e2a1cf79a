import { LINKABLE_KINDS } from '../../core/citizens/merge.ts';
import type { Context } from 'hono';
import { z } from 'zod';
import { AppError } from '../../core/errors.ts';
import { cleanText } from '../../core/engine/text.ts';
import { readJsonObject } from '../../intake/request-body.ts';

// The bodies staff requests carry, as zod schemas. Strings are cleaned (no control characters,
// NFC); how long a note, a reply or a reason may be is the core service's rule (`staffText`),
// and the body limit bounds everything else. An empty string counts as absent.

const absent = (v: unknown) => v === undefined || v === null || v === '';
const blankToUndefined = (v: unknown) => (absent(v) ? undefined : v);

const cleaned = z.string().transform(cleanText);
/** A database id: a positive 32-bit integer, as a number or a string of digits. */
const id = z.union([
  z.number().int().min(1).max(2_147_483_647),
  z.string().regex(/^\d{1,10}$/).transform(Number).pipe(z.number().int().min(1).max(2_147_483_647)),
]);

/** A string field, cleaned; `''`, `null` and absent are all absent. */
const words = z.preprocess(blankToUndefined, cleaned);
const optionalWords = z.preprocess(blankToUndefined, cleaned.optional());
const rowId = z.preprocess(blankToUndefined, id);
const optionalRowId = z.preprocess(blankToUndefined, id.optional());
const optionalFlag = z.preprocess(blankToUndefined, z.boolean().optional());

export const TicketPatch = z.object({ category: optionalWords, area: optionalWords, priority: optionalWords });
export const Dispatch = z.object({ area: optionalWords, instructions: optionalWords });
/** `via`: a channel to send through instead of the report's; `private`: a private answer to one report (kind private_reply). */
export const Reply = z.object({ text: words, report: optionalRowId, via: optionalWords, private: optionalFlag });
export const Note = z.object({ text: words });
export const StaffStatus = z.object({ status: words.pipe(z.enum(['closed', 'rejected'])), note: optionalWords });
export const Reasoned = z.object({ reason: words });
/** An identifier an agent links to a citizen. */
export const Linked = z.object({ kind: z.enum(LINKABLE_KINDS), value: z.string().min(1).max(300), reason: words });
export const Merge = z.object({ into: words, reason: words });
export const Resolution = z.object({ note: optionalWords });
/** Why an admin dismisses a quarantined message (optional). */
export const Dismissal = z.object({ reason: z.preprocess(blankToUndefined, cleaned.pipe(z.string().max(500)).optional()) });
/** The call a report is logged for (a provider's call id: letters, digits and . _ : -). */
export const LoggedCall = z.object({ call: z.preprocess(blankToUndefined, z.string().max(64).regex(/^[A-Za-z0-9._:-]+$/).optional()) });

/** A field's own error when its value is present but refused (else `field_invalid`). */
const REFUSALS: Record<string, () => AppError> = {
  status: () => new AppError('status_invalid', 422, 'status must be closed or rejected', 'Trạng thái không hợp lệ.'),
};

/**
 * Parses `input` with `schema`; the first problem becomes `field_missing` (absent and
 * required) or `field_invalid` (or the field's own code), 422, naming the field.
 */
export function parseFields<S extends z.ZodType>(schema: S, input: Record<string, unknown>): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const field = String(r.error.issues[0]?.path[0] ?? '');
  if (absent(input[field])) throw new AppError('field_missing', 422, `${field} is required`, 'Thiếu thông tin bắt buộc.', { field });
  const refusal = REFUSALS[field];
  if (refusal) throw refusal();
  throw new AppError('field_invalid', 422, `${field} is not valid`, 'Dữ liệu không hợp lệ.', { field });
}

/** The JSON body of a staff request (an object, bounded: readJsonObject), parsed with `schema`. */
export async function readBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  return parseFields(schema, await readJsonObject(c));
}

/** A database id from a path, else `notFound()`'s error. */
export function pathId(v: string, notFound: () => AppError): number {
  const r = rowId.safeParse(v);
  if (!r.success) throw notFound();
  return r.data;
}

/** A short filter or code from a query string: cleaned, and at most `max` characters. */
export function shortParam(v: string | undefined, max = 64): string | undefined {
  if (!v) return undefined;
  const s = cleanText(v.slice(0, max * 4)).trim().slice(0, max);
  return s || undefined;
}

/** Ho Chi Minh City's offset from UTC in hours (no daylight saving): a date filter's day is the city's day. */
const CITY_UTC_OFFSET_H = 7;

/**
 * A `YYYY-MM-DD` query parameter as the start of that day in the city (`nextDay`: of the day
 * after, for an inclusive end); absent -> undefined; anything else -> 400 date_invalid.
 */
export function dayParam(v: string | undefined, name: string, nextDay = false): Date | undefined {
  if (!v) return undefined;
  const m = v.length === 10 ? /^(\d{4})-(\d\d)-(\d\d)$/.exec(v) : null;
  const [y, mo, d] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
  const utc = new Date(Date.UTC(y, mo - 1, d));
  if (!m || y < 2000 || utc.getUTCMonth() !== mo - 1 || utc.getUTCDate() !== d) {
    throw new AppError('date_invalid', 400, `${name} must be a date as YYYY-MM-DD`, 'Ngày không hợp lệ (định dạng năm-tháng-ngày).', { field: name });
  }
  return new Date(utc.getTime() - CITY_UTC_OFFSET_H * 3_600_000 + (nextDay ? 86_400_000 : 0));
}

/** A non-negative whole-number query parameter up to `max`; absent -> 0; anything else -> 400 field_invalid. */
export function offsetParam(v: string | undefined, max: number): number {
  if (!v) return 0;
  if (v.length > 6 || !/^\d+$/.test(v) || Number(v) > max) {
    throw new AppError('field_invalid', 400, `offset must be a whole number from 0 to ${max}`, 'Dữ liệu không hợp lệ.', { field: 'offset' });
  }
  return Number(v);
}
