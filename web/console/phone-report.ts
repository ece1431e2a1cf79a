import { api, ApiError, errorMessage } from '../lib/api.ts';
import { byId, debounce, h, replaceChildren } from '../lib/dom.ts';
import { label, REASON_VI, STATUS_VI } from '../lib/labels.ts';
import { notify } from '../lib/notice.ts';
import type { CallerLookup, LoggedReport, PlaceResolution } from '../../src/wire/staff-api.ts';
import { ctx } from './state.ts';

// The agents' phone form: what a caller says, typed while they speak. Keyboard first: Enter
// moves to the next field and submits from the last one, Ctrl+Enter submits from anywhere; the
// unit the address places the report in shows while it is typed. It posts to
// POST /api/console/reports, the same intake as every channel; a refused submit keeps every
// field as typed and marks each invalid one.

/** What the screen pop of a call fills in. */
export interface PhoneReportPrefill {
  phone?: string | null;
  name?: string | null;
  /** The call's id: the report is logged for it (a second submit is the same report). */
  call?: string | null;
}

/** The form's fields in order (Enter goes from one to the next); the server names its errors by them. */
const FIELDS = ['text', 'address', 'category', 'phone', 'name'] as const;
type Field = (typeof FIELDS)[number];
const fieldId = (f: Field) => `pr-${f}`;

let form: HTMLFormElement | null = null;
/** The Idempotency-Key of the current content: a retry of the same submit is the same report. */
let idempotencyKey: string | null = null;
let placeRequest = 0;

