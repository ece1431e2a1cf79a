import { sql } from 'kysely';
import type { DbOrTx } from '../../db/schema.ts';
import { canonicalCode } from './codes.ts';
import { answerSince, feedbackRefusal, feedbackUntil, type FeedbackAnswer } from './feedback.ts';
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
  'ticket.confirmed': 'Người dân xác nhận đã được khắc phục',
  'ticket.reopened': 'Người dân báo chưa được khắc phục, hồ sơ được xử lý lại',
  // Not an event: written where a report's ticket has no unit yet.
  'ticket.unrouted': 'Chưa xác định được đơn vị phụ trách',
};

/** A photo a tracking code may show: served at `url` (under the code), never by its storage key alone. */
export interface PublicPhoto {
  url: string;
  content_type: string;
}

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
  /** The resident's own report (a report code only): what they wrote and their photos. */
  report: { text: string; address: string | null; photos: PublicPhoto[] } | null;
  /** What the ward did, as it made it public: its result note and "after" photos. */
  result: { at: string; message: string | null; photos: PublicPhoto[] } | null;
  /**
   * The resident's answer to the latest resolution (a report code only, once resolved): whether
   * they may still give one (`open`, until `until`), and the one they gave. Null otherwise.
   */
  feedback: { open: boolean; until: string; answer: FeedbackAnswer | null } | null;
}

/** The URL under which a tracking code serves one of its photos (web-form channel: GET /track/:code/photos/...). */
export const trackingPhotoUrl = (code: string, key: string): string => `/track/${code}/photos/${key}`;

/** A resolution's photos marked public (the "after" ones); unmarked photos (before 16) stay with staff. */
const resultPhotos = (attachments: unknown): unknown[] =>
  (Array.isArray(attachments) ? attachments : []).filter((a) => (a as { public?: unknown } | null)?.public === true);

/** The images among attachments, as a tracking code serves them. */
export const publicPhotos = (code: string, attachments: unknown): PublicPhoto[] =>
  (Array.isArray(attachments) ? attachments : [])
    .filter((a): a is { key: string; content_type: string } => typeof a?.key === 'string' && typeof a?.content_type === 'string' && a.content_type.startsWith('image/'))
    .map((a) => ({ url: trackingPhotoUrl(code, a.key), content_type: a.content_type }));

/**
 * Looks up a report (PA-...) or ticket (TK-...) code; null when unknown. `city` names the
 * service in the timeline ("Trả lời từ Tổng đài 1022").
 */
