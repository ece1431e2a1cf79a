import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

// Test support, not shipped behaviour: Meta's Graph API faked at the HTTP boundary, on loopback.
// It records every request phananh makes (path, query, JSON body) and answers as Graph does: a
// message_id from the Send API, an id for a comment reply, Graph's error object when told to
// fail. It also serves files, as Meta's CDN serves attachments.

export const GRAPH_VERSION = 'v21.0';

export interface GraphCall {
  method: string;
  path: string;
  query: Record<string, string>;
  body: Record<string, unknown>;
}

export interface FakeGraph {
  /** The server's origin (`http://127.0.0.1:<port>`). */
  origin: string;
  /** FB_GRAPH_URL for the app under test. */
  graphUrl: string;
  /** Every POST, in order. */
  calls: GraphCall[];
  /** Paths of every GET (files). */
  fileHits: string[];
  /**
   * The next `n` POSTs (after `after` that succeed) answer `status` with Graph's error object
   * (`error` absent: a bare text answer, as a proxy gives).
   */
  failNext(status: number, error?: { code: number; error_subcode?: number; message?: string; type?: string }, n?: number, after?: number): void;
  /** Serves `bytes` at `path`. */
  serve(path: string, bytes: Uint8Array, type: string): void;
  close(): Promise<void>;
}

/** A Graph-shaped fake on 127.0.0.1 and a random port. */
export async function startFakeGraph(): Promise<FakeGraph> {
  const calls: GraphCall[] = [];
  const fileHits: string[] = [];
  const files = new Map<string, { bytes: Uint8Array; type: string }>();
  const failures: { status: number; error?: Record<string, unknown>; after: number }[] = [];
  let n = 0;
  const json = (res: http.ServerResponse, status: number, body: unknown) =>
    void res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify(body));
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      if (req.method === 'GET') {
        fileHits.push(url.pathname);
        const f = files.get(url.pathname);
        if (!f) return json(res, 404, { error: { message: 'Unsupported get request.', type: 'GraphMethodException', code: 100, error_subcode: 33 } });
        return void res.writeHead(200, { 'content-type': f.type, 'content-length': f.bytes.byteLength }).end(Buffer.from(f.bytes));
      }
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        // recorded as empty: the test sees it
      }
      calls.push({ method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), body });
      const failure = failures[0] && failures[0].after-- <= 0 ? failures.shift() : undefined;
      if (failure) {
        if (!failure.error) return void res.writeHead(failure.status, { 'content-type': 'text/plain' }).end('upstream unavailable');
        return json(res, failure.status, { error: { type: 'OAuthException', fbtrace_id: 'AbCdEfGh123', ...failure.error } });
      }
      const prefix = `/${GRAPH_VERSION}/`;
      if (req.method !== 'POST' || !url.pathname.startsWith(prefix)) return json(res, 404, { error: { message: 'Unknown path components', type: 'OAuthException', code: 2500 } });
      const path = url.pathname.slice(prefix.length);
      n++;
      if (path === 'me/messages') {
        const recipient = (body.recipient ?? {}) as { id?: string; comment_id?: string };
        // A private reply reaches the commenter's Messenger id (another number than their feed id).
        const to = recipient.id ?? `9${String(n).padStart(15, '0')}`;
        return json(res, 200, { recipient_id: to, message_id: `m_fake${n}_${randomBytes(24).toString('base64url')}` });
      }
      const reply = /^(\d+_\d+)\/comments$/.exec(path);
      if (reply) return json(res, 200, { id: `${reply[1]!.split('_')[0]}_${7000000000000000 + n}` });
      return json(res, 400, { error: { message: `(#100) Unknown path ${path}`, type: 'OAuthException', code: 100 } });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    graphUrl: `${origin}/${GRAPH_VERSION}`,
    calls,
    fileHits,
    failNext(status, error, times = 1, after = 0) {
      for (let i = 0; i < times; i++) failures.push({ status, ...(error ? { error } : {}), after: i === 0 ? after : 0 });
    },
    serve(path, bytes, type) {
      files.set(path, { bytes, type });
    },
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
