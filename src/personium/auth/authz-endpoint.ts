import { randomBytes } from 'node:crypto';
import type { AuthSettings } from '../../config.js';
import { PersoniumError, isPersoniumErrorCode, type PersoniumErrorCode } from '../../core/errors/personium-error.js';
import { jsonStringEquals } from '../../query/compile.js';
import { AuthStore } from '../../store/auth-store.js';
import type { EntityStore, StoredEntity } from '../../store/entity-store.js';
import { PASSWORD } from '../cell/formats.js';
import { errorPage, loginPage, passwordChangePage, type LoginPage } from './authz-page.js';
import type { PasswordHasher } from '../../core/passwords.js';
import { ACCESS_TOKEN_LIFETIME, codeId, type CodeGrant, type TokenEndpoint, TokenEndpointError } from './token-endpoint.js';
import type { TokenCodec } from './tokens.js';

/** apiref 292: codes live 10 minutes and are good once. */
const CODE_LIFETIME_MS = 10 * 60 * 1000;
const PARAM_MAX = 512;
const PKCE = /^[A-Za-z0-9._~-]{43,128}$/;

export interface AuthzRequest {
  method: 'GET' | 'POST';
  cell: StoredEntity;
  cellUrl: string;
  params: URLSearchParams;
  remoteAddress: string;
}

export interface AuthzResponse {
  status: number;
  headers: Record<string, string>;
  body?: string;
  /** The built-in login form: a cell may replace it with its own page. */
  loginForm?: boolean;
}

export interface AuthzDeps {
  store: EntityStore;
  settings: AuthSettings;
  tokens: TokenEndpoint;
  codec: TokenCodec;
  passwords: PasswordHasher;
}

/** The request parameters that travel through the login form and back. */
const CARRIED = ['response_type', 'client_id', 'redirect_uri', 'state', 'scope', 'expires_in', 'code_challenge', 'code_challenge_method'];

const HTML_HEADERS = {
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  // A login form must not be framed by another site (clickjacking) nor load anything.
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
};

/**
 * `GET/POST {cell}/__authz` (apiref 292, 292p): code and implicit flows with a built-in login
 * form, PKCE (S256) on top of Personium's parameters.
 */
export class AuthzEndpoint {
  constructor(private readonly deps: AuthzDeps) {}

  async handle(req: AuthzRequest): Promise<AuthzResponse> {
    const p = req.params;
    const get = (name: string) => p.get(name) ?? '';
    const clientId = get('client_id');
    const redirectUri = get('redirect_uri');
    // Until client_id and redirect_uri are known good, errors go to the cell's error page, never to a redirect.
    if (!isHttpUrl(clientId) || clientId === req.cellUrl) return this.errorPageRedirect(req.cellUrl, 'PR400-AZ-0002');
    if (!isHttpUrl(redirectUri) || new URL(redirectUri).hash !== '' || !redirectUri.startsWith(withSlash(clientId))) {
      return this.errorPageRedirect(req.cellUrl, 'PR400-AZ-0003');
    }
    const responseType = get('response_type');
    const toClient = (error: string, code: PersoniumErrorCode) =>
      this.redirectToClient(redirectUri, responseType === 'code' ? '?' : '#', {
        error,
        error_description: new PersoniumError(code).message,
        state: get('state'),
        code,
      });
    if (responseType === '') return toClient('invalid_request', 'PR400-AZ-0004');
    if (responseType !== 'code' && !(responseType === 'token' && this.deps.settings.implicitFlow)) {
      return toClient('unsupported_response_type', 'PR400-AZ-0001');
    }
    const expiresIn = get('expires_in');
    if (expiresIn !== '' && (!/^\d{1,4}$/.test(expiresIn) || Number(expiresIn) < 1 || Number(expiresIn) > ACCESS_TOKEN_LIFETIME)) {
      return toClient('invalid_request', 'PR400-AZ-0008');
    }
    if (get('state').length > PARAM_MAX || redirectUri.length > PARAM_MAX) return toClient('invalid_request', 'PR400-AZ-0008');
    const challenge = get('code_challenge');
    const method = get('code_challenge_method');
    if ((challenge !== '' || method !== '') && (method !== 'S256' || !PKCE.test(challenge))) {
      return toClient('invalid_request', 'PR400-AZ-0008');
    }
    if (get('cancel_flg') === 'true') return toClient('unauthorized_client', 'PR401-AZ-0001');

    const carry = Object.fromEntries(CARRIED.map((k) => [k, p.get(k) ?? undefined]));
    const form: LoginPage = { cellName: req.cell.props.Name as string, action: `${req.cellUrl}__authz`, clientId, carry };
    if (req.method === 'GET') return { ...html(loginPage(form)), loginForm: true };

    const retry = (error: string, code: PersoniumErrorCode, extra: Record<string, string> = {}) =>
      this.redirectToSelf(req.cellUrl, carry, { error, error_description: new PersoniumError(code).message, code, ...extra });

    let account: StoredEntity;
    let before: { last_authenticated: number | null; failed_count: number } | undefined;
    const accessToken = get('access_token');
    if (accessToken !== '') {
      // 292p: the password-change form posts the AP~ token it was given and the new password.
      const changed = await this.changePassword(req, accessToken, get('password'));
      if (typeof changed === 'string') return html(passwordChangePage({ ...form, accessToken, message: changed }), 400);
      account = changed;
    } else {
      const username = get('username');
      const password = get('password');
      if (username === '' || password === '') return retry('invalid_request', 'PR400-AN-0016');
      try {
        ({ account, before } = await this.deps.tokens.authenticate(req.cell, req.cellUrl, username, password, req.remoteAddress));
      } catch (err) {
        if (err instanceof TokenEndpointError && err.code === 'PR401-AN-0023') {
          return retry('unauthorized_client', 'PR401-AN-0023', {
            password_change_required: 'true',
            access_token: String(err.extra.access_token),
          });
        }
        if (err instanceof PersoniumError && err.code === 'PR400-AN-0017') return retry('invalid_grant', 'PR400-AN-0017');
        throw err;
      }
    }

    const history: Record<string, string> = before
      ? { last_authenticated: before.last_authenticated === null ? 'null' : String(before.last_authenticated), failed_count: String(before.failed_count) }
      : {};
    const boxInstalled = await this.boxWithSchemaExists(req.cell, clientId);
    const common = { state: get('state'), ...history, ...(boxInstalled ? {} : { box_not_installed: 'true' }) };
    if (responseType === 'token') {
      const lifetime = expiresIn === '' ? ACCESS_TOKEN_LIFETIME : Number(expiresIn);
      const token = await this.deps.tokens.localAccessToken(req.cellUrl, account, clientId, lifetime);
      return this.redirectToClient(redirectUri, '#', { access_token: token, token_type: 'Bearer', expires_in: String(lifetime), ...common });
    }
    const code = randomBytes(32).toString('base64url');
    const grant: CodeGrant = { clientId, redirectUri, accountId: account.id, ...(challenge ? { codeChallenge: challenge } : {}) };
    if (get('scope')) grant.scope = get('scope');
    await new AuthStore(this.deps.store.executor).addCode(codeId(code), req.cell.id, JSON.stringify(grant), Date.now() + CODE_LIFETIME_MS);
    return this.redirectToClient(redirectUri, '?', { code, ...common });
  }

