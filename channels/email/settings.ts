import { z } from 'zod';

/** One mailbox the channel reads: where it is and how to log in (the password never leaves this object). */
export interface MailboxSettings {
  /** `user@host/INBOX`: the report's endpoint, in logs and notes; never the password. */
  id: string;
  host: string;
  port: number;
  /** TLS from the first byte (imaps://); otherwise STARTTLS when the server offers it. */
  secure: boolean;
  user: string;
  pass: string;
  /** The folder read, `INBOX` unless the URL's path names another. */
  path: string;
  /** Accept a self-signed certificate (`?tls=insecure`): a test server, never a provider. */
  insecureTls: boolean;
}

/** A `"Name" <address>` as the From of what we send. */
export interface Sender {
  name: string | null;
  address: string;
  /** The domain our Message-IDs are made in (the address's). */
  domain: string;
}

const URL_MAX = 2000;

/** Parses one `imap://user:pass@host:port/Folder` (user and password percent-encoded), or says what is wrong. */
export function parseMailbox(text: string): MailboxSettings | string {
  let u: URL;
  try {
    u = new URL(text.trim());
  } catch {
    return 'must be a URL like imaps://user:password@imap.example.com/INBOX';
  }
  if (u.protocol !== 'imap:' && u.protocol !== 'imaps:') return 'must start with imap:// or imaps://';
  if (!u.hostname) return 'must name the server';
  if (!u.username || !u.password) return 'must hold the user and the password (imaps://user:password@host/INBOX; write @ in a user name as %40)';
  let user: string;
  let pass: string;
  let path: string;
  try {
    user = decodeURIComponent(u.username);
    pass = decodeURIComponent(u.password);
    path = decodeURIComponent(u.pathname.replace(/^\/+/, '')) || 'INBOX';
  } catch {
    return 'has a malformed %-escape';
  }
  const secure = u.protocol === 'imaps:';
  const port = u.port ? Number(u.port) : secure ? 993 : 143;
  const tls = u.searchParams.get('tls');
  if (tls !== null && tls !== 'insecure') return 'knows only ?tls=insecure (accept a self-signed certificate)';
  return { id: `${user}@${u.hostname}/${path}`, host: u.hostname, port, secure, user, pass, path, insecureTls: tls === 'insecure' };
}

/** Parses `"Tổng đài 1022" <1022@tphcm.gov.vn>` or a bare address. */
export function parseSender(text: string): Sender | null {
  const s = text.trim();
  if (s.length > 300) return null;
  const m = /^(?:"?([^"<>]*?)"?\s*)?<([^<>\s]+)>$/.exec(s) ?? /^()([^<>\s"]+)$/.exec(s);
  if (!m) return null;
  const address = m[2]!.toLowerCase();
  const at = address.lastIndexOf('@');
  if (at <= 0 || at !== address.indexOf('@') || !address.slice(at + 1).includes('.')) return null;
  return { name: m[1]?.trim() || null, address, domain: address.slice(at + 1) };
}

/** Missing while another email setting is set. */
const required = { error: (issue: { input?: unknown }) => (issue.input === undefined ? 'must be set: the email channel needs IMAP_URL, SMTP_URL and MAIL_FROM' : undefined) };

const whole = (min: number, max: number, what: string) => z.string().regex(/^\d+$/, `must be ${what}`).optional()
  .transform((v) => (v === undefined ? undefined : Number(v)))
  .refine((v) => v === undefined || (v >= min && v <= max), `must be ${what} from ${min} to ${max}`);

