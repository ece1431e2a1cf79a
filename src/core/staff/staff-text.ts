import { AppError } from '../errors.ts';
import { boundedText } from '../engine/text.ts';

/** What staff write, each kind with its limit in characters and its words for an error. */
const KINDS = {
  note: { max: 4000, missing: 'note_empty', tooLong: 'note_too_long', vi: 'Ghi chú', what: 'note' },
  reply: { max: 2000, missing: 'reply_empty', tooLong: 'reply_too_long', vi: 'Nội dung trả lời', what: 'reply' },
  instructions: { max: 2000, missing: 'instructions_missing', tooLong: 'instructions_too_long', vi: 'Chỉ đạo', what: 'instructions' },
  result: { max: 4000, missing: 'resolve_note_missing', tooLong: 'resolve_note_too_long', vi: 'Kết quả xử lý', what: 'the result' },
  reason: { max: 1000, missing: 'reason_missing', tooLong: 'reason_too_long', vi: 'Lý do', what: 'the reason' },
} as const;

export type StaffTextKind = keyof typeof KINDS;

/** The longest text of each kind, for the forms' maxlength and the docs. */
export const STAFF_TEXT_MAX: Record<StaffTextKind, number> = Object.fromEntries(
  Object.entries(KINDS).map(([k, v]) => [k, v.max]),
) as Record<StaffTextKind, number>;

/**
 * A member of staff's text (a note, a reply, a reason...) as the services store it: cleaned
 * (`cleanText`), trimmed and within its kind's limit, else the kind's stable error. Checked in
 * the services themselves, so that no caller can store or broadcast a text of any length.
 */
export function staffText(kind: StaffTextKind, value: string | null | undefined, required: true): string;
export function staffText(kind: StaffTextKind, value: string | null | undefined, required?: false): string | undefined;
export function staffText(kind: StaffTextKind, value: string | null | undefined, required = false): string | undefined {
  const k = KINDS[kind];
  const s = value == null ? undefined : boundedText(value, k.max, () => new AppError(k.tooLong, 422,
    `${k.what} is longer than ${k.max} characters`, `${k.vi} dài quá ${k.max} ký tự.`, { max: k.max }));
  if (s === undefined && required) {
    throw new AppError(k.missing, 422, `${k.what} is required`, `Vui lòng nhập ${k.vi.toLowerCase()}.`);
  }
  return s;
}
