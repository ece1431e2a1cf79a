// SLA countdowns, shared by the console and the ward view. Pure: no DOM, unit-tested.

/** ok: on time; warning: 75% or more of the window from receipt to deadline has passed; breached: past the deadline. */
export type SlaState = 'ok' | 'warning' | 'breached' | 'none';

/** The same fraction the server's SLA timers warn at (src/core/sla.ts). */
export const SLA_WARNING_FRACTION = 0.75;

export interface SlaView {
  state: SlaState;
  /** What the badge says, in Vietnamese; never colour alone. */
  text: string;
  /** Share of the window elapsed (0..1+), or null without a deadline. */
  elapsed: number | null;
  /** Milliseconds to the deadline (negative once breached), or null without a deadline. */
  remainingMs: number | null;
}

const two = (n: number) => String(n).padStart(2, '0');

/** A duration in Vietnamese: "2 ngày 3 giờ", "1 giờ 05 phút", "12 phút", "4 phút 05 giây", "40 giây". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(Math.abs(ms) / 1000));
  const days = Math.floor(s / 86_400);
  const hours = Math.floor((s % 86_400) / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = s % 60;
  if (days > 0) return hours ? `${days} ngày ${hours} giờ` : `${days} ngày`;
  if (hours > 0) return `${hours} giờ ${two(minutes)} phút`;
  if (minutes >= 10) return `${minutes} phút`;
  if (minutes > 0) return `${minutes} phút ${two(seconds)} giây`;
  return `${seconds} giây`;
}

/** The countdown of a ticket received at `receivedAt` and due at `dueAt` (ISO strings), at `now`. */
export function slaView(receivedAt: string, dueAt: string | null | undefined, now: number = Date.now()): SlaView {
  if (!dueAt) return { state: 'none', text: 'Không có hạn', elapsed: null, remainingMs: null };
  const start = Date.parse(receivedAt);
  const due = Date.parse(dueAt);
  if (Number.isNaN(due)) return { state: 'none', text: 'Không có hạn', elapsed: null, remainingMs: null };
  const remainingMs = due - now;
  const window = due - start;
  const elapsed = Number.isNaN(start) || window <= 0 ? (remainingMs > 0 ? 0 : 1) : (now - start) / window;
  if (remainingMs <= 0) return { state: 'breached', text: `Quá hạn ${formatDuration(remainingMs)}`, elapsed, remainingMs };
  if (elapsed >= SLA_WARNING_FRACTION) return { state: 'warning', text: `Sắp hết hạn · còn ${formatDuration(remainingMs)}`, elapsed, remainingMs };
  return { state: 'ok', text: `Còn ${formatDuration(remainingMs)}`, elapsed, remainingMs };
}

/**
 * The countdown of one SLA stage, named ("Phân loại · còn 12 phút", "Quá hạn chuyển phường
 * 5 phút"): `stage` is the stage's Vietnamese name, lower case (labels.ts SLA_STAGE_VI).
 */
export function stageText(v: SlaView, stage: string): string {
  const d = v.remainingMs === null ? '' : formatDuration(v.remainingMs);
  switch (v.state) {
    case 'breached': return `Quá hạn ${stage} ${d}`;
    case 'warning': return `Sắp hết hạn ${stage} · còn ${d}`;
    case 'ok': return `${stage.charAt(0).toUpperCase()}${stage.slice(1)} · còn ${d}`;
    default: return v.text;
  }
}
