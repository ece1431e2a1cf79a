import type { ReasonArgs, ReasonCode } from '../../src/core/engine/reason-codes.ts';
import { isReasonCode } from '../../src/core/engine/reason-codes.ts';
import type { Reason } from '../../src/wire/staff-api.ts';
import { IDENTITY_VI, label, REASON_VI, STATUS_VI } from './labels.ts';

// The engine's reasons in Vietnamese, from their stable code and the arguments the console API
// read back from the message (src/core/engine/reason-codes.ts). Every code has a sentence here:
// the Record's type makes a code without one a type error, and a unit test walks them all.

/** How codes the reasons name (categories, units) are named to staff. */
export interface ReasonNames {
  category(code: string | null): string;
  area(code: string | null): string;
}

const str = (a: ReasonArgs, k: string): string | undefined => (typeof a[k] === 'string' ? (a[k] as string) : undefined);
const nums = (a: ReasonArgs, k: string): number | undefined => (typeof a[k] === 'number' ? (a[k] as number) : undefined);
const strs = (a: ReasonArgs, k: string): string[] => (Array.isArray(a[k]) ? (a[k] as string[]) : []);
const pct = (p: number | undefined) => (p === undefined ? '' : ` (${Math.round(p * 100)}%)`);
const kindsVi = (kinds: string[]) => kinds.map((k) => (IDENTITY_VI[k] ?? k).toLowerCase()).join(', ');
const where = (a: ReasonArgs) => (str(a, 'source') === 'address' ? 'trong địa chỉ' : str(a, 'source') === 'text' ? 'trong nội dung' : '');
/** "A: b" when there is a b, else "A". */
const with_ = (head: string, detail: string | undefined | false) => (detail ? `${head}: ${detail}` : head);

/** Why a chosen ticket was not joined, in Vietnamese. */
function chosenRefusal(a: ReasonArgs, n: ReasonNames): string | undefined {
  switch (str(a, 'cause')) {
    case 'merged': return 'hồ sơ đã được gộp vào hồ sơ khác';
    case 'unknown': return 'không có hồ sơ này';
    case 'place': return 'phản ánh không nêu địa điểm thuộc đơn vị của hồ sơ';
    case 'status': return `hồ sơ đang ở trạng thái "${label(STATUS_VI, str(a, 'status') ?? null)}"`;
    case 'topic': return `hồ sơ về ${n.category(str(a, 'category') ?? null)}, phản ánh về ${n.category(str(a, 'was') ?? null)}`;
    case 'far': return `vị trí cách hồ sơ ${nums(a, 'metres')} m, quá xa`;
    default: return undefined;
  }
}

