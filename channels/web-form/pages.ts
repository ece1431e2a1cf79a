import { html, raw } from 'hono/html';
import {
  FEEDBACK_LIMITS, layout, REOPEN_WINDOW_DAYS, staticFile, type CategoryInfo, type FeedbackAnswer, type Html, type NearbyTicket, type PublicPhoto, type PublicStatus,
  type SiteWording,
} from '../../src/intake/channel-kit.ts';

export interface FormValues {
  text?: string; category?: string; address?: string; lat?: string; lng?: string; name?: string; phone?: string; email?: string;
  /** The ticket the resident joins ("Đây cũng là vấn đề của tôi"), kept when the form is shown again. */
  ticket?: string;
}

/** The map on the form (web/report-map.ts fills the latitude and longitude boxes from it); absent: the boxes alone. */
export interface FormMap {
  tiles: string;
  attribution: string;
  centre: { lat: number; lng: number; zoom: number };
  /** The bundle's script and stylesheet URLs. */
  js: string;
  css: string;
}

export interface FormError {
  code: string;
  message: string;
  /** Every refused field with its Vietnamese message (photos under `photos`); empty for a refusal of the whole form. */
  fields?: { field: string; code: string; message: string }[];
}

/** A field's own problems, shown under it (several photos can each have one). */
const PHOTO_RETRY = ' Vui lòng chọn lại ảnh.';

/** "Use my location" on the report form: shown only where JavaScript runs, served as a file (no inline script). */
export const REPORT_FORM_JS = staticFile('/static/report-form.js', `(function(){var b=document.getElementById('geo');if(!b)return;b.hidden=false;b.addEventListener('click',function(){
var s=document.getElementById('geo-status');if(!navigator.geolocation){s.textContent='Trình duyệt không hỗ trợ định vị.';return}
s.textContent='Đang lấy vị trí…';navigator.geolocation.getCurrentPosition(function(p){document.getElementById('lat').value=p.coords.latitude.toFixed(6);
document.getElementById('lng').value=p.coords.longitude.toFixed(6);s.textContent='Đã lấy vị trí.';
document.getElementById('lat').dispatchEvent(new Event('change',{bubbles:true}))},function(){s.textContent='Không lấy được vị trí; bạn có thể nhập địa chỉ.'})})})();`,
'text/javascript; charset=utf-8');

/** The public report form; works without JavaScript, keeps the user's input on error. */
/**
 * What the form shows besides its fields: the map (with JavaScript), and the nearby step for a
 * browser without it (a button that shows the open tickets near the point typed in, then those
 * tickets, each with a button that sends the report on it).
 */
export interface FormExtras {
  map?: FormMap | null;
  /** The place lookups are there: a browser without JavaScript gets the nearby step. */
  nearbyStep?: boolean;
  /** The open tickets near the point and category sent with the nearby step. */
  nearby?: NearbyTicket[];
}

/** "5 phút trước"-style age of a time, for the server-rendered nearby list. */
function ago(iso: string, now = Date.now()): string {
  const minutes = Math.max(0, Math.round((now - new Date(iso).getTime()) / 60_000));
  if (minutes < 1) return 'vừa xong';
  if (minutes < 60) return `${minutes} phút trước`;
  if (minutes < 48 * 60) return `${Math.round(minutes / 60)} giờ trước`;
  return `${Math.round(minutes / 1440)} ngày trước`;
}

/** The nearby tickets of the step without JavaScript: each one's button sends the form on it. */
function nearbyList(tickets: NearbyTicket[]): Html {
  return html`<section class="card nearby-step" id="nearby-step" data-testid="nearby-step" aria-live="polite">
<h2>Đã có người phản ánh gần đây</h2>
${tickets.length === 0
    ? html`<p>Chưa có phản ánh nào cùng lĩnh vực đang được xử lý gần vị trí này. Bạn có thể gửi phản ánh mới.</p>`
    : html`<p class="hint">Nếu đây cũng là vấn đề của bạn, hãy bấm nút bên dưới hồ sơ đó: phản ánh của bạn (nội dung, ảnh, liên hệ ở biểu mẫu) được gộp vào để xử lý một lần, và bạn vẫn có mã theo dõi riêng. Ảnh đã chọn trước đó cần chọn lại.</p>
<ul class="nearby-list">${tickets.map((t) => html`<li data-ticket="${t.code}"><p><strong>${t.category.name}</strong> · ${t.status_label}</p>
<p class="hint">cách ${t.distance_m} m${t.area ? `, ${t.area.name}` : ''} · ${t.reporters} người đã phản ánh · lần gần nhất ${ago(t.last_reported_at)} · <a href="/track/${t.code}">${t.code}</a></p>
<button type="submit" class="secondary" name="ticket" value="${t.code}">Đây cũng là vấn đề của tôi</button></li>`)}</ul>`}
</section>`;
}

