// The ticket vocabulary, once: statuses, priorities and their Vietnamese names. No imports, so
// the console and the ward view (browser code) import it too, and never restate it.

export const TICKET_STATUSES = ['new', 'triaged', 'dispatched', 'acknowledged', 'in_progress', 'resolved', 'closed', 'rejected'] as const;
export type TicketStatus = (typeof TICKET_STATUSES)[number];

/** Statuses in which a ticket is still being handled (and takes new reports). */
export const OPEN_STATUSES = ['new', 'triaged', 'dispatched', 'acknowledged', 'in_progress'] as const satisfies readonly TicketStatus[];

/** Statuses a ward force sees its tasks in: from dispatch to resolution. */
export const FIELD_STATUSES = ['dispatched', 'acknowledged', 'in_progress', 'resolved'] as const satisfies readonly TicketStatus[];

export const isTicketStatus = (s: string): s is TicketStatus => (TICKET_STATUSES as readonly string[]).includes(s);
export const isOpen = (s: string): boolean => (OPEN_STATUSES as readonly string[]).includes(s);

/**
 * A resident may confirm a resolution or say the problem is not fixed (reopen the ticket) within
 * this many days of it (core/tickets/feedback.ts).
 */
export const REOPEN_WINDOW_DAYS = 7;

/** The event a change to each status writes. */
export const STATUS_EVENT: Record<Exclude<TicketStatus, 'new'>, string> = {
  triaged: 'ticket.triaged', dispatched: 'ticket.dispatched', acknowledged: 'ticket.acknowledged',
  in_progress: 'ticket.started', resolved: 'ticket.resolved', closed: 'ticket.closed', rejected: 'ticket.rejected',
};

export const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export type Priority = (typeof PRIORITIES)[number];
export const isPriority = (s: string): s is Priority => (PRIORITIES as readonly string[]).includes(s);

/** What residents read for each status (tracking page, app API); `received`: still in intake. */
export const STATUS_VI: Record<TicketStatus | 'received', string> = {
  received: 'Đã tiếp nhận, đang xử lý',
  new: 'Mới tiếp nhận',
  triaged: 'Đã phân loại',
  dispatched: 'Đã chuyển đơn vị xử lý',
  acknowledged: 'Đơn vị đã nhận',
  in_progress: 'Đang xử lý tại hiện trường',
  resolved: 'Đã xử lý xong',
  closed: 'Đã đóng',
  rejected: 'Không thuộc thẩm quyền / từ chối',
};

/** What staff read for each status (console and ward view): short, for badges. */
export const STATUS_VI_STAFF: Record<TicketStatus, string> = {
  new: 'Mới',
  triaged: 'Đã phân loại',
  dispatched: 'Đã chuyển phường',
  acknowledged: 'Phường đã nhận',
  in_progress: 'Đang xử lý',
  resolved: 'Đã xử lý xong',
  closed: 'Đã đóng',
  rejected: 'Từ chối',
};

/** A status as staff read it (STATUS_VI_STAFF); a value that is no status, as it is. */
export const statusNameVi = (status: string): string => (isTicketStatus(status) ? STATUS_VI_STAFF[status] : status);

export const PRIORITY_VI: Record<Priority, string> = {
  low: 'Thấp',
  normal: 'Bình thường',
  high: 'Cao',
  urgent: 'Khẩn cấp',
};