function newKey(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return `console-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

const input = <T extends HTMLElement = HTMLInputElement>(id: string) => byId<T>(id);

function field(f: Field, text: string, control: HTMLElement, hint?: string): HTMLElement {
  control.setAttribute('aria-describedby', `${fieldId(f)}-error${hint ? ` ${fieldId(f)}-hint` : ''}`);
  return h('div', { class: `field field-${f}` },
    h('label', { for: fieldId(f) }, text, hint ? h('span', { id: `${fieldId(f)}-hint`, class: 'hint' }, ` ${hint}`) : null),
    control,
    h('p', { id: `${fieldId(f)}-error`, class: 'field-error', hidden: true }));
}

/** The section holding the form (hidden until opened); main.ts places it at the top of the queue pane. */
export function phoneReportPanel(): HTMLElement {
  form = h('form', { id: 'phone-report-form', class: 'phone-form', novalidate: true, 'aria-labelledby': 'pr-title' },
    h('p', { id: 'pr-summary', class: 'form-alert', role: 'alert', hidden: true }),
    field('text', 'Nội dung phản ánh', h('textarea', { id: fieldId('text'), name: 'text', rows: 4, maxlength: 5000, required: true, 'aria-required': 'true' }),
      '(bắt buộc; Enter xuống dòng)'),
    h('div', { class: 'grid-2' },
      h('div', null,
        field('address', 'Địa chỉ sự việc', h('input', { id: fieldId('address'), name: 'address', maxlength: 500, autocomplete: 'off', spellcheck: 'false' })),
        h('p', { id: 'pr-place', class: 'place-hint', 'aria-live': 'polite', 'data-testid': 'place-hint' })),
      field('category', 'Lĩnh vực', h('select', { id: fieldId('category'), name: 'category' },
        h('option', { value: '' }, '— Để hệ thống tự phân loại —'),
        ctx.meta.categories.map((c) => h('option', { value: c.code }, c.name))))),
    h('div', { class: 'grid-2' },
      h('div', null,
        field('phone', 'Số điện thoại người gọi', h('input', { id: fieldId('phone'), name: 'phone', type: 'tel', maxlength: 32, autocomplete: 'off', inputmode: 'tel' })),
        h('div', { id: 'pr-caller', class: 'caller-hint', 'aria-live': 'polite', 'data-testid': 'caller-hint' })),
      field('name', 'Họ tên người gọi', h('input', { id: fieldId('name'), name: 'name', maxlength: 120, autocomplete: 'off' }), '(không bắt buộc)')),
    h('input', { type: 'hidden', id: 'pr-call', name: 'call', value: '' }),
    h('p', { id: 'pr-call-note', class: 'hint', hidden: true }),
    h('div', { class: 'actions' },
      h('button', { type: 'submit', 'data-action': 'phone-report-submit', 'aria-keyshortcuts': 'Control+Enter' }, 'Ghi nhận phản ánh ', h('kbd', null, 'Ctrl+Enter')),
      h('button', { type: 'button', class: 'secondary', 'data-action': 'phone-report-close', onclick: () => closePhoneReport() }, 'Đóng')),
    h('div', { id: 'pr-result', class: 'result', role: 'status', hidden: true, 'data-testid': 'phone-report-result' }));
  form.addEventListener('keydown', onKey);
  form.addEventListener('input', (e) => {
    idempotencyKey = null;
    const name = (e.target as HTMLInputElement).name as Field;
    if ((FIELDS as readonly string[]).includes(name)) clearError(name);
    if (name === 'address') resolvePlace();
    if (name === 'phone') lookUpCaller();
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void submit();
  });
  return h('section', { id: 'phone-report', class: 'phone-report', hidden: true, 'aria-labelledby': 'pr-title', 'data-testid': 'phone-report' },
    h('h2', { id: 'pr-title' }, 'Ghi nhận phản ánh qua điện thoại'),
    form);
}

/** Opens the form (filled from a call when given) with the cursor in the text. */
export function openPhoneReport(prefill: PhoneReportPrefill = {}): void {
  const panel = byId('phone-report');
  panel.hidden = false;
  if (prefill.phone !== undefined) input(fieldId('phone')).value = prefill.phone ? localPhone(prefill.phone) : '';
  if (prefill.name !== undefined) input(fieldId('name')).value = prefill.name ?? '';
  if (prefill.call !== undefined) setCall(prefill.call ?? null);
  if (prefill.phone !== undefined) void showCaller();
  idempotencyKey = null;
  byId('pr-result').hidden = true;
  panel.scrollIntoView({ block: 'start' });
  input<HTMLTextAreaElement>(fieldId('text')).focus();
}

export function closePhoneReport(): void {
  byId('phone-report').hidden = true;
  document.querySelector<HTMLElement>('[data-action="phone-report-open"]')?.focus();
}

/** True when the form is open and holds the focus. */
export const phoneReportFocused = (): boolean => !byId('phone-report').hidden && byId('phone-report').contains(document.activeElement);

/** "+84903123456" -> "0903 123 456" (how agents read and type numbers); anything else as it is. */
export function localPhone(e164: string): string {
  const m = /^\+84(\d{9})$/.exec(e164);
  if (!m) return e164;
  const d = `0${m[1]}`;
  return `${d.slice(0, 4)} ${d.slice(4, 7)} ${d.slice(7)}`;
}

function setCall(call: string | null): void {
  input('pr-call').value = call ?? '';
  const note = byId('pr-call-note');
  note.hidden = !call;
  if (!call) return replaceChildren(note);
  replaceChildren(note, 'Ghi nhận cho cuộc gọi ', h('code', null, call), ' ',
    h('button', { type: 'button', class: 'link', 'data-action': 'phone-report-unlink', onclick: () => { setCall(null); idempotencyKey = null; } }, 'Bỏ liên kết cuộc gọi'));
}

/** Enter: the next field, or submit from the last; Ctrl+Enter: submit from anywhere. */
function onKey(e: KeyboardEvent): void {
  if (e.key !== 'Enter' || e.isComposing || e.altKey || e.shiftKey || e.metaKey) return;
  const target = e.target as HTMLElement;
  if (e.ctrlKey) {
    e.preventDefault();
    void submit();
    return;
  }
  if (!(target instanceof HTMLInputElement || target instanceof HTMLSelectElement)) return;
  const at = FIELDS.findIndex((f) => fieldId(f) === target.id);
  if (at < 0) return;
  e.preventDefault();
  if (at === FIELDS.length - 1) void submit();
  else input(fieldId(FIELDS[at + 1]!)).focus();
}

const resolvePlace = debounce(() => void showPlace(), 300);
const lookUpCaller = debounce(() => void showCaller(), 300);
let callerRequest = 0;

/** Who the caller is by the number typed, and their tickets not yet closed (to add to one rather than file again). */
async function showCaller(): Promise<void> {
  const id = ++callerRequest;
  const hint = byId('pr-caller');
  const phone = input(fieldId('phone')).value.trim().slice(0, 40);
  if (phone.replace(/\D/g, '').length < 8) {
    replaceChildren(hint);
    return;
  }
  try {
    const r = await api<CallerLookup>('GET', `/api/console/callers?phone=${encodeURIComponent(phone)}`);
    if (id !== callerRequest) return;
    const c = r.citizen;
    if (!r.phone) return replaceChildren(hint);
    if (!c) return replaceChildren(hint, h('span', { class: 'muted' }, 'Người gọi lần đầu (chưa có trong hệ thống).'));
    const nameField = input(fieldId('name'));
    if (c.name && !nameField.value.trim()) nameField.value = c.name;
    replaceChildren(hint,
      h('div', null, 'Người gọi: ', h('strong', null, c.name ?? `Người dân #${c.id}`),
        c.reports.length ? h('span', { class: 'muted' }, ` · đã phản ánh ${c.reports.length === 5 ? 'từ 5' : c.reports.length} lần`) : null),
      c.open_tickets.length
        ? h('ul', { class: 'caller-tickets', 'aria-label': 'Hồ sơ chưa đóng của người gọi' }, c.open_tickets.map((t) => h('li', null,
          h('a', { href: `#${t.code}` }, t.code), ' ', h('span', { class: `status status-${t.status}` }, label(STATUS_VI, t.status)), ` ${t.title}`)))
        : h('div', { class: 'muted' }, 'Không có hồ sơ nào đang xử lý.'));
  } catch (err) {
    if (id === callerRequest) hint.textContent = `Không tra cứu được người gọi: ${errorMessage(err)}`;
  }
}

