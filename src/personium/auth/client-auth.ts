import { PersoniumError, type PersoniumErrorCode } from '../../core/errors/personium-error.js';
import type { IssuerKeys } from './issuer-keys.js';
import { TokenError, type TokenCodec, type TokenFailure } from './tokens.js';

/** An app that authenticated itself (app_authn.md): its schema URL, and whether it is confidential. */
export interface AuthenticatedClient {
  schema: string;
  confidential: boolean;
}

/** The client credentials a token request carries, wherever they came from. */
export interface ClientCredentials {
  id: string | undefined;
  secret: string | undefined;
}

/** apiref 293: the one client_assertion_type Personium accepts. */
export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:grant-type:saml2-bearer';

/** personium-core answers a bad signature with AN-0011 (AN-0005 is catalogued but never raised). */
const SECRET_FAILURES: Record<TokenFailure, PersoniumErrorCode> = {
  parse: 'PR400-AN-0003',
  expired: 'PR400-AN-0004',
  dsig: 'PR400-AN-0011',
};

/**
 * Where the client credentials are (apiref 293): `client_assertion` wins over the Authorization
 * header, which wins over `client_id`/`client_secret` in the body.
 */
export function clientCredentials(params: URLSearchParams, authorization: string | undefined): ClientCredentials {
  const assertionType = params.get('client_assertion_type');
  const assertion = params.get('client_assertion');
  if (assertionType !== null || assertion !== null) {
    if (assertionType !== CLIENT_ASSERTION_TYPE) throw new PersoniumError('PR400-AN-0022', [CLIENT_ASSERTION_TYPE]);
    if (!assertion) throw new PersoniumError('PR400-AN-0016', ['client_assertion']);
    return { id: params.get('client_id') ?? undefined, secret: assertion };
  }
  if (authorization !== undefined && authorization !== '') {
    // On the token endpoint the Authorization header carries client credentials only (a Bearer token is an error).
    if (!/^basic\s/i.test(authorization)) throw new PersoniumError('PR400-AN-0018');
    const decoded = Buffer.from(authorization.replace(/^basic\s+/i, '').trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw new PersoniumError('PR400-AN-0018');
    try {
      // RFC 6749 §2.3.1: both halves are form-urlencoded before they are joined.
      return { id: decodeForm(decoded.slice(0, colon)), secret: decodeForm(decoded.slice(colon + 1)) };
    } catch {
      throw new PersoniumError('PR400-AN-0018');
    }
  }
  return { id: params.get('client_id') ?? undefined, secret: params.get('client_secret') ?? undefined };
}

function decodeForm(s: string): string {
  return decodeURIComponent(s.replace(/\+/g, ' '));
}

/**
 * Checks a client secret: a trans-cell token that the app's cell (client_id) issued for this cell.
 * With client_assertion and no client_id, the assertion's issuer is the client.
 */
export async function authenticateClient(
  creds: ClientCredentials,
  cellUrl: string,
  codec: TokenCodec,
  issuerKeys: IssuerKeys,
): Promise<AuthenticatedClient | undefined> {
  if (creds.id === undefined && creds.secret === undefined) return undefined;
  // A client_id alone is an attempt at client authentication without its secret.
  if (!creds.secret) throw new PersoniumError('PR400-AN-0003');
  let claims;
  try {
    claims = await codec.verifyTransCell(creds.secret, (iss, kid) => issuerKeys.keyFor(iss, kid));
  } catch (err) {
    if (err instanceof TokenError) throw new PersoniumError(SECRET_FAILURES[err.reason], [], { cause: err });
    throw err;
  }
  const schema = creds.id ?? claims.iss;
  if (claims.iss !== schema) throw new PersoniumError('PR400-AN-0006');
  if (claims.aud !== cellUrl) throw new PersoniumError('PR400-AN-0007');
  return { schema, confidential: (claims.roles ?? []).includes(`${schema}__role/__/confidentialClient`) };
}