export function reportForm(site: SiteWording, categories: CategoryInfo[], token: string, photoLimit: string, values: FormValues = {}, error?: FormError, extras: FormExtras = {}): Html {
  const map = extras.map ?? null;
  const problems = error?.fields ?? [];
  const of = (f: string) => problems.filter((p) => p.field === f);
  const cls = (f: string) => (of(f).length ? 'field-error' : '');
  // aria-invalid and the message's id, on a field that has a problem.
  const aria = (f: string) => (of(f).length ? raw(` aria-invalid="true" aria-describedby="${f}-error"`) : '');
  const note = (f: string) => (of(f).length
    ? html`<p class="field-message" id="${f}-error">${of(f).map((p, i) => html`${i ? ' ' : ''}${p.message}`)}${f === 'photos' ? PHOTO_RETRY : ''}</p>`
    : '');
  const summary = problems.length > 1
    ? html`Có ${problems.length} mục cần sửa: ${problems.map((p, i) => html`${i ? '; ' : ''}<a href="#${p.field}">${p.message}</a>`)}`
    : html`${error?.message ?? ''}${problems[0]?.field === 'photos' ? PHOTO_RETRY : ''}`;
  return layout(site, 'Gửi phản ánh', html`
<h1>Gửi phản ánh, kiến nghị</h1>
<p>Phản ánh các vấn đề đô thị: ngập nước, rác thải, tiếng ồn, đèn đường hư, lấn chiếm vỉa hè, xây dựng trái phép… Bạn sẽ nhận được mã để theo dõi kết quả xử lý.</p>
${error ? html`<div class="error" role="alert" id="form-error" data-error-code="${error.code}"><strong>Chưa gửi được phản ánh.</strong> ${summary}</div>` : ''}
<form class="card" method="post" action="/report" enctype="multipart/form-data" ${error ? raw('aria-describedby="form-error"') : ''}>
<input type="hidden" name="_token" value="${token}">
<label for="text">Nội dung phản ánh <span class="hint">(bắt buộc)</span></label>
<textarea id="text" name="text" required maxlength="5000" class="${cls('text')}"${aria('text')} placeholder="Ví dụ: Đường Nguyễn Hữu Cảnh ngập sâu 40 cm sau cơn mưa, xe máy chết máy.">${values.text ?? ''}</textarea>${note('text')}
<label for="category">Lĩnh vực</label>
<select id="category" name="category" class="${cls('category')}"${aria('category')}><option value="">– Chưa rõ, để tổng đài phân loại –</option>
${categories.map((c) => html`<option value="${c.code}"${c.code === values.category ? raw(' selected') : ''}>${c.name}</option>`)}
</select>${note('category')}
<label for="address">Địa chỉ nơi xảy ra <span class="hint">(số nhà, đường, phường – tên cũ hoặc mới đều được)</span></label>
<div class="suggest"><input id="address" name="address" maxlength="500" class="${cls('address')}" value="${values.address ?? ''}" placeholder="Ví dụ: 12 Lê Lợi, phường Bến Thành"${aria('address')}${map ? raw(' autocomplete="off"') : ''}>
${map ? html`<ul id="address-list" class="suggest-list" role="listbox" aria-label="Gợi ý địa chỉ" hidden></ul>` : ''}</div>${note('address')}
<details${map || values.lat || of('lat').length || of('lng').length ? raw(' open') : ''}><summary>Vị trí trên bản đồ (không bắt buộc)</summary>
${map ? html`<div id="report-map" class="report-map" hidden data-tiles="${map.tiles}" data-attribution="${map.attribution}"
 data-lat="${map.centre.lat}" data-lng="${map.centre.lng}" data-zoom="${map.centre.zoom}" role="application" aria-label="Bản đồ: chạm để chọn nơi xảy ra"></div>
<p class="hint" id="map-hint" hidden>Chạm vào bản đồ để đánh dấu nơi xảy ra; ô vĩ độ, kinh độ bên dưới sẽ tự điền.</p>
<p id="place-unit" class="place-unit" aria-live="polite" data-testid="place-unit"></p>` : ''}
<div class="row"><div><label for="lat">Vĩ độ</label><input id="lat" name="lat" inputmode="decimal" class="${cls('lat')}" value="${values.lat ?? ''}" placeholder="10.7725"${aria('lat')}>${note('lat')}</div>
<div><label for="lng">Kinh độ</label><input id="lng" name="lng" inputmode="decimal" class="${cls('lng')}" value="${values.lng ?? ''}" placeholder="106.6980"${aria('lng')}>${note('lng')}</div></div>
<button type="button" class="secondary" id="geo" hidden>Dùng vị trí hiện tại của tôi</button> <span id="geo-status" aria-live="polite"></span>
${extras.nearbyStep ? html`<noscript><p><button type="submit" class="secondary" name="_step" value="nearby">Xem phản ánh cùng lĩnh vực gần vị trí này</button></p></noscript>` : ''}
</details>
${map ? html`<section id="nearby" class="nearby" hidden aria-live="polite" data-testid="nearby"></section>` : ''}
${extras.nearby ? nearbyList(extras.nearby) : ''}
<label for="photos">Hình ảnh <span class="hint">(tối đa 5 ảnh, mỗi ảnh dưới ${photoLimit})</span></label>
<input id="photos" name="photos" type="file" accept="image/*" multiple class="${cls('photos')}"${aria('photos')}>${note('photos')}
<fieldset class="contact"><legend>Thông tin liên hệ <span class="hint">(không bắt buộc, không công khai; giúp gộp các phản ánh của bạn và báo kết quả)</span></legend>
<label for="name">Họ tên</label><input id="name" name="name" maxlength="120" autocomplete="name" class="${cls('name')}" value="${values.name ?? ''}"${aria('name')}>${note('name')}
<div class="row"><div><label for="phone">Số điện thoại</label><input id="phone" name="phone" type="tel" autocomplete="tel" class="${cls('phone')}" value="${values.phone ?? ''}"${aria('phone')}>${note('phone')}</div>
<div><label for="email">Email</label><input id="email" name="email" type="email" autocomplete="email" class="${cls('email')}" value="${values.email ?? ''}"${aria('email')}>${note('email')}</div></div>
</fieldset>
${extras.nearby ? '' : html`<input type="hidden" id="ticket" name="ticket" value="${values.ticket ?? ''}">`}
<p class="joining" id="joining" aria-live="polite"${values.ticket ? '' : raw(' hidden')}>Phản ánh của bạn sẽ được gộp vào hồ sơ <code id="joining-code">${values.ticket ?? ''}</code> (cùng sự việc đã có người phản ánh).</p>
<button type="submit">Gửi phản ánh</button>
</form>`, map ? { scripts: [REPORT_FORM_JS, { url: map.js }], styles: [map.css] } : { scripts: [REPORT_FORM_JS] });
}

