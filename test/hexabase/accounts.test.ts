import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import { call, json } from '../support/http.js';
import { sleep } from '../support/auth.js';
import { API, assertHxError, mails } from '../support/hexabase.js';

/** The confirmation links mailed so far. */
const mailedLinks = (t: TestApp) => mails(t).map((m) => /https?:\/\/\S+/.exec(m)?.[0] ?? '');

const register = (t: TestApp, body: unknown) => call(t, { method: 'POST', url: `${API}/users/registration`, body, as: 'anonymous' });
const complete = (t: TestApp, body: unknown) => call(t, { method: 'POST', url: `${API}/users/registration/confirm`, body, as: 'anonymous' });
const login = (t: TestApp, email: string, password: string) => call(t, { method: 'POST', url: `${API}/login`, body: { email, password }, as: 'anonymous' });

for (const backend of backends) {
  describe(`Hexabase accounts (login/, user-registration/, userinfo/) on ${backend.name}`, { skip: backend.skip }, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(backend);
    });
    after(() => t.close());

    it('registers a first user by mail confirmation, creating a workspace it administers, and logs it in', async () => {
      const started = await register(t, { email: 'alice@example.com', username: 'Alice', registration_domain: 'example.com', hostname: 'app.example.com', protocol: 'https' });
      assert.equal(started.statusCode, 200, started.body);
      const { confirmation_id, email, status } = json(started);
      assert.match(confirmation_id, /^[0-9a-f]{24}$/);
      assert.deepEqual([email, status], ['alice@example.com', 200]);
      assert.deepEqual(mailedLinks(t), [`https://app.example.com/confirm_email?id=${confirmation_id}`]);

      const confirmed = json(await call(t, { url: `${API}/users/registration/confirm?id=${confirmation_id}`, as: 'anonymous' }));
      assert.equal(confirmed.user.confirmation_id, confirmation_id);
      assert.deepEqual([confirmed.user.email, confirmed.user.username, confirmed.user.confirmed, confirmed.user.isElapsed], ['alice@example.com', 'Alice', false, false]);
      assert.match(confirmed.user.id, /^[0-9a-f]{24}$/);
      assert.equal(json(await call(t, { url: `${API}/users/registration/confirm?id=${confirmation_id}`, as: 'anonymous' })).user.confirmed, true);

      const done = await complete(t, { confirmation_id, email: 'alice@example.com', password: 'alice-pass-1', workspace: 'Team A' });
      assert.equal(done.statusCode, 200, done.body);
      const token = json(done).token as string;
      const info = json(await call(t, { url: `${API}/userinfo`, as: token }));
      assert.deepEqual(Object.keys(info).sort(), ['current_workspace_id', 'email', 'is_ws_admin', 'profile_pic', 'u_id', 'user_groups', 'user_roles', 'username']);
      assert.deepEqual([info.u_id, info.username, info.email, info.is_ws_admin, info.user_roles], [confirmed.user.id, 'Alice', 'alice@example.com', true, []]);
      assert.match(info.current_workspace_id, /^[0-9a-f]{24}$/);
      assert.equal(info.user_groups.length, 1);
      assert.equal(info.user_groups[0].group_name, 'Team A');

      // The registration is spent; the address is taken.
      assertHxError(await complete(t, { confirmation_id, email: 'alice@example.com', password: 'alice-pass-2' }), 400, 'INVALID_VALUE');
      assertHxError(await register(t, { email: 'ALICE@example.com', username: 'Again', registration_domain: 'x', hostname: 'y' }), 400, 'INVALID_VALUE');

      const second = await login(t, 'alice@example.com', 'alice-pass-1');
      assert.equal(second.statusCode, 200, second.body);
      assert.notEqual(json(second).token, token);
    });

    it('refuses bad registrations and completions, storing nothing', async () => {
      const before = mailedLinks(t).length;
      for (const body of [
        {},
        { email: 'not-an-address', username: 'x', registration_domain: 'd', hostname: 'h' },
        { email: 'bob@example.com', registration_domain: 'd', hostname: 'h' },
        { email: 'bob@example.com', username: 'Bob' },
        { email: 'bob@example.com', username: 'Bob', registration_domain: 'd', hostname: 'h', additional_info: 'flat' },
      ]) {
        const res = await register(t, body);
        assert.equal(res.statusCode, 400, `${JSON.stringify(body)} → ${res.body}`);
      }
      assertHxError(await register(t, '[1,2]'), 400, 'INVALID_PARAMS');
      assertHxError(await register(t, '{"email":'), 400, 'INVALID_PARAMS');
      assert.equal(mailedLinks(t).length, before, 'no mail for a refused registration');

      const { confirmation_id } = json(await register(t, { email: 'bob@example.com', username: 'Bob', registration_domain: 'd', hostname: 'h' }));
      assertHxError(await complete(t, { confirmation_id: 'ffffffffffffffffffffffff', email: 'bob@example.com', password: 'bob-pass-1' }), 404, 'NOT_FOUND');
      assertHxError(await complete(t, { confirmation_id, email: 'eve@example.com', password: 'bob-pass-1' }), 400, 'INVALID_VALUE');
      assertHxError(await complete(t, { confirmation_id, email: 'bob@example.com', password: 'short' }), 400, 'INVALID_VALUE');
      assertHxError(await call(t, { url: `${API}/users/registration/confirm`, as: 'anonymous' }), 400, 'INVALID_PARAMS');
      assertHxError(await login(t, 'bob@example.com', 'bob-pass-1'), 401, 'NO_PRIVILEGES');
      // Still usable after the refusals.
      assert.equal((await complete(t, { confirmation_id, email: 'bob@example.com', password: 'bob-pass-1' })).statusCode, 200);
    });

    it('needs a live token: none, unknown, or logged out is 401; a wrong password pauses the account', async () => {
      assertHxError(await call(t, { url: `${API}/userinfo`, as: 'anonymous' }), 401, 'NO_PRIVILEGES');
      assertHxError(await call(t, { url: `${API}/userinfo`, as: 'not-a-token' }), 401, 'NO_PRIVILEGES');
      // The unit master token is a Personium credential, not a Hexabase session.
      assertHxError(await call(t, { url: `${API}/userinfo` }), 401, 'NO_PRIVILEGES');

      const token = json(await login(t, 'bob@example.com', 'bob-pass-1')).token as string;
      assert.equal((await call(t, { url: `${API}/userinfo`, as: token })).statusCode, 200);
      const out = await call(t, { method: 'POST', url: `${API}/users/logout`, as: token });
      assert.equal(out.statusCode, 200);
      assert.equal(out.body, 'null');
      assertHxError(await call(t, { url: `${API}/userinfo`, as: token }), 401, 'NO_PRIVILEGES');

      assertHxError(await login(t, 'bob@example.com', 'wrong-password'), 401, 'NO_PRIVILEGES');
      // Right password within the pause after a failure: refused the same way.
      assertHxError(await login(t, 'bob@example.com', 'bob-pass-1'), 401, 'NO_PRIVILEGES');
      await sleep(1100);
      assert.equal((await login(t, 'bob@example.com', 'bob-pass-1')).statusCode, 200);
      assertHxError(await login(t, 'nobody@example.com', 'whatever-1'), 401, 'NO_PRIVILEGES');
    });

    it('answers unknown API paths in the Hexabase shape', async () => {
      assertHxError(await call(t, { url: `${API}/no/such/api`, as: 'anonymous' }), 404, 'NOT_FOUND');
      assertHxError(await call(t, { method: 'DELETE', url: `${API}/login`, as: 'anonymous' }), 404, 'NOT_FOUND');
    });
  });
}
