import nodemailer from 'nodemailer';
import { imapClient, safeMessage } from './mailbox.ts';
import { emailSettings, mailboxesOf, senderOf } from './settings.ts';

/** What `npx phananh mail check` found: one line per peer, and whether all answered. */
export interface MailCheck {
  ok: boolean;
  lines: string[];
}

function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  const late = new Promise<never>((_, reject) => {
    setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms).unref();
  });
  return Promise.race([p, late]);
}

/**
 * Connects to each mailbox of IMAP_URL and to SMTP_URL with the settings as the app would read
 * them from `env`, and says what each answered: a mailbox's message count, unread count,
 * UIDVALIDITY and whether it offers IDLE; whether SMTP accepts our login. Passwords never appear.
 */
export async function checkMail(env: Record<string, string | undefined>): Promise<MailCheck> {
  const keys = Object.keys(emailSettings.shape);
  const given = Object.fromEntries(keys.map((k) => [k, env[k]?.trim() ? env[k] : undefined]));
  if (keys.every((k) => given[k] === undefined)) {
    return { ok: false, lines: ['email channel: off (set IMAP_URL, SMTP_URL and MAIL_FROM)'] };
  }
  const parsed = emailSettings.safeParse(given);
  if (!parsed.success) {
    return { ok: false, lines: parsed.error.issues.map((i) => `email channel: ${i.path.join('.') || '(settings)'}: ${i.message}`) };
  }
  const s = parsed.data;
  const lines: string[] = [`email channel: on, mail from ${senderOf(s).address}`];
  let ok = true;
  for (const m of mailboxesOf(s)) {
    const client = imapClient(m);
    client.on('error', () => undefined);
    try {
      await within(20_000, client.connect(), 'connect');
      const st = await within(20_000, client.status(m.path, { messages: true, unseen: true, uidValidity: true, uidNext: true }), 'STATUS');
      if (!st) throw new Error(`the server has no folder ${m.path}`);
      const transport = m.secure ? 'TLS' : client.secureConnection ? 'STARTTLS' : 'no TLS';
      lines.push(`IMAP ${m.id}: connected (${transport}); ${st.messages ?? '?'} messages, ${st.unseen ?? '?'} unread; UIDVALIDITY ${String(st.uidValidity ?? '?')}, UIDNEXT ${st.uidNext ?? '?'}; IDLE ${client.capabilities.has('IDLE') ? 'supported' : 'not supported (polling instead)'}`);
      if (s.MAIL_PROCESSED_FOLDER) {
        const folder = await client.status(s.MAIL_PROCESSED_FOLDER, { messages: true }).catch(() => false as const);
        lines.push(`IMAP ${m.id}: processed folder ${s.MAIL_PROCESSED_FOLDER} ${folder ? `exists (${folder.messages ?? '?'} messages)` : 'does not exist yet (created on first use)'}`);
      }
    } catch (err) {
      ok = false;
      lines.push(`IMAP ${m.id}: FAILED: ${safeMessage(err)}`);
    } finally {
      await client.logout().catch(() => client.close());
    }
  }
  const smtp = new URL(s.SMTP_URL);
  const where = `${smtp.protocol}//${smtp.hostname}${smtp.port ? `:${smtp.port}` : ''}`;
  const transport = nodemailer.createTransport({ url: s.SMTP_URL, connectionTimeout: 15_000, greetingTimeout: 10_000, socketTimeout: 20_000 } as Parameters<typeof nodemailer.createTransport>[0]);
  try {
    await within(30_000, transport.verify(), 'SMTP');
    lines.push(`SMTP ${where}: connected${smtp.username ? ' and logged in' : ''}`);
  } catch (err) {
    ok = false;
    lines.push(`SMTP ${where}: FAILED: ${safeMessage(err)}`);
  } finally {
    transport.close();
  }
  return { ok, lines };
}
