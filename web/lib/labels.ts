// Everything the views show about codes the server sends, in Vietnamese. Statuses, priorities
// and roles are the server's own vocabulary (import-free modules shared with the server).
export { STATUS_VI_STAFF as STATUS_VI, PRIORITY_VI } from '../../src/core/tickets/statuses.ts';
export { ROLE_VI } from '../../src/core/staff/policy.ts';

export const IDENTITY_VI: Record<string, string> = {
  phone: 'Số điện thoại',
  email: 'Email',
  facebook: 'Facebook',
  zalo: 'Zalo',
  national_id: 'CCCD',
};

export const RELATION_VI: Record<string, string> = {
  new: 'Phản ánh gốc',
  same_citizen: 'Cùng người phản ánh',
  duplicate: 'Trùng sự việc',
  reopen: 'Báo chưa khắc phục (mở lại hồ sơ)',
};

export const SOURCE_VI: Record<string, string> = {
  reporter: 'người dân chọn',
  classifier: 'máy phân loại',
  agent: 'điện thoại viên',
  ticket: 'theo hồ sơ sự việc',
  gps: 'theo GPS',
  address: 'theo địa chỉ',
  text: 'theo nội dung',
  none: 'chưa xác định',
};

export const STEP_VI: Record<string, string> = {
  identify: 'Nhận diện người dân',
  classify: 'Phân loại',
  locate: 'Xác định địa bàn',
  route: 'Chuyển đơn vị',
  group: 'Gộp hồ sơ',
  agent: 'Điện thoại viên',
};

export const REASON_VI: Record<string, string> = {
  category_from_reporter: 'Lĩnh vực do người dân chọn',
  category_contradicted: 'Lĩnh vực người dân chọn khác kết quả máy phân loại',
  category_model: 'Lĩnh vực do máy phân loại',
  category_uncertain: 'Chưa chắc chắn về lĩnh vực',
  category_refined: 'Người dân chọn "Khác", máy phân loại xác định lĩnh vực',
  category_from_ticket: 'Lĩnh vực theo hồ sơ sự việc đã có',
  group_skipped: 'Không gộp vì chưa có lĩnh vực',
  group_new: 'Không có hồ sơ trùng, tạo hồ sơ mới',
  same_citizen: 'Cùng người phản ánh cùng sự việc',
  duplicate: 'Trùng sự việc với phản ánh khác',
  reopen: 'Người phản ánh báo sự việc chưa được khắc phục: mở lại hồ sơ',
  chosen_ticket: 'Người dân chọn gộp vào hồ sơ này ("Đây cũng là vấn đề của tôi")',
  chosen_ticket_refused: 'Người dân chọn một hồ sơ đã đóng hoặc không khớp; gộp theo cách thông thường',
  hotspot: 'Điểm nóng: sự việc tái diễn tại đây',
  identity_invalid: 'Bỏ qua thông tin liên hệ không hợp lệ',
  citizen_anonymous: 'Không có thông tin liên hệ',
  citizen_new: 'Người phản ánh mới',
  citizen_known: 'Người phản ánh đã có trong hệ thống',
  citizen_merged: 'Gộp hồ sơ người dân',
  area_gps: 'Địa bàn theo toạ độ GPS',
  area_outside: 'Toạ độ nằm ngoài các phường, xã',
  area_new_name: 'Địa bàn theo tên phường mới',
  area_old_address: 'Địa bàn theo địa chỉ cũ',
  area_old_district: 'Địa bàn theo quận/phường cũ',
  area_bare_name: 'Địa bàn theo tên phường (chưa chắc chắn)',
  area_ambiguous: 'Địa chỉ khớp nhiều phường',
  area_landmark: 'Địa bàn theo địa danh (chợ, cầu, trường…)',
  area_street: 'Địa bàn theo tuyến đường đã biết',
  area_street_table: 'Địa bàn theo bảng tuyến đường của thành phố',
  area_from_ticket: 'Địa bàn theo hồ sơ sự việc đã có',
  area_from_ticket_later: 'Địa bàn theo hồ sơ sự việc, do phản ánh sau xác định',
  area_likely: 'Địa bàn dự đoán (phường cũ đã tách), cần xác nhận',
  area_unknown: 'Chưa xác định được địa bàn',
  department_by_category: 'Đơn vị phụ trách theo lĩnh vực',
  moved_to_new_ticket: 'Đã tách sang hồ sơ mới',
};

