import { ImapFlow } from 'imapflow';
import { isAppError, type ChannelContext } from '../../src/intake/channel-kit.ts';
import { allNotes, CHANNEL, externalIdOf, mailboxKey, note, noteKey, uidKey } from './notes.ts';
import { limitsOf, type EmailSettings, type MailboxSettings } from './settings.ts';
import { faults, keepRaw, quarantine, storeMessage, type Location, type Outcome } from './store.ts';

// One IMAP session per mailbox, kept by the leader across poll runs: each run catches up from
// the last UID handled, then holds IDLE until mail comes or its time is up, and returns (the
// kit's poll is a run that must end; the connection outlives it). A failure drops the
// connection, and it is opened again after a growing backoff, within the run or the next.

/** Backoff after the n-th failure in a row: 1 s, 2 s, 4 s ... 5 minutes, with jitter. */
export const reconnectDelayMs = (failures: number) => Math.round(Math.min(300_000, 1000 * 2 ** Math.max(0, failures - 1)) * (0.8 + Math.random() * 0.4));

/** Tries of one message before it is set aside (quarantined) so the ones after it go on. */
const TRIES_PER_MESSAGE = 3;

/** Where a mailbox's reading stands (channel state `cursor:<mailbox>`): the last UID handled to the end in a UIDVALIDITY. */
interface Cursor {
  uidValidity: string;
  uid: number;
}
const cursorKey = (mailbox: string) => noteKey(`cursor:${mailbox}`);

/** What the mailbox's notes say of one UIDVALIDITY: from which UID its messages are read. */
interface Epoch {
  uidValidity: string;
  firstUid: number;
  /** When phananh first read this mailbox: after a UIDVALIDITY change, older mail is not ours to read. */
  since: string;
}

const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve) => {
  if (signal?.aborted) return resolve();
  const t = setTimeout(done, Math.max(0, ms));
  function done() {
    clearTimeout(t);
    signal?.removeEventListener('abort', done);
    resolve();
  }
  signal?.addEventListener('abort', done, { once: true });
});

/** An ImapFlow client for a mailbox (no logger: it would print what the server says; never the password). */
export function imapClient(m: MailboxSettings): ImapFlow {
  return new ImapFlow({
    host: m.host, port: m.port, secure: m.secure, auth: { user: m.user, pass: m.pass },
    logger: false, disableAutoIdle: true, connectionTimeout: 15_000, greetingTimeout: 10_000, socketTimeout: 10 * 60_000,
    ...(m.insecureTls ? { tls: { rejectUnauthorized: false } } : {}),
  });
}

/** One mailbox, read by the leader: its connection, its cursor, its backoff. */
export class MailboxSession {
  #client: ImapFlow | null = null;
  #uidValidity: string | null = null;
  /** The highest UID handled to the end (stored and marked) in this UIDVALIDITY. */
  #cursor = 0;
  #failures = 0;
  #retryAt = 0;
  #lastPoll = 0;
  #newMail = false;
  #wake: (() => void) | null = null;
  #stuck: { uid: number; tries: number } | null = null;
  #release: NodeJS.Timeout | null = null;
  #folderReady = false;

  /** `processedFolder`: where handled messages are moved (MAIL_PROCESSED_FOLDER); absent, they are marked \Seen in place. */
  constructor(readonly mailbox: MailboxSettings, private readonly processedFolder?: string) {}

