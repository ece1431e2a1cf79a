import { parsePhoneNumberFromString } from 'libphonenumber-js/max';

export type IdentityKind = 'phone' | 'email' | 'facebook' | 'zalo' | 'national_id';

export interface Identity {
  kind: IdentityKind;
  value: string;
}

export interface CitizenContact {
  name?: string | undefined;
  phone?: string | undefined;
  email?: string | undefined;
  facebook_id?: string | undefined;
  zalo_id?: string | undefined;
  national_id?: string | undefined;
}

// Mobile prefixes renumbered from 11 to 10 digits in 2018; residents still write the old ones.
const OLD_MOBILE_PREFIXES: Record<string, string> = {
  '0120': '070', '0121': '079', '0122': '077', '0126': '076', '0128': '078',
  '0123': '083', '0124': '084', '0125': '085', '0127': '081', '0129': '082',
  '0162': '032', '0163': '033', '0164': '034', '0165': '035', '0166': '036', '0167': '037', '0168': '038', '0169': '039',
  '0186': '056', '0188': '058', '0199': '059',
};

/**
 * Longest identifier accepted, per kind: anything longer is invalid before any pattern looks at
 * it (an email by RFC 5321; a phone however it is spaced out; ids as the providers issue them).
 */
export const IDENTITY_MAX: Record<IdentityKind, number> = { phone: 32, email: 254, facebook: 64, zalo: 64, national_id: 32 };

/** Phone to E.164 (Vietnam by default), or null when it is not a valid number. */
export function normalisePhone(input: string): string | null {
  if (input.length > IDENTITY_MAX.phone) return null;
  let digits = input.replace(/[^\d+]/g, '');
  if (digits.startsWith('+84')) digits = '0' + digits.slice(3);
  else if (digits.startsWith('84') && digits.length >= 11) digits = '0' + digits.slice(2);
  if (digits.length === 11 && digits.startsWith('01')) {
    const p = OLD_MOBILE_PREFIXES[digits.slice(0, 4)];
    if (p) digits = p + digits.slice(4);
  }
  const parsed = parsePhoneNumberFromString(digits.startsWith('+') ? digits : digits, 'VN');
  return parsed && parsed.isValid() ? parsed.number : null;
}

/**
 * A search text that is a phone number however it is written ("0903 123 456", "+84903123456",
 * "84903123456", "0903.123.456", "(+84) 903-123-456", an old 11-digit prefix), as E.164; else
 * null. Only digits, spaces, dots, dashes, brackets and one plus, at least 8 digits: a code or
 * words never are.
 */
export function phoneQuery(q: string): string | null {
  const s = q.trim();
  if (s.length > IDENTITY_MAX.phone || !/^[\d\s.()+-]+$/.test(s) || s.split('+').length > 2) return null;
  if (s.replace(/\D/g, '').length < 8) return null;
  return normalisePhone(s);
}

/**
 * Email trimmed and lower-cased, or null when it is not plausible: one @, no space, a local part
 * and a domain of dot-separated labels with at least one dot. Checked by splitting, in linear
 * time (a regular expression of this shape backtracks on a run of dots: 100,000 of them held the
 * event loop for 12 s).
 */
export function normaliseEmail(input: string): string | null {
  if (input.length > IDENTITY_MAX.email * 2) return null;
  const e = input.trim().toLowerCase();
  if (e.length > IDENTITY_MAX.email || /\s/.test(e)) return null;
  const at = e.indexOf('@');
  if (at <= 0 || at !== e.lastIndexOf('@')) return null;
  const labels = e.slice(at + 1).split('.');
  return labels.length >= 2 && labels.every((l) => l.length > 0) ? e : null;
}

/** CCCD: 12 digits; the first three are a province code (001-096). */
export function normaliseNationalId(input: string): string | null {
  if (input.length > IDENTITY_MAX.national_id) return null;
  const d = input.replace(/\s/g, '');
  if (!/^\d{12}$/.test(d)) return null;
  const province = Number(d.slice(0, 3));
  return province >= 1 && province <= 96 ? d : null;
}

/** The identifiers of a contact, normalised; invalid ones are skipped with a reason. */
export function identitiesOf(contact: CitizenContact): { identities: Identity[]; rejected: string[] } {
  const identities: Identity[] = [];
  const rejected: string[] = [];
  const add = (kind: IdentityKind, raw: string | undefined, norm: (s: string) => string | null) => {
    if (typeof raw !== 'string' || !raw.trim()) return;
    // Every kind bounded before its pattern: stored reports and other channels arrive here too.
    const v = raw.length > IDENTITY_MAX[kind] * 2 ? null : norm(raw);
    if (v) identities.push({ kind, value: v });
    else rejected.push(kind);
  };
  add('phone', contact.phone, normalisePhone);
  add('email', contact.email, normaliseEmail);
  add('facebook', contact.facebook_id, (s) => (/^\d{5,25}$/.test(s.trim()) ? s.trim() : null));
  add('zalo', contact.zalo_id, (s) => (/^[\w.-]{3,64}$/.test(s.trim()) ? s.trim() : null));
  add('national_id', contact.national_id, normaliseNationalId);
  return { identities, rejected };
}