export const EVENT_VI: Record<string, string> = {
  'report.received': 'Nhận phản ánh',
  'ticket.created': 'Tạo hồ sơ',
  'report.grouped': 'Gộp phản ánh vào hồ sơ',
  'ticket.routed': 'Xác định đơn vị phụ trách',
  'ticket.updated': 'Cập nhật thông tin hồ sơ',
  'ticket.triaged': 'Đã phân loại',
  'ticket.claimed': 'Nhận xử lý hồ sơ',
  'ticket.released': 'Trả hồ sơ về hàng đợi',
  'ticket.dispatched': 'Chuyển phường xử lý',
  'ticket.acknowledged': 'Phường đã nhận nhiệm vụ',
  'ticket.started': 'Bắt đầu xử lý tại hiện trường',
  'ticket.resolved': 'Đã xử lý xong',
  'ticket.closed': 'Đóng hồ sơ',
  'ticket.rejected': 'Từ chối hồ sơ',
  'ticket.reopened': 'Mở lại hồ sơ',
  'ticket.confirmed': 'Người dân xác nhận đã khắc phục',
  'ticket.note': 'Ghi chú nội bộ',
  'ticket.replied': 'Trả lời người dân',
  'ticket.status_changed': 'Cập nhật trạng thái',
  'report.moved': 'Tách phản ánh khỏi hồ sơ',
  'ticket.merged': 'Gộp vào hồ sơ khác',
  'ticket.absorbed': 'Nhận phản ánh từ hồ sơ được gộp',
  'sla.warning': 'Cảnh báo sắp hết hạn',
  'sla.breached': 'Quá hạn xử lý',
  'citizen.merged': 'Gộp người phản ánh',
  'citizen.merged_into': 'Gộp người phản ánh',
  'citizen.split_from': 'Tách người phản ánh',
  'citizen.unlinked': 'Gỡ thông tin liên hệ',
  'outbound.failed': 'Không gửi được tin cho người dân',
};

/** What a message to a citizen is (outbound_messages.kind). */
export const OUTBOUND_KIND_VI: Record<string, string> = {
  received: 'Xác nhận tiếp nhận',
  dispatched: 'Thông báo chuyển xử lý',
  resolved: 'Thông báo kết quả',
  reply: 'Trả lời',
  private_reply: 'Trả lời riêng (tin nhắn)',
};

/** Where a message to a citizen stands on our side (outbound_messages.status). */
export const OUTBOUND_STATUS_VI: Record<string, string> = {
  queued: 'Đang chờ gửi',
  sent: 'Đã gửi',
  published: 'Đã đăng trên trang tra cứu',
  retrying: 'Đang thử lại',
  undeliverable: 'Không gửi được',
};

/** What the provider last said of a message it was given (outbound_messages.delivery_status). */
export const DELIVERY_VI: Record<string, string> = {
  accepted: 'Nhà cung cấp đã nhận',
  queued: 'Nhà cung cấp đã nhận',
  scheduled: 'Nhà cung cấp đã nhận',
  sending: 'Đang chuyển',
  sent: 'Đã chuyển đi',
  delivered: 'Đã nhận',
  read: 'Đã xem',
  undelivered: 'Không đến được người nhận',
  failed: 'Gửi lỗi',
};

/** Why a channel could not send a message (the codes of UNDELIVERABLE_CODES). */
export const SEND_ERROR_VI: Record<string, string> = {
  recipient_opted_out: 'Người dân đã đăng ký từ chối nhận tin trên kênh này',
  recipient_unreachable: 'Không liên lạc được người dân trên kênh này',
  recipient_invalid: 'Địa chỉ nhận tin không hợp lệ',
  recipient_missing: 'Không có địa chỉ để gửi tin',
};

/** Where an incoming call stands (IncomingCall.state). */
export const CALL_STATE_VI: Record<string, string> = {
  ringing: 'Đang đổ chuông',
  queued: 'Đang chờ điện thoại viên',
  recording: 'Đang để lại lời nhắn',
  ended: 'Cuộc gọi đã kết thúc',
};

export const SLA_STAGE_VI: Record<string, string> = {
  triage: 'phân loại',
  dispatch: 'chuyển phường',
  acknowledge: 'phường tiếp nhận',
  resolve: 'xử lý xong',
};

/** A label from a table, or the code itself when the table does not know it. */
export const label = (table: Record<string, string>, code: string | null | undefined): string =>
  code ? table[code] ?? code : '—';

/** "user:benthanh" -> "benthanh", "system" -> "Hệ thống". */
export function actorLabel(actor: string): string {
  if (!actor || actor === 'system' || actor.startsWith('system')) return 'Hệ thống';
  if (actor.startsWith('user:')) return actor.slice(5);
  if (actor.startsWith('citizen')) return 'Người dân';
  return actor;
}

const TIME = new Intl.DateTimeFormat('vi-VN', { timeZone: 'Asia/Ho_Chi_Minh', hour: '2-digit', minute: '2-digit', hour12: false });
const DATE_TIME = new Intl.DateTimeFormat('vi-VN', {
  timeZone: 'Asia/Ho_Chi_Minh', hour: '2-digit', minute: '2-digit', day: '2-digit', month: '2-digit', year: 'numeric', hour12: false,
});

/** "14:05 27/11/2025" in Ho Chi Minh City time; just "14:05" for today. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  const day = (x: Date) => x.toLocaleDateString('vi-VN', { timeZone: 'Asia/Ho_Chi_Minh' });
  return day(d) === day(new Date()) ? TIME.format(d) : DATE_TIME.format(d);
}

/** How a call ended, as Twilio's status callbacks name it. */
export const CALL_STATUS_VI: Record<string, string> = {
  'queued': 'đang chờ', 'ringing': 'đang đổ chuông', 'in-progress': 'đang nói chuyện', 'completed': 'hoàn tất',
  'busy': 'máy bận', 'failed': 'lỗi', 'no-answer': 'không trả lời', 'canceled': 'người gọi gác máy',
};
