import { timingSafeEqual } from 'node:crypto';
import type { PersoniumErrorCode } from '../../core/errors/personium-error.js';
import type { IssuerKeys } from './issuer-keys.js';
import { TokenCodec, TokenError, type TokenClaims, type TokenFailure } from './tokens.js';

/** Unit user rights (Unit-User.md): what the unit user roles in a unit user token grant. */
export interface UnitUserRights {
  unitAdmin: boolean;
  /** CellContentsReader / CellContentsAdmin: access to the contents of the cells the user may manage. */
  contents: 'none' | 'read' | 'admin';
}

/**
 * Who is calling, resolved once per request from the Authorization header (or a cell cookie).
 * Roles of cell users are resolved later, against the cell the request addresses (roles.ts).
 */
export type Principal =
  | { kind: 'anonymous' }
  /** An Authorization header that is neither Bearer nor (where allowed) Basic. */
  | { kind: 'bad-scheme' }
  /** The unit master token; `unitUser` is the X-Personium-Unit-User it acts as, if any. */
  | { kind: 'unit-master'; unitUser?: string }
  /**
   * A unit user token: a trans-cell token addressed to the unit from a configured issuer cell, or a
   * unit-local unit user token from `p_owner` (then `subject` is the cell's owner).
   */
  | { kind: 'unit-user'; subject: string; rights: UnitUserRights; claims: TokenClaims }
  /** A cell-local (`AA~`) or trans-cell token: valid only in the cell named by `claims.aud`. */
  | { kind: 'cell-user'; via: 'local' | 'trans-cell'; claims: TokenClaims }
  /** A password-change token (`AP~`): good for `__mypassword` only. */
  | { kind: 'password-change'; claims: TokenClaims }
  /** A bearer token kura refuses, with the code that says why. */
  | { kind: 'bad-token'; code: PersoniumErrorCode };

const UNIT_USER_ROLES = ['UnitAdmin', 'CellContentsReader', 'CellContentsAdmin'] as const;

const BEARER_FAILURES: Record<TokenFailure, PersoniumErrorCode> = {
  parse: 'PR401-AU-0006',
  expired: 'PR401-AU-0002',
  dsig: 'PR401-AU-0006',
};

export interface PrincipalResolverOptions {
  unitUrl: string;
  masterToken: string | undefined;
  /** Cell URLs whose tokens addressed to the unit are unit user tokens (KURA_UNIT_USER_CELLS). */
  unitUserIssuers: readonly string[];
  codec: TokenCodec;
  issuerKeys: IssuerKeys;
}

export class PrincipalResolver {
  private readonly issuers: Set<string>;
  /** Opened tokens by their text, until they expire: opening costs more than the request it guards. */
  private readonly opened = new Map<string, { principal: Principal; exp: number }>();
  /** The master token's bytes, made once: it is compared on every request that carries a token. */
  private readonly masterBytes: Buffer | undefined;

  constructor(private readonly options: PrincipalResolverOptions) {
    this.issuers = new Set(options.unitUserIssuers);
    this.masterBytes = options.masterToken === undefined ? undefined : Buffer.from(options.masterToken);
  }

  /** The synchronous cases (no header, master token, wrong scheme); undefined when a token must be opened. */
  quick(authorization: string | undefined, unitUserHeader: string | undefined): Principal | undefined {
    if (authorization === undefined || authorization === '') return { kind: 'anonymous' };
    const token = bearerToken(authorization);
    if (token === undefined) return { kind: 'bad-scheme' };
    if (this.masterBytes !== undefined && bytesEqual(Buffer.from(token), this.masterBytes)) {
      return unitUserHeader ? { kind: 'unit-master', unitUser: unitUserHeader } : { kind: 'unit-master' };
    }
    const cached = this.opened.get(token);
    if (cached && cached.exp > Date.now() / 1000) return cached.principal;
    return undefined;
  }