export async function publicStatus(db: DbOrTx, rawCode: string, city?: { hotline: string }): Promise<PublicStatus | null> {
  const code = canonicalCode(rawCode);
  if (!code) return null;
  const inbound = code.startsWith('PA-')
    ? await db.selectFrom('inbound_messages').select(['code', 'channel', 'received_at', 'report_id', 'report']).where('code', '=', code).executeTakeFirst()
    : undefined;
  // The resident's own report: as filed once processed, else as it was accepted.
  const own = inbound?.report_id
    ? await db.selectFrom('reports').select(['text', 'address', 'attachments']).where('id', '=', inbound.report_id).executeTakeFirst()
    : (inbound?.report as { text?: unknown; address?: unknown; attachments?: unknown } | null | undefined) ?? undefined;
  const ticketQuery = db.selectFrom('tickets')
    .leftJoin('categories', 'categories.code', 'tickets.category_code')
    .leftJoin('areas', 'areas.code', 'tickets.area_code')
    .leftJoin('departments', 'departments.code', 'tickets.department_code')
    .select([
      'tickets.id', 'tickets.code', 'tickets.status', 'tickets.received_at', 'tickets.due_at', 'tickets.resolved_at', 'tickets.reporter_count',
      'tickets.category_code', 'categories.name as category_name', 'tickets.area_code', 'tickets.dispatched_area', 'areas.name as area_name',
      'tickets.department_code', 'departments.name as department_name',
    ]);
  let ticket;
  if (code.startsWith('TK-')) ticket = await ticketQuery.where('tickets.code', '=', code).executeTakeFirst();
  else if (inbound?.report_id) {
    ticket = await ticketQuery.innerJoin('reports', 'reports.ticket_id', 'tickets.id').where('reports.id', '=', inbound.report_id).executeTakeFirst();
  }
  if (!inbound && !ticket) return null;
  // A report's timeline starts at its own report: what happened to the ticket before (other
  // residents' reports, their answers) is not this resident's story.
  const start = ticket && inbound
    ? await db.selectFrom('ticket_events').select('id').where('ticket_id', '=', ticket.id)
      .where('type', 'in', ['report.received', 'report.grouped']).where(sql<string>`data->>'report'`, '=', inbound.code)
      .orderBy('id').limit(1).executeTakeFirst()
    : undefined;
  const events = ticket
    ? await db.selectFrom('ticket_events').select(['id', 'created_at', 'type', 'data', 'reason'])
        .where('ticket_id', '=', ticket.id)
        .$if(Boolean(inbound), (q) => (start ? q.where('id', '>=', start.id) : q.where('created_at', '>=', inbound!.received_at)))
        // An answer to one reporter shows on that reporter's own code only.
        .where((eb) => eb.or([
          eb('public', '=', true),
          // (A private answer, to a Facebook comment, never: the comment's code is public.)
          ...(inbound ? [eb.and([eb('type', '=', 'ticket.replied'), eb(sql`data->>'to_report'`, '=', inbound.code), eb(sql`coalesce(data->>'private', 'false')`, '=', 'false')])] : []),
        ]))
        .orderBy('id').execute()
    : [];
  const timeline = events
        // "A unit was found" only when a ward was: a department alone routes nothing to the street.
        .filter((e) => e.type !== 'ticket.routed' || Boolean((e.data as { area?: unknown }).area))
        .map((e) => {
          // Words written for the citizen: the agent's reply and the ward's result note.
          const message = e.type === 'ticket.replied' ? String((e.data as { text?: unknown }).text ?? '')
            : e.type === 'ticket.resolved' && e.reason ? e.reason : undefined;
          const label = e.type === 'ticket.replied' && city ? `Trả lời từ ${city.hotline}` : PUBLIC_EVENT_VI[e.type] ?? e.type;
          return { at: e.created_at.toISOString(), type: e.type, label, ...(message ? { message } : {}) };
        });
  if (ticket && !ticket.area_code && !ticket.dispatched_area && timeline.length) {
    // No unit found (yet): said plainly, right after the report, rather than left to be guessed.
    const after = Math.max(0, timeline.findIndex((e) => e.type === 'ticket.created' || e.type === 'report.received' || e.type === 'report.grouped'));
    timeline.splice(after + 1, 0, { at: timeline[after]!.at, type: 'ticket.unrouted', label: PUBLIC_EVENT_VI['ticket.unrouted']! });
  }
  const resolved = [...events].reverse().find((e) => e.type === 'ticket.resolved');
  const status = ticket?.status ?? 'received';
  // Only the holder of a report's code answers a resolution (core/tickets/feedback.ts).
  const answer = inbound ? answerSince(events, inbound.code) : null;
  const feedback = inbound && ticket && resolved && (status === 'resolved' || answer !== null)
    ? {
      open: feedbackRefusal({ status, resolvedAt: ticket.resolved_at, answered: answer }, 'confirmed', new Date()) === null,
      until: feedbackUntil(ticket.resolved_at ?? resolved.created_at).toISOString(), answer,
    }
    : null;
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
    report: own && typeof own.text === 'string'
      ? { text: own.text, address: typeof own.address === 'string' ? own.address : null, photos: publicPhotos(code, own.attachments) }
      : null,
    result: resolved && ticket && ['resolved', 'closed'].includes(ticket.status)
      ? { at: resolved.created_at.toISOString(), message: resolved.reason, photos: publicPhotos(code, resultPhotos((resolved.data as { attachments?: unknown }).attachments)) }
      : null,
    feedback,
  };
}