function formatTime(iso: string): string {
  return new Date(iso).toLocaleString('vi-VN', { timeZone: 'Asia/Ho_Chi_Minh', hour12: false });
}

/** Photos as thumbnails, each a link to the whole photo. */
const thumbs = (photos: PublicPhoto[], what: string): Html | string => (photos.length
  ? html`<ul class="thumbs">${photos.map((p, i) => html`<li><a href="${p.url}"><img src="${p.url}" alt="${what} ${i + 1}" loading="lazy"></a></li>`)}</ul>`
  : '');

/** What the tracking page offers and says about the resident's answer to a resolution. */
export interface FeedbackView {
  /** A form token (the answer forms are CSRF-protected as the report form is). */
  token: string;
  /** "each photo under 10 MB". */
  photoLimit: string;
  /** The answer just recorded (the page after the 303). */
  done?: FeedbackAnswer | undefined;
  /** A refused answer: its message, and what the resident wrote, kept. */
  error?: FormError | undefined;
  reason?: string | undefined;
}

const DONE_VI: Record<FeedbackAnswer, string> = {
  confirmed: 'Cảm ơn bạn đã xác nhận sự việc đã được khắc phục.',
  reopened: 'Đã ghi nhận: sự việc chưa được khắc phục. Hồ sơ được chuyển lại tổng đài để xử lý tiếp.',
};

