import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import type { TestApp } from './backends.js';
import { call, json } from './http.js';

export const API = '/api/v0';

export function assertHxError(res: LightMyRequestResponse, status: number, code: string): void {
  assert.equal(res.statusCode, status, res.body);
  const body = json(res);
  assert.equal(body.error_code, code, res.body);
  assert.equal(typeof body.error, 'string');
}

/** A Hexabase user through the documented sign-up (UserRegistration → RegisterUser); returns its token. */
export async function signUp(t: TestApp, email: string, username: string, workspace?: string): Promise<string> {
  const started = await call(t, {
    method: 'POST',
    url: `${API}/users/registration`,
    body: { email, username, registration_domain: 'example.com', hostname: 'app.example.com' },
    as: 'anonymous',
  });
  assert.equal(started.statusCode, 200, started.body);
  const done = await call(t, {
    method: 'POST',
    url: `${API}/users/registration/confirm`,
    body: { confirmation_id: json(started).confirmation_id, email, password: `${username}-password`, ...(workspace ? { workspace } : {}) },
    as: 'anonymous',
  });
  assert.equal(done.statusCode, 200, done.body);
  return json(done).token as string;
}

/** A logged-in request of the Hexabase dialect. */
export function hx(t: TestApp, token: string, method: string, path: string, body?: unknown): Promise<LightMyRequestResponse> {
  return call(t, { method, url: `${API}${path}`, as: token, ...(body !== undefined ? { body } : {}) });
}

/** The mails kura wrote to its outbox (the default Mailer), oldest first; only those to `to` if given. */
export function mails(t: TestApp, to?: string): string[] {
  const dir = path.join(t.dataDir, 'outbox');
  if (!fs.existsSync(dir)) return [];
  const all = fs.readdirSync(dir).filter((f) => f.endsWith('.eml')).sort().map((f) => fs.readFileSync(path.join(dir, f), 'utf8'));
  return to === undefined ? all : all.filter((m) => m.includes(`To: ${to}\r\n`));
}

/**
 * A member added by an administrator the documented way (AddUser → UserInvite → RegisterUser);
 * returns the new member's token.
 */
export async function addMember(t: TestApp, adminToken: string, email: string, username: string, groupRef: string): Promise<string> {
  const added = await hx(t, adminToken, 'POST', '/users', { email, g_id: groupRef, username });
  assert.equal(added.statusCode, 200, added.body);
  const invited = await hx(t, adminToken, 'POST', '/userinvite', { users: [{ email }], domain: 'app.example.com' });
  assert.deepEqual(json(invited), [{ email, stats: 200 }]);
  const confirmation_id = /\?id=([0-9a-f]{24})/.exec(mails(t, email).pop() ?? '')?.[1];
  const done = await call(t, {
    method: 'POST',
    url: `${API}/users/registration/confirm`,
    body: { confirmation_id, email, password: `${username}-password` },
    as: 'anonymous',
  });
  assert.equal(done.statusCode, 200, done.body);
  return json(done).token as string;
}

/**
 * The two tenants most Hexabase tests start from: Alice (with her workspace "Alice Inc") and Bob
 * (with "Bob Ltd"), each administering only their own.
 */
export async function twoTenants(t: TestApp): Promise<{ alice: string; bob: string; aliceWorkspace: string }> {
  const alice = await signUp(t, 'alice@example.com', 'alice', 'Alice Inc');
  const bob = await signUp(t, 'bob@example.com', 'bob', 'Bob Ltd');
  const aliceWorkspace = json(await hx(t, alice, 'GET', '/userinfo')).current_workspace_id as string;
  return { alice, bob, aliceWorkspace };
}
