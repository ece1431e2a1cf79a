
// What the channel keeps beside messages (ctx.note / ctx.notes, the channel_events table), and
// under which key. A comment's edits are kept under the comment's own external id, so they show
// beside its report; the rest are the channel's memory between a webhook and a later send.

/** The channel's name: in inbound_messages, reports, outbound_messages and channel_events. */
export const CHANNEL = 'facebook';

export const noteKey = {
  /** A comment report's external id (`ctx.intake.accept`), and where its edits and private reply are noted. */
  comment: (commentId: string) => `comment:${commentId}`,
  /**
   * What was sent to a person by Messenger in a month (their delivery and read receipts name a
   * time, not a message). By month, because notes are read oldest first, at most 100 of a key.
   */
  sent: (psid: string, at: Date) => `sent:${psid}:${at.toISOString().slice(0, 7)}`,
  /** The m.me link or ad that opened a person's conversation, until their next message takes it. */
  referral: (psid: string) => `referral:${psid}`,
  /** A button a person pressed (Get Started), by time: Meta resends a webhook it thinks was lost. */
  postback: (psid: string, timestamp: number) => `postback:${psid}:${timestamp}`,
} as const;

/** The comment a report came from, as `send` needs it. */
export interface CommentTarget {
  comment_id: string;
  post_id: string;
  /** The comment whose thread it is in, when it is itself a reply (Facebook threads are one level deep). */
  parent_id: string | null;
  /** When it was written (seconds since the epoch, Meta's `created_time`); private replies are allowed for 7 days. */
  created_time: number | null;
  from_id: string | null;
}

const OBJECT_ID = /^\d{1,30}_\d{1,30}$/;

/** The comment a report came from (its stored feed change: `OutboundMessage.source`), or null for a Messenger report. */
export function commentTarget(source: { externalId: string; payload: unknown }): CommentTarget | null {
  if (!source.externalId.startsWith('comment:')) return null;
  const change = source.payload as { value?: Record<string, unknown> } | null;
  const v = change && typeof change.value === 'object' && change.value !== null ? change.value : null;
  if (!v || typeof v.comment_id !== 'string' || !OBJECT_ID.test(v.comment_id)) return null;
  const from = v.from as { id?: unknown } | undefined;
  return {
    comment_id: v.comment_id,
    post_id: typeof v.post_id === 'string' ? v.post_id : '',
    parent_id: typeof v.parent_id === 'string' && OBJECT_ID.test(v.parent_id) && v.parent_id !== v.post_id ? v.parent_id : null,
    created_time: typeof v.created_time === 'number' ? v.created_time : null,
    from_id: typeof from?.id === 'string' ? from.id : null,
  };
}
