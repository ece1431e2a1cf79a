import { sql } from 'kysely';
import type { DbOrTx } from '../../db/schema.ts';
import { canonicalCode } from './codes.ts';
import { STATUS_VI } from './statuses.ts';

/** Event types shown on the public tracking page, with their Vietnamese wording. */
export const PUBLIC_EVENT_VI: Record<string, string> = {
  'report.received': 'Đã nhận phản ánh',
  'ticket.created': 'Đã tạo hồ sơ xử lý',
  'report.grouped': 'Gộp với phản ánh cùng sự việc',
  'ticket.routed': 'Đã xác định đơn vị phụ trách',
  'ticket.status_changed': 'Cập nhật trạng thái',
  'ticket.dispatched': 'Đã chuyển đơn vị xử lý',
  'ticket.resolved': 'Đã xử lý xong',
  'ticket.merged': 'Gộp vào hồ sơ cùng sự việc',
  'ticket.acknowledged': 'Đơn vị xử lý đã nhận nhiệm vụ',
  'ticket.started': 'Đang xử lý tại hiện trường',
  'ticket.replied': 'Trả lời từ tổng đài',
  'ticket.closed': 'Đã đóng hồ sơ',
  'ticket.rejected': 'Không thuộc thẩm quyền xử lý',
};

/** What anyone holding a tracking code may see: status and a public timeline, no personal data. */
export interface PublicStatus {
  code: string;
  status: string;
  status_label: string;
  ticket: string | null;
  channel: string;
  received_at: string;
  category: { code: string; name: string } | null;
  area: { code: string; name: string } | null;
  department: { code: string; name: string } | null;
  reporters: number;
  due_at: string | null;
  timeline: { at: string; type: string; label: string; message?: string }[];
}

/**
 * Looks up a report (PA-...) or ticket (TK-...) code; null when unknown. `city` names the
 * service in the timeline ("Trả lời từ Tổng đài 1022").
 */
export async function publicStatus(db: DbOrTx, rawCode: string, city?: { hotline: string }): Promise<PublicStatus | null> {
  const code = canonicalCode(rawCode);
  if (!code) return null;
  const inbound = code.startsWith('PA-')
    ? await db.selectFrom('inbound_messages').select(['code', 'channel', 'received_at', 'report_id']).where('code', '=', code).executeTakeFirst()
    : undefined;
  const ticketQuery = db.selectFrom('tickets')
    .leftJoin('categories', 'categories.code', 'tickets.category_code')
    .leftJoin('areas', 'areas.code', 'tickets.area_code')
    .leftJoin('departments', 'departments.code', 'tickets.department_code')
    .select([
      'tickets.id', 'tickets.code', 'tickets.status', 'tickets.received_at', 'tickets.due_at', 'tickets.reporter_count',
      'tickets.category_code', 'categories.name as category_name', 'tickets.area_code', 'areas.name as area_name',
      'tickets.department_code', 'departments.name as department_name',
    ]);
  let ticket;
  if (code.startsWith('TK-')) ticket = await ticketQuery.where('tickets.code', '=', code).executeTakeFirst();
  else if (inbound?.report_id) {
    ticket = await ticketQuery.innerJoin('reports', 'reports.ticket_id', 'tickets.id').where('reports.id', '=', inbound.report_id).executeTakeFirst();
  }
  if (!inbound && !ticket) return null;
  const timeline = ticket
    ? (await db.selectFrom('ticket_events').select(['created_at', 'type', 'data', 'reason'])
        .where('ticket_id', '=', ticket.id)
        // An answer to one reporter shows on that reporter's own code only.
        .where((eb) => eb.or([
          eb('public', '=', true),
          // (A private answer, to a Facebook comment, never: the comment's code is public.)
          ...(inbound ? [eb.and([eb('type', '=', 'ticket.replied'), eb(sql`data->>'to_report'`, '=', inbound.code), eb(sql`coalesce(data->>'private', 'false')`, '=', 'false')])] : []),
        ]))
        .orderBy('id').execute())
        .map((e) => {
          // Words written for the citizen: the agent's reply and the ward's result note.
          const message = e.type === 'ticket.replied' ? String((e.data as { text?: unknown }).text ?? '')
            : e.type === 'ticket.resolved' && e.reason ? e.reason : undefined;
          const label = e.type === 'ticket.replied' && city ? `Trả lời từ ${city.hotline}` : PUBLIC_EVENT_VI[e.type] ?? e.type;
          return { at: e.created_at.toISOString(), type: e.type, label, ...(message ? { message } : {}) };
        })
    : [];
  const status = ticket?.status ?? 'received';
  return {
    code,
    status,
    status_label: STATUS_VI[status as keyof typeof STATUS_VI] ?? status,
    ticket: ticket?.code ?? null,
    channel: inbound?.channel ?? 'ticket',
    received_at: (inbound?.received_at ?? ticket!.received_at).toISOString(),
    category: ticket?.category_code ? { code: ticket.category_code, name: ticket.category_name ?? ticket.category_code } : null,
    area: ticket?.area_code ? { code: ticket.area_code, name: ticket.area_name ?? ticket.area_code } : null,
    department: ticket?.department_code ? { code: ticket.department_code, name: ticket.department_name ?? ticket.department_code } : null,
    reporters: ticket?.reporter_count ?? 1,
    due_at: ticket?.due_at ? ticket.due_at.toISOString() : null,
    timeline,
  };
}
