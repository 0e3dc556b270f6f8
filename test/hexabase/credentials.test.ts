import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import { call, json } from '../support/http.js';
import { API, assertHxError, hx, mails, signUp } from '../support/hexabase.js';

const lastMail = (t: TestApp, to: string) => mails(t, to).pop() ?? '';

const anon = (t: TestApp, method: string, url: string, body?: unknown) => call(t, { method, url: `${API}${url}`, as: 'anonymous', ...(body !== undefined ? { body } : {}) });
const login = (t: TestApp, email: string, password: string) => anon(t, 'POST', '/login', { email, password });

for (const backend of backends) {
  describe(`Hexabase user info, passwords and e-mail changes (userinfo/) on ${backend.name}`, { skip: backend.skip }, () => {
    let t: TestApp;
    let alice: string;
    let aliceId: string;
    before(async () => {
      t = await startTestApp(backend);
      alice = await signUp(t, 'alice@example.com', 'alice', 'Alice Inc');
      aliceId = json(await hx(t, alice, 'GET', '/userinfo')).u_id;
      await signUp(t, 'bob@example.com', 'bob', 'Bob Ltd');
    });
    after(() => t.close());

    it('renames the caller only', async () => {
      assert.deepEqual(json(await hx(t, alice, 'PUT', '/userinfo', { email: 'alice@example.com', user_id: aliceId, username: 'Alice A.' })), { error: null });
      assert.equal(json(await hx(t, alice, 'GET', '/userinfo')).username, 'Alice A.');
      const bob = json(await login(t, 'bob@example.com', 'bob-password')).token;
      assertHxError(await hx(t, bob, 'PUT', '/userinfo', { email: 'alice@example.com', user_id: aliceId, username: 'Pwned' }), 403, 'NO_PRIVILEGES');
      assertHxError(await hx(t, alice, 'PUT', '/userinfo', { user_id: aliceId, username: '' }), 400, 'INVALID_VALUE');
      assert.equal(json(await hx(t, alice, 'GET', '/userinfo')).username, 'Alice A.');
    });

    it('changes the password with the old one; other sessions end, this one stays', async () => {
      const other = json(await login(t, 'alice@example.com', 'alice-password')).token;
      assertHxError(await hx(t, alice, 'PUT', '/users/password', { old_password: 'wrong', new_password: 'alice-new-1', confirm_password: 'alice-new-1' }), 400, 'INVALID_VALUE');
      assertHxError(await hx(t, alice, 'PUT', '/users/password', { old_password: 'alice-password', new_password: 'alice-new-1', confirm_password: 'different' }), 400, 'INVALID_VALUE');
      assert.equal((await hx(t, other, 'GET', '/userinfo')).statusCode, 200, 'refusals changed nothing');
      const changed = await hx(t, alice, 'PUT', '/users/password', { old_password: 'alice-password', new_password: 'alice-new-1', confirm_password: 'alice-new-1' });
      assert.deepEqual(json(changed), { error: null });
      assert.equal((await hx(t, alice, 'GET', '/userinfo')).statusCode, 200);
      assertHxError(await hx(t, other, 'GET', '/userinfo'), 401, 'NO_PRIVILEGES');
      assert.equal((await login(t, 'alice@example.com', 'alice-new-1')).statusCode, 200);
    });

    it('resets a forgotten password through a one-time mailed link', async () => {
      assert.deepEqual(json(await anon(t, 'POST', '/users/password/forgot', { email: 'nobody@example.com' })), { valid_email: false });
      const asked = await anon(t, 'POST', '/users/password/forgot', {
        email: 'alice@example.com',
        host: 'https://myapp.example.com',
        root_path: 'pwd_reset',
        query_params: 'a=1&b=2',
      });
      assert.deepEqual(json(asked), { valid_email: true });
      const link = /https:\/\/myapp\.example\.com\/pwd_reset\/([0-9a-f]{24})\?a=1&b=2/.exec(lastMail(t, 'alice@example.com'));
      assert.ok(link, lastMail(t, 'alice@example.com'));
      const id = link[1]!;
      const first = json(await anon(t, 'GET', `/users/password/validate?id=${id}`));
      assert.deepEqual([first.id, first.accessed, first.isElapsed], [id, false, false]);
      assert.match(first.created_at, /^\d{4}-\d\d-\d\dT/);
      assert.equal(json(await anon(t, 'GET', `/users/password/validate?id=${id}`)).accessed, true);
      assertHxError(await anon(t, 'POST', '/users/password/forgot', { email: 'alice@example.com', host: 'javascript:alert(1)' }), 400, 'INVALID_VALUE');

      assertHxError(await anon(t, 'PUT', '/users/password/forgot', { id, new_password: 'reset-pass-1', confirm_password: 'nope' }), 400, 'INVALID_VALUE');
      assert.equal((await anon(t, 'PUT', '/users/password/forgot', { id, new_password: 'reset-pass-1', confirm_password: 'reset-pass-1' })).statusCode, 200);
      assertHxError(await hx(t, alice, 'GET', '/userinfo'), 401, 'NO_PRIVILEGES');
      assertHxError(await anon(t, 'PUT', '/users/password/forgot', { id, new_password: 'again-pass-1', confirm_password: 'again-pass-1' }), 400, 'INVALID_VALUE');
      assertHxError(await anon(t, 'PUT', '/users/password/forgot', { id: 'ffffffffffffffffffffffff', new_password: 'x-pass-123', confirm_password: 'x-pass-123' }), 404, 'NOT_FOUND');
      assert.equal((await login(t, 'alice@example.com', 'reset-pass-1')).statusCode, 200);
      alice = json(await login(t, 'alice@example.com', 'reset-pass-1')).token;
    });

    it('changes the e-mail address once the new mailbox confirmed it', async () => {
      assertHxError(await hx(t, alice, 'POST', '/users/email', { email: 'bob@example.com' }), 400, 'INVALID_VALUE');
      assert.deepEqual(json(await hx(t, alice, 'POST', '/users/email', { email: 'alice@new.example.com' })), { error: null });
      const id = /\/([0-9a-f]{24})\s/.exec(lastMail(t, 'alice@new.example.com'))?.[1];
      assert.ok(id);
      assertHxError(await hx(t, alice, 'POST', '/users/confirmations', { confirmation_id: id }), 400, 'INVALID_VALUE');
      const seen = json(await anon(t, 'GET', `/users/confirmations/${id}`)).user;
      assert.deepEqual([seen.email, seen.tmp_email, seen.email_confirmed, seen.isElapsed, seen.id, seen.confirmed], ['alice@example.com', 'alice@new.example.com', true, false, aliceId, true]);
      assert.equal(seen.workspace.is_root, true);
      const bob = json(await login(t, 'bob@example.com', 'bob-password')).token;
      assertHxError(await hx(t, bob, 'POST', '/users/confirmations', { confirmation_id: id }), 404, 'NOT_FOUND');
      assert.deepEqual(json(await hx(t, alice, 'POST', '/users/confirmations', { confirmation_id: id })), {});
      assert.equal(json(await hx(t, alice, 'GET', '/userinfo')).email, 'alice@new.example.com');
      assert.equal((await login(t, 'alice@new.example.com', 'reset-pass-1')).statusCode, 200);
      assertHxError(await login(t, 'alice@example.com', 'reset-pass-1'), 401, 'NO_PRIVILEGES');
      assertHxError(await hx(t, alice, 'POST', '/users/confirmations', { confirmation_id: id }), 400, 'INVALID_VALUE');
    });
  });
}
