import { timingSafeEqual } from 'node:crypto';

/**
 * Who is calling, resolved once per request from the Authorization header.
 * Issue 3 adds cell-local, trans-cell and unit-user token principals.
 */
export type Principal =
  | { kind: 'anonymous' }
  | { kind: 'unit-master' }
  /** A bearer token kura could not attribute to anyone with unit rights. */
  | { kind: 'unrecognised-token' }
  /** An Authorization header that is not a Bearer token. */
  | { kind: 'bad-scheme' };

export function resolvePrincipal(authorization: string | undefined, masterToken: string | undefined): Principal {
  if (authorization === undefined || authorization === '') return { kind: 'anonymous' };
  const m = /^Bearer +(\S+)\s*$/i.exec(authorization);
  if (!m) return { kind: 'bad-scheme' };
  if (masterToken !== undefined && constantTimeEquals(m[1]!, masterToken)) return { kind: 'unit-master' };
  return { kind: 'unrecognised-token' };
}

function constantTimeEquals(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