  /** Sets the new password the password-change form sent; a string is a message to show with the form again. */
  private async changePassword(req: AuthzRequest, accessToken: string, password: string): Promise<StoredEntity | string> {
    let claims;
    try {
      const opened = await this.deps.codec.openSealed(accessToken);
      if (opened.kind !== 'AP' || opened.claims.aud !== req.cellUrl || !opened.claims.aid) throw new Error('not a password-change token');
      claims = opened.claims;
    } catch {
      throw new PersoniumError('PR401-AZ-0002');
    }
    if (!PASSWORD.test(password)) return new PersoniumError('PR400-AU-0001').message;
    const hash = await this.deps.passwords.hash(password);
    return this.deps.store.withTransaction(async (trx) => {
      const account = await trx.getById(claims.aid!);
      if (!account || account.scope.cellId !== req.cell.id) throw new PersoniumError('PR401-AZ-0002');
      const auth = new AuthStore(trx.executor);
      await auth.setPassword(account.id, hash, Date.now());
      await auth.revokeSubject(req.cell.id, account.id);
      if (account.props.Status !== 'passwordChangeRequired') return account;
      return trx.update(account, { key: account.key, props: { ...account.props, Status: 'active' } }, account.version);
    });
  }

  private async boxWithSchemaExists(cell: StoredEntity, clientId: string): Promise<boolean> {
    const store = this.deps.store;
    for (const schema of new Set([clientId, withSlash(clientId)])) {
      const found = await store.query({ cellId: cell.id, boxId: '', nodeId: '' }, 'Box', {
        where: jsonStringEquals('props', 'Schema', schema, store.dialect),
        top: 1,
        skip: 0,
        count: false,
      });
      if (found.entities.length > 0) return true;
    }
    return false;
  }

  private errorPageRedirect(cellUrl: string, code: PersoniumErrorCode): AuthzResponse {
    return { status: 303, headers: { location: `${cellUrl}__html/error?code=${code}`, 'cache-control': 'no-store' } };
  }

  private redirectToClient(redirectUri: string, separator: '?' | '#', values: Record<string, string>): AuthzResponse {
    const query = new URLSearchParams(Object.entries(values).filter(([, v]) => v !== '')).toString();
    const joiner = separator === '?' && redirectUri.includes('?') ? '&' : separator;
    return { status: 303, headers: { location: `${redirectUri}${joiner}${query}`, 'cache-control': 'no-store' } };
  }

  private redirectToSelf(cellUrl: string, carry: Record<string, string | undefined>, values: Record<string, string>): AuthzResponse {
    const all = { ...Object.fromEntries(Object.entries(carry).filter(([, v]) => v !== undefined)), ...values } as Record<string, string>;
    return { status: 303, headers: { location: `${cellUrl}__authz?${new URLSearchParams(all).toString()}`, 'cache-control': 'no-store' } };
  }
}

/** `GET {cell}/__html/error?code=…`: where `__authz` sends a browser when it can't trust the redirect URI. */
export function authzErrorPage(code: string | undefined): AuthzResponse {
  const known = code !== undefined && code.includes('-AZ-') && isPersoniumErrorCode(code);
  const message = known ? new PersoniumError(code).message : 'Unknown error.';
  return { status: 400, headers: HTML_HEADERS, body: errorPage(known ? code : '', message) };
}

function html(body: string, status = 200): AuthzResponse {
  return { status, headers: HTML_HEADERS, body };
}

function isHttpUrl(s: string): boolean {
  if (s === '' || s.length > 1024 || /[\r\n]/.test(s)) return false;
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

function withSlash(s: string): string {
  return s.endsWith('/') ? s : `${s}/`;
}
