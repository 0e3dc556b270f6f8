import { randomBytes, randomUUID, createHash } from 'node:crypto';
import { isIPv4 } from 'node:net';
import ipaddr from 'ipaddr.js';
import type { AuthSettings } from '../../config.js';
import { PersoniumError, type PersoniumErrorCode } from '../../core/errors/personium-error.js';
import { AuthStore, type AuthHistory } from '../../store/auth-store.js';
import { personiumPropertyList, type DeadProperties } from '../dav/properties.js';
import type { EntityStore, Scope, StoredEntity } from '../../store/entity-store.js';
import { authenticateClient, clientCredentials, type AuthenticatedClient } from './client-auth.js';
import type { IssuerKeys } from './issuer-keys.js';
import type { PasswordHasher } from '../../core/passwords.js';
import type { RoleResolver } from './roles.js';
import { TokenCodec, TokenError, type TokenClaims, type TokenFailure } from './tokens.js';

export const ACCESS_TOKEN_LIFETIME = 3600;
export const REFRESH_TOKEN_LIFETIME = 86400;
/** apiref 293: failures within this long after a failure fail whatever the password. */
const FAILURE_COOLDOWN_MS = 1000;
const GRANT_SAML2 = 'urn:ietf:params:oauth:grant-type:saml2-bearer';

/** A token request as the endpoint sees it (no HTTP objects). */
export interface TokenRequest {
  cell: StoredEntity;
  cellUrl: string;
  params: URLSearchParams;
  authorization: string | undefined;
  remoteAddress: string;
}

export interface TokenResponse {
  status: number;
  body: Record<string, unknown>;
  /** `Set-Cookie` values (p_cookie). */
  cookies?: string[];
  /** Where a trans-cell token is meant to be used (`{p_target}__token`). */
  location?: string;
}

/** Who the new token is for. */
interface Subject {
  sub: string;
  /** Local account entity, for account users. */
  account?: StoredEntity;
  /** For users of another cell: the cell that vouched for them and the roles it vouched for. */
  orig?: string;
  vouched?: string[];
}

export interface TokenEndpointDeps {
  store: EntityStore;
  settings: AuthSettings;
  unitUrl: string;
  codec: TokenCodec;
  issuerKeys: IssuerKeys;
  passwords: PasswordHasher;
  roles: RoleResolver;
  /** Turns `personium-localunit:` URLs into this unit's absolute URLs. */
  resolveLocalUnit: (url: string) => string;
}

/** An OAuth error whose response carries extra fields (the password-change token of PR401-AN-0023). */
export class TokenEndpointError extends PersoniumError {
  constructor(
    code: PersoniumErrorCode,
    readonly extra: Record<string, unknown> = {},
    params: readonly (string | number)[] = [],
  ) {
    super(code, params);
  }
}

const ASSERTION_FAILURES: Record<TokenFailure, PersoniumErrorCode> = {
  parse: 'PR400-AN-0009',
  expired: 'PR400-AN-0010',
  dsig: 'PR400-AN-0011',
};

/** `POST {cell}/__token` (apiref 293). */
export class TokenEndpoint {
  constructor(private readonly deps: TokenEndpointDeps) {}

  async handle(req: TokenRequest): Promise<TokenResponse> {
    const { params } = req;
    const grantType = required(params, 'grant_type');
    const client = await authenticateClient(
      clientCredentials(params, req.authorization),
      req.cellUrl,
      this.deps.codec,
      this.deps.issuerKeys,
    );
    const lifetimes = {
      access: lifetime(params, 'expires_in', ACCESS_TOKEN_LIFETIME),
      refresh: lifetime(params, 'refresh_token_expires_in', REFRESH_TOKEN_LIFETIME),
    };
    const owner = params.get('p_owner') === 'true';
    const target = targetOf(params.get('p_target'), this.deps.resolveLocalUnit);
    const grant: GrantContext = { req, client, target, owner, lifetimes };

    switch (grantType) {
      case 'password': {
        if (!this.deps.settings.passwordGrant) throw new PersoniumError('PR400-AN-0001');
        const { account, before } = await this.authenticate(
          req.cell,
          req.cellUrl,
          required(params, 'username'),
          required(params, 'password'),
          req.remoteAddress,
        );
        const subject: Subject = { sub: `${req.cellUrl}#${account.props.Name as string}`, account };
        const issued = await this.issue(grant, subject);
        issued.body.last_authenticated = before.last_authenticated;
        issued.body.failed_count = before.failed_count;
        return issued;
      }
      case 'refresh_token':
        return this.refresh(grant);
      case GRANT_SAML2: {
        if (owner) throw new PersoniumError('PR400-AN-0008');
        const assertion = params.get('assertion');
        if (!assertion) throw new PersoniumError('PR400-AN-0009');
        const claims = await this.verifyAssertion(assertion, req.cellUrl);
        const subject: Subject = { sub: claims.sub, orig: claims.iss, vouched: claims.roles ?? [] };
        return this.issue({ ...grant, owner: false }, subject);
      }
      case 'authorization_code':
        return this.exchangeCode(grant);
      default:
        throw new PersoniumError('PR400-AN-0001');
    }
  }