/** The unit the address places the report in, as the pipeline will decide it. */
async function showPlace(): Promise<void> {
  const id = ++placeRequest;
  const hint = byId('pr-place');
  const q = input(fieldId('address')).value.trim().slice(0, 500);
  if (!q) {
    hint.textContent = '';
    return;
  }
  hint.textContent = 'Đang xác định phường, xã…';
  try {
    const p = await api<PlaceResolution>('GET', `/api/console/places/resolve?q=${encodeURIComponent(q)}`);
    if (id !== placeRequest) return;
    const why = p.reasons.length ? ` (${label(REASON_VI, p.reasons[p.reasons.length - 1])})` : '';
    hint.dataset.state = p.area ? 'found' : p.candidates.length ? 'ambiguous' : 'none';
    if (p.area) replaceChildren(hint, 'Thuộc: ', h('strong', null, p.area.name), why);
    else if (p.candidates.length) {
      replaceChildren(hint, `Có thể thuộc: ${p.candidates.slice(0, 6).map((c) => c.name).join(', ')}${p.candidates.length > 6 ? '…' : ''}`,
        p.likely ? [' – nhiều khả năng ', h('strong', null, p.likely.name)] : null);
    } else hint.textContent = 'Chưa xác định được phường, xã từ địa chỉ này.';
  } catch (err) {
    if (id === placeRequest) hint.textContent = `Không kiểm tra được địa chỉ: ${errorMessage(err)}`;
  }
}

function clearError(f: Field): void {
  const el = byId(`${fieldId(f)}-error`);
  el.hidden = true;
  el.textContent = '';
  input(fieldId(f)).removeAttribute('aria-invalid');
}

function showErrors(problems: { field: Field; message: string }[], general: string): void {
  for (const p of problems) {
    const el = byId(`${fieldId(p.field)}-error`);
    el.textContent = p.message;
    el.hidden = false;
    input(fieldId(p.field)).setAttribute('aria-invalid', 'true');
  }
  const summary = byId('pr-summary');
  summary.textContent = problems.length > 1 ? `${general} Có ${problems.length} ô cần sửa.` : general;
  summary.hidden = false;
  if (problems[0]) input(fieldId(problems[0].field)).focus();
}

/** The fields a refusal names: every one (`details.fields`), else the one (`details.field`). */
function problemsOf(err: ApiError): { field: Field; message: string }[] {
  const known = (f: unknown): f is Field => typeof f === 'string' && (FIELDS as readonly string[]).includes(f);
  const list = Array.isArray(err.details?.fields) ? err.details.fields as { field?: unknown; message?: unknown }[] : [];
  const all = list.filter((p) => known(p.field)).map((p) => ({ field: p.field as Field, message: typeof p.message === 'string' ? p.message : err.messageVi }));
  if (all.length) return all;
  return known(err.details?.field) ? [{ field: err.details.field as Field, message: err.messageVi }] : [];
}

async function submit(): Promise<void> {
  if (!form) return;
  const button = form.querySelector<HTMLButtonElement>('[data-action="phone-report-submit"]')!;
  if (button.disabled) return;
  for (const f of FIELDS) clearError(f);
  byId('pr-summary').hidden = true;
  const data = new FormData(form);
  const value = (k: string) => String(data.get(k) ?? '').trim() || undefined;
  const body = { text: value('text'), address: value('address'), category: value('category'), phone: value('phone'), name: value('name'), call: value('call') };
  idempotencyKey ??= newKey();
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  try {
    const res = await api<LoggedReport>('POST', '/api/console/reports', body, body.call ? undefined : { 'Idempotency-Key': idempotencyKey });
    showLogged(res);
  } catch (err) {
    if (err instanceof ApiError && err.status === 409 && err.code === 'call_already_logged') {
      showErrors([], err.messageVi);
    } else if (err instanceof ApiError && err.status === 422) {
      showErrors(problemsOf(err), 'Phản ánh chưa được ghi nhận: vui lòng sửa các ô được đánh dấu.');
    } else {
      showErrors([], `Chưa ghi nhận được phản ánh: ${errorMessage(err)}`);
    }
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

/** The new report's code, to read to the caller; the form is ready for their next report. */
function showLogged(res: LoggedReport): void {
  const result = byId('pr-result');
  replaceChildren(result,
    h('p', null, res.replay ? 'Phản ánh này đã được ghi nhận trước đó: ' : 'Đã ghi nhận phản ánh ', h('strong', { class: 'code', 'data-testid': 'logged-code' }, res.code), '.'),
    h('p', { class: 'hint' }, 'Đọc mã này cho người dân để tra cứu kết quả. Hồ sơ sẽ xuất hiện trong hàng đợi sau khi hệ thống phân loại.'));
  result.hidden = false;
  notify(`Đã ghi nhận phản ánh ${res.code}.`, 'ok');
  // Ready for another report of the same caller: their number and name stay, the call link goes.
  for (const f of ['text', 'address', 'category'] as const) input(fieldId(f)).value = '';
  byId('pr-place').textContent = '';
  setCall(null);
  idempotencyKey = null;
  input<HTMLTextAreaElement>(fieldId('text')).focus();
}
