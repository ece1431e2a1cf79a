import type { ChannelContext } from '../../src/intake/channel-kit.ts';
import { CHANNEL, noteKey } from './notes.ts';

// Messenger's delivery receipts name the messages delivered (`mids`, not always) and a watermark
// (everything sent before it was delivered); read receipts only a watermark. Both are matched
// against what `send` noted it sent to that person, so a receipt for a message someone sent from
// the Page inbox (not ours) is not kept waiting for a message that will never be ours. The last
// watermark applied is noted, so each receipt reports only what is new since the previous one.
// A receipt looks at what was sent this month and the month before (a message read later than
// that keeps its last status). A receipt that overtakes the note of what it names (Meta answered
// the send, the note is not written yet) misses it; the next receipt's watermark covers it.

export type ReceiptStatus = 'delivered' | 'read';

interface Sent {
  mid: string;
  sentAt: number;
}

/** Records a receipt from person `psid` on what we sent them (this month and last); returns how many messages it moved. */
export async function applyReceipt(ctx: Pick<ChannelContext, 'notes' | 'note' | 'delivery'>, psid: string, status: ReceiptStatus, mids: string[], watermark: number | null, now = new Date()): Promise<number> {
  const thisMonth = noteKey.sent(psid, now);
  const lastMonth = noteKey.sent(psid, new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)));
  const notes = [...await ctx.notes(CHANNEL, lastMonth), ...await ctx.notes(CHANNEL, thisMonth)];
  const sent: Sent[] = [];
  let applied = 0;
  for (const n of notes) {
    if (n.kind === 'sent' && typeof n.data.mid === 'string' && typeof n.data.sent_at === 'number') sent.push({ mid: n.data.mid, sentAt: n.data.sent_at });
    if (n.kind === status && typeof n.data.watermark === 'number') applied = Math.max(applied, n.data.watermark);
  }
  const named = new Set(mids);
  const moved = sent.filter((s) => named.has(s.mid) || (watermark !== null && s.sentAt <= watermark && s.sentAt > applied));
  for (const s of moved) await ctx.delivery({ channel: CHANNEL, providerId: s.mid, status });
  if (watermark !== null && watermark > applied && moved.length) await ctx.note(CHANNEL, thisMonth, status, { watermark });
  return moved.length;
}
