import { api } from '../lib/api.ts';
import { channelLabel } from '../lib/channels.ts';
import { h, replaceChildren, type Child } from '../lib/dom.ts';
import { label, PRIORITY_VI } from '../lib/labels.ts';
import { notify } from '../lib/notice.ts';
import { act } from './actions.ts';
import { ctx, ticketPath } from './state.ts';

// The open ticket's forms. Fields the agent changes are noted in `dirty`, so a live refresh
// does not overwrite what they are typing (panel.ts: syncField).

function textArea(id: string, name: string, text: string, opts: { rows?: number; max?: number; required?: boolean; hint?: string } = {}): Child[] {
  return [
    h('label', { for: id }, text, opts.hint ? h('span', { class: 'hint' }, ` ${opts.hint}`) : null),
    h('textarea', { id, name, rows: opts.rows ?? 3, maxlength: opts.max ?? 2000, required: opts.required ?? false }),
  ];
}

function watchDirty(form: HTMLFormElement, dirty: Set<string>): void {
  form.addEventListener('input', (e) => {
    const name = (e.target as HTMLInputElement).name;
    if (name) dirty.add(`${form.id}.${name}`);
  });
}

/** Category, unit and priority: only what the agent changed is sent. */
export function classifyForm(code: string, dirty: Set<string>): HTMLFormElement {
  const classify = h('form', { id: 'classify-form', class: 'grid-3', 'aria-labelledby': 'classify-title' },
    h('h3', { id: 'classify-title', class: 'span-all' }, 'Phân loại'),
    h('div', { class: 'field' }, h('label', { for: 'c-category' }, 'Lĩnh vực'),
      h('select', { id: 'c-category', name: 'category' }, h('option', { value: '' }, '— Chưa phân loại —'),
        ctx.meta.categories.map((c) => h('option', { value: c.code }, c.name)))),
    h('div', { class: 'field' }, h('label', { for: 'c-area' }, 'Địa bàn'),
      h('select', { id: 'c-area', name: 'area' }, h('option', { value: '' }, '— Chưa xác định —'),
        ctx.meta.areas.map((a) => h('option', { value: a.code }, a.name)))),
    h('div', { class: 'field' }, h('label', { for: 'c-priority' }, 'Mức ưu tiên'),
      h('select', { id: 'c-priority', name: 'priority' }, ctx.meta.priorities.map((p) => h('option', { value: p }, label(PRIORITY_VI, p))))),
    h('div', { class: 'span-all' }, h('button', { type: 'submit', 'data-action': 'update' }, 'Lưu phân loại')));
  watchDirty(classify, dirty);
  classify.addEventListener('change', (e) => dirty.add(`classify-form.${(e.target as HTMLSelectElement).name}`));
  classify.addEventListener('submit', (e) => {
    e.preventDefault();
    const t = ctx.open?.detail?.ticket;
    if (!t) return;
    const data = new FormData(classify);
    const changes: Record<string, string> = {};
    const category = String(data.get('category') ?? '');
    const area = String(data.get('area') ?? '');
    const priority = String(data.get('priority') ?? '');
    if (category && category !== (t.category?.code ?? '')) changes.category = category;
    if (area && area !== (t.area?.code ?? '')) changes.area = area;
    if (priority && priority !== t.priority) changes.priority = priority;
    if (!Object.keys(changes).length) {
      notify('Không có thay đổi để lưu.', 'info');
      return;
    }
    void act(e.submitter as HTMLButtonElement, () => api('PATCH', ticketPath(code), changes), 'Đã lưu phân loại.')
      .then((ok) => { if (ok) for (const k of [...dirty]) if (k.startsWith('classify-form.')) dirty.delete(k); });
  });
  return classify;
}

