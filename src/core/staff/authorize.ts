import { AppError } from '../errors.ts';
import { refusal, TRANSITIONS, type Action, type Actor, type PolicyTicket } from './policy.ts';

/** `can(actor, action, ticket)` as the services need it: a stable AppError when it may not. */
export function assertCan(actor: Pick<Actor, 'role' | 'areaCodes'>, action: Action, ticket?: PolicyTicket): void {
  switch (refusal(actor, action, ticket)) {
    case null:
      return;
    case 'forbidden':
      throw new AppError('forbidden', 403, `role ${actor.role} may not ${action}`, 'Bạn không có quyền thực hiện thao tác này.', { action });
    case 'ticket_forbidden':
      throw new AppError('ticket_forbidden', 403, 'this ticket is outside your units', 'Hồ sơ này không thuộc địa bàn của bạn.');
    case 'ticket_status_invalid': {
      const to = Object.entries(TRANSITIONS).find(([, t]) => t.action === action)?.[0];
      throw new AppError('ticket_status_invalid', 409, to ? `cannot go from ${ticket?.status} to ${to}` : `cannot ${action} a ${ticket?.status} ticket`,
        'Không thể thực hiện thao tác này ở trạng thái hiện tại của hồ sơ.', { from: ticket?.status, to: to ?? action });
    }
  }
}
