/**
 * The built-in pages of `__authz` (apiref 292): a login form, a password-change form and an
 * error page. Plain HTML with one small style block, no scripts; every value is escaped.
 */

const escape = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const STYLE = `body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem;color:#222}
h1{font-size:1.3rem}p.app{word-break:break-all;color:#555}p.error{color:#b00020}
label{display:block;margin:.8rem 0 .2rem}input[type=text],input[type=password]{width:100%;padding:.5rem;box-sizing:border-box}
.buttons{margin-top:1.2rem;display:flex;gap:.5rem}button{padding:.5rem 1rem}`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title><style>${STYLE}</style></head>
<body>${body}</body></html>
`;
}

function hidden(fields: Record<string, string | undefined>): string {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `<input type="hidden" name="${escape(k)}" value="${escape(v!)}">`)
    .join('\n');
}

export interface LoginPage {
  cellName: string;
  action: string;
  clientId: string;
  /** The request parameters the form posts back (response_type, redirect_uri, state, …). */
  carry: Record<string, string | undefined>;
  message?: string;
}

export function loginPage(p: LoginPage): string {
  return page(
    `Sign in to ${p.cellName}`,
    `<h1>Sign in to ${escape(p.cellName)}</h1>
<p class="app">The application <strong>${escape(p.clientId)}</strong> asks to access your data.</p>
${p.message ? `<p class="error">${escape(p.message)}</p>` : ''}
<form method="post" action="${escape(p.action)}">
${hidden(p.carry)}
<label for="username">Account name</label><input type="text" id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password" required>
<div class="buttons"><button type="submit">Sign in</button>
<button type="submit" name="cancel_flg" value="true" formnovalidate>Cancel</button></div>
</form>`,
  );
}

export function passwordChangePage(p: LoginPage & { accessToken: string }): string {
  return page(
    `Change your password`,
    `<h1>Change your password</h1>
<p>Your password must be changed before you continue to <strong>${escape(p.clientId)}</strong>.</p>
${p.message ? `<p class="error">${escape(p.message)}</p>` : ''}
<form method="post" action="${escape(p.action)}">
${hidden({ ...p.carry, access_token: p.accessToken, password_change_required: 'true' })}
<label for="password">New password (6–32 characters)</label><input type="password" id="password" name="password" autocomplete="new-password" required autofocus>
<div class="buttons"><button type="submit">Change password</button>
<button type="submit" name="cancel_flg" value="true" formnovalidate>Cancel</button></div>
</form>`,
  );
}

export function errorPage(code: string, message: string): string {
  return page('Authorization error', `<h1>Authorization error</h1><p class="error">${escape(message)}</p><p>Code: ${escape(code)}</p>`);
}
