import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import { call, json } from '../support/http.js';
import {
  assertOAuthError,
  createAccount,
  createCell,
  ctlPost,
  passwordGrant,
  postForm,
  sleep,
  token,
} from '../support/auth.js';

const A = 'http://unit.test/a/';
const B = 'http://unit.test/b/';

/** A token with one character of its signature or ciphertext changed. */
function tamper(tok: string): string {
  const i = tok.length - 5;
  return tok.slice(0, i) + (tok[i] === 'A' ? 'B' : 'A') + tok.slice(i + 1);
}

async function introspect(t: TestApp, cell: string, tok: string): Promise<Record<string, any>> {
  const res = await postForm(t, cell, '__introspect', { token: tok }, { authorization: 'Bearer test-master-token' });
  assert.equal(res.statusCode, 200, res.body);
  return json(res);
}

for (const backend of backends) {
  describe(`OAuth 2.0 token endpoint (apiref 293) on ${backend.name}`, { skip: backend.skip }, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(backend, { KURA_AUTH_LOCK_COUNT: '3', KURA_AUTH_LOCK_SECONDS: '3600' });
      for (const cell of ['a', 'b', 'app']) await createCell(t, cell);
      await createAccount(t, 'a', 'alice', 'alice-pw1');
      await createAccount(t, 'a', 'locky', 'locky-pw1');
      await createAccount(t, 'a', 'off', 'off-pw-1', { Status: 'deactivated' });
      await createAccount(t, 'a', 'fenced', 'fenced-pw', { IPAddressRange: '10.1.2.0/24' });
      await createAccount(t, 'a', 'newbie', 'initial-1', { Status: 'passwordChangeRequired' });
      await createAccount(t, 'a', 'nopw');
      await createAccount(t, 'app', 'appuser', 'app-pw-1');
    });
    after(() => t.close());

    describe('password grant', () => {
      it('issues a cell-local access token and a refresh token with the documented fields', async () => {
        const res = await postForm(t, 'a', '__token', passwordGrant('alice', 'alice-pw1'));
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.headers['cache-control'], 'no-store');
        const body = json(res);
        assert.match(body.access_token, /^AA~/);
        assert.match(body.refresh_token, /^RA~/);
        assert.equal(body.token_type, 'Bearer');
        assert.equal(body.expires_in, 3600);
        assert.equal(body.refresh_token_expires_in, 86400);
        assert.equal(body.last_authenticated, null);
        assert.equal(body.failed_count, 0);
        const info = await introspect(t, 'a', body.access_token);
        assert.equal(info.active, true);
        assert.equal(info.sub, `${A}#alice`);
        assert.equal(info.iss, A);
        assert.equal(info.exp - info.iat, 3600);
      });

      it('reports the previous login and the failures since then', async () => {
        const first = Date.now();
        await sleep(1100);
        assertOAuthError(await postForm(t, 'a', '__token', passwordGrant('alice', 'wrong-pw')), 400, 'invalid_grant', 'PR400-AN-0017');
        await sleep(1100);
        const body = await token(t, 'a', passwordGrant('alice', 'alice-pw1'));
        assert.ok(body.last_authenticated <= first && body.last_authenticated > first - 60_000, String(body.last_authenticated));
        assert.equal(body.failed_count, 1);
      });

      it('refuses even the right password within one second of a failure', async () => {
        assertOAuthError(await postForm(t, 'a', '__token', passwordGrant('alice', 'nope-nope')), 400, 'invalid_grant', 'PR400-AN-0017');
        assertOAuthError(await postForm(t, 'a', '__token', passwordGrant('alice', 'alice-pw1')), 400, 'invalid_grant', 'PR400-AN-0017');
        await sleep(1100);
        await token(t, 'a', passwordGrant('alice', 'alice-pw1'));
      });

      it('locks an account after the configured number of failures, right password included', async () => {
        for (let i = 0; i < 3; i++) {
          assertOAuthError(await postForm(t, 'a', '__token', passwordGrant('locky', 'bad-pw-x')), 400, 'invalid_grant', 'PR400-AN-0017');
        }
        await sleep(1100);
        assertOAuthError(await postForm(t, 'a', '__token', passwordGrant('locky', 'locky-pw1')), 400, 'invalid_grant', 'PR400-AN-0017');
      });

      const refusals: [string, Record<string, string>, string, string][] = [
        ['an unknown account', passwordGrant('ghost', 'whatever1'), 'invalid_grant', 'PR400-AN-0017'],
        ['a deactivated account', passwordGrant('off', 'off-pw-1'), 'invalid_grant', 'PR400-AN-0017'],
        ['an address outside IPAddressRange', passwordGrant('fenced', 'fenced-pw'), 'invalid_grant', 'PR400-AN-0017'],
        ['an account without a password', passwordGrant('nopw', 'anything1'), 'invalid_grant', 'PR400-AN-0017'],
        ['a missing username', { grant_type: 'password', password: 'x' }, 'invalid_request', 'PR400-AN-0016'],
        ['a missing grant_type', { username: 'alice' }, 'invalid_request', 'PR400-AN-0016'],
        ['an unknown grant_type', { grant_type: 'magic' }, 'unsupported_grant_type', 'PR400-AN-0001'],
        ['expires_in 0', passwordGrant('alice', 'alice-pw1', { expires_in: '0' }), 'invalid_request', 'PR400-AN-0016'],
        ['expires_in 3601', passwordGrant('alice', 'alice-pw1', { expires_in: '3601' }), 'invalid_request', 'PR400-AN-0016'],
        ['refresh_token_expires_in 86401', passwordGrant('alice', 'alice-pw1', { refresh_token_expires_in: '86401' }), 'invalid_request', 'PR400-AN-0016'],
        ['a p_target that is not a URL', passwordGrant('alice', 'alice-pw1', { p_target: 'not a url' }), 'invalid_request', 'PR400-AN-0002'],
      ];
      for (const [what, form, error, code] of refusals) {
        it(`refuses ${what}: 400 ${code}`, async () => {
          assertOAuthError(await postForm(t, 'a', '__token', form), 400, error, code);
        });
      }

      it('refuses oversized and hostile parameters without a 500', async () => {
        const huge = 'x'.repeat(200_000);
        const cases: Record<string, string>[] = [
          passwordGrant(huge, 'pw'),
          passwordGrant('alice', huge),
          { grant_type: 'refresh_token', refresh_token: `RA~${huge}` },
          { grant_type: 'urn:ietf:params:oauth:grant-type:saml2-bearer', assertion: `${huge}.${huge}.${huge}` },
          { grant_type: 'password', username: "alice' or '1'='1", password: "' or 1=1 --" },
          passwordGrant('alice', 'alice-pw1', { p_target: 'javascript:alert(1)' }),
          passwordGrant('alice', 'alice-pw1', { p_target: 'http://x.example/\r\nSet-Cookie: a=b' }),
        ];
        for (const form of cases) {
          const res = await postForm(t, 'a', '__token', form);
          assert.ok(res.statusCode >= 400 && res.statusCode < 500, `${res.statusCode} ${res.body.slice(0, 200)}`);
        }
        const tooBig = await postForm(t, 'a', '__token', passwordGrant('alice', 'x'.repeat(2 * 1024 * 1024)));
        assert.equal(tooBig.statusCode, 413);
        await sleep(1100);
      });

      it('honours expires_in and refresh_token_expires_in within their bounds', async () => {
        const body = await token(t, 'app', passwordGrant('appuser', 'app-pw-1', { expires_in: '60', refresh_token_expires_in: '120' }));
        assert.equal(body.expires_in, 60);
        assert.equal(body.refresh_token_expires_in, 120);
      });

      it('a password-change-required account gets only a password-change token, then changes its password', async () => {
        const res = await postForm(t, 'a', '__token', passwordGrant('newbie', 'initial-1'));
        assertOAuthError(res, 401, 'invalid_grant', 'PR401-AN-0023');
        const body = json(res);
        assert.match(body.access_token, /^AP~/);
        assert.equal(body.url, `${A}__mypassword`);
        const apToken = body.access_token as string;
        const denied = await call(t, { url: '/a/__ctl/Account', as: apToken });
        assert.equal(denied.statusCode, 401);
        assert.equal(json(denied).code, 'PR401-AU-0012');
        const changed = await call(t, { method: 'PUT', url: '/a/__mypassword', as: apToken, headers: { 'x-personium-credential': 'changed-1' } });
        assert.equal(changed.statusCode, 204, changed.body);
        assert.equal(json(await call(t, { url: "/a/__ctl/Account('newbie')" })).d.results.Status, 'active');
        await token(t, 'a', passwordGrant('newbie', 'changed-1'));
      });

      it('keeps no history for accounts named in the accountsnotrecordingauthhistory cell property', async () => {
        await createAccount(t, 'a', 'quiet', 'quiet-pw-1');
        const patch = `<D:propertyupdate xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop>
          <p:accountsnotrecordingauthhistory>someone,quiet</p:accountsnotrecordingauthhistory></D:prop></D:set></D:propertyupdate>`;
        const res = await call(t, { method: 'PROPPATCH', url: '/a/', body: patch });
        assert.equal(res.statusCode, 207, res.body);
        await token(t, 'a', passwordGrant('quiet', 'quiet-pw-1'));
        await sleep(1100);
        assertOAuthError(await postForm(t, 'a', '__token', passwordGrant('quiet', 'bad-pw-11')), 400, 'invalid_grant', 'PR400-AN-0017');
        await sleep(1100);
        const body = await token(t, 'a', passwordGrant('quiet', 'quiet-pw-1'));
        assert.equal(body.last_authenticated, null);
        assert.equal(body.failed_count, 0);
      });

      it('can be switched off per unit (KURA_PASSWORD_GRANT=false)', async () => {
        const off = await startTestApp(backend, { KURA_PASSWORD_GRANT: 'false' });
        try {
          await createCell(off, 'a');
          await createAccount(off, 'a', 'alice', 'alice-pw1');
          assertOAuthError(await postForm(off, 'a', '__token', passwordGrant('alice', 'alice-pw1')), 400, 'unsupported_grant_type', 'PR400-AN-0001');
        } finally {
          await off.close();
        }
      });
    });

    describe('using tokens', () => {
      let local: Record<string, any>;
      before(async () => {
        local = await token(t, 'app', passwordGrant('appuser', 'app-pw-1'));
      });

      it('a cell-local token is a cell user: no unit-level rights, no privileges in a cell without ACL', async () => {
        const unit = await call(t, { url: '/__ctl/Cell', as: local.access_token });
        assert.equal(unit.statusCode, 403);
        assert.equal(json(unit).code, 'PR403-AU-0001');
        const ctl = await call(t, { url: '/app/__ctl/Account', as: local.access_token });
        assert.equal(ctl.statusCode, 403);
        assert.equal(json(ctl).code, 'PR403-AU-0002');
      });

      for (const [what, tok, code] of [
        ['a tampered token', () => tamper(local.access_token), 'PR401-AU-0006'],
        ['a refresh token', () => local.refresh_token, 'PR401-AU-0007'],
        ['garbage', () => 'AA~not-a-token', 'PR401-AU-0006'],
      ] as const) {
        it(`${what} as bearer → 401 ${code}`, async () => {
          const res = await call(t, { url: '/app/__ctl/Account', as: tok() });
          assert.equal(res.statusCode, 401);
          assert.equal(json(res).code, code);
        });
      }

      it('an expired token → 401 PR401-AU-0002', async () => {
        const short = await token(t, 'app', passwordGrant('appuser', 'app-pw-1', { expires_in: '1' }));
        await sleep(2100);
        const res = await call(t, { url: '/app/__ctl/Account', as: short.access_token });
        assert.equal(res.statusCode, 401);
        assert.equal(json(res).code, 'PR401-AU-0002');
      });
    });

    describe('refresh tokens', () => {
      it('rotate: each is good once, and reusing one ends its whole chain', async () => {
        const first = await token(t, 'app', passwordGrant('appuser', 'app-pw-1'));
        const second = await token(t, 'app', { grant_type: 'refresh_token', refresh_token: first.refresh_token });
        assert.match(second.access_token, /^AA~/);
        assert.notEqual(second.refresh_token, first.refresh_token);
        assert.equal(second.last_authenticated, undefined);
        assertOAuthError(
          await postForm(t, 'app', '__token', { grant_type: 'refresh_token', refresh_token: first.refresh_token }),
          400,
          'invalid_grant',
          'PR400-AN-0010',
        );
        assertOAuthError(
          await postForm(t, 'app', '__token', { grant_type: 'refresh_token', refresh_token: second.refresh_token }),
          400,
          'invalid_grant',
          'PR400-AN-0010',
        );
      });

      it('refuses what is not a refresh token of this cell', async () => {
        const tokens = await token(t, 'app', passwordGrant('appuser', 'app-pw-1'));
        const cases: [string, Record<string, string>, string][] = [
          ['missing', { grant_type: 'refresh_token' }, 'PR400-AN-0009'],
          ['garbage', { grant_type: 'refresh_token', refresh_token: 'xyz' }, 'PR400-AN-0009'],
          ['an access token', { grant_type: 'refresh_token', refresh_token: tokens.access_token }, 'PR400-AN-0013'],
          ['tampered', { grant_type: 'refresh_token', refresh_token: tamper(tokens.refresh_token) }, 'PR400-AN-0011'],
        ];
        for (const [what, form, code] of cases) {
          const res = await postForm(t, 'app', '__token', form);
          assert.equal(json(res).code, code, what);
        }
        assertOAuthError(
          await postForm(t, 'a', '__token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }),
          400,
          'invalid_grant',
          'PR400-AN-0009',
        );
      });

      it('a password change through __mypassword revokes the refresh tokens of the account', async () => {
        await createAccount(t, 'app', 'mover', 'mover-pw1');
        const tokens = await token(t, 'app', passwordGrant('mover', 'mover-pw1'));
        const res = await call(t, { method: 'PUT', url: '/app/__mypassword', as: tokens.access_token, headers: { 'x-personium-credential': 'mover-pw2' } });
        assert.equal(res.statusCode, 204, res.body);
        assertOAuthError(
          await postForm(t, 'app', '__token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }),
          400,
          'invalid_grant',
          'PR400-AN-0010',
        );
        assertOAuthError(await postForm(t, 'app', '__token', passwordGrant('mover', 'mover-pw1')), 400, 'invalid_grant', 'PR400-AN-0017');
        await sleep(1100);
        await token(t, 'app', passwordGrant('mover', 'mover-pw2'));
      });
    });

    describe('__mypassword (apiref 294)', () => {
      it('refuses callers and values the page rules out, changing nothing', async () => {
        const tokens = await token(t, 'b', passwordGrant('alice', 'alice-pw1')).catch(() => undefined);
        assert.equal(tokens, undefined, 'b has no alice');
        const mine = await token(t, 'app', passwordGrant('appuser', 'app-pw-1'));
        const cases: [string, Record<string, string>, string, number, string][] = [
          ['no token', {}, 'anonymous', 401, 'PR401-AU-0001'],
          ['no credential header', {}, mine.access_token, 400, 'PR400-AU-0003'],
          ['a short password', { 'x-personium-credential': 'abc' }, mine.access_token, 400, 'PR400-AU-0001'],
          ['the master token', { 'x-personium-credential': 'valid-pw-1' }, 'master', 403, 'PR403-AU-0002'],
        ];
        for (const [what, headers, as, status, code] of cases) {
          const res = await call(t, { method: 'PUT', url: '/app/__mypassword', as, headers });
          assert.equal(res.statusCode, status, what);
          assert.equal(json(res).code, code, what);
        }
        const other = await call(t, { method: 'PUT', url: '/a/__mypassword', as: mine.access_token, headers: { 'x-personium-credential': 'valid-pw-1' } });
        assert.equal(other.statusCode, 401);
        await sleep(1100);
        await token(t, 'app', passwordGrant('appuser', 'app-pw-1'));
      });
    });

    describe('trans-cell tokens (p_target, saml2-bearer) and trust', () => {
      const SAML = 'urn:ietf:params:oauth:grant-type:saml2-bearer';
      before(async () => {
        // a: alice holds role "staff".  b: trusts a through an ExtCell linked to "reader",
        // and maps a's "staff" to its own "guest" through Relation "friend" + ExtRole.
        await ctlPost(t, 'a', 'Role', { Name: 'staff' });
        await ctlPost(t, 'a', "Role('staff')/$links/_Account", { uri: `${A}__ctl/Account('alice')` }, 204);
        await ctlPost(t, 'b', 'ExtCell', { Url: A });
        await ctlPost(t, 'b', 'Role', { Name: 'reader' });
        await ctlPost(t, 'b', 'Role', { Name: 'guest' });
        await ctlPost(t, 'b', 'Role', { Name: 'unused' });
        const ext = `ExtCell('${encodeURIComponent(A)}')`;
        await ctlPost(t, 'b', `${ext}/$links/_Role`, { uri: `${B}__ctl/Role('reader')` }, 204);
        await ctlPost(t, 'b', 'Relation', { Name: 'friend' });
        await ctlPost(t, 'b', "Relation('friend')/$links/_ExtCell", { uri: `${B}__ctl/${ext}` }, 204);
        await ctlPost(t, 'b', 'ExtRole', { ExtRole: `${A}__role/__/staff`, '_Relation.Name': 'friend' });
        const extRole = `ExtRole(ExtRole='${encodeURIComponent(`${A}__role/__/staff`)}',_Relation.Name='friend',_Relation._Box.Name=null)`;
        await ctlPost(t, 'b', `${extRole}/$links/_Role`, { uri: `${B}__ctl/Role('guest')` }, 204);
        await sleep(1100);
      });

      it('issues a signed trans-cell token for p_target carrying the account roles', async () => {
        const res = await postForm(t, 'a', '__token', passwordGrant('alice', 'alice-pw1', { p_target: B }));
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(res.headers.location, `${B}__token`);
        const body = json(res);
        assert.equal(body.p_target, B);
        assert.equal(body.access_token.split('.').length, 3);
        const info = await introspect(t, 'b', body.access_token);
        assert.equal(info.active, true);
        assert.equal(info.aud, B);
        assert.equal(info.sub, `${A}#alice`);
        assert.deepEqual(info.p_roles, [`${A}__role/__/staff`]);
      });

      it('cell b exchanges it for its own token, with the roles its trust settings grant', async () => {
        const tc = await token(t, 'a', passwordGrant('alice', 'alice-pw1', { p_target: B }));
        const local = await token(t, 'b', { grant_type: SAML, assertion: tc.access_token });
        assert.match(local.access_token, /^AA~/);
        const info = await introspect(t, 'b', local.access_token);
        assert.equal(info.sub, `${A}#alice`);
        assert.deepEqual([...info.p_roles].sort(), [`${B}__role/__/guest`, `${B}__role/__/reader`]);
        // The exchanged refresh token keeps the external subject and its roles.
        const again = await token(t, 'b', { grant_type: 'refresh_token', refresh_token: local.refresh_token });
        assert.deepEqual([...(await introspect(t, 'b', again.access_token)).p_roles].sort(), [`${B}__role/__/guest`, `${B}__role/__/reader`]);
      });

      it('role grants follow the trust settings as they change', async () => {
        const tc = await token(t, 'a', passwordGrant('alice', 'alice-pw1', { p_target: B }));
        const local = await token(t, 'b', { grant_type: SAML, assertion: tc.access_token });
        const ext = `ExtCell('${encodeURIComponent(A)}')`;
        const unlink = await call(t, { method: 'DELETE', url: `/b/__ctl/${ext}/$links/_Role('reader')` });
        assert.equal(unlink.statusCode, 204);
        assert.deepEqual((await introspect(t, 'b', local.access_token)).p_roles, [`${B}__role/__/guest`]);
        await ctlPost(t, 'b', `${ext}/$links/_Role`, { uri: `${B}__ctl/Role('reader')` }, 204);
      });

      it('refuses assertions that are not for this cell, forged, expired or garbage', async () => {
        const forA = await token(t, 'b', { grant_type: SAML, assertion: (await token(t, 'a', passwordGrant('alice', 'alice-pw1', { p_target: B }))).access_token });
        assert.ok(forA.access_token);
        const tcForApp = (await token(t, 'a', passwordGrant('alice', 'alice-pw1', { p_target: 'http://unit.test/app/' }))).access_token;
        const wrong = await postForm(t, 'b', '__token', { grant_type: SAML, assertion: tcForApp });
        assertOAuthError(wrong, 400, 'invalid_grant', 'PR400-AN-0012');
        const forged = await postForm(t, 'b', '__token', { grant_type: SAML, assertion: tamper(tcForApp) });
        assertOAuthError(forged, 400, 'invalid_grant', 'PR400-AN-0011');
        assertOAuthError(await postForm(t, 'b', '__token', { grant_type: SAML, assertion: 'a.b.c' }), 400, 'invalid_grant', 'PR400-AN-0009');
        assertOAuthError(await postForm(t, 'b', '__token', { grant_type: SAML }), 400, 'invalid_grant', 'PR400-AN-0009');
        assertOAuthError(
          await postForm(t, 'b', '__token', { grant_type: SAML, assertion: tcForApp, p_owner: 'true' }),
          400,
          'invalid_grant',
          'PR400-AN-0008',
        );
        const short = (await token(t, 'a', passwordGrant('alice', 'alice-pw1', { p_target: B, expires_in: '1' }))).access_token;
        await sleep(2100);
        assertOAuthError(await postForm(t, 'b', '__token', { grant_type: SAML, assertion: short }), 400, 'invalid_grant', 'PR400-AN-0010');
      });

      it("a user of a reads b's control objects through the roles b's ACL grants, and nothing more", async () => {
        const acl = `<?xml version="1.0" encoding="utf-8"?>
<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns">
  <D:ace><D:principal><D:href>reader</D:href></D:principal>
    <D:grant><D:privilege><p:auth-read/></D:privilege></D:grant></D:ace>
</D:acl>`;
        const set = await call(t, { method: 'ACL', url: '/b/', body: acl });
        assert.equal(set.statusCode, 200, set.body);
        const tc = (await token(t, 'a', passwordGrant('alice', 'alice-pw1', { p_target: B }))).access_token;
        const read = await call(t, { url: '/b/__ctl/Role?$orderby=Name', as: tc });
        assert.equal(read.statusCode, 200, read.body);
        assert.deepEqual(json(read).d.results.map((r: { Name: string }) => r.Name), ['guest', 'reader', 'unused']);
        // Through the exchanged token too.
        const local = (await token(t, 'b', { grant_type: SAML, assertion: tc })).access_token;
        assert.equal((await call(t, { url: '/b/__ctl/Account', as: local })).statusCode, 200);
        // auth-read is not auth, nor social-read.
        const write = await call(t, { method: 'POST', url: '/b/__ctl/Role', as: tc, body: { Name: 'mine' } });
        assert.equal(write.statusCode, 403);
        assert.equal(json(write).code, 'PR403-AU-0002');
        assert.equal((await call(t, { url: "/b/__ctl/Role('mine')" })).statusCode, 404);
        assert.equal((await call(t, { url: '/b/__ctl/ExtCell', as: tc })).statusCode, 403);
        // The same token means nothing in a cell it was not issued for.
        assert.equal((await call(t, { url: '/app/__ctl/Role', as: tc })).statusCode, 403);
        // Without the ExtCell link the role is gone, and so is the access.
        const ext = `ExtCell('${encodeURIComponent(A)}')`;
        assert.equal((await call(t, { method: 'DELETE', url: `/b/__ctl/${ext}/$links/_Role('reader')` })).statusCode, 204);
        assert.equal((await call(t, { url: '/b/__ctl/Role', as: tc })).statusCode, 403);
        await ctlPost(t, 'b', `${ext}/$links/_Role`, { uri: `${B}__ctl/Role('reader')` }, 204);
      });

      it('a trans-cell token is not a token of the cell that issued it', async () => {
        const tc = await token(t, 'a', passwordGrant('alice', 'alice-pw1', { p_target: B }));
        const res = await call(t, { url: '/a/__ctl/Account', as: tc.access_token });
        assert.equal(res.statusCode, 403);
      });
    });

    describe('client (app) authentication', () => {
      const APP = 'http://unit.test/app/';
      let secret: string;
      before(async () => {
        // The app cell's own account gets a token addressed to cell a: that token is the client secret.
        secret = (await token(t, 'app', passwordGrant('appuser', 'app-pw-1', { p_target: A }))).access_token;
        await sleep(1100);
      });

      it('client_id + client_secret in the body give an app-authenticated token', async () => {
        const body = await token(t, 'a', passwordGrant('alice', 'alice-pw1', { client_id: APP, client_secret: secret }));
        assert.equal((await introspect(t, 'a', body.access_token)).client_id, APP);
        // The refresh keeps the app: without it, or with another, it is refused.
        assertOAuthError(
          await postForm(t, 'a', '__token', { grant_type: 'refresh_token', refresh_token: body.refresh_token }),
          400,
          'invalid_client',
          'PR400-AN-0021',
        );
        const refreshed = await token(t, 'a', {
          grant_type: 'refresh_token',
          refresh_token: (await token(t, 'a', passwordGrant('alice', 'alice-pw1', { client_id: APP, client_secret: secret }))).refresh_token,
          client_id: APP,
          client_secret: secret,
        });
        assert.equal((await introspect(t, 'a', refreshed.access_token)).client_id, APP);
      });

      it('the same credentials work in a Basic Authorization header and as client_assertion', async () => {
        const basic = Buffer.from(`${encodeURIComponent(APP)}:${secret}`).toString('base64');
        const res = await postForm(t, 'a', '__token', passwordGrant('alice', 'alice-pw1'), { authorization: `Basic ${basic}` });
        assert.equal(res.statusCode, 200, res.body);
        assert.equal((await introspect(t, 'a', json(res).access_token)).client_id, APP);
        const viaAssertion = await token(t, 'a', {
          ...passwordGrant('alice', 'alice-pw1'),
          client_assertion_type: 'urn:ietf:params:oauth:grant-type:saml2-bearer',
          client_assertion: secret,
        });
        assert.equal((await introspect(t, 'a', viaAssertion.access_token)).client_id, APP);
      });

      it('refuses client credentials that do not hold together', async () => {
        const forB = (await token(t, 'app', passwordGrant('appuser', 'app-pw-1', { p_target: B }))).access_token;
        const cases: [string, Record<string, string>, Record<string, string>, string][] = [
          ['client_id without secret', { client_id: APP }, {}, 'PR400-AN-0003'],
          ['a secret issued by another cell', { client_id: 'http://unit.test/b/', client_secret: secret }, {}, 'PR400-AN-0006'],
          ['a secret for another cell', { client_id: APP, client_secret: forB }, {}, 'PR400-AN-0007'],
          ['a forged secret', { client_id: APP, client_secret: tamper(secret) }, {}, 'PR400-AN-0011'],
          ['an unknown assertion type', { client_assertion_type: 'jwt', client_assertion: secret }, {}, 'PR400-AN-0022'],
          ['a Bearer header', {}, { authorization: `Bearer ${secret}` }, 'PR400-AN-0018'],
          ['a malformed Basic header', {}, { authorization: 'Basic bm9jb2xvbg==' }, 'PR400-AN-0018'],
        ];
        for (const [what, extra, headers, code] of cases) {
          const res = await postForm(t, 'a', '__token', { ...passwordGrant('alice', 'alice-pw1'), ...extra }, headers);
          assert.equal(res.statusCode, 400, `${what}: ${res.body}`);
          assert.equal(json(res).code, code, what);
        }
      });
    });

    describe('p_cookie', () => {
      it('issues a cookie that, with its peer value, stands for the access token', async () => {
        await sleep(1100);
        const res = await postForm(t, 'app', '__token', passwordGrant('appuser', 'app-pw-1', { p_cookie: 'true' }));
        assert.equal(res.statusCode, 200, res.body);
        const peer = json(res).p_cookie_peer as string;
        const setCookie = String(res.headers['set-cookie']);
        assert.match(setCookie, /^p_cookie=CK~[^;]+; Path=\/app\/;/);
        const cookie = setCookie.split(';')[0]!;
        // Authenticated as the account (a cell user), which has no privilege here without an ACL → 403, not 401.
        const withPeer = await call(t, { url: `/app/__ctl/Account?p_cookie_peer=${peer}`, as: 'anonymous', headers: { cookie } });
        assert.equal(withPeer.statusCode, 403, withPeer.body);
        const wrongPeer = await call(t, { url: '/app/__ctl/Account?p_cookie_peer=nope', as: 'anonymous', headers: { cookie } });
        assert.equal(wrongPeer.statusCode, 401);
        const noPeer = await call(t, { url: '/app/__ctl/Account', as: 'anonymous', headers: { cookie } });
        assert.equal(noPeer.statusCode, 401);
      });
    });

    describe('__certs and __introspect (apiref 298, 297)', () => {
      it('publishes the RSA public key only', async () => {
        const res = await call(t, { url: '/a/__certs', as: 'anonymous' });
        assert.equal(res.statusCode, 200);
        const [key, ...rest] = json(res).keys;
        assert.equal(rest.length, 0);
        assert.equal(key.kty, 'RSA');
        assert.equal(key.alg, 'RS256');
        assert.ok(key.kid && key.n && key.e);
        for (const secretPart of ['d', 'p', 'q', 'dp', 'dq', 'qi']) assert.equal(key[secretPart], undefined);
      });

      it('answers inactive for foreign, tampered and unknown tokens, and refuses anonymous callers', async () => {
        const local = await token(t, 'app', passwordGrant('appuser', 'app-pw-1'));
        assert.deepEqual(await introspect(t, 'a', local.access_token), { active: false });
        assert.deepEqual(await introspect(t, 'app', tamper(local.access_token)), { active: false });
        assert.deepEqual(await introspect(t, 'app', 'whatever'), { active: false });
        const anonymous = await postForm(t, 'app', '__introspect', { token: local.access_token });
        assert.equal(anonymous.statusCode, 401);
        const self = await postForm(t, 'app', '__introspect', { token: local.access_token }, { authorization: `Bearer ${local.access_token}` });
        assert.equal(self.statusCode, 403);
      });
    });
  });
}