/**
 * Confirm it is fixed, or say it is not (a reason, photos): offered to the holder of a report's
 * code within REOPEN_WINDOW_DAYS of the resolution, once per resolution; works without JavaScript.
 */
function feedbackCard(s: PublicStatus, v: FeedbackView | undefined): Html | string {
  if (!v) return '';
  const f = s.feedback;
  const problems = v.error?.fields ?? [];
  const error = v.error
    ? html`<div class="error" role="alert" id="feedback-error" data-error-code="${v.error.code}">${problems.length ? problems.map((p, i) => html`${i ? ' ' : ''}${p.message}`) : v.error.message}</div>`
    : '';
  if (!f) return error;
  // The notice of the answer just recorded (not of one a crafted link names).
  const done = v.done && v.done === f.answer ? html`<div class="card" role="status" id="feedback-done"><strong>${DONE_VI[v.done]}</strong></div>` : '';
  if (f.answer === 'confirmed') return html`${done}${error}<div class="card feedback"><p>Bạn đã xác nhận sự việc đã được khắc phục. Cảm ơn bạn!</p></div>`;
  if (f.answer === 'reopened') return html`${done}${error}<div class="card feedback"><p>Bạn đã báo sự việc chưa được khắc phục; hồ sơ đang được xử lý lại.</p></div>`;
  if (!f.open) {
    return html`${error}<div class="card feedback"><p>Đã quá ${REOPEN_WINDOW_DAYS} ngày kể từ khi xử lý xong. Nếu sự việc vẫn còn, vui lòng <a href="/">gửi phản ánh mới</a>.</p></div>`;
  }
  const of = (field: string) => problems.filter((p) => p.field === field).map((p) => p.message).join(' ');
  return html`<div class="card feedback" id="feedback"><h2>Sự việc đã được khắc phục chưa?</h2>
<p>Bạn có thể trả lời đến <time datetime="${f.until}">${formatTime(f.until)}</time>.</p>
${error}
<form method="post" action="/track/${s.code}/confirm"><input type="hidden" name="_token" value="${v.token}">
<button type="submit">Đã được khắc phục</button></form>
<form method="post" action="/track/${s.code}/reopen" enctype="multipart/form-data"><input type="hidden" name="_token" value="${v.token}">
<label for="reason">Chưa được khắc phục? Cho biết hiện trạng <span class="hint">(bắt buộc)</span></label>
<textarea id="reason" name="reason" required maxlength="${FEEDBACK_LIMITS.reasonMax}"${of('reason') ? raw(' aria-invalid="true" class="field-error"') : ''} placeholder="Ví dụ: Cống vẫn nghẹt, nước thải tràn lên vỉa hè sau cơn mưa tối qua.">${v.reason ?? ''}</textarea>
${of('reason') ? html`<p class="field-message">${of('reason')}</p>` : ''}
<label for="reopen-photos">Hình ảnh hiện trạng <span class="hint">(tối đa ${FEEDBACK_LIMITS.photosMax} ảnh, mỗi ảnh dưới ${v.photoLimit})</span></label>
<input id="reopen-photos" name="photos" type="file" accept="image/*" multiple${of('photos') ? raw(' aria-invalid="true" class="field-error"') : ''}>
${of('photos') ? html`<p class="field-message">${of('photos')}${PHOTO_RETRY}</p>` : ''}
<button type="submit" class="secondary">Báo chưa được khắc phục</button></form></div>`;
}

