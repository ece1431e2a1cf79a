import type { MiddlewareHandler } from 'hono';
import { bodyLimit as streamingBodyLimit } from 'hono/body-limit';

type BodyLimitOptions = Parameters<typeof streamingBodyLimit>[0];

/**
 * hono's bodyLimit without its cost in the common case. A request with a Content-Length is
 * judged by that header and its body is left for the handler to read; only a chunked body
 * (Transfer-Encoding) is counted as it streams, by hono's own middleware. hono's version looks
 * at `c.req.raw.body` first, which on @hono/node-server builds a full web Request with a
 * stream body for every request: about a tenth of what an acknowledgement costs
 * (bench/intake.ts), and it turns off the adapter's direct read of the body.
 */
export function bodyLimit(opts: BodyLimitOptions): MiddlewareHandler {
  const streaming = streamingBodyLimit(opts);
  return async (c, next) => {
    const declared = c.req.header('content-length');
    // Chunked, or a web Request whose body has no declared length: count it as it streams.
    if (declared === undefined || c.req.header('transfer-encoding') !== undefined) return streaming(c, next);
    const length = Number.parseInt(declared, 10);
    if (!(length <= opts.maxSize)) {
      if (opts.onError) return opts.onError(c);
      return streaming(c, next); // hono's default 413
    }
    await next();
  };
}
