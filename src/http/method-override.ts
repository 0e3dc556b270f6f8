import type { IncomingMessage } from 'node:http';

/**
 * Applies Personium's override headers before routing (apiref 100, request headers):
 * - `X-HTTP-Method-Override` on a POST replaces the method (for clients limited to GET/POST);
 * - each `X-Override: Name: value` replaces one request header; several may be sent.
 * Returns false when an override header is malformed so the caller can answer 400.
 */
export function applyOverrides(req: IncomingMessage): boolean {
  let ok = true;
  const overrides = overrideHeaders(req);
  for (const entry of overrides) {
    const colon = entry.indexOf(':');
    const name = colon > 0 ? entry.slice(0, colon).trim().toLowerCase() : '';
    if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) {
      ok = false;
      continue;
    }
    req.headers[name] = entry.slice(colon + 1).trim();
  }
  const method = req.headers['x-http-method-override'];
  if (req.method === 'POST' && typeof method === 'string' && method.trim() !== '') {
    const upper = method.trim().toUpperCase();
    if (/^[A-Z]+$/.test(upper)) req.method = upper;
    else ok = false;
  }
  return ok;
}

/** Every `X-Override` header separately; rawHeaders keeps repeats apart where joined values would merge them. */
function overrideHeaders(req: IncomingMessage): string[] {
  const out: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.toLowerCase() === 'x-override') out.push(raw[i + 1]!);
  }
  return out;
}
