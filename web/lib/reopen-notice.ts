import { notify } from './notice.ts';
import type { TicketEvent } from './realtime.ts';

// A resident said a resolved ticket is not fixed (`ticket.reopened`, pushed live): the agents who
// must dispatch it again, and the ward that resolved it (it leaves their list until then), hear
// of it at once.

/** The console's notice of a reopening (other events: nothing), with a link that opens the ticket. */
export function reopenNotice(e: TicketEvent, consolePath = ''): void {
  if (e.type !== 'ticket.reopened') return;
  notify(`Người dân báo chưa khắc phục xong: hồ sơ ${e.ticket} được mở lại, cần giao xử lý lại.`, 'info', { href: `${consolePath}#${e.ticket}`, text: 'Mở hồ sơ' });
}

/** The ward view's notice of a reopening: the task left their list until the call centre dispatches it again. */
export function wardReopenNotice(e: TicketEvent): void {
  if (e.type !== 'ticket.reopened') return;
  notify(`Hồ sơ ${e.ticket} được người dân mở lại vì chưa khắc phục xong; tổng đài 1022 sẽ giao lại.`, 'info');
}
