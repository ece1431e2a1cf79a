import { AppError } from '../core/errors.ts';
import { normaliseEmail, normaliseNationalId, normalisePhone } from '../core/identity.ts';
import { REPORT_LIMITS, type InboundReport } from '../core/report-input.ts';
import type { Attachment } from '../db/schema.ts';
import type { ChannelContext } from './channel-adapter.ts';
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

const str = (v: unknown): string | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  const s = String(v).normalize('NFC').trim();
  return s === '' ? undefined : s;
};

function coordinate(v: unknown, min: number, max: number, field: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new AppError('coordinates_invalid', 422, `${field} must be a number between ${min} and ${max}`,
      'Toạ độ vị trí không hợp lệ.', { field });
  }
  return n;
}

/**
 * Validates the fields every channel shares and returns the report model; any problem is an
 * AppError with a stable code and a Vietnamese message. Nothing is written here.
 */
export async function validateReportFields(raw: RawReportFields, ctx: Pick<ChannelContext, 'categories'>): Promise<Omit<InboundReport, 'attachments'>> {
  const text = str(raw.text);
  if (!text) throw new AppError('report_text_missing', 422, 'text is required', 'Vui lòng mô tả sự việc cần phản ánh.', { field: 'text' });
  if (text.length > REPORT_LIMITS.textMax) {
    throw new AppError('report_text_too_long', 422, `text is longer than ${REPORT_LIMITS.textMax} characters`,
      `Nội dung phản ánh dài quá ${REPORT_LIMITS.textMax} ký tự.`, { field: 'text', max: REPORT_LIMITS.textMax });
  }
  const category = str(raw.category);
  if (category) {
    const known = await ctx.categories();
    if (!known.some((c) => c.code === category)) {
      throw new AppError('category_unknown', 422, `unknown category "${category.slice(0, 50)}"`, 'Lĩnh vực phản ánh không hợp lệ.',
        { field: 'category', allowed: known.map((c) => c.code) });
    }
  }
  const lat = coordinate(raw.lat, -90, 90, 'lat');
  const lng = coordinate(raw.lng, -180, 180, 'lng');
  if ((lat === undefined) !== (lng === undefined)) {
    throw new AppError('coordinates_invalid', 422, 'lat and lng must be given together', 'Cần cả vĩ độ và kinh độ.', { field: lat === undefined ? 'lat' : 'lng' });
  }
  const address = str(raw.address);
  if (address && address.length > REPORT_LIMITS.addressMax) {
    throw new AppError('address_too_long', 422, `address is longer than ${REPORT_LIMITS.addressMax} characters`, 'Địa chỉ quá dài.', { field: 'address' });
  }
  const c = raw.citizen ?? {};
  const name = str(c.name);
  if (name && name.length > REPORT_LIMITS.nameMax) {
    throw new AppError('contact_name_too_long', 422, 'name is too long', 'Họ tên quá dài.', { field: 'name' });
  }
  const phone = str(c.phone);
  if (phone && !normalisePhone(phone)) {
    throw new AppError('contact_phone_invalid', 422, 'phone is not a valid phone number', 'Số điện thoại không hợp lệ.', { field: 'phone' });
  }
  const email = str(c.email);
  if (email && !normaliseEmail(email)) {
    throw new AppError('contact_email_invalid', 422, 'email is not a valid address', 'Địa chỉ email không hợp lệ.', { field: 'email' });
  }
  const nationalId = str(c.national_id);
  if (nationalId && !normaliseNationalId(nationalId)) {
    throw new AppError('contact_national_id_invalid', 422, 'national_id must be a 12-digit CCCD number', 'Số CCCD phải gồm 12 chữ số hợp lệ.', { field: 'national_id' });
  }
  return {
    text, category, lat, lng, address,
    citizen: { name, phone, email, national_id: nationalId, facebook_id: str(c.facebook_id), zalo_id: str(c.zalo_id) },
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
