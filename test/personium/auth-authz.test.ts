import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import { call, json } from '../support/http.js';
import { assertOAuthError, createAccount, createCell, ctlPost, passwordGrant, postForm, sleep, token } from '../support/auth.js';

const A = 'http://unit.test/a/';
const APP = 'http://unit.test/app/';
const REDIRECT = `${APP}__/redirect.html`;

function authzQuery(extra: Record<string, string> = {}): string {
  return new URLSearchParams({ response_type: 'code', client_id: APP, redirect_uri: REDIRECT, state: 's-123', ...extra }).toString();
}

/** The parameters a 303 hands to the client, from the query (code) or the fragment (token). */
function handedOver(location: string, part: 'query' | 'fragment'): URLSearchParams {
  const url = new URL(location);
  return new URLSearchParams(part === 'query' ? url.search : url.hash.slice(1));
}

for (const backend of backends) {
  describe(`OAuth 2.0 authorization endpoint (apiref 292, 292p) on ${backend.name}`, { skip: backend.skip }, () => {
    let t: TestApp;
    let secret: string;
    before(async () => {
      t = await startTestApp(backend);
      for (const cell of ['a', 'app']) await createCell(t, cell);
      await createAccount(t, 'a', 'alice', 'alice-pw1');
      await createAccount(t, 'a', 'newbie', 'initial-1', { Status: 'passwordChangeRequired' });
      await createAccount(t, 'app', 'appuser', 'app-pw-1');
      await ctlPost(t, 'a', 'Box', { Name: 'appbox', Schema: APP });
      secret = (await token(t, 'app', passwordGrant('appuser', 'app-pw-1', { p_target: A }))).access_token;
    });
    after(() => t.close());

    it('GET shows a login form that carries the request along, framed by nobody', async () => {
      const res = await call(t, { url: `/a/__authz?${authzQuery()}`, as: 'anonymous' });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/html/);
      assert.equal(res.headers['x-frame-options'], 'DENY');
      assert.match(String(res.headers['content-security-policy']), /frame-ancestors 'none'/);
      assert.match(res.body, /<form method="post" action="http:\/\/unit\.test\/a\/__authz">/);
      assert.match(res.body, /name="username"/);
      assert.match(res.body, /name="state" value="s-123"/);
      assert.match(res.body, new RegExp(`name="redirect_uri" value="${REDIRECT.replace(/[./]/g, '\\$&')}"`));
    });

    it('escapes what it echoes', async () => {
      const res = await call(t, { url: `/a/__authz?${authzQuery({ state: '"><script>x</script>' })}`, as: 'anonymous' });
      assert.equal(res.statusCode, 200);
      assert.ok(!res.body.includes('<script>'));
    });

    it('sends bad client_id / redirect_uri to the cell error page, never to the redirect', async () => {
      const cases: [Record<string, string>, string][] = [
        [{ client_id: '' }, 'PR400-AZ-0002'],
        [{ client_id: 'not a url' }, 'PR400-AZ-0002'],
        [{ client_id: A }, 'PR400-AZ-0002'],
        [{ redirect_uri: 'https://evil.example/steal' }, 'PR400-AZ-0003'],
        [{ redirect_uri: `${REDIRECT}#frag` }, 'PR400-AZ-0003'],
        [{ redirect_uri: '' }, 'PR400-AZ-0003'],
      ];
      for (const [extra, code] of cases) {
        const res = await call(t, { url: `/a/__authz?${authzQuery(extra)}`, as: 'anonymous' });
        assert.equal(res.statusCode, 303, JSON.stringify(extra));
        assert.equal(res.headers.location, `${A}__html/error?code=${code}`);
      }
      const page = await call(t, { url: '/a/__html/error?code=PR400-AZ-0003', as: 'anonymous' });
      assert.equal(page.statusCode, 400);
      assert.match(page.body, /redirect_uri/);
    });

    it('reports other parameter errors to the client with state and code', async () => {
      const cases: [Record<string, string>, string, string, 'query' | 'fragment'][] = [
        [{ response_type: '' }, 'invalid_request', 'PR400-AZ-0004', 'fragment'],
        [{ response_type: 'magic' }, 'unsupported_response_type', 'PR400-AZ-0001', 'fragment'],
        [{ response_type: 'token', expires_in: '9999' }, 'invalid_request', 'PR400-AZ-0008', 'fragment'],
        [{ code_challenge: 'short', code_challenge_method: 'S256' }, 'invalid_request', 'PR400-AZ-0008', 'query'],
        [{ code_challenge: 'x'.repeat(43), code_challenge_method: 'plain' }, 'invalid_request', 'PR400-AZ-0008', 'query'],
      ];
      for (const [extra, error, code, part] of cases) {
        const res = await call(t, { url: `/a/__authz?${authzQuery(extra)}`, as: 'anonymous' });
        assert.equal(res.statusCode, 303, JSON.stringify(extra));
        const location = String(res.headers.location);
        assert.ok(location.startsWith(REDIRECT), location);
        const params = handedOver(location, part);
        assert.equal(params.get('error'), error);
        assert.equal(params.get('code'), code);
        assert.equal(params.get('state'), 's-123');
      }
    });

    it('implicit flow: the right password redirects with a token in the fragment', async () => {
      const form = { response_type: 'token', client_id: APP, redirect_uri: REDIRECT, state: 'st', username: 'alice', password: 'alice-pw1' };
      const res = await postForm(t, 'a', '__authz', form);
      assert.equal(res.statusCode, 303, res.body);
      const params = handedOver(String(res.headers.location), 'fragment');
      assert.equal(params.get('token_type'), 'Bearer');
      assert.equal(params.get('expires_in'), '3600');
      assert.equal(params.get('state'), 'st');
      assert.equal(params.get('box_not_installed'), null);
      const info = json(await postForm(t, 'a', '__introspect', { token: params.get('access_token')! }, { authorization: 'Bearer test-master-token' }));
      assert.equal(info.active, true);
      assert.equal(info.client_id, APP);
      assert.equal(info.sub, `${A}#alice`);
    });

    it('a wrong password, missing fields or cancel come back as documented', async () => {
      await sleep(1100);
      const base = { response_type: 'code', client_id: APP, redirect_uri: REDIRECT, state: 'st' };
      const wrong = await postForm(t, 'a', '__authz', { ...base, username: 'alice', password: 'nope-nope' });
      assert.equal(wrong.statusCode, 303);
      const back = new URL(String(wrong.headers.location));
      assert.equal(`${back.origin}${back.pathname}`, `${A}__authz`);
      assert.equal(back.searchParams.get('error'), 'invalid_grant');
      assert.equal(back.searchParams.get('client_id'), APP);
      assert.equal(back.searchParams.get('state'), 'st');
      const empty = await postForm(t, 'a', '__authz', { ...base, username: 'alice' });
      assert.equal(new URL(String(empty.headers.location)).searchParams.get('error'), 'invalid_request');
      const cancel = await postForm(t, 'a', '__authz', { ...base, cancel_flg: 'true' });
      const params = handedOver(String(cancel.headers.location), 'query');
      assert.equal(params.get('error'), 'unauthorized_client');
      assert.equal(params.get('code'), 'PR401-AZ-0001');
      await sleep(1100);
    });

    it('code flow with PKCE: one code, one exchange, by the right client with the right verifier', async () => {
      const verifier = randomBytes(32).toString('base64url');
      const challenge = createHash('sha256').update(verifier).digest('base64url');
      const form = {
        response_type: 'code',
        client_id: APP,
        redirect_uri: REDIRECT,
        state: 'st2',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        username: 'alice',
        password: 'alice-pw1',
      };
      const res = await postForm(t, 'a', '__authz', form);
      assert.equal(res.statusCode, 303, res.body);
      const params = handedOver(String(res.headers.location), 'query');
      assert.equal(params.get('state'), 'st2');
      const code = params.get('code')!;
      assert.ok(code);
      assertOAuthError(await postForm(t, 'a', '__token', { grant_type: 'authorization_code', code }), 400, 'invalid_client', 'PR400-AN-0021');
      const exchanged = await token(t, 'a', { grant_type: 'authorization_code', code, client_id: APP, client_secret: secret, code_verifier: verifier });
      assert.match(exchanged.access_token, /^AA~/);
      assert.ok(exchanged.refresh_token);
      // Single use.
      assertOAuthError(
        await postForm(t, 'a', '__token', { grant_type: 'authorization_code', code, client_id: APP, client_secret: secret, code_verifier: verifier }),
        400,
        'invalid_grant',
        'PR400-AN-0019',
      );
      // A code asked for with a challenge needs its verifier.
      const second = handedOver(String((await postForm(t, 'a', '__authz', form)).headers.location), 'query').get('code')!;
      assertOAuthError(
        await postForm(t, 'a', '__token', { grant_type: 'authorization_code', code: second, client_id: APP, client_secret: secret, code_verifier: 'x'.repeat(43) }),
        400,
        'invalid_grant',
        'PR400-AN-0019',
      );
    });

    it('a password-change-required account is sent to change its password first', async () => {
      const base = { response_type: 'token', client_id: APP, redirect_uri: REDIRECT };
      const res = await postForm(t, 'a', '__authz', { ...base, username: 'newbie', password: 'initial-1' });
      const back = new URL(String(res.headers.location));
      assert.equal(back.searchParams.get('password_change_required'), 'true');
      assert.equal(back.searchParams.get('code'), 'PR401-AN-0023');
      const ap = back.searchParams.get('access_token')!;
      assert.match(ap, /^AP~/);
      const tooShort = await postForm(t, 'a', '__authz', { ...base, access_token: ap, password: 'x' });
      assert.equal(tooShort.statusCode, 400);
      const done = await postForm(t, 'a', '__authz', { ...base, access_token: ap, password: 'brand-new-1' });
      assert.equal(done.statusCode, 303);
      assert.ok(handedOver(String(done.headers.location), 'fragment').get('access_token'));
      assert.equal(json(await call(t, { url: "/a/__ctl/Account('newbie')" })).d.results.Status, 'active');
    });

    it('flags an app whose box is not installed in the cell', async () => {
      await createCell(t, 'c');
      await createAccount(t, 'c', 'carol', 'carol-pw1');
      const res = await postForm(t, 'c', '__authz', { response_type: 'token', client_id: APP, redirect_uri: REDIRECT, username: 'carol', password: 'carol-pw1' });
      assert.equal(handedOver(String(res.headers.location), 'fragment').get('box_not_installed'), 'true');
    });

    it('the implicit flow can be switched off per unit (KURA_IMPLICIT_FLOW=false)', async () => {
      const off = await startTestApp(backend, { KURA_IMPLICIT_FLOW: 'false' });
      try {
        await createCell(off, 'a');
        const res = await call(off, { url: `/a/__authz?${authzQuery({ response_type: 'token' })}`, as: 'anonymous' });
        assert.equal(handedOver(String(res.headers.location), 'fragment').get('error'), 'unsupported_response_type');
      } finally {
        await off.close();
      }
    });
  });
}
