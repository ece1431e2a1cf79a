// Answers in the format a GeoReport v2 client asked for by the resource's extension (.json or
// .xml), and errors in the spec's own format: a list of {code, description}.
import type { Context } from 'hono';
import { AppError, isAppError, type ChannelContext } from '../../src/intake/channel-kit.ts';
import { el, xmlDocument, type XmlElement } from './xml.ts';

export type Format = 'json' | 'xml';

/** The format of a resource name (`requests.xml`) and the name without it; null when it has neither extension. */
export function splitFormat(resource: string): { name: string; format: Format } | null {
  const m = /^(.{1,200})\.(json|xml)$/.exec(resource.slice(0, 210));
  return m ? { name: m[1]!, format: m[2] as Format } : null;
}

/** A document in both shapes: the JSON value and the XML root element. */
export function respond(c: Context, format: Format, doc: { json: unknown; xml: XmlElement }, status: 200 | 201 = 200): Response {
  if (format === 'xml') return c.body(xmlDocument(doc.xml), status, { 'content-type': 'text/xml; charset=utf-8' });
  return c.body(JSON.stringify(doc.json), status, { 'content-type': 'application/json; charset=utf-8' });
}

/** GeoReport errors use 400 for every problem with the request's fields (ours says 422). */
const SPEC_STATUS: Record<number, 400 | 403 | 404 | 409 | 413 | 415 | 503> = { 400: 400, 422: 400, 403: 403, 404: 404, 409: 409, 413: 413, 415: 415, 503: 503 };

function errorBody(c: Context, format: Format, status: number, description: string): Response {
  return c.body(format === 'xml'
    ? xmlDocument(el('errors', [el('error', [el('code', status), el('description', description)])]))
    : JSON.stringify([{ code: status, description }]),
  status as 400, { 'content-type': format === 'xml' ? 'text/xml; charset=utf-8' : 'application/json; charset=utf-8' });
}

/**
 * An error in the spec's format. The description starts with our stable code
 * (`service_code_missing: ...`), so a client can act on it and an operator can grep for it.
 */
export function respondError(c: Context, format: Format, err: AppError): Response {
  return errorBody(c, format, SPEC_STATUS[err.status] ?? 400, `${err.code}: ${err.message}`);
}

/** Runs a handler and answers any failure in the spec's format (an unexpected one as 500, logged). */
export async function guarded(c: Context, format: Format, log: ChannelContext['log'], run: () => Promise<Response>): Promise<Response> {
  try {
    return await run();
  } catch (err) {
    if (isAppError(err) && SPEC_STATUS[err.status]) return respondError(c, format, err);
    log.error({ err: err instanceof Error ? err.stack ?? err.message : String(err), path: c.req.path }, 'open311 request failed');
    return errorBody(c, format, 500, 'internal_error: the request could not be completed');
  }
}

/** A 400 in our error shape, for a field of the request. */
export const badField = (code: string, message: string, field?: string) =>
  new AppError(code, 400, message, 'Yêu cầu không hợp lệ.', field ? { field } : undefined);