const TEXT: Record<ReasonCode, (a: ReasonArgs, n: ReasonNames) => string> = {
  identity_invalid: (a) => with_('Bỏ qua thông tin liên hệ không hợp lệ', str(a, 'kind') && (IDENTITY_VI[str(a, 'kind')!] ?? str(a, 'kind'))),
  citizen_anonymous: () => 'Không có thông tin liên hệ dùng được (ẩn danh)',
  citizen_new: (a) => with_('Người phản ánh mới', strs(a, 'kinds').length > 0 && `nhận diện qua ${kindsVi(strs(a, 'kinds'))}`),
  citizen_known: (a) => with_('Người phản ánh đã có trong hệ thống', strs(a, 'kinds').length > 0 && `nhận ra qua ${kindsVi(strs(a, 'kinds'))}`),
  citizen_merged: (a) => with_('Gộp hồ sơ người dân', nums(a, 'count') !== undefined && `${nums(a, 'count')} người là một, vì các thông tin liên hệ đến cùng trong một phản ánh`),
  category_refined: (a, n) => with_('Người dân chọn "Khác", máy phân loại xác định lĩnh vực', str(a, 'category') && `${n.category(str(a, 'category')!)}${pct(nums(a, 'confidence'))}`),
  category_from_reporter: (a, n) => with_('Lĩnh vực do người dân chọn', str(a, 'category') && n.category(str(a, 'category')!)),
  category_contradicted: (a, n) => str(a, 'category')
    ? `Nội dung cho thấy lĩnh vực ${n.category(str(a, 'category')!)}${pct(nums(a, 'confidence'))}, không phải ${n.category(str(a, 'picked') ?? null)} như người dân chọn; cần điện thoại viên xác nhận`
    : REASON_VI.category_contradicted!,
  category_model: (a, n) => with_('Lĩnh vực do máy phân loại', str(a, 'category') && `${n.category(str(a, 'category')!)}${pct(nums(a, 'confidence'))}`),
  category_uncertain: (a, n) => str(a, 'guess')
    ? `Chưa chắc chắn về lĩnh vực; máy đoán gần nhất là ${n.category(str(a, 'guess')!)}${pct(nums(a, 'confidence'))}, chờ điện thoại viên phân loại`
    : 'Nội dung không đủ để phân loại; chờ điện thoại viên phân loại',
  area_gps: (a) => with_('Địa bàn theo toạ độ GPS', str(a, 'unit') && `điểm nằm trong ${str(a, 'unit')}`),
  area_outside: () => 'Toạ độ nằm ngoài các phường, xã của thành phố',
  area_new_name: (a) => with_('Địa bàn theo tên phường, xã mới', str(a, 'unit') && `${str(a, 'unit')} (${where(a)})`),
  area_old_address: (a) => with_('Địa bàn theo địa chỉ cũ (phường, quận trước 2025)', str(a, 'unit') && `${str(a, 'unit')} (${where(a)})`),
  area_old_district: (a) => with_('Địa bàn theo quận, phường cũ', str(a, 'unit') && `${str(a, 'unit')} (${where(a)})`),
  area_bare_name: (a) => with_('Địa bàn theo tên phường không kèm "phường" (chưa chắc chắn)', str(a, 'unit') && `${str(a, 'unit')} (${where(a)})`),
  area_ambiguous: (a) => with_('Địa chỉ khớp nhiều phường, xã; cần điện thoại viên chọn', strs(a, 'units').length > 0 && `một trong ${strs(a, 'units').join(', ')}`),
  area_landmark: (a) => with_('Địa bàn theo địa danh (chợ, cầu, trường…)', str(a, 'landmark') && `${str(a, 'landmark')} thuộc ${str(a, 'unit')}`),
  area_street_table: (a) => with_('Địa bàn theo bảng tuyến đường của thành phố', str(a, 'unit') && `${strs(a, 'streets').join(', ')} chỉ đi qua ${str(a, 'unit')} trong các phường, xã có thể`),
  area_street: (a) => with_('Địa bàn theo tuyến đường đã biết', str(a, 'unit') && `${strs(a, 'streets').join(', ')} chỉ gặp ở ${str(a, 'unit')}`),
  area_likely: (a) => with_('Địa bàn dự đoán, cần điện thoại viên xác nhận', str(a, 'unit') && `nhiều khả năng là ${str(a, 'unit')}`),
  area_unknown: () => 'Chưa xác định được địa bàn; chờ điện thoại viên phân loại',
  department_by_category: (a, n) => with_('Đơn vị phụ trách theo lĩnh vực', str(a, 'category') && `${n.category(str(a, 'category')!)} → ${str(a, 'department')}`),
  group_skipped: () => 'Không gộp vì chưa có lĩnh vực',
  group_new: () => 'Không có hồ sơ đang mở nào trùng gần đây; tạo hồ sơ mới',
  same_citizen: (a) => with_(str(a, 'topic') === 'unclear' ? 'Cùng người phản ánh, cùng địa chỉ (lĩnh vực chưa rõ)' : 'Cùng người phản ánh cùng sự việc',
    str(a, 'ticket') && `hồ sơ ${str(a, 'ticket')}`),
  duplicate: (a) => with_('Trùng sự việc với phản ánh khác', nums(a, 'hours') !== undefined && `cùng nơi, trong vòng ${nums(a, 'hours')} giờ từ phản ánh gần nhất`),
  hotspot: (a) => with_('Điểm nóng: sự việc tái diễn tại đây', nums(a, 'count') !== undefined && `${nums(a, 'count')} hồ sơ cùng loại ở đây đã đóng trong ${nums(a, 'days')} ngày qua`),
  category_from_ticket: (a, n) => with_('Lĩnh vực theo hồ sơ sự việc đã có', str(a, 'category') && `${n.category(str(a, 'category')!)} (${str(a, 'was') ? `thay vì ${n.category(str(a, 'was')!)}` : 'nội dung phản ánh chưa rõ lĩnh vực'})`),
  area_from_ticket: (a, n) => with_('Địa bàn theo hồ sơ sự việc đã có', str(a, 'unitCode') && n.area(str(a, 'unitCode')!)),
  area_from_ticket_later: (a, n) => with_('Địa bàn theo hồ sơ sự việc, do phản ánh sau xác định', str(a, 'unitCode') && n.area(str(a, 'unitCode')!)),
  reopen: (a) => with_('Người phản ánh báo sự việc vẫn chưa được khắc phục: mở lại hồ sơ', str(a, 'ticket')
    && `hồ sơ ${str(a, 'ticket')}, xử lý xong ${nums(a, 'days') === 0 ? 'hôm nay' : `${nums(a, 'days')} ngày trước`}`),
  chosen_ticket: (a, n) => with_('Người dân chọn gộp vào hồ sơ này ("Đây cũng là vấn đề của tôi")', str(a, 'ticket')
    && `${str(a, 'ticket')}, ${n.category(str(a, 'category') ?? null)}, ${nums(a, 'metres') !== undefined ? `cách ${nums(a, 'metres')} m` : `cùng ${n.area(str(a, 'unitCode') ?? null)}`}`),
  chosen_ticket_refused: (a, n) => with_(`Người dân chọn hồ sơ ${str(a, 'ticket') ?? 'khác'} nhưng không gộp được, xử lý như phản ánh thông thường`, chosenRefusal(a, n)),
  moved_to_new_ticket: (a) => with_('Điện thoại viên đã tách sang hồ sơ mới', str(a, 'by') && `${str(a, 'by')}: ${str(a, 'why')}`),
};

/** A reason in Vietnamese: its code's sentence with what the message named; an unknown code says so, in Vietnamese. */
export function reasonText(r: Pick<Reason, 'code' | 'args'>, names: ReasonNames): string {
  if (!isReasonCode(r.code)) return `Lý do khác (${r.code})`;
  return TEXT[r.code](r.args ?? {}, names);
}
