import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { AppError, isAppError } from '../core/errors.ts';

/**
 * How deeply a JSON body may nest. Ours nest two levels; hashing or storing a value nested
 * thousands deep recurses past the stack (a RangeError, hence a 500) in JSON.stringify.
 */
export const JSON_MAX_DEPTH = 32;

const invalidJson = (message: string) => new AppError('invalid_json', 400, message, 'Dữ liệu gửi lên không đúng định dạng JSON.');

/** True when `value` nests deeper than `max` arrays and objects; stops as soon as it knows. */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth + 1 > max) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * The request's JSON body as an object: `invalid_json` (400) when it is not JSON or not an
 * object, `json_too_deep` (400) when it nests deeper than JSON_MAX_DEPTH. The size is the
 * route's body limit's business.
 */
export async function readJsonObject(c: Context): Promise<Record<string, unknown>> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch (err) {
    if (err instanceof HTTPException || isAppError(err)) throw err;
    throw invalidJson('request body is not valid JSON');
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw invalidJson('request body must be a JSON object');
  if (nestsDeeperThan(body, JSON_MAX_DEPTH)) {
    throw new AppError('json_too_deep', 400, `request body nests deeper than ${JSON_MAX_DEPTH} levels`, 'Dữ liệu gửi lên không hợp lệ (lồng nhau quá sâu).',
      { max_depth: JSON_MAX_DEPTH });
  }
  return body as Record<string, unknown>;
}

/**
 * The request's form fields (multipart or urlencoded), every value of a repeated field kept:
 * `form_invalid` (400) when the body cannot be read as the form it says it is (a broken
 * multipart boundary, a truncated part), never a 500.
 */
export async function readForm(c: Context): Promise<Record<string, string | File | (string | File)[]>> {
  try {
    return await c.req.parseBody({ all: true });
  } catch (err) {
    if (err instanceof HTTPException || isAppError(err)) throw err;
    throw new AppError('form_invalid', 400, 'the form data could not be read (malformed multipart or urlencoded body)',
      'Không đọc được dữ liệu biểu mẫu gửi lên. Vui lòng gửi lại.');
  }
}

/** The first value of a form field, when it is text. */
export function formText(form: Record<string, string | File | (string | File)[]>, name: string): string | undefined {
  const v = form[name];
  const x = Array.isArray(v) ? v[0] : v;
  return typeof x === 'string' ? x : undefined;
}

/** Every file of a form field (a field may be sent once or repeated). */
export function formFiles(form: Record<string, string | File | (string | File)[]>, ...names: string[]): File[] {
  for (const name of names) {
    const v = form[name];
    if (v !== undefined) return (Array.isArray(v) ? v : [v]).filter((p): p is File => p instanceof File);
  }
  return [];
}
