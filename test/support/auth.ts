import assert from 'node:assert/strict';
import net from 'node:net';
import type { LightMyRequestResponse } from 'fastify';
import type { TestApp } from './backends.js';
import { call, json } from './http.js';

/** POSTs a form to `/{cell}/{endpoint}` as nobody in particular (the form carries the credentials). */
export function postForm(
  t: TestApp,
  cell: string,
  endpoint: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return call(t, {
    method: 'POST',
    url: `/${cell}/${endpoint}`,
    as: 'anonymous',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

export async function createCell(t: TestApp, name: string): Promise<void> {
  const res = await call(t, { method: 'POST', url: '/__ctl/Cell', body: { Name: name } });
  assert.equal(res.statusCode, 201, res.body);
}

export async function createAccount(t: TestApp, cell: string, name: string, password?: string, extra: Record<string, unknown> = {}) {
  const res = await call(t, {
    method: 'POST',
    url: `/${cell}/__ctl/Account`,
    body: { Name: name, ...extra },
    ...(password ? { headers: { 'x-personium-credential': password } } : {}),
  });
  assert.equal(res.statusCode, 201, res.body);
}

/** POST to a cell's control objects as the unit master; asserts the expected status. */
export async function ctlPost(t: TestApp, cell: string, path: string, body: unknown, status = 201): Promise<void> {
  const res = await call(t, { method: 'POST', url: `/${cell}/__ctl/${path}`, body });
  assert.equal(res.statusCode, status, `${path}: ${res.body}`);
}

/** A successful token response's JSON. */
export async function token(t: TestApp, cell: string, form: Record<string, string>): Promise<Record<string, any>> {
  const res = await postForm(t, cell, '__token', form);
  assert.equal(res.statusCode, 200, res.body);
  return json(res);
}

export function passwordGrant(username: string, password: string, extra: Record<string, string> = {}) {
  return { grant_type: 'password', username, password, ...extra };
}

/** Asserts an OAuth-style error from the token endpoint. */
export function assertOAuthError(res: LightMyRequestResponse, status: number, error: string, code: string): void {
  assert.equal(res.statusCode, status, res.body);
  const body = json(res);
  assert.equal(body.error, error);
  assert.equal(body.code, code);
  assert.ok(String(body.error_description).startsWith(`[${code}] - `), body.error_description);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A TCP port nothing listens on right now (for a server whose unit URL must name its port). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
