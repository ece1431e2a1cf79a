import { AppError, defineChannel, type ChannelContext, type QuarantinedMessage } from '../../src/intake/channel-kit.ts';
import { MailboxSession } from './mailbox.ts';
import { CHANNEL } from './notes.ts';
import { parseEmail, readEmail } from './parse.ts';
import { sendEmail } from './send.ts';
import { emailSettings, limitsOf, mailboxesOf, type EmailSettings } from './settings.ts';
import { storeMessage, type Location } from './store.ts';

/** How often the leader's poll comes back; a run itself holds IDLE up to MAIL_IDLE_SECONDS. */
export const POLL_EVERY_MS = 1000;

// The sessions of each running app (keyed by its intake service): one per mailbox, kept across
// poll runs so that IDLE and the connection outlive a run.
interface Sessions {
  byMailbox: Map<string, MailboxSession>;
  /** Closed for good: runs of this app return at once (it is stopping). */
  closed: boolean;
}
const running = new WeakMap<object, Sessions>();
const everyApp = new Set<Sessions>();

/**
 * One poll run: every mailbox catches up and then waits in IDLE, together, until MAIL_IDLE_SECONDS
 * have passed, or `signal` aborts (the process stops or loses leadership): then it returns at once.
 */
export async function pollMailboxes(ctx: ChannelContext<EmailSettings>, signal?: AbortSignal): Promise<void> {
  let app = running.get(ctx.intake);
  if (!app) {
    app = { byMailbox: new Map(), closed: false };
    running.set(ctx.intake, app);
    everyApp.add(app);
  }
  if (app.closed) return;
  const sessions = app.byMailbox;
  const deadline = Date.now() + limitsOf(ctx.settings).idleMs;
  await Promise.all(mailboxesOf(ctx.settings).map((m) => {
    let s = sessions.get(m.id);
    if (!s) {
      s = new MailboxSession(m, ctx.settings.MAIL_PROCESSED_FOLDER);
      sessions.set(m.id, s);
    }
    return s.run(ctx, deadline, signal);
  }));
}

/**
 * Logs out of every mailbox this process reads and reads them no more: a run holding IDLE
 * returns at once. What a stop hook of the kit would call (the tests call it before closing the app).
 */
export async function closeMailSessions(): Promise<void> {
  const all: MailboxSession[] = [];
  for (const app of everyApp) {
    app.closed = true;
    all.push(...app.byMailbox.values());
    app.byMailbox.clear();
  }
  everyApp.clear();
  await Promise.all(all.map((s) => s.close()));
}

/**
 * An admin's retry of a quarantined message: its raw bytes through the same path as when it
 * arrived (`storeMessage`: idempotent on its Message-ID and bytes), at the place it was read.
 */
export async function retryQuarantined(held: QuarantinedMessage, ctx: ChannelContext<EmailSettings>): Promise<{ outcome: string; code?: string }> {
  const source = await ctx.files.get(held.rawKey);
  if (!source) throw new AppError('quarantine_raw_missing', 409, `the raw message ${held.rawKey} is not in the file store`, 'Không tìm thấy bản gốc của thư này.');
  const p = held.place as Partial<Location>;
  const at: Location = { mailbox: String(p.mailbox ?? held.endpoint ?? ''), uidValidity: String(p.uidValidity ?? ''), uid: Number(p.uid ?? 0) };
  return storeMessage(ctx, at, source, held.receivedAt);
}

/** Email: mailboxes read over IMAP (IDLE) by the leader, answers sent over SMTP. */
export const email = defineChannel<EmailSettings>({
  name: CHANNEL,
  label: { vi: 'Thư điện tử', en: 'Email', background: '#e8f0fe', text: '#174ea6' },
  settings: emailSettings,
  parse: parseEmail,
  read: readEmail,
  retry: retryQuarantined,
  replies: 'send',
  send: sendEmail,
  poll: { everyMs: POLL_EVERY_MS, run: pollMailboxes },
});