  /**
   * The password grant with the brute-force defences of apiref 293, in personium-core's order:
   * account → type basic → 1 s after a failure → lock → IP range → password → status. Every
   * refusal gives the same PR400-AN-0017 and costs one hash, so neither the body nor the timing
   * tells an attacker which check failed. Returns the history as it was before this login.
   */
  async authenticate(
    cell: StoredEntity,
    cellUrl: string,
    username: string,
    password: string,
    remoteAddress: string,
  ): Promise<{ account: StoredEntity; before: AuthHistory }> {
    const req = { cell, cellUrl, remoteAddress };
    const scope: Scope = { cellId: cell.id, boxId: '', nodeId: '' };
    const account = await this.deps.store.get(scope, 'Account', username);
    const auth = new AuthStore(this.deps.store.executor);
    const types = String(account?.props.Type ?? 'basic').split(' ');
    const stored = account && types.includes('basic') ? await auth.passwordHash(account.id) : undefined;
    if (!account || stored === undefined) {
      await this.deps.passwords.verify(password, undefined);
      throw new PersoniumError('PR400-AN-0017');
    }
    const now = Date.now();
    const history = await auth.history(account.id);
    const recording = recordsHistory(req.cell, account.props.Name as string);
    const before: AuthHistory = recording ? history : { ...history, last_authenticated: null, failed_count: 0 };

    const fail = async (): Promise<never> => {
      const { lockCount, lockSeconds } = this.deps.settings;
      const lockFailures = history.lock_failures + 1;
      await auth.saveHistory(account.id, {
        ...history,
        failed_count: recording ? history.failed_count + 1 : history.failed_count,
        lock_failures: lockFailures,
        last_failure: now,
        locked_until: lockCount > 0 && lockFailures >= lockCount ? now + lockSeconds * 1000 : history.locked_until,
      });
      throw new PersoniumError('PR400-AN-0017');
    };
    const refusedEarly =
      (history.last_failure !== null && now - history.last_failure < FAILURE_COOLDOWN_MS) ||
      (history.locked_until !== null && history.locked_until > now) ||
      !addressAllowed(account.props.IPAddressRange, req.remoteAddress);
    if (refusedEarly) {
      await this.deps.passwords.verify(password, undefined);
      return fail();
    }
    const verdict = await this.deps.passwords.verify(password, stored);
    if (!verdict.ok || account.props.Status === 'deactivated') return fail();
    if (verdict.rehash) await auth.setPassword(account.id, await this.deps.passwords.hash(password), now);

    if (account.props.Status === 'passwordChangeRequired') {
      // The password was right, but the only thing it may do is change itself (history untouched).
      const { token } = await this.deps.codec.seal('AP', {
        iss: req.cellUrl,
        sub: `${req.cellUrl}#${account.props.Name as string}`,
        aud: req.cellUrl,
        aid: account.id,
        lifetime: ACCESS_TOKEN_LIFETIME,
      });
      throw new TokenEndpointError('PR401-AN-0023', {
        access_token: token,
        url: `${req.cellUrl}__mypassword`,
        last_authenticated: before.last_authenticated,
        failed_count: before.failed_count,
      });
    }
    await auth.saveHistory(account.id, {
      last_authenticated: recording ? now : history.last_authenticated,
      failed_count: recording ? 0 : history.failed_count,
      lock_failures: 0,
      last_failure: null,
      locked_until: null,
    });
    return { account, before };
  }

