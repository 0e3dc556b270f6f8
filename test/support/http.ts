import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import assert from 'node:assert/strict';
import type { TestApp } from './backends.js';
import { MASTER_TOKEN } from './backends.js';

export interface Call {
  method?: string;
  url: string;
  headers?: Record<string, string | string[]>;
  body?: unknown;
  /** Send as the unit master (default) or as nobody/someone else. */
  as?: 'master' | 'anonymous' | string;
}

/** One in-process HTTP request against the real app (fastify.inject). */
export async function call(t: TestApp, c: Call): Promise<LightMyRequestResponse> {
  const headers: Record<string, string | string[]> = { ...(c.headers ?? {}) };
  const as = c.as ?? 'master';
  if (as === 'master') headers.authorization ??= `Bearer ${MASTER_TOKEN}`;
  else if (as !== 'anonymous') headers.authorization ??= `Bearer ${as}`;
  const opts: InjectOptions = { method: (c.method ?? 'GET') as InjectOptions['method'], url: c.url, headers };
  if (c.body !== undefined) opts.payload = typeof c.body === 'string' || Buffer.isBuffer(c.body) ? c.body : JSON.stringify(c.body);
  return t.app.http.inject(opts);
}

export function json(res: LightMyRequestResponse): any {
  return JSON.parse(res.body);
}

/** Cell names currently on the unit, for "nothing changed" assertions. */
export async function cellNames(t: TestApp): Promise<string[]> {
  const res = await call(t, { url: '/__ctl/Cell?$top=10000&$orderby=Name' });
  return json(res).d.results.map((c: { Name: string }) => c.Name);
}

/** A Personium error answer: the status and the documented code. */
export function assertCode(res: LightMyRequestResponse, status: number, code: string): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(json(res).code, code);
}

/** MKCOL's body for an OData service collection (apiref 306). */
export const MKCOL_ODATA =
  '<?xml version="1.0" encoding="utf-8"?><D:mkcol xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><D:resourcetype><D:collection/><p:odata/></D:resourcetype></D:prop></D:set></D:mkcol>';

export async function mkcolOData(t: TestApp, url: string): Promise<void> {
  const made = await call(t, { method: 'MKCOL', url, body: MKCOL_ODATA, headers: { 'content-type': 'application/xml' } });
  assert.equal(made.statusCode, 201, made.body);
}
