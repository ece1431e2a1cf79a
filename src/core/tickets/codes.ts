import { randomInt } from 'node:crypto';

// Crockford base32 without I, L, O, U: easy to read aloud on the 1022 line and to type back.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A public tracking code such as `PA-7K3M9Q2X`. Random, not from a database sequence, so a
 * code can be handed out before the database is reached (and reveals no volumes).
 */
export function newCode(prefix: 'PA' | 'TK'): string {
  let s = '';
  for (let i = 0; i < 8; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return `${prefix}-${s}`;
}

/** Accepts codes typed in lower case, without the dash, or with O/I/L for 0/1/1. */
export function canonicalCode(input: string): string | null {
  if (input.length > 40) return null;
  const s = input.trim().toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  const m = /^(PA|TK)([0-9A-HJKMNP-TV-Z]{8})$/.exec(s.replace(/^P4/, 'PA'));
  return m ? `${m[1]}-${m[2]}` : null;
}