  /**
   * One poll run, until `deadline`: connect when needed, catch up, then wait in IDLE and catch up
   * again on news; a dropped connection is reconnected within the run, after a backoff, so that
   * one mailbox's trouble never waits for another's IDLE. Where IDLE is off (MAIL_IDLE_SECONDS=0)
   * or missing, a run polls once when MAIL_POLL_SECONDS have passed.
   */
  async run(ctx: ChannelContext<EmailSettings>, deadline: number, signal?: AbortSignal): Promise<void> {
    if (this.#release) clearTimeout(this.#release);
    const limits = limitsOf(ctx.settings);
    const stop = signal ? AbortSignal.any([signal, this.#stopped.signal]) : this.#stopped.signal;
    try {
      if (limits.idleMs === 0) {
        if (Date.now() >= this.#retryAt && Date.now() - this.#lastPoll >= limits.pollMs) await this.#attempt(ctx, async () => {});
        return;
      }
      while (Date.now() < deadline - 50 && !stop.aborted) {
        if (Date.now() < this.#retryAt) {
          await sleep(Math.min(this.#retryAt, deadline) - Date.now(), stop);
          continue;
        }
        await this.#attempt(ctx, (client) => this.#waitForMail(client, deadline, limits.pollMs, stop));
      }
    } finally {
      // A session no run comes back to (this process is no longer the leader) closes itself.
      if (!this.#stopped.signal.aborted) {
        this.#release = setTimeout(() => void this.#drop(), limits.idleMs + 60_000);
        this.#release.unref();
      }
    }
  }

  /** Connects when needed and catches up, then `wait`s; a failure drops the connection and sets the next try. */
  async #attempt(ctx: ChannelContext<EmailSettings>, wait: (client: ImapFlow) => Promise<void>): Promise<void> {
    try {
      const client = await this.#open(ctx);
      await this.#catchUp(ctx, client);
      this.#lastPoll = Date.now();
      this.#failures = 0;
      await wait(client);
    } catch (err) {
      this.#failures++;
      const pause = reconnectDelayMs(this.#failures);
      this.#retryAt = Date.now() + pause;
      ctx.log.warn({ channel: 'email', mailbox: this.mailbox.id, failures: this.#failures, retryInMs: pause, err: safeMessage(err) }, 'mailbox read failed; reconnecting after a pause');
      await this.#drop();
    }
  }

  #stopped = new AbortController();

  /** Stops for good: logs out, and a run in progress returns at once. */
  async close(): Promise<void> {
    this.#stopped.abort();
    await this.#drop();
  }

  /** Logs out (or drops the connection); the next run connects again. */
  async #drop(): Promise<void> {
    if (this.#release) clearTimeout(this.#release);
    const client = this.#client;
    this.#client = null;
    this.#wake?.();
    if (!client) return;
    await Promise.race([client.logout().catch(() => client.close()), sleep(2000)]);
    client.close();
  }

  async #open(ctx: ChannelContext<EmailSettings>): Promise<ImapFlow> {
    if (this.#client?.usable && this.#client.mailbox) {
      // A server may renumber a mailbox while we are connected: checked on every run.
      const now = String(this.#client.mailbox.uidValidity);
      if (now === this.#uidValidity) return this.#client;
    } else {
      await this.#drop();
      const client = imapClient(this.mailbox);
      client.on('error', (err: Error) => ctx.log.warn({ channel: 'email', mailbox: this.mailbox.id, err: safeMessage(err) }, 'IMAP connection error'));
      client.on('exists', () => { this.#newMail = true; this.#wake?.(); });
      client.on('close', () => { if (this.#client === client) this.#client = null; this.#wake?.(); });
      await client.connect();
      this.#client = client;
      await client.mailboxOpen(this.mailbox.path);
    }
    const client = this.#client!;
    const uidValidity = String(client.mailbox ? client.mailbox.uidValidity : '');
    if (uidValidity !== this.#uidValidity) {
      this.#cursor = await this.#resume(ctx, client, uidValidity);
      this.#uidValidity = uidValidity;
    }
    return client;
  }

  /**
   * Where reading resumes in this UIDVALIDITY: after the last message handled to the end, found
   * by a binary search over the mailbox's UIDs (messages are handled in UID order, so those with
   * a `uid:` note are a prefix). A UIDVALIDITY never seen: on the mailbox's first reading, from
   * its oldest unread message; after a change (the server renumbered it), every message since
   * phananh first read it again, the Message-IDs keeping each one single.
   */
  async #resume(ctx: ChannelContext<EmailSettings>, client: ImapFlow, uidValidity: string): Promise<number> {
    const key = mailboxKey(this.mailbox.id);
    const epochs = (await allNotes(ctx, key)).filter((n) => n.kind === 'epoch').map((n) => n.data as unknown as Epoch);
    let epoch = epochs.find((e) => e.uidValidity === uidValidity);
    if (!epoch) {
      const first = epochs[0];
      let firstUid: number;
      if (!first) {
        const unseen = (await client.search({ seen: false }, { uid: true })) || [];
        firstUid = unseen.length ? unseen.reduce((a, b) => Math.min(a, b)) : Number(client.mailbox ? client.mailbox.uidNext : 1);
      } else {
        firstUid = await this.#firstSince(client, new Date(first.since));
        ctx.log.warn({ channel: 'email', mailbox: this.mailbox.id, was: epochs.at(-1)?.uidValidity, now: uidValidity }, 'UIDVALIDITY changed: reading the mailbox again from when phananh began; Message-IDs keep each message single');
      }
      epoch = { uidValidity, firstUid, since: first?.since ?? new Date().toISOString() };
      await note(ctx, key, 'epoch', epoch);
    }
    // The cursor kept in the channel's state: where the last run of any process stopped.
    const saved = (await ctx.state.get(CHANNEL, cursorKey(this.mailbox.id))) as Cursor | null;
    if (saved && saved.uidValidity === uidValidity && Number.isSafeInteger(saved.uid) && saved.uid >= epoch.firstUid - 1) return saved.uid;
    // None (a cursor from before 0015, or lost): found again from the messages' notes.
    const uids = ((await client.search({ uid: `${epoch.firstUid}:*` }, { uid: true })) || []).filter((u) => u >= epoch.firstUid).sort((a, b) => a - b);
    let lo = -1;
    let hi = uids.length;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if ((await allNotes(ctx, uidKey(this.mailbox.id, uidValidity, uids[mid]!))).length > 0) lo = mid;
      else hi = mid;
    }
    return lo >= 0 ? uids[lo]! : epoch.firstUid - 1;
  }

  /** The first UID of a message that arrived at or after `since` (the next UID when none did). */
  async #firstSince(client: ImapFlow, since: Date): Promise<number> {
    const day = new Date(since.getTime() - 86_400_000);
    const uids = ((await client.search({ since: day }, { uid: true })) || []).sort((a, b) => a - b);
    for (const uid of uids) {
      const m = await client.fetchOne(String(uid), { uid: true, internalDate: true }, { uid: true });
      const at = m && m.internalDate ? new Date(m.internalDate) : null;
      if (!at || at.getTime() >= since.getTime() - 60_000) return uid;
    }
    return Number(client.mailbox ? client.mailbox.uidNext : 1);
  }

  /** Handles every message after the cursor, in UID order, each to the end before the next. */
  async #catchUp(ctx: ChannelContext<EmailSettings>, client: ImapFlow): Promise<void> {
    this.#newMail = false;
    const uids = ((await client.search({ uid: `${this.#cursor + 1}:*` }, { uid: true })) || []).filter((u) => u > this.#cursor).sort((a, b) => a - b);
    for (const uid of uids) {
      if (this.#client !== client) throw new Error('the IMAP connection closed');
      await this.#handle(ctx, client, uid);
      this.#cursor = uid;
    }
  }

  async #handle(ctx: ChannelContext<EmailSettings>, client: ImapFlow, uid: number): Promise<void> {
    const at: Location = { mailbox: this.mailbox.id, uidValidity: this.#uidValidity!, uid };
    const { maxBytes } = limitsOf(ctx.settings);
    const meta = await client.fetchOne(String(uid), { uid: true, size: true, internalDate: true, envelope: true }, { uid: true });
    if (!meta) return; // expunged meanwhile (another client moved it)
    const internalDate = meta.internalDate ? new Date(meta.internalDate) : null;
    let result: { outcome: Outcome; code?: string };
    let source: Uint8Array | null = null;
    try {
      if ((meta.size ?? 0) > maxBytes) {
        // Left on the server, where it stays whole; not downloaded.
        const id = meta.envelope?.messageId?.replace(/^<|>$/g, '') || null;
        result = await quarantine(ctx, at, null, id ? externalIdOf(id, '') : placeId(at), {
          code: 'email_too_large', message: `the message is ${meta.size} bytes, more than MAIL_MAX_BYTES (${maxBytes})`,
        }, internalDate ?? new Date(), { size: meta.size ?? null, sender: meta.envelope?.from?.[0]?.address?.toLowerCase() ?? null });
      } else {
        const full = await client.fetchOne(String(uid), { uid: true, source: true }, { uid: true });
        if (!full || !full.source) return;
        source = full.source;
        result = await storeMessage(ctx, at, source, internalDate);
      }
      this.#stuck = null;
    } catch (err) {
      // Failing again and again on one message (not an outage: those fail every message) must
      // not hold back the ones after it: after a few tries it is set aside, raw, with its error.
      // (A message that cannot be parsed is held at once, by storeMessage.)
      const tries = this.#stuck?.uid === uid ? this.#stuck.tries + 1 : 1;
      this.#stuck = { uid, tries };
      if (tries < TRIES_PER_MESSAGE || transient(err)) throw err;
      const raw = source ? await keepRaw(ctx, source) : null;
      result = await quarantine(ctx, at, raw, placeId(at), { code: 'email_store_failed', message: safeMessage(err) }, internalDate ?? new Date(),
        { size: meta.size ?? null, sender: meta.envelope?.from?.[0]?.address?.toLowerCase() ?? null });
      this.#stuck = null;
    }
    faults.afterStore?.(uid);
    await this.#mark(client, uid, result.outcome);
    await note(ctx, uidKey(at.mailbox, at.uidValidity, uid), 'handled', { outcome: result.outcome, code: result.code ?? null });
    // After the note: a crash between the two reads this message again, which finds it done.
    await ctx.state.set(CHANNEL, cursorKey(at.mailbox), { uidValidity: at.uidValidity, uid } satisfies Cursor);
  }

  /** Marks a message handled on the server: \Seen (and \Flagged when quarantined), or moved to the processed folder. */
  async #mark(client: ImapFlow, uid: number, outcome: Outcome): Promise<void> {
    const range = String(uid);
    if (outcome === 'quarantine') await client.messageFlagsAdd(range, ['\\Flagged'], { uid: true });
    await client.messageFlagsAdd(range, ['\\Seen'], { uid: true });
    const folder = this.processedFolder;
    if (!folder) return;
    if (!this.#folderReady) {
      await client.mailboxCreate(folder).catch(() => undefined); // already there
      this.#folderReady = true;
    }
    const moved = await client.messageMove(range, folder, { uid: true });
    if (!moved) throw new Error(`could not move message ${uid} to ${folder}`);
  }

  /** Waits in IDLE until the server announces mail, the connection closes, or `deadline` (polls with NOOP where IDLE is missing). */
  async #waitForMail(client: ImapFlow, deadline: number, pollMs: number, signal?: AbortSignal): Promise<void> {
    if (this.#newMail) return;
    const woken = new Promise<void>((resolve) => { this.#wake = resolve; });
    const until = deadline - Date.now();
    if (!client.capabilities.has('IDLE')) {
      await Promise.race([woken, sleep(Math.min(until, pollMs), signal)]);
      this.#wake = null;
      return;
    }
    const idling = client.idle().catch(() => undefined);
    await Promise.race([woken, sleep(until, signal)]);
    this.#wake = null;
    // Any command ends IDLE; NOOP also collects what the server announced meanwhile.
    if (this.#client === client) await client.noop().catch(() => undefined);
    await idling;
  }
}

/**
 * Whether a failure is the world's (the database or the server unreachable, a connection
 * dropped), not the message's: such a failure is waited out, never a reason to set a message aside.
 */
export function transient(err: unknown): boolean {
  if (isAppError(err)) return err.code === 'intake_unavailable';
  const code = String((err as { code?: unknown } | null)?.code ?? '');
  if (/^E[A-Z]{3,}$/.test(code) || /^(?:08|53|57)[0-9A-Z]{3}$/.test(code) || code === 'NoConnection') return true;
  return /connect|terminat|closed|timed? ?out|unavailable/i.test(err instanceof Error ? err.message : String(err));
}

/** The external id of a message known only by where it lies (one we could not download or store). */
const placeId = (at: Location) => noteKey(`loc:${at.mailbox}:${at.uidValidity}:${at.uid}`);

/** An error's message without anything that could be a credential (URLs lose their user info). */
export function safeMessage(err: unknown): string {
  const m = err instanceof Error ? `${err.message}${(err as { responseText?: string }).responseText ? `: ${(err as { responseText?: string }).responseText}` : ''}` : String(err);
  return m.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^@\s/]*@/gi, '$1***@').slice(0, 500);
}
