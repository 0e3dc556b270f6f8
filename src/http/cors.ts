/** Every method kura's Personium routes understand; sent on preflights (apiref 002). */
export const SUPPORTED_METHODS = [
  'OPTIONS', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'MERGE', 'PATCH',
  'MKCOL', 'PROPFIND', 'PROPPATCH', 'ACL', 'MOVE', 'COPY', 'REPORT',
] as const;

/** Headers a browser may read from responses (request key, ETag, Location for creates). */
const EXPOSED = 'Content-Type, Content-Length, ETag, Location, DataServiceVersion, X-Personium-RequestKey, X-Personium-Version';

export function corsHeaders(): Record<string, string> {
  // apiref 002: Access-Control-Allow-Origin is always `*`.
  return { 'access-control-allow-origin': '*', 'access-control-expose-headers': EXPOSED };
}

/**
 * Preflight answer (apiref 002): the methods, and the requested headers echoed back.
 * kura answers with every method it supports; per-resource narrowing needs the ACL of issue 4.
 */
export function preflightHeaders(requestedHeaders: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {
    ...corsHeaders(),
    'access-control-allow-methods': SUPPORTED_METHODS.join(', '),
    'access-control-max-age': '600',
  };
  if (requestedHeaders) headers['access-control-allow-headers'] = requestedHeaders;
  return headers;
}