/** The email channel's settings: it is on when IMAP_URL, SMTP_URL and MAIL_FROM are set. */
export const emailSettings = z.object({
  /** The mailboxes to read, comma-separated: `imaps://user:password@imap.example.com/INBOX`. */
  IMAP_URL: z.string(required).max(URL_MAX * 5).superRefine((v, ctx) => {
    const parts = v.split(',').map((p) => p.trim()).filter(Boolean);
    if (parts.length === 0) ctx.addIssue({ code: 'custom', message: 'must name at least one mailbox' });
    if (parts.length > 10) ctx.addIssue({ code: 'custom', message: 'must name at most 10 mailboxes' });
    const seen = new Set<string>();
    for (const [n, p] of parts.entries()) {
      const m = parseMailbox(p);
      // Only the position is named: the URL holds a password.
      if (typeof m === 'string') ctx.addIssue({ code: 'custom', message: `mailbox ${n + 1} ${m}` });
      else if (seen.has(m.id)) ctx.addIssue({ code: 'custom', message: `mailbox ${n + 1} is listed twice` });
      else seen.add(m.id);
    }
  }),
  /** Where replies leave: `smtps://user:password@smtp.example.com:465` or `smtp://...:587` (STARTTLS). */
  SMTP_URL: z.string(required).max(URL_MAX).refine((v) => {
    try {
      const u = new URL(v);
      return (u.protocol === 'smtp:' || u.protocol === 'smtps:') && Boolean(u.hostname);
    } catch {
      return false;
    }
  }, 'must be a URL like smtps://user:password@smtp.example.com:465 or smtp://user:password@smtp.example.com:587'),
  /** Who our mail is from: `"Tổng đài 1022" <1022@tphcm.gov.vn>`. */
  MAIL_FROM: z.string(required).refine((v) => parseSender(v) !== null, 'must be an address, or "Name" <address>'),
  /** Move each message here once stored (created if missing), instead of marking it \Seen in place. */
  MAIL_PROCESSED_FOLDER: z.string().max(200).regex(/^[^\r\n*%]+$/, 'must be a folder name').optional(),
  /** Largest message read (bytes, default 25 MB): a larger one is quarantined, left unread on the server. */
  MAIL_MAX_BYTES: whole(64 * 1024, 200 * 1024 * 1024, 'a number of bytes'),
  /** Automatic messages (acknowledgements, notices) to one address in an hour, at most (default 10): a mail loop stops there. */
  MAIL_HOURLY_CAP: whole(1, 99, 'a whole number'),
  /**
   * How long one poll run holds IDLE before it hands back (default 8 s; a stop waits for it, see
   * README, Email); 0 polls every MAIL_POLL_SECONDS instead of IDLE.
   */
  MAIL_IDLE_SECONDS: whole(0, 600, 'a number of seconds'),
  /** How often a mailbox is polled without IDLE (default 30 s). */
  MAIL_POLL_SECONDS: whole(1, 3600, 'a number of seconds'),
}).superRefine((s, ctx) => {
  // Moving a message into the folder it is read from would read it again, forever.
  const folder = s.MAIL_PROCESSED_FOLDER;
  if (folder && s.IMAP_URL.split(',').some((p) => { const m = parseMailbox(p); return typeof m !== 'string' && m.path === folder; })) {
    ctx.addIssue({ code: 'custom', path: ['MAIL_PROCESSED_FOLDER'], message: 'must be another folder than the mailboxes read' });
  }
});

export type EmailSettings = z.infer<typeof emailSettings>;

/** Every mailbox of IMAP_URL (the schema checked them). */
export function mailboxesOf(s: Pick<EmailSettings, 'IMAP_URL'>): MailboxSettings[] {
  return s.IMAP_URL.split(',').map((p) => p.trim()).filter(Boolean).map((p) => parseMailbox(p) as MailboxSettings);
}

/** MAIL_FROM as an address (the schema checked it). */
export const senderOf = (s: Pick<EmailSettings, 'MAIL_FROM'>): Sender => parseSender(s.MAIL_FROM)!;

/** The limits in force, defaults filled in. */
export function limitsOf(s: EmailSettings) {
  return {
    maxBytes: s.MAIL_MAX_BYTES ?? 25 * 1024 * 1024,
    hourlyCap: s.MAIL_HOURLY_CAP ?? 10,
    idleMs: (s.MAIL_IDLE_SECONDS ?? 8) * 1000,
    pollMs: (s.MAIL_POLL_SECONDS ?? 30) * 1000,
  };
}
