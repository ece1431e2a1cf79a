import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

// Meta signs every webhook body: X-Hub-Signature-256 is `sha256=` and the hex HMAC-SHA256 of the
// raw bytes with the app secret. It is checked on those bytes, before any JSON is parsed (a body
// re-serialised after parsing is not what Meta signed), and compared in constant time.

const HEADER = /^sha256=([0-9a-f]{64})$/i;

/** The hex HMAC-SHA256 of `body` with `secret` (what Meta puts after `sha256=`). */
export function signatureOf(secret: string, body: Uint8Array | string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** Whether X-Hub-Signature-256 (`header`) signs exactly `body` with the app secret. */
export function verifySignature(secret: string, body: Uint8Array, header: string | undefined): boolean {
  if (!header || header.length > 100) return false;
  const m = HEADER.exec(header.trim());
  if (!m) return false;
  const expected = createHmac('sha256', secret).update(body).digest();
  return timingSafeEqual(Buffer.from(m[1]!, 'hex'), expected);
}

/** Two secrets compared in constant time whatever their lengths (hashed first: equal lengths). */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** appsecret_proof: the hex HMAC-SHA256 of the access token with the app secret (Graph's "Require App Secret"). */
export const appSecretProof = (token: string, secret: string): string => createHmac('sha256', secret).update(token).digest('hex');