  private async verifyAssertion(assertion: string, cellUrl: string): Promise<TokenClaims> {
    let claims: TokenClaims;
    try {
      claims = await this.deps.codec.verifyTransCell(assertion, (iss, kid) => this.deps.issuerKeys.keyFor(iss, kid));
    } catch (err) {
      if (err instanceof TokenError) throw new PersoniumError(ASSERTION_FAILURES[err.reason], [], { cause: err });
      throw err;
    }
    if (claims.aud !== cellUrl) throw new PersoniumError('PR400-AN-0012', [claims.aud]);
    return claims;
  }

  private async refresh(grant: GrantContext): Promise<TokenResponse> {
    const { req, client, owner } = grant;
    const text = req.params.get('refresh_token');
    if (!text) throw new PersoniumError('PR400-AN-0009');
    const kind = TokenCodec.kindOf(text);
    if (kind !== 'RA') throw new PersoniumError(kind === undefined ? 'PR400-AN-0009' : 'PR400-AN-0013');
    let claims: TokenClaims;
    try {
      claims = (await this.deps.codec.openSealed(text)).claims;
    } catch (err) {
      if (err instanceof TokenError) throw new PersoniumError(ASSERTION_FAILURES[err.reason], [], { cause: err });
      throw err;
    }
    // Another cell's refresh token does not open here in Personium (its key differs): a parse error.
    if (claims.iss !== req.cellUrl) throw new PersoniumError('PR400-AN-0009');
    assertSameClient(claims, client);
    const auth = new AuthStore(this.deps.store.executor);
    const use = await auth.useRefreshToken(claims.jti);
    if (!use.fresh) {
      // A refresh token presented twice was copied: end the whole chain it belongs to.
      if (use.known && use.family) await auth.revokeFamily(use.family);
      throw new PersoniumError('PR400-AN-0010');
    }
    let subject: Subject;
    if (claims.aid !== undefined) {
      const account = await this.deps.store.getById(claims.aid);
      if (!account || account.scope.cellId !== req.cell.id || account.props.Status === 'deactivated') {
        throw new PersoniumError('PR400-AN-0010');
      }
      subject = { sub: `${req.cellUrl}#${account.props.Name as string}`, account };
    } else {
      if (owner) throw new PersoniumError('PR400-AN-0008');
      subject = { sub: claims.sub, orig: claims.orig!, vouched: claims.roles ?? [] };
    }
    return this.issue(grant, subject, claims.family);
  }

  private async exchangeCode(grant: GrantContext): Promise<TokenResponse> {
    const { req, client, owner } = grant;
    const code = req.params.get('code');
    if (!code) throw new PersoniumError('PR400-AN-0019');
    if (!client) throw new PersoniumError('PR400-AN-0021');
    if (owner) throw new PersoniumError('PR400-AN-0008');
    // Single use: taking the code removes it, whatever happens next.
    const taken = await new AuthStore(this.deps.store.executor).takeCode(codeId(code));
    if (!taken || taken.cellId !== req.cell.id) throw new PersoniumError('PR400-AN-0019');
    if (taken.expires < Date.now()) throw new PersoniumError('PR400-AN-0010');
    const recorded = JSON.parse(taken.payload) as CodeGrant;
    if (recorded.clientId !== client.schema) throw new PersoniumError('PR400-AN-0020', [client.schema]);
    if (recorded.redirectUri !== undefined && req.params.get('redirect_uri') !== null && req.params.get('redirect_uri') !== recorded.redirectUri) {
      throw new PersoniumError('PR400-AN-0019');
    }
    if (recorded.codeChallenge !== undefined) {
      const verifier = req.params.get('code_verifier');
      if (verifier === null || !/^[A-Za-z0-9._~-]{43,128}$/.test(verifier)) throw new PersoniumError('PR400-AN-0019');
      const computed = createHash('sha256').update(verifier).digest('base64url');
      if (computed !== recorded.codeChallenge) throw new PersoniumError('PR400-AN-0019');
    }
    const account = await this.deps.store.getById(recorded.accountId);
    if (!account || account.scope.cellId !== req.cell.id) throw new PersoniumError('PR400-AN-0019');
    const subject: Subject = { sub: `${req.cellUrl}#${account.props.Name as string}`, account };
    return this.issue(grant, subject);
  }

