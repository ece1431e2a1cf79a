import { label, SLA_STAGE_VI } from './labels.ts';
import { notify } from './notice.ts';
import type { TicketEvent } from './realtime.ts';

// The supervisors' escalation: an SLA stage past its deadline (`sla.breached`, fired by the SLA
// timers and pushed live) raises a notice on their screen at once, with a link to the ticket.

/** Shows the notice of a breach event (other events: nothing); `consolePath` is where a ticket opens. */
export function breachNotice(e: TicketEvent, consolePath = ''): void {
  if (e.type !== 'sla.breached') return;
  const stage = typeof e.data.stage === 'string' ? ` ${label(SLA_STAGE_VI, e.data.stage)}` : '';
  notify(`Quá hạn${stage}: hồ sơ ${e.ticket}.`, 'error', { href: `${consolePath}#${e.ticket}`, text: 'Mở hồ sơ' });
}