/** Dispatch to a ward force, with instructions. */
export function dispatchForm(code: string, dirty: Set<string>): HTMLFormElement {
  const dispatch = h('form', { id: 'dispatch-form', 'aria-labelledby': 'dispatch-title' },
    h('h3', { id: 'dispatch-title' }, 'Chuyển phường xử lý ', h('kbd', null, 'd')),
    h('div', { class: 'field' }, h('label', { for: 'dispatch-area' }, 'Phường, xã nhận nhiệm vụ'),
      h('select', { id: 'dispatch-area', name: 'area', required: true }, h('option', { value: '' }, '— Chọn phường, xã —'),
        ctx.meta.areas.map((a) => h('option', { value: a.code }, a.name)))),
    textArea('dispatch-instructions', 'instructions', 'Chỉ đạo xử lý', { hint: '(không bắt buộc)' }),
    h('button', { type: 'submit', 'data-action': 'dispatch' }, 'Chuyển xử lý'));
  watchDirty(dispatch, dirty);
  dispatch.addEventListener('change', () => dirty.add('dispatch-form.area'));
  dispatch.addEventListener('submit', (e) => {
    e.preventDefault();
    const data = new FormData(dispatch);
    const instructions = String(data.get('instructions') ?? '').trim();
    void act(e.submitter as HTMLButtonElement, () => api('POST', ticketPath(code, '/dispatch'), {
      area: String(data.get('area') ?? '') || undefined, instructions: instructions || undefined,
    }), 'Đã chuyển hồ sơ cho phường xử lý.').then((ok) => {
      if (ok) {
        dispatch.reset();
        dirty.delete('dispatch-form.area');
        dirty.delete('dispatch-form.instructions');
      }
    });
  });
  return dispatch;
}

/** The channel that reaches a citizen by their phone number: a reply may go "via" it when theirs failed. */
export const SMS_CHANNEL = 'sms';
/** The channel whose reports (comments on the fanpage) can be answered by a private message. */
export const FACEBOOK_CHANNEL = 'facebook';

/**
 * A reply to the citizens (all, or the sender of one report) on the channels they used; or
 * through another channel (`via`, set by "Gửi qua SMS" on a message that could not be sent), or
 * privately (a Facebook comment answered by a private message; the box shows on tickets with a
 * Facebook report).
 */
export function replyForm(code: string): HTMLFormElement {
  const viaNote = h('p', { id: 'reply-via', class: 'via-note', hidden: true, 'data-testid': 'reply-via' });
  const privateBox = h('div', { id: 'reply-private-field', class: 'check', hidden: true },
    h('input', { type: 'checkbox', id: 'reply-private', name: 'private', value: '1' }),
    h('label', { for: 'reply-private' }, 'Trả lời riêng (tin nhắn)'),
    h('span', { class: 'hint' }, ' – gửi tin nhắn riêng cho người bình luận trên Facebook, không trả lời công khai'));
  const reply = h('form', { id: 'reply-form', 'aria-labelledby': 'reply-title' },
    h('h3', { id: 'reply-title' }, 'Trả lời người dân ', h('kbd', null, 'r')),
    h('div', { class: 'field' }, h('label', { for: 'reply-to' }, 'Gửi tới'), h('select', { id: 'reply-to', name: 'report' })),
    h('input', { type: 'hidden', name: 'via', value: '' }),
    viaNote,
    privateBox,
    textArea('reply-text', 'text', 'Nội dung trả lời', { required: true, hint: '(gửi qua kênh người dân đã dùng)' }),
    h('button', { type: 'submit', 'data-action': 'reply' }, 'Gửi trả lời'));
  privateBox.querySelector('input')!.addEventListener('change', (e) => {
    if (!(e.target as HTMLInputElement).checked) return;
    setReplyVia(reply, null);
    // A private answer goes to one report: the first Facebook one unless one is chosen.
    const to = reply.querySelector<HTMLSelectElement>('#reply-to')!;
    if (!to.value) to.value = to.querySelector<HTMLOptionElement>(`option[data-channel="${FACEBOOK_CHANNEL}"]`)?.value ?? '';
  });
  reply.addEventListener('submit', (e) => {
    e.preventDefault();
    const data = new FormData(reply);
    const report = String(data.get('report') ?? '');
    const via = String(data.get('via') ?? '');
    const privately = data.get('private') === '1' && !privateBox.hidden;
    void act(e.submitter as HTMLButtonElement, () => api('POST', ticketPath(code, '/reply'), {
      text: String(data.get('text') ?? ''), report: report ? Number(report) : undefined, via: via || undefined, private: privately || undefined,
    }), via ? `Đã gửi trả lời cho người dân qua ${channelLabel(via)}.` : 'Đã gửi trả lời cho người dân.').then((ok) => {
      if (!ok) return;
      (reply.querySelector('#reply-text') as HTMLTextAreaElement).value = '';
      (reply.querySelector('#reply-private') as HTMLInputElement).checked = false;
      setReplyVia(reply, null);
    });
  });
  return reply;
}