  /** A cell-local access token for an account (the implicit flow of `__authz`). */
  async localAccessToken(cellUrl: string, account: StoredEntity, schema: string | undefined, lifetime: number): Promise<string> {
    const { token } = await this.deps.codec.seal('AA', {
      iss: cellUrl,
      sub: `${cellUrl}#${account.props.Name as string}`,
      aud: cellUrl,
      aid: account.id,
      ...(schema ? { schema, confidential: false } : {}),
      lifetime,
    });
    return token;
  }

  /** Issues the access token (cell-local, trans-cell or owner) and, except for p_owner, a refresh token. */
  private async issue(grant: GrantContext, subject: Subject, family: string = randomUUID()): Promise<TokenResponse> {
    const { req, client, target, owner, lifetimes } = grant;
    const { codec } = this.deps;
    const appClaims = client ? { schema: client.schema, confidential: client.confidential } : {};
    const origin = subject.account ? { aid: subject.account.id } : { orig: subject.orig!, roles: subject.vouched ?? [] };
    const body: Record<string, unknown> = { token_type: 'Bearer', expires_in: lifetimes.access };
    let location: string | undefined;

    if (owner) {
      // Unit-User.md / 106: only accounts the cell names in ownerRepresentativeAccounts speak for its owner.
      const account = subject.account?.props.Name as string | undefined;
      if (account === undefined || !cellPropertyList(req.cell, 'ownerRepresentativeAccounts').includes(account)) {
        throw new PersoniumError('PR400-AN-0014');
      }
      const cellOwner = typeof req.cell.props.__owner === 'string' ? req.cell.props.__owner : undefined;
      if (cellOwner === undefined) throw new PersoniumError('PR400-AN-0015');
      const { token } = await codec.seal('AU', { iss: this.deps.unitUrl, sub: cellOwner, aud: this.deps.unitUrl, lifetime: lifetimes.access });
      body.access_token = token;
      return { status: 200, body };
    }

    if (target !== undefined) {
      const held = await this.deps.roles.rolesOf(req.cell, { ...origin, iss: req.cellUrl, sub: subject.sub } as TokenClaims, 'local');
      const { token } = await codec.signTransCell({
        iss: req.cellUrl,
        sub: subject.sub,
        aud: target,
        roles: held.map((r) => r.url),
        ...appClaims,
        lifetime: lifetimes.access,
      });
      body.access_token = token;
      body.p_target = target;
      location = `${target}__token`;
    } else {
      const { token } = await codec.seal('AA', {
        iss: req.cellUrl,
        sub: subject.sub,
        aud: req.cellUrl,
        ...origin,
        ...appClaims,
        lifetime: lifetimes.access,
      });
      body.access_token = token;
    }
    body.scope = req.params.get('scope') || 'root';

    const refresh = await codec.seal('RA', {
      iss: req.cellUrl,
      sub: subject.sub,
      aud: req.cellUrl,
      ...origin,
      ...appClaims,
      family,
      lifetime: lifetimes.refresh,
    });
    await new AuthStore(this.deps.store.executor).addRefreshToken({
      id: refresh.claims.jti,
      cellId: req.cell.id,
      subject: subject.account?.id ?? subject.sub,
      family,
      expires: refresh.claims.exp * 1000,
    });
    body.refresh_token = refresh.token;
    body.refresh_token_expires_in = lifetimes.refresh;

    const response: TokenResponse = { status: 200, body };
    if (location) response.location = location;
    if (req.params.get('p_cookie') === 'true' && target === undefined) {
      const peer = randomBytes(24).toString('base64url');
      const cookie = await codec.seal('CK', {
        iss: req.cellUrl,
        sub: subject.sub,
        aud: req.cellUrl,
        data: { peer, token: body.access_token as string },
        lifetime: lifetimes.access,
      });
      body.p_cookie_peer = peer;
      response.cookies = [cookieHeader(req.cellUrl, cookie.token, lifetimes.access)];
    }
    return response;
  }
}

