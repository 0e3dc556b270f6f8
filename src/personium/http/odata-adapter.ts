import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ODataResponse } from '../../odata/service.js';

/** Query string of a request as a flat record; repeated parameters keep their first value. */
export function queryRecord(req: FastifyRequest): Record<string, string | undefined> {
  const q = req.query as Record<string, string | string[] | undefined>;
  const out: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(q)) out[k] = Array.isArray(v) ? v[0] : v;
  return out;
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

export function sendOData(reply: FastifyReply, res: ODataResponse): FastifyReply {
  reply.code(res.status);
  if (res.headers) reply.headers(res.headers);
  return res.body === undefined ? reply.send() : reply.send(res.body);
}