  async resolve(authorization: string): Promise<Principal> {
    const token = bearerToken(authorization)!;
    const principal = await this.open(token);
    if (principal.kind !== 'bad-token') {
      const exp = (principal as { claims: TokenClaims }).claims.exp;
      if (this.opened.size >= 10000) this.opened.delete(this.opened.keys().next().value!);
      this.opened.set(token, { principal, exp });
    }
    return principal;
  }

  /**
   * apiref 293 p_cookie: without an Authorization header, the `p_cookie` cookie together with the
   * `p_cookie_peer` query parameter stands for the access token it was issued with.
   */
  async fromCookie(cookieHeader: string, peer: string): Promise<Principal> {
    const value = /(?:^|;\s*)p_cookie=([^;]+)/.exec(cookieHeader)?.[1];
    if (value === undefined || TokenCodec.kindOf(value) !== 'CK') return { kind: 'bad-token', code: 'PR401-AU-0006' };
    try {
      const { claims } = await this.options.codec.openSealed(value);
      const data = claims.data as { peer?: unknown; token?: unknown } | undefined;
      if (typeof data?.token !== 'string' || typeof data.peer !== 'string' || !constantTimeEquals(data.peer, peer)) {
        return { kind: 'bad-token', code: 'PR401-AU-0006' };
      }
      return this.open(data.token);
    } catch (err) {
      if (err instanceof TokenError) return { kind: 'bad-token', code: BEARER_FAILURES[err.reason] };
      throw err;
    }
  }

  /** Opens a bearer token into a principal (also used for cookie-carried tokens). */
  async open(token: string): Promise<Principal> {
    const kind = TokenCodec.kindOf(token);
    try {
      switch (kind) {
        case 'AA':
          return { kind: 'cell-user', via: 'local', claims: (await this.options.codec.openSealed(token)).claims };
        case 'AP':
          return { kind: 'password-change', claims: (await this.options.codec.openSealed(token)).claims };
        case 'AU': {
          const { claims } = await this.options.codec.openSealed(token);
          return { kind: 'unit-user', subject: claims.sub, rights: { unitAdmin: false, contents: 'admin' }, claims };
        }
        case 'RA':
          await this.options.codec.openSealed(token);
          return { kind: 'bad-token', code: 'PR401-AU-0007' };
        case 'TC': {
          const claims = await this.options.codec.verifyTransCell(token, (iss, kid) => this.options.issuerKeys.keyFor(iss, kid));
          if (claims.aud === this.options.unitUrl && this.issuers.has(claims.iss)) {
            return { kind: 'unit-user', subject: claims.sub, rights: unitUserRights(claims), claims };
          }
          return { kind: 'cell-user', via: 'trans-cell', claims };
        }
        default:
          return { kind: 'bad-token', code: 'PR401-AU-0006' };
      }
    } catch (err) {
      if (err instanceof TokenError) return { kind: 'bad-token', code: BEARER_FAILURES[err.reason] };
      throw err;
    }
  }
}

function unitUserRights(claims: TokenClaims): UnitUserRights {
  const granted = new Set(
    (claims.roles ?? []).filter((r) => r.startsWith(`${claims.iss}__role/__/`)).map((r) => r.slice(`${claims.iss}__role/__/`.length)),
  );
  const has = (r: (typeof UNIT_USER_ROLES)[number]) => granted.has(r);
  return {
    unitAdmin: has('UnitAdmin'),
    contents: has('CellContentsAdmin') ? 'admin' : has('CellContentsReader') ? 'read' : 'none',
  };
}

function bearerToken(authorization: string): string | undefined {
  const m = /^Bearer +(\S+)\s*$/i.exec(authorization);
  return m?.[1];
}

function constantTimeEquals(a: string, b: string): boolean {
  return bytesEqual(Buffer.from(a), Buffer.from(b));
}

function bytesEqual(left: Buffer, right: Buffer): boolean {
  return left.length === right.length && timingSafeEqual(left, right);
}