interface Lifetimes {
  access: number;
  refresh: number;
}

/** What every grant shares: the request, the authenticated app, and what to issue (p_target, p_owner, lifetimes). */
interface GrantContext {
  req: TokenRequest;
  client: AuthenticatedClient | undefined;
  target: string | undefined;
  owner: boolean;
  lifetimes: Lifetimes;
}

/** What `__authz` recorded for an authorization code (its id is the code's jti). */
export interface CodeGrant {
  clientId: string;
  redirectUri?: string;
  accountId: string;
  codeChallenge?: string;
  scope?: string;
}

/** Codes are random strings; the store keeps only their hash, and each is usable once. */
export function codeId(code: string): string {
  return createHash('sha256').update(code).digest('base64url');
}

function required(params: URLSearchParams, name: string): string {
  const value = params.get(name);
  if (value === null || value === '') throw new PersoniumError('PR400-AN-0016', [name]);
  return value;
}

/** apiref 293: expires_in 1–3600, refresh_token_expires_in 1–86400; anything else is a bad request. */
function lifetime(params: URLSearchParams, name: string, max: number): number {
  const raw = params.get(name);
  if (raw === null || raw === '') return max;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1 || Number(raw) > max) throw new PersoniumError('PR400-AN-0016', [name]);
  return Number(raw);
}

/** p_target: an http(s) URL (or `personium-localunit:`); a missing trailing slash is added. */
function targetOf(raw: string | null, resolveLocal: (url: string) => string): string | undefined {
  if (raw === null || raw === '') return undefined;
  if (/[\r\n]/.test(raw)) throw new PersoniumError('PR400-AN-0002');
  raw = resolveLocal(raw);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new PersoniumError('PR400-AN-0002');
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash || url.username || url.password) {
    throw new PersoniumError('PR400-AN-0002');
  }
  return url.href.endsWith('/') ? url.href : `${url.href}/`;
}

/** A list-valued cell property (set by PROPPATCH on the cell, apiref 291). */
function cellPropertyList(cell: StoredEntity, name: string): string[] {
  return personiumPropertyList(cell.props.__properties as DeadProperties | undefined, name);
}

function recordsHistory(cell: StoredEntity, account: string): boolean {
  return !cellPropertyList(cell, 'accountsnotrecordingauthhistory').includes(account);
}

/** apiref 293: a refresh keeps the app that authenticated (no client → none; another client → refused). */
function assertSameClient(claims: TokenClaims, client: AuthenticatedClient | undefined): void {
  if (!claims.schema) {
    if (client) throw new PersoniumError('PR400-AN-0020', [client.schema]);
    return;
  }
  if (!client) throw new PersoniumError('PR400-AN-0021');
  if (client.schema !== claims.schema || client.confidential !== Boolean(claims.confidential)) {
    throw new PersoniumError('PR400-AN-0020', [client.schema]);
  }
}

/** IPAddressRange (apiref 212): comma-separated IPv4 addresses and CIDR ranges; null allows all. */
function addressAllowed(range: unknown, remote: string): boolean {
  if (typeof range !== 'string' || range === '') return true;
  let address: ipaddr.IPv4;
  try {
    let parsed = ipaddr.parse(remote);
    if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
    if (parsed.kind() !== 'ipv4') return false;
    address = parsed as ipaddr.IPv4;
  } catch {
    return false;
  }
  return range.split(',').some((part) => {
    const [ip, bits] = part.split('/');
    if (!ip || !isIPv4(ip)) return false;
    return address.match(ipaddr.IPv4.parse(ip), bits === undefined ? 32 : Number(bits));
  });
}

/** The p_cookie cookie: this cell's path only, HttpOnly, Secure on https units. */
function cookieHeader(cellUrl: string, value: string, maxAge: number): string {
  const url = new URL(cellUrl);
  const secure = url.protocol === 'https:' ? '; Secure' : '';
  return `p_cookie=${value}; Path=${url.pathname}; Max-Age=${maxAge}; HttpOnly; SameSite=Lax${secure}`;
}

