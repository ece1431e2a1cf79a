import { AppError, isAppError } from '../core/errors.ts';
import { IDENTITY_MAX, normaliseEmail, normaliseNationalId, normalisePhone } from '../core/citizens/identity.ts';
import { boundedText } from '../core/engine/text.ts';
import { REPORT_LIMITS, type InboundReport } from '../core/report-input.ts';
import { FEEDBACK_LIMITS } from '../core/tickets/feedback.ts';
import { canonicalCode } from '../core/tickets/codes.ts';
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
  /** The ticket the reporter joins ("this is my problem too"): `TK-…`. */
  ticket?: unknown;
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
 * A point given as two query or form values (`lat`, `lng`): both required, each a number in
 * range and at most REPORT_LIMITS.coordinateMax characters; else 422 `coordinates_invalid`
 * listing each refused field.
 */
export function readPoint(lat: unknown, lng: unknown): { lat: number; lng: number } {
  const problems: AppError[] = [];
  const missing = (field: string) => new AppError('coordinates_invalid', 422, `${field} is required`, 'Cần cả vĩ độ và kinh độ.', { field });
  const one = (v: unknown, min: number, max: number, field: string) => {
    try {
      const n = coordinate(v, min, max, field);
      if (n === undefined) problems.push(missing(field));
      return n;
    } catch (err) {
      if (!isAppError(err)) throw err;
      problems.push(err);
      return undefined;
    }
  };
  const y = one(lat, -90, 90, 'lat');
  const x = one(lng, -180, 180, 'lng');
  if (problems.length || y === undefined || x === undefined) throw refusedFields(problems);
  return { lat: y, lng: x };
}

/** One refused field of a report: its name, stable code and what the resident reads (Vietnamese). */
export interface FieldProblem {
  field: string;
  code: string;
  message: string;
}

/**
 * The error for a report with one or more refused fields: the first problem's code, status and
 * messages (so a single problem reads as it always did), and `details.fields` listing them all.
 */
function refusedFields(problems: AppError[]): AppError {
  const first = problems[0]!;
  const fields: FieldProblem[] = problems.map((p) => ({
    field: typeof p.details?.field === 'string' ? p.details.field : 'photos', code: p.code, message: p.messageVi,
  }));
  return new AppError(first.code, first.status, first.message, first.messageVi, { ...first.details, fields });
}

/** Runs one check, keeping its AppError in `problems` instead of throwing it. */
async function collect<T>(problems: AppError[], check: () => T | Promise<T>): Promise<T | undefined> {
  try {
    return await check();
  } catch (err) {
    if (!isAppError(err)) throw err;
    problems.push(err);
    return undefined;
  }
}

/** What validation reads of a channel's context: the categories, and the tickets a report may join where it can look them up. */
type ValidationContext = Pick<ChannelContext, 'categories'> & Partial<Pick<ChannelContext, 'places'>>;

