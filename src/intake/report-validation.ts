import { AppError } from '../core/errors.ts';
import { IDENTITY_MAX, normaliseEmail, normaliseNationalId, normalisePhone } from '../core/citizens/identity.ts';
import { boundedText } from '../core/engine/text.ts';
import { REPORT_LIMITS, type InboundReport } from '../core/report-input.ts';
import type { Attachment } from '../wire/staff-api.ts';
import type { ChannelContext } from './channel-kit.ts';
import { checkPhoto, photoTooLarge } from './file-store.ts';

/** Report fields as they arrive from a form or a JSON body, before validation. */
export interface RawReportFields {
  text?: unknown;
  category?: unknown;
  lat?: unknown;
  lng?: unknown;
  address?: unknown;
  citizen?: { name?: unknown; phone?: unknown; email?: unknown; facebook_id?: unknown; zalo_id?: unknown; national_id?: unknown } | undefined;
}

/** A field as text (numbers too, as a form or an app may send them), or undefined. */
const raw = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' && Number.isFinite(v) ? String(v) : undefined);

function coordinate(v: unknown, min: number, max: number, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  const invalid = () => new AppError('coordinates_invalid', 422, `${field} must be a number between ${min} and ${max}`,
    'Toạ độ vị trí không hợp lệ.', { field });
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string') {
    const s = boundedText(v, REPORT_LIMITS.coordinateMax, invalid);
    if (s === undefined) return undefined; // an empty box of the form
    n = /^-?\d+(\.\d+)?$/.test(s) ? Number(s) : NaN;
  } else n = NaN;
  if (!Number.isFinite(n) || n < min || n > max) throw invalid();
  return n;
}

/**
 * Validates the fields every channel shares and returns the report model; any problem is an
 * AppError with a stable code and a Vietnamese message. Nothing is written here. Every field is
 * bounded before any pattern reads it, and cleaned (`cleanText`: no control characters, NFC).
 */
export async function validateReportFields(fields: RawReportFields, ctx: Pick<ChannelContext, 'categories'>): Promise<Omit<InboundReport, 'attachments'>> {
  const field = (v: unknown, max: number, tooLong: () => AppError) => {
    const s = raw(v);
    return s === undefined ? undefined : boundedText(s, max, tooLong);
  };
  const text = field(fields.text, REPORT_LIMITS.textMax, () => new AppError('report_text_too_long', 422, `text is longer than ${REPORT_LIMITS.textMax} characters`,
    `Nội dung phản ánh dài quá ${REPORT_LIMITS.textMax} ký tự.`, { field: 'text', max: REPORT_LIMITS.textMax }));
  if (!text) throw new AppError('report_text_missing', 422, 'text is required', 'Vui lòng mô tả sự việc cần phản ánh.', { field: 'text' });
  const unknownCategory = (known: { code: string }[]) => new AppError('category_unknown', 422, 'unknown category', 'Lĩnh vực phản ánh không hợp lệ.',
    { field: 'category', allowed: known.map((c) => c.code) });
  const category = raw(fields.category) === undefined ? undefined : field(fields.category, REPORT_LIMITS.categoryMax, () => unknownCategory([]));
  if (category) {
    const known = await ctx.categories();
    if (!known.some((c) => c.code === category)) throw unknownCategory(known);
  }
  const lat = coordinate(fields.lat, -90, 90, 'lat');
  const lng = coordinate(fields.lng, -180, 180, 'lng');
  if ((lat === undefined) !== (lng === undefined)) {
    throw new AppError('coordinates_invalid', 422, 'lat and lng must be given together', 'Cần cả vĩ độ và kinh độ.', { field: lat === undefined ? 'lat' : 'lng' });
  }
  const address = field(fields.address, REPORT_LIMITS.addressMax, () => new AppError('address_too_long', 422, `address is longer than ${REPORT_LIMITS.addressMax} characters`, 'Địa chỉ quá dài.', { field: 'address' }));
  const c = fields.citizen && typeof fields.citizen === 'object' ? fields.citizen : {};
  const name = field(c.name, REPORT_LIMITS.nameMax, () => new AppError('contact_name_too_long', 422, 'name is too long', 'Họ tên quá dài.', { field: 'name' }));
  const phoneInvalid = () => new AppError('contact_phone_invalid', 422, 'phone is not a valid phone number', 'Số điện thoại không hợp lệ.', { field: 'phone' });
  const phone = field(c.phone, IDENTITY_MAX.phone, phoneInvalid);
  if (phone && !normalisePhone(phone)) throw phoneInvalid();
  const emailInvalid = () => new AppError('contact_email_invalid', 422, 'email is not a valid address', 'Địa chỉ email không hợp lệ.', { field: 'email' });
  const email = field(c.email, IDENTITY_MAX.email, emailInvalid);
  if (email && !normaliseEmail(email)) throw emailInvalid();
  const nationalIdInvalid = () => new AppError('contact_national_id_invalid', 422, 'national_id must be a 12-digit CCCD number', 'Số CCCD phải gồm 12 chữ số hợp lệ.', { field: 'national_id' });
  const nationalId = field(c.national_id, IDENTITY_MAX.national_id, nationalIdInvalid);
  if (nationalId && !normaliseNationalId(nationalId)) throw nationalIdInvalid();
  // Provider ids are kept as given (the pipeline skips a malformed one); too long is refused here.
  const idTooLong = (f: string) => () => new AppError('contact_id_invalid', 422, `${f} is too long`, 'Mã định danh liên hệ không hợp lệ.', { field: f });
  const facebookId = field(c.facebook_id, IDENTITY_MAX.facebook, idTooLong('facebook_id'));
  const zaloId = field(c.zalo_id, IDENTITY_MAX.zalo, idTooLong('zalo_id'));
  return {
    text, category, lat, lng, address,
    citizen: { name, phone, email, national_id: nationalId, facebook_id: facebookId, zalo_id: zaloId },
  };
}

/** Checks every photo first (count, size, magic bytes), then stores them; all or nothing. */
export async function storePhotos(files: File[], ctx: Pick<ChannelContext, 'files' | 'config'>): Promise<Attachment[]> {
  const photos = files.filter((f) => f.size > 0);
  if (photos.length > REPORT_LIMITS.photosMax) {
    throw new AppError('too_many_photos', 422, `at most ${REPORT_LIMITS.photosMax} photos`, `Chỉ gửi tối đa ${REPORT_LIMITS.photosMax} ảnh.`, { max: REPORT_LIMITS.photosMax });
  }
  const checked: { bytes: Uint8Array; mime: string; ext: string }[] = [];
  for (const f of photos) {
    if (f.size > ctx.config.UPLOAD_MAX_BYTES) throw photoTooLarge(f.name, ctx.config.UPLOAD_MAX_BYTES);
    const bytes = new Uint8Array(await f.arrayBuffer());
    const type = await checkPhoto(bytes, ctx.config.UPLOAD_MAX_BYTES, f.name);
    checked.push({ bytes, ...type });
  }
  const out: Attachment[] = [];
  for (const p of checked) out.push(await ctx.files.put(p.bytes, p.mime, p.ext));
  return out;
}
