import { PersoniumError } from '../../core/errors/personium-error.js';
import type { StoredEntity } from '../../store/entity-store.js';
import { authenticateClient, clientCredentials } from './client-auth.js';
import type { IssuerKeys } from './issuer-keys.js';
import type { Principal } from './principal.js';
import type { RoleResolver } from './roles.js';
import { TokenCodec, TokenError, type TokenClaims } from './tokens.js';

export interface IntrospectRequest {
  cell: StoredEntity;
  cellUrl: string;
  params: URLSearchParams;
  principal: Principal;
  authorization: string | undefined;
  codec: TokenCodec;
  issuerKeys: IssuerKeys;
  roles: RoleResolver;
}

const INACTIVE = { active: false };

/**
 * `POST {cell}/__introspect` (apiref 297, RFC 7662). Callers: unit administrators (master or unit
 * user token), or an app — by its own token or Basic `{appCellUrl}:{client secret}` — asking about
 * tokens issued to that same app. A token is active only if this cell issued it or is its audience.
 */
export async function introspect(req: IntrospectRequest): Promise<Record<string, unknown>> {
  const caller = await callerSchema(req);
  const text = req.params.get('token');
  if (text === null || text === '') throw new PersoniumError('PR400-AN-0016', ['token']);

  const kind = TokenCodec.kindOf(text);
  let claims: TokenClaims;
  try {
    if (kind === 'AA' || kind === 'RA') claims = (await req.codec.openSealed(text)).claims;
    else if (kind === 'TC') claims = await req.codec.verifyTransCell(text, (iss, kid) => req.issuerKeys.keyFor(iss, kid));
    else return INACTIVE;
  } catch (err) {
    if (err instanceof TokenError) return INACTIVE;
    throw err;
  }
  if (claims.iss !== req.cellUrl && claims.aud !== req.cellUrl) return INACTIVE;
  if (caller !== 'admin' && claims.schema !== caller) throw new PersoniumError('PR403-AU-0002');

  let roles = claims.roles ?? [];
  if (kind === 'AA' || kind === 'RA') {
    const held = await req.roles.rolesOf(req.cell, claims, 'local');
    roles = held.map((r) => r.url);
  }
  const out: Record<string, unknown> = {
    active: true,
    exp: claims.exp,
    iat: claims.iat,
    sub: claims.sub,
    aud: claims.aud,
    iss: claims.iss,
    p_roles: roles,
  };
  if (claims.schema) out.client_id = claims.schema;
  if (kind === 'RA') out.token_type = 'refresh_token';
  return out;
}

/** 'admin' for unit administrators, else the schema (app) the caller authenticated as. */
async function callerSchema(req: IntrospectRequest): Promise<'admin' | string> {
  const p = req.principal;
  if (p.kind === 'unit-master' || p.kind === 'unit-user') return 'admin';
  if (p.kind === 'cell-user' && p.claims.schema) return p.claims.schema;
  if (req.authorization !== undefined && /^basic\s/i.test(req.authorization)) {
    const client = await authenticateClient(
      clientCredentials(new URLSearchParams(), req.authorization),
      req.cellUrl,
      req.codec,
      req.issuerKeys,
    );
    if (client) return client.schema;
  }
  if (p.kind === 'anonymous') throw new PersoniumError('PR401-AU-0001');
  if (p.kind === 'bad-token') throw new PersoniumError(p.code);
  throw new PersoniumError('PR403-AU-0002');
}