/** The report model of valid fields, or the problems of the invalid ones (nothing thrown for them). */
async function checkReportFields(fields: RawReportFields, ctx: ValidationContext, problems: AppError[]): Promise<Omit<InboundReport, 'attachments'>> {
  const field = (v: unknown, max: number, tooLong: () => AppError) => {
    const s = raw(v);
    return s === undefined ? undefined : boundedText(s, max, tooLong);
  };
  const text = await collect(problems, () => {
    const t = field(fields.text, REPORT_LIMITS.textMax, () => new AppError('report_text_too_long', 422, `text is longer than ${REPORT_LIMITS.textMax} characters`,
      `Nội dung phản ánh dài quá ${REPORT_LIMITS.textMax} ký tự.`, { field: 'text', max: REPORT_LIMITS.textMax }));
    if (!t) throw new AppError('report_text_missing', 422, 'text is required', 'Vui lòng mô tả sự việc cần phản ánh.', { field: 'text' });
    return t;
  });
  const unknownCategory = (known: { code: string }[]) => new AppError('category_unknown', 422, 'unknown category', 'Lĩnh vực phản ánh không hợp lệ.',
    { field: 'category', allowed: known.map((c) => c.code) });
  const category = await collect(problems, async () => {
    const cat = raw(fields.category) === undefined ? undefined : field(fields.category, REPORT_LIMITS.categoryMax, () => unknownCategory([]));
    if (cat) {
      const known = await ctx.categories();
      if (!known.some((c) => c.code === cat)) throw unknownCategory(known);
    }
    return cat;
  });
  const before = problems.length;
  const lat = await collect(problems, () => coordinate(fields.lat, -90, 90, 'lat'));
  const lng = await collect(problems, () => coordinate(fields.lng, -180, 180, 'lng'));
  if (problems.length === before && (lat === undefined) !== (lng === undefined)) {
    problems.push(new AppError('coordinates_invalid', 422, 'lat and lng must be given together', 'Cần cả vĩ độ và kinh độ.', { field: lat === undefined ? 'lat' : 'lng' }));
  }
  const address = await collect(problems, () => field(fields.address, REPORT_LIMITS.addressMax,
    () => new AppError('address_too_long', 422, `address is longer than ${REPORT_LIMITS.addressMax} characters`, 'Địa chỉ quá dài.', { field: 'address' })));
  const c = fields.citizen && typeof fields.citizen === 'object' ? fields.citizen : {};
  const name = await collect(problems, () => field(c.name, REPORT_LIMITS.nameMax, () => new AppError('contact_name_too_long', 422, 'name is too long', 'Họ tên quá dài.', { field: 'name' })));
  const phone = await collect(problems, () => {
    const phoneInvalid = () => new AppError('contact_phone_invalid', 422, 'phone is not a valid phone number', 'Số điện thoại không hợp lệ.', { field: 'phone' });
    const p = field(c.phone, IDENTITY_MAX.phone, phoneInvalid);
    if (p && !normalisePhone(p)) throw phoneInvalid();
    return p;
  });
  const email = await collect(problems, () => {
    const emailInvalid = () => new AppError('contact_email_invalid', 422, 'email is not a valid address', 'Địa chỉ email không hợp lệ.', { field: 'email' });
    const e = field(c.email, IDENTITY_MAX.email, emailInvalid);
    if (e && !normaliseEmail(e)) throw emailInvalid();
    return e;
  });
  const nationalId = await collect(problems, () => {
    const nationalIdInvalid = () => new AppError('contact_national_id_invalid', 422, 'national_id must be a 12-digit CCCD number', 'Số CCCD phải gồm 12 chữ số hợp lệ.', { field: 'national_id' });
    const n = field(c.national_id, IDENTITY_MAX.national_id, nationalIdInvalid);
    if (n && !normaliseNationalId(n)) throw nationalIdInvalid();
    return n;
  });
  // Provider ids are kept as given (the pipeline skips a malformed one); too long is refused here.
  const idTooLong = (f: string) => () => new AppError('contact_id_invalid', 422, `${f} is too long`, 'Mã định danh liên hệ không hợp lệ.', { field: f });
  const facebookId = await collect(problems, () => field(c.facebook_id, IDENTITY_MAX.facebook, idTooLong('facebook_id')));
  const zaloId = await collect(problems, () => field(c.zalo_id, IDENTITY_MAX.zalo, idTooLong('zalo_id')));
  const ticket = await collect(problems, () => joinedTicket(fields.ticket, ctx));
  return {
    text: text ?? '', category, lat, lng, address, ...(ticket ? { ticket } : {}),
    citizen: { name, phone, email, national_id: nationalId, facebook_id: facebookId, zalo_id: zaloId },
  };
}

/**
 * The ticket a report says it joins, as its canonical code: 422 `ticket_invalid` when it is no
 * ticket code, `ticket_unknown` when there is no such ticket. A closed ticket is accepted (the
 * engine then groups the report as usual and says why); so is any well-formed code when the
 * tickets cannot be looked up (the database away: the report is spooled, never lost to a check).
 */
async function joinedTicket(v: unknown, ctx: ValidationContext): Promise<string | undefined> {
  const invalid = () => new AppError('ticket_invalid', 422, 'ticket must be a ticket code such as TK-7K3M9Q2X', 'Mã hồ sơ không hợp lệ.', { field: 'ticket' });
  const s = raw(v) === undefined ? undefined : boundedText(raw(v)!, REPORT_LIMITS.ticketMax, invalid);
  if (s === undefined) return undefined;
  const code = canonicalCode(s);
  if (!code?.startsWith('TK-')) throw invalid();
  if (!ctx.places) return code;
  let found: { code: string } | null;
  try {
    found = await ctx.places.ticket(code);
  } catch {
    return code;
  }
  if (!found) throw new AppError('ticket_unknown', 422, `no ticket ${code}`, 'Không tìm thấy hồ sơ phản ánh này.', { field: 'ticket' });
  return found.code;
}

/**
 * Validates the fields every channel shares and returns the report model. Every field is
 * checked, and when any is refused the AppError is the first one's (stable code, Vietnamese
 * message) with `details.fields` listing every refused field. Nothing is written here. Every
 * field is bounded before any pattern reads it, and cleaned (`cleanText`: no control characters, NFC).
 */
