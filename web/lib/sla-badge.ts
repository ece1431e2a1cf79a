import { h } from './dom.ts';
import { SLA_STAGE_VI } from './labels.ts';
import { slaView, stageText, type SlaState } from './sla.ts';

// Countdown badges: each carries its times in data attributes, and one timer refreshes them all
// every second, so a re-rendered list needs no bookkeeping.

const STATE_LABEL: Record<SlaState, string> = {
  ok: 'Trong hạn', warning: 'Sắp hết hạn', breached: 'Quá hạn', none: 'Không có hạn',
};

function paint(el: HTMLElement, now: number): void {
  const stopped = el.dataset.stopped;
  if (stopped) {
    el.dataset.state = 'none';
    el.textContent = stopped;
    return;
  }
  const v = slaView(el.dataset.received ?? '', el.dataset.due || null, now);
  const stage = el.dataset.stage ? SLA_STAGE_VI[el.dataset.stage] ?? el.dataset.stage : '';
  const text = stage ? stageText(v, stage) : v.text;
  if (el.textContent !== text) el.textContent = text;
  if (el.dataset.state !== v.state) {
    el.dataset.state = v.state;
    el.title = `${STATE_LABEL[v.state]}${el.dataset.due ? ` – hạn ${new Date(el.dataset.due).toLocaleString('vi-VN', { timeZone: 'Asia/Ho_Chi_Minh', hour12: false })}` : ''}`;
    if (el.dataset.primary !== undefined) el.closest('[data-sla-host]')?.setAttribute('data-sla', v.state);
  }
}

/**
 * A countdown badge. `stopped` replaces the countdown with a fixed text (a resolved or closed
 * ticket's clock no longer runs).
 */
export function slaBadge(receivedAt: string, dueAt: string | null, opts: { stopped?: string; large?: boolean } = {}): HTMLElement {
  const el = h('span', {
    class: opts.large ? 'sla sla-lg' : 'sla', 'data-testid': 'sla',
    'data-received': receivedAt, 'data-due': dueAt ?? '', 'data-stopped': opts.stopped,
  });
  paint(el, Date.now());
  return el;
}

/**
 * The badge of a ticket's nearest deadline (`next_stage`: the SLA stage it has still to reach
 * first), named by its stage; red once that stage is past due. None: "Không có hạn".
 */
export function stageBadge(receivedAt: string, next: { stage: string; due_at: string } | null, opts: { large?: boolean } = {}): HTMLElement {
  const el = slaBadge(receivedAt, next?.due_at ?? null, { large: opts.large });
  if (next) {
    el.dataset.stage = next.stage;
    paint(el, Date.now());
  }
  return el;
}

/** Repaints every badge once a second; returns a function that stops it. */
export function startSlaTicker(root: ParentNode = document): () => void {
  const tick = () => {
    const now = Date.now();
    root.querySelectorAll<HTMLElement>('.sla').forEach((el) => paint(el, now));
  };
  const timer = setInterval(tick, 1000);
  return () => clearInterval(timer);
}

/** Makes `badge` the one whose state colours `host` (a queue row, a task card) as `data-sla`. */
export function markSlaHost(host: HTMLElement, badge: HTMLElement): void {
  badge.dataset.primary = '';
  host.setAttribute('data-sla-host', '');
  host.setAttribute('data-sla', badge.dataset.state ?? 'none');
}