/**
 * The public tracking page: the resident's own report (text, photos), the status in words, the
 * ward's public result (and, for a report's code, the answer to it) and a timeline from their
 * report on; never another reporter's data.
 */
export function trackingPage(site: SiteWording, s: PublicStatus, justFiled: boolean, feedback?: FeedbackView): Html {
  return layout(site, `Phản ánh ${s.code}`, html`
${justFiled ? html`<div class="card" role="status"><strong>Cảm ơn bạn! Phản ánh đã được tiếp nhận.</strong> Hãy lưu mã <code>${s.code}</code> để tra cứu.</div>` : ''}
<div class="card">
<h1>Phản ánh <code>${s.code}</code></h1>
<p class="status">${s.status_label}</p>
<dl>
<dt>Tiếp nhận lúc</dt><dd><time datetime="${s.received_at}">${formatTime(s.received_at)}</time></dd>
${s.ticket ? html`<dt>Hồ sơ xử lý</dt><dd>${s.ticket}</dd>` : ''}
${s.category ? html`<dt>Lĩnh vực</dt><dd>${s.category.name}</dd>` : ''}
${s.area ? html`<dt>Địa bàn</dt><dd>${s.area.name}</dd>` : ''}
${s.department ? html`<dt>Đơn vị phụ trách</dt><dd>${s.department.name}</dd>` : ''}
${s.reporters > 1 ? html`<dt>Số người cùng phản ánh</dt><dd>${s.reporters}</dd>` : ''}
${s.due_at ? html`<dt>Hạn xử lý</dt><dd><time datetime="${s.due_at}">${formatTime(s.due_at)}</time></dd>` : ''}
</dl></div>
${s.result ? html`<div class="card result"><h2>Kết quả xử lý</h2>
<p><time datetime="${s.result.at}">${formatTime(s.result.at)}</time></p>
${s.result.message ? html`<p class="report-text">${s.result.message}</p>` : ''}
${thumbs(s.result.photos, 'Ảnh kết quả')}</div>` : ''}
${feedbackCard(s, feedback)}
${s.report ? html`<div class="card"><h2>Nội dung bạn phản ánh</h2>
<p class="report-text">${s.report.text}</p>
${s.report.address ? html`<p><span class="hint">Địa chỉ:</span> ${s.report.address}</p>` : ''}
${thumbs(s.report.photos, 'Ảnh bạn gửi')}</div>` : ''}
<div class="card"><h2>Tiến trình</h2>
${s.timeline.length ? html`<ol class="timeline">${s.timeline.map((e) => html`<li><time datetime="${e.at}">${formatTime(e.at)}</time> – ${e.label}${e.message ? html`: <q>${e.message}</q>` : ''}</li>`)}</ol>`
    : html`<p>Hệ thống đang phân loại phản ánh của bạn; trang sẽ tự cập nhật.</p>`}
</div>`, { refreshSeconds: s.status === 'received' ? 5 : undefined });
}

/** Lookup form for a tracking code, with an optional "not found" message. */
/** A resident's answer the database could not take (an outage): nothing was stored, send it again. */
export function unavailablePage(site: SiteWording, code: string): Html {
  return layout(site, 'Hệ thống tạm thời gián đoạn', html`
<h1>Hệ thống tạm thời gián đoạn</h1>
<div class="error" role="alert">Câu trả lời của anh/chị chưa được ghi nhận. Vui lòng quay lại và gửi lại sau ít phút.</div>
<p><a href="/track/${code}">Quay lại trang phản ánh ${code}</a></p>`);
}

export function trackLookupPage(site: SiteWording, code?: string, notFound = false): Html {
  return layout(site, 'Tra cứu phản ánh', html`
<h1>Tra cứu phản ánh</h1>
${notFound ? html`<div class="error" role="alert">Không tìm thấy phản ánh có mã <strong>${code ?? ''}</strong>. Vui lòng kiểm tra lại.</div>` : ''}
<form class="card" method="get" action="/track"><label for="code">Mã phản ánh</label>
<input id="code" name="code" required value="${code ?? ''}" placeholder="PA-XXXXXXXX"><button type="submit">Tra cứu</button></form>`);
}