export async function validateReportFields(fields: RawReportFields, ctx: ValidationContext): Promise<Omit<InboundReport, 'attachments'>> {
  const problems: AppError[] = [];
  const report = await checkReportFields(fields, ctx, problems);
  if (problems.length) throw refusedFields(problems);
  return report;
}

/** A photo whose bytes were checked (size, type, header), not yet stored. */
export interface CheckedPhoto {
  bytes: Uint8Array;
  mime: string;
  ext: string;
}

async function checkPhotos(files: File[], ctx: Pick<ChannelContext, 'config'>, problems: AppError[], max: number = REPORT_LIMITS.photosMax): Promise<CheckedPhoto[]> {
  const photos = files.filter((f) => f.size > 0);
  if (photos.length > max) {
    problems.push(new AppError('too_many_photos', 422, `at most ${max} photos`, `Chỉ gửi tối đa ${max} ảnh.`, { field: 'photos', max }));
    return [];
  }
  const checked: CheckedPhoto[] = [];
  for (const f of photos) {
    const photo = await collect(problems, async () => {
      if (f.size > ctx.config.UPLOAD_MAX_BYTES) throw photoTooLarge(f.name, ctx.config.UPLOAD_MAX_BYTES);
      const bytes = new Uint8Array(await f.arrayBuffer());
      const { mime, ext } = await checkPhoto(bytes, ctx.config.UPLOAD_MAX_BYTES, f.name);
      return { bytes, mime, ext };
    });
    if (photo) checked.push(photo);
  }
  return checked;
}

/**
 * A whole public report, fields and photos, checked at once: the report model and the photos
 * ready to store, or one AppError listing every refused field and photo (`details.fields`,
 * photos under `photos`). Nothing is stored.
 */
export async function validateReport(fields: RawReportFields, files: File[], ctx: ValidationContext & Pick<ChannelContext, 'config'>): Promise<{ report: Omit<InboundReport, 'attachments'>; photos: CheckedPhoto[] }> {
  const problems: AppError[] = [];
  const report = await checkReportFields(fields, ctx, problems);
  const photos = await checkPhotos(files, ctx, problems);
  if (problems.length) throw refusedFields(problems);
  return { report, photos };
}

/**
 * A resident's "not fixed" (core/tickets/feedback.ts): the reason, required and bounded, and at
 * most FEEDBACK_LIMITS.photosMax photos through the same checks as a report's, all checked at
 * once (`details.fields`). Nothing is stored.
 */
export async function validateFeedback(reason: unknown, files: File[], ctx: Pick<ChannelContext, 'config'>): Promise<{ reason: string; photos: CheckedPhoto[] }> {
  const problems: AppError[] = [];
  const text = await collect(problems, () => {
    const given = raw(reason);
    const t = given === undefined ? undefined : boundedText(given, FEEDBACK_LIMITS.reasonMax, () => new AppError('reopen_reason_too_long', 422,
      `reason is longer than ${FEEDBACK_LIMITS.reasonMax} characters`, `Nội dung dài quá ${FEEDBACK_LIMITS.reasonMax} ký tự.`, { field: 'reason', max: FEEDBACK_LIMITS.reasonMax }));
    if (!t) throw new AppError('reopen_reason_missing', 422, 'say what is still wrong', 'Vui lòng cho biết sự việc chưa được khắc phục như thế nào.', { field: 'reason' });
    return t;
  });
  const photos = await checkPhotos(files, ctx, problems, FEEDBACK_LIMITS.photosMax);
  if (problems.length) throw refusedFields(problems);
  return { reason: text!, photos };
}

/** Stores photos checked by validateReport (content-addressed: a photo sent twice is stored once). */
export async function storeCheckedPhotos(photos: CheckedPhoto[], ctx: Pick<ChannelContext, 'files'>): Promise<Attachment[]> {
  const out: Attachment[] = [];
  for (const p of photos) out.push(await ctx.files.put(p.bytes, p.mime, p.ext));
  return out;
}

/** Checks every photo first (count, size, type, header), then stores them; all or nothing. */
export async function storePhotos(files: File[], ctx: Pick<ChannelContext, 'files' | 'config'>): Promise<Attachment[]> {
  const problems: AppError[] = [];
  const photos = await checkPhotos(files, ctx, problems);
  if (problems.length) throw refusedFields(problems);
  return storeCheckedPhotos(photos, ctx);
}
