import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

// Twilio faked at the HTTP boundary: a REST API on loopback that records every message phananh
// sends and answers as Twilio does (a MessageSid, or an error code), and serves media and
// recordings. Webhooks to phananh are signed here with node:crypto, independently of the twilio
// package the code under test uses.

export const TWILIO = {
  sid: `AC${'a'.repeat(32)}`,
  token: 'test-auth-token-1022',
  number: '+842812345678',
  publicUrl: 'https://1022.example.vn',
} as const;

/** X-Twilio-Signature: base64 HMAC-SHA1 of the URL followed by each parameter name and value, names sorted. */
export function twilioSignature(token: string, url: string, params: Record<string, string>): string {
  const data = url + Object.keys(params).sort().map((k) => k + params[k]).join('');
  return createHmac('sha1', token).update(Buffer.from(data, 'utf8')).digest('base64');
}

export interface SentSms {
  to: string;
  from: string;
  body: string;
  statusCallback: string | null;
  sid: string;
  auth: string | undefined;
}

export interface FakeTwilio {
  url: string;
  sent: SentSms[];
  /** Requests for media (path). */
  mediaHits: string[];
  /** Makes the next `n` sends fail with a Twilio error code (or an HTTP 500 when `code` is 0). */
  failNext(code: number, n?: number): void;
  /** Serves `bytes` at `path`. */
  serve(path: string, bytes: Uint8Array, type: string): void;
  close(): Promise<void>;
}

export async function startFakeTwilio(): Promise<FakeTwilio> {
  const sent: SentSms[] = [];
  const mediaHits: string[] = [];
  const files = new Map<string, { bytes: Uint8Array; type: string }>();
  let failures: { code: number; left: number } | null = null;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0]!;
      if (req.method === 'GET') {
        mediaHits.push(path);
        const f = files.get(path);
        if (!f) return void res.writeHead(404).end();
        return void res.writeHead(200, { 'content-type': f.type, 'content-length': f.bytes.byteLength }).end(Buffer.from(f.bytes));
      }
      const m = /^\/2010-04-01\/Accounts\/(AC\w+)\/Messages\.json$/.exec(path);
      if (req.method !== 'POST' || !m) return void res.writeHead(404).end();
      const p = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      if (failures && failures.left > 0) {
        failures.left--;
        if (failures.code === 0) return void res.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"internal"}');
        return void res.writeHead(400, { 'content-type': 'application/json' })
          .end(JSON.stringify({ code: failures.code, message: `error ${failures.code}`, more_info: `https://www.twilio.com/docs/errors/${failures.code}`, status: 400 }));
      }
      const sid = `SM${randomBytes(16).toString('hex')}`;
      const body = p.get('Body') ?? '';
      sent.push({ to: p.get('To') ?? '', from: p.get('From') ?? '', body, statusCallback: p.get('StatusCallback'), sid, auth: req.headers.authorization });
      res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({
        sid, account_sid: m[1], to: p.get('To'), from: p.get('From'), body, status: 'queued', num_segments: '1', direction: 'outbound-api',
        date_created: new Date().toUTCString(), uri: `/2010-04-01/Accounts/${m[1]}/Messages/${sid}.json`,
      }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    sent, mediaHits,
    failNext(code, n = 1) {
      failures = { code, left: n };
    },
    serve(path, bytes, type) {
      files.set(path, { bytes, type });
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** The Twilio settings of a test runtime, pointed at the fake. */
export const twilioEnv = (fake: FakeTwilio, more: Record<string, string> = {}): Record<string, string> => ({
  TWILIO_ACCOUNT_SID: TWILIO.sid, TWILIO_AUTH_TOKEN: TWILIO.token, TWILIO_PHONE_NUMBER: TWILIO.number, TWILIO_API_URL: fake.url,
  PUBLIC_URL: TWILIO.publicUrl, ...more,
});

/** A request Twilio would send to a phananh webhook (`path` under /channels/twilio), signed. */
export function twilioRequest(path: string, params: Record<string, string>, opts: { token?: string; signature?: string | null } = {}): [string, RequestInit] {
  const all = { AccountSid: TWILIO.sid, ...params };
  const url = `${TWILIO.publicUrl}/channels/twilio${path}`;
  const signature = opts.signature === undefined ? twilioSignature(opts.token ?? TWILIO.token, url, all) : opts.signature;
  return [`/channels/twilio${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(signature ? { 'x-twilio-signature': signature } : {}) },
    body: new URLSearchParams(all).toString(),
  }];
}

let counter = 0;
/** A fresh MessageSid / CallSid. */
export const sidOf = (prefix: 'SM' | 'MM' | 'CA' | 'RE') => `${prefix}${(++counter).toString(16).padStart(8, '0')}${randomBytes(12).toString('hex')}`;
