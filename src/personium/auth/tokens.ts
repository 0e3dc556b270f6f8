import { randomUUID } from 'node:crypto';
import {
  EncryptJWT,
  SignJWT,
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtDecrypt,
  jwtVerify,
  type CryptoKey,
  type JWTPayload,
} from 'jose';
import { SIGNING_ALG, type UnitKeys } from './keys.js';

/**
 * The tokens kura issues. Clients treat them as opaque strings; the prefix only tells kura which
 * key opens them (Personium's AA~/RA~ naming is kept so logs read familiar).
 *
 * - `AA~` cell-local access token, `RA~` refresh token, `AP~` password-change token,
 *   `AU~` unit-local unit user token (p_owner), `CK~` p_cookie cookie value: encrypted with the
 *   unit's secret (dir + A256GCM, authenticated), readable by this unit only.
 * - trans-cell tokens: RS256-signed JWTs, verifiable by any unit with the issuer's `__certs`.
 */
export type SealedKind = 'AA' | 'RA' | 'AP' | 'AU' | 'CK';

/** Who a token speaks for and with what, common to every kind. */
export interface TokenClaims {
  /** Issuer: the cell URL (the unit URL for AU tokens). */
  iss: string;
  /** Subject: `{cellUrl}#{account}` for accounts, or the subject of a trans-cell token. */
  sub: string;
  /** Audience: the cell (or unit) the token is for. */
  aud: string;
  /** Seconds since the epoch. */
  iat: number;
  exp: number;
  jti: string;
  /** Role URLs the issuer vouches for (trans-cell tokens, and local tokens exchanged from one). */
  roles?: string[];
  /** App-authenticated client: the schema URL (client_id), and whether it is a confidential client. */
  schema?: string;
  confidential?: boolean;
  /** Refresh-token rotation family. */
  family?: string;
  /** Account entity id, for tokens of a local account. */
  aid?: string;
  /** For a local token exchanged from a trans-cell token: that token's issuer (roles come through its ExtCell). */
  orig?: string;
  /** Extra data (authorization codes carry their request). */
  data?: Record<string, unknown>;
}

export type TokenFailure = 'parse' | 'expired' | 'dsig';

export class TokenError extends Error {
  constructor(readonly reason: TokenFailure) {
    super(`token ${reason}`);
  }
}

export type OpenedToken = { kind: SealedKind; claims: TokenClaims } | { kind: 'TC'; claims: TokenClaims };

const SEALED_PREFIX = /^(AA|RA|AP|AU|CK)~/;

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

export type NewClaims = Omit<TokenClaims, 'iat' | 'exp' | 'jti'> & { lifetime: number };

function complete(c: NewClaims): TokenClaims {
  const { lifetime, ...rest } = c;
  const iat = nowSeconds();
  return { ...rest, iat, exp: iat + lifetime, jti: randomUUID() };
}

export class TokenCodec {
  constructor(private readonly keys: UnitKeys) {}

  async seal(kind: SealedKind, c: NewClaims): Promise<{ token: string; claims: TokenClaims }> {
    const claims = complete(c);
    const jwe = await new EncryptJWT(claims as unknown as JWTPayload)
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: this.keys.kid })
      .encrypt(this.keys.secret);
    return { token: `${kind}~${jwe}`, claims };
  }

  async signTransCell(c: NewClaims): Promise<{ token: string; claims: TokenClaims }> {
    const claims = complete(c);
    const token = await new SignJWT(claims as unknown as JWTPayload)
      .setProtectedHeader({ alg: SIGNING_ALG, kid: this.keys.kid, typ: 'JWT' })
      .sign(this.keys.privateKey);
    return { token, claims };
  }

  /** Opens a token this unit sealed; trans-cell tokens need `verifyTransCell`. */
  async openSealed(token: string): Promise<{ kind: SealedKind; claims: TokenClaims }> {
    const m = SEALED_PREFIX.exec(token);
    if (!m) throw new TokenError('parse');
    try {
      const { payload } = await jwtDecrypt(token.slice(3), this.keys.secret, { clockTolerance: 0 });
      return { kind: m[1] as SealedKind, claims: payload as unknown as TokenClaims };
    } catch (err) {
      throw toTokenError(err);
    }
  }

  /**
   * Verifies a trans-cell token with the issuer's key: `keyFor` gets the issuer (from the
   * unverified payload) and `kid`, and answers the key or undefined when it has none.
   */
  async verifyTransCell(
    token: string,
    keyFor: (issuer: string, kid: string | undefined) => Promise<CryptoKey | undefined>,
  ): Promise<TokenClaims> {
    let issuer: string;
    let kid: string | undefined;
    try {
      const header = decodeProtectedHeader(token);
      if (header.alg !== SIGNING_ALG) throw new TokenError('dsig');
      kid = header.kid;
      const unverified = decodeJwt(token);
      if (typeof unverified.iss !== 'string') throw new TokenError('parse');
      issuer = unverified.iss;
    } catch (err) {
      throw toTokenError(err);
    }
    const key = await keyFor(issuer, kid);
    if (!key) throw new TokenError('dsig');
    try {
      const { payload } = await jwtVerify(token, key, { algorithms: [SIGNING_ALG], clockTolerance: 0 });
      const claims = payload as unknown as TokenClaims;
      if (typeof claims.sub !== 'string' || typeof claims.aud !== 'string') throw new TokenError('parse');
      return claims;
    } catch (err) {
      throw toTokenError(err);
    }
  }

  /** The kind a token claims to be, without opening it. */
  static kindOf(token: string): SealedKind | 'TC' | undefined {
    const m = SEALED_PREFIX.exec(token);
    if (m) return m[1] as SealedKind;
    return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/.test(token) ? 'TC' : undefined;
  }
}

function toTokenError(err: unknown): TokenError {
  if (err instanceof TokenError) return err;
  if (err instanceof joseErrors.JWTExpired) return new TokenError('expired');
  if (err instanceof joseErrors.JWSSignatureVerificationFailed || err instanceof joseErrors.JWEDecryptionFailed) {
    return new TokenError('dsig');
  }
  return new TokenError('parse');
}
