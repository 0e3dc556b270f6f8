import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ODataResponse } from '../../odata/service.js';
import type { DavResponse } from '../dav/requests.js';

/** Query string of a request as a flat record; repeated parameters keep their first value. */
export function queryRecord(req: FastifyRequest): Record<string, string | undefined> {
  const q = req.query as Record<string, string | string[] | undefined>;
  // Most query strings repeat nothing: then the parsed object is the record (nobody writes to it).
  for (const k in q) {
    if (Array.isArray(q[k])) {
      const out: Record<string, string | undefined> = {};
      for (const [key, v] of Object.entries(q)) out[key] = Array.isArray(v) ? v[0] : v;
      return out;
    }
  }
  return q as Record<string, string | undefined>;
}

/** The path after `prefix`, still percent-encoded and without the query string. */
export function pathAfter(req: FastifyRequest, prefix: string): string {
  const url = req.url;
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  return path.slice(prefix.length);
}

export function headerValue(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

export function bodyOf(req: FastifyRequest): Buffer | undefined {
  return Buffer.isBuffer(req.body) ? req.body : undefined;
}

/**
 * Puts the status and headers of `res` on the reply and gives its body, for the handler to return
 * (Fastify sends it). A handler returning the reply itself would have its promise adopt the reply,
 * which is thenable, and so wait for the response's end through stream listeners on every request.
 */
export function answer(reply: FastifyReply, res: ODataResponse | DavResponse): DavResponse['body'] {
  reply.code(res.status);
  if (res.headers) reply.headers(res.headers);
  return res.body;
}