/** Sends the reply form's answer through `channel` instead of the reports' own (null: their own again). */
export function setReplyVia(reply: HTMLFormElement, channel: string | null): void {
  (reply.elements.namedItem('via') as HTMLInputElement).value = channel ?? '';
  const note = reply.querySelector<HTMLElement>('#reply-via')!;
  note.hidden = channel === null;
  if (channel === null) return replaceChildren(note);
  (reply.querySelector('#reply-private') as HTMLInputElement).checked = false;
  replaceChildren(note, 'Gửi qua: ', h('strong', null, channelLabel(channel)), ' ',
    h('button', { type: 'button', class: 'link', 'data-action': 'reply-via-clear', onclick: () => setReplyVia(reply, null) }, 'Gửi qua kênh người dân đã dùng'));
}

/** An internal note (residents never see it). */
export function noteForm(code: string): HTMLFormElement {
  const note = h('form', { id: 'note-form', 'aria-labelledby': 'note-title' },
    h('h3', { id: 'note-title' }, 'Ghi chú nội bộ ', h('kbd', null, 'n')),
    textArea('note-text', 'text', 'Nội dung ghi chú', { required: true, max: 4000, hint: '(người dân không thấy)' }),
    h('button', { type: 'submit', 'data-action': 'note' }, 'Lưu ghi chú'));
  note.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = String(new FormData(note).get('text') ?? '');
    void act(e.submitter as HTMLButtonElement, () => api('POST', ticketPath(code, '/notes'), { text }), 'Đã lưu ghi chú.')
      .then((ok) => { if (ok) note.reset(); });
  });
  return note;
}

/** Merge into another ticket of the same incident (reports can be moved out again). */
export function mergeForm(code: string): HTMLFormElement {
  const merge = h('form', { id: 'merge-form', 'aria-labelledby': 'merge-title' },
    h('h3', { id: 'merge-title' }, 'Gộp hồ sơ'),
    h('p', { class: 'hint' }, 'Chuyển toàn bộ phản ánh của hồ sơ này sang một hồ sơ khác cùng sự việc. Có thể tách lại từng phản ánh sau.'),
    h('div', { class: 'grid-2' },
      h('div', { class: 'field' }, h('label', { for: 'merge-into' }, 'Mã hồ sơ đích'),
        h('input', { id: 'merge-into', name: 'into', required: true, placeholder: 'TK-…', autocomplete: 'off', spellcheck: 'false' })),
      h('div', { class: 'field' }, h('label', { for: 'merge-reason' }, 'Lý do'),
        h('input', { id: 'merge-reason', name: 'reason', required: true, maxlength: 500, value: 'Cùng một sự việc' }))),
    h('button', { type: 'submit', class: 'secondary', 'data-action': 'merge' }, 'Gộp vào hồ sơ đích'));
  merge.addEventListener('submit', (e) => {
    e.preventDefault();
    const data = new FormData(merge);
    const into = String(data.get('into') ?? '').trim().toUpperCase();
    void act(e.submitter as HTMLButtonElement, () => api('POST', ticketPath(code, '/merge'), { into, reason: String(data.get('reason') ?? '') }),
      `Đã gộp ${code} vào ${into}.`).then((ok) => { if (ok) location.hash = into; });
  });
  return merge;
}

/**
 * A hidden inline form asking why before an undo (move, unlink): a reason field filled with the
 * usual one, a confirm and a cancel button. `onReason` runs on submit with the button pressed.
 */
export function reasonForm(o: { key: string; label: string; value: string; action: string; confirm: string },
  onReason: (reason: string, button: HTMLButtonElement) => void): HTMLFormElement {
  const form = h('form', { class: 'inline-form', hidden: true, 'data-keep': o.key },
    h('label', { for: `${o.key}-reason` }, o.label),
    h('input', { id: `${o.key}-reason`, name: 'reason', required: true, maxlength: 500, value: o.value, 'data-keep': `${o.key}-reason` }),
    h('button', { type: 'submit', 'data-action': o.action }, o.confirm),
    h('button', { type: 'button', class: 'secondary', onclick: () => { form.hidden = true; } }, 'Huỷ'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    onReason(String(new FormData(form).get('reason') ?? ''), e.submitter as HTMLButtonElement);
  });
  return form;
}
