import { html, raw } from 'hono/html';
import type { SessionUser } from '../wire/staff-api.ts';
import { layout, type Html, type SiteWording } from '../intake/page-layout.ts';
import { ROLE_VI } from '../core/staff/policy.ts';


export interface LoginPageOptions {
  username?: string;
  next?: string;
  /** The Vietnamese message of a failed attempt. */
  error?: string;
  /** Already signed in: offer to continue or sign out instead of a second sign-in. */
  current?: SessionUser;
  /** Where "continue" leads for a signed-in user. */
  continueTo?: string;
}

/** The staff sign-in page: labelled fields, works without JavaScript, keeps the username on error. */
export function loginPage(site: SiteWording, o: LoginPageOptions = {}): Html {
  const described = o.error ? raw(' aria-describedby="login-error"') : '';
  const invalid = o.error ? raw(' aria-invalid="true"') : '';
  return layout(site, 'Đăng nhập', html`<div class="auth">
${o.current ? html`<div class="card" role="status"><p>Bạn đang đăng nhập với tài khoản <strong>${o.current.displayName}</strong> (${ROLE_VI[o.current.role]}).</p>
<p><a href="${o.continueTo ?? '/'}">Tiếp tục làm việc</a></p>
<form class="inline" method="post" action="/logout"><button type="submit" class="secondary">Đăng xuất</button></form></div>` : ''}
<form class="card" method="post" action="/login"${described}>
<h1>Đăng nhập</h1>
<p class="hint">Dành cho điện thoại viên, giám sát viên và cán bộ phường của ${site.hotline}.</p>
${o.error ? html`<div class="error" role="alert" id="login-error">${o.error}</div>` : ''}
${o.next ? html`<input type="hidden" name="next" value="${o.next}">` : ''}
<label for="username">Tên đăng nhập</label>
<input id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="64" value="${o.username ?? ''}"${invalid}${o.username ? '' : raw(' autofocus')}>
<label for="password">Mật khẩu</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${invalid}${o.username ? raw(' autofocus') : ''}>
<button type="submit">Đăng nhập</button>
</form>
</div>`);
}

/** The page a signed-in user sees where their role may not go. */
export function forbiddenPage(site: SiteWording, user: SessionUser, home: string): Html {
  return layout(site, 'Không có quyền truy cập', html`<div class="auth"><div class="card">
<h1>Không có quyền truy cập</h1>
<p role="alert">Tài khoản <strong>${user.displayName}</strong> (${ROLE_VI[user.role]}) không được phép mở trang này.</p>
<p><a href="${home}">Về trang làm việc của bạn</a></p>
<form class="inline" method="post" action="/logout"><button type="submit" class="secondary">Đăng nhập bằng tài khoản khác</button></form>
</div></div>`);
}
