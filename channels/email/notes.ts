import { createHash } from 'node:crypto';
import type { ChannelContext } from '../../src/intake/channel-kit.ts';

// What the channel remembers between messages lives in the kit's channel notes (channel_events),
// under keys of its own; the kit has no other store a channel may write. Each key is read by an
// exact lookup, oldest first, at most 100 entries: every key here gets few.
//   msg:<external id>     one message: the thread decided for it ('decided'), where it went ('stored'),
//                         or why it was set aside ('duplicate', 'bounce', 'auto_reply', 'loop', 'quarantine')
//   report:<code>         a report opened or continued by email: the citizen's address, their latest
//                         Message-ID and subject, the thread key, why not to answer it automatically
//   uid:<mailbox>:<uidvalidity>:<uid>   a message of a mailbox handled to the end (the catch-up cursor)
//   mailbox:<mailbox>     each UIDVALIDITY seen, and from which UID its messages are read
// and, in the kit's channel state (read and overwritten in place, not appended):
//   cursor:<mailbox>      the last UID handled to the end, in which UIDVALIDITY (where reading resumes)
//   sent:<address>:<hour> automatic messages sent to an address in an hour (the loop cap)

/** The channel's name, in notes and in inbound_messages. */
export const CHANNEL = 'email';

const KEY_MAX = 200;

/** A key within the notes' 200 characters: long ones end in a hash of the whole. */
export function noteKey(key: string): string {
  if (key.length <= KEY_MAX) return key;
  return `${key.slice(0, KEY_MAX - 41)}#${createHash('sha256').update(key).digest('hex').slice(0, 40)}`;
}

/** The external id of a message: its Message-ID, or the hash of its bytes when it has none. */
export function externalIdOf(messageId: string | null, sha256: string): string {
  return messageId ? noteKey(`mid:${messageId}`) : `sha256:${sha256}`;
}

export const msgKey = (externalId: string) => noteKey(`msg:${externalId}`);
export const reportKey = (code: string) => `report:${code}`;
export const uidKey = (mailbox: string, uidValidity: string, uid: number) => noteKey(`uid:${mailbox}:${uidValidity}:${uid}`);
export const mailboxKey = (mailbox: string) => noteKey(`mailbox:${mailbox}`);
export const sentKey = (address: string, hour: number) => noteKey(`sent:${address}:${hour}`);

/** What a `report:<code>` note holds: how to answer that report by email and whether to. */
export interface ReportNote {
  /** The sender whose message opened or continued it. */
  from: string;
  /** Where answers go when the citizen asked (Reply-To). */
  replyTo: string | null;
  name: string | null;
  /** Their latest message, and the chain before it: our answer replies to it. */
  messageId: string | null;
  references: string[];
  subject: string;
  /** The conversation key (InboundReport.thread) of the report. */
  threadKey: string;
  /** Why no automatic message may answer it (auto-generated, bulk, a list, a no-reply sender). */
  noAutoReply: string | null;
  mailbox: string;
}

type Notes = Pick<ChannelContext, 'note' | 'notes'>;

/** The latest entry of `kind` under `key`, or null. */
export async function latest<T>(ctx: Pick<ChannelContext, 'notes'>, key: string, kind: string): Promise<T | null> {
  const all = await ctx.notes(CHANNEL, key);
  for (let i = all.length - 1; i >= 0; i--) if (all[i]!.kind === kind) return all[i]!.data as T;
  return null;
}

/** Everything noted under `key`, oldest first. */
export const allNotes = (ctx: Pick<ChannelContext, 'notes'>, key: string) => ctx.notes(CHANNEL, key);

/** Notes `data` under `key`. */
export const note = (ctx: Notes, key: string, kind: string, data: object) => ctx.note(CHANNEL, key, kind, data as Record<string, unknown>);
