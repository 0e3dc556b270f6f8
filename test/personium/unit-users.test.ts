import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import { call, json } from '../support/http.js';
import { assertOAuthError, createAccount, createCell, ctlPost, freePort, passwordGrant, postForm, token } from '../support/auth.js';

const UNIT = 'http://unit.test/';
const ADMIN_CELL = 'http://unit.test/admin/';

async function cellList(t: TestApp, as: string, headers: Record<string, string> = {}): Promise<string[]> {
  const res = await call(t, { url: '/__ctl/Cell?$orderby=Name', as, headers });
  assert.equal(res.statusCode, 200, res.body);
  return json(res).d.results.map((c: { Name: string }) => c.Name);
}

for (const backend of backends) {
  describe(`Unit users (Unit-User.md) on ${backend.name}`, { skip: backend.skip }, () => {
    let t: TestApp;
    const uut: Record<string, string> = {};
    before(async () => {
      t = await startTestApp(backend, { KURA_UNIT_USER_CELLS: ADMIN_CELL });
      for (const cell of ['admin', 'stranger', 'mastercell']) await createCell(t, cell);
      for (const name of ['plain', 'boss', 'keeper']) await createAccount(t, 'admin', name, `${name}-pw-1`);
      await ctlPost(t, 'admin', 'Role', { Name: 'UnitAdmin' });
      await ctlPost(t, 'admin', 'Role', { Name: 'CellContentsAdmin' });
      await ctlPost(t, 'admin', "Role('UnitAdmin')/$links/_Account", { uri: `${ADMIN_CELL}__ctl/Account('boss')` }, 204);
      await ctlPost(t, 'admin', "Role('CellContentsAdmin')/$links/_Account", { uri: `${ADMIN_CELL}__ctl/Account('keeper')` }, 204);
      await createAccount(t, 'stranger', 'sam', 'sam-pw-1');
      for (const name of ['plain', 'boss', 'keeper']) {
        uut[name] = (await token(t, 'admin', passwordGrant(name, `${name}-pw-1`, { p_target: UNIT }))).access_token;
      }
      uut.stranger = (await token(t, 'stranger', passwordGrant('sam', 'sam-pw-1', { p_target: UNIT }))).access_token;
    });
    after(() => t.close());

    it('a token for the unit from a configured cell is a unit user token: it creates cells it then owns', async () => {
      const res = await call(t, { method: 'POST', url: '/__ctl/Cell', as: uut.plain!, body: { Name: 'plains' } });
      assert.equal(res.statusCode, 201, res.body);
      assert.ok(!res.body.includes('owner'), 'the owner stays hidden');
      assert.equal((await call(t, { method: 'POST', url: '/__ctl/Cell', as: uut.keeper!, body: { Name: 'keepers' } })).statusCode, 201);
    });

    it('a unit user lists, reads and deletes only its own cells', async () => {
      assert.deepEqual(await cellList(t, uut.plain!), ['plains']);
      const other = await call(t, { url: "/__ctl/Cell('keepers')", as: uut.plain! });
      assert.equal(other.statusCode, 403);
      assert.equal(json(other).code, 'PR403-AU-0003');
      const del = await call(t, { method: 'DELETE', url: '/keepers/', as: uut.plain!, headers: { 'x-personium-recursive': 'true' } });
      assert.equal(del.statusCode, 403);
      assert.equal((await call(t, { url: "/__ctl/Cell('keepers')" })).statusCode, 200);
    });

    it('a unit admin sees every cell', async () => {
      const all = await cellList(t, uut.boss!);
      for (const name of ['admin', 'keepers', 'mastercell', 'plains', 'stranger']) assert.ok(all.includes(name), name);
    });

    it('cell contents need a CellContents role, and then only in owned cells', async () => {
      const plain = await call(t, { url: '/plains/__ctl/Account', as: uut.plain! });
      assert.equal(plain.statusCode, 403);
      assert.equal(json(plain).code, 'PR403-AU-0002');
      assert.equal((await call(t, { url: '/keepers/__ctl/Account', as: uut.keeper! })).statusCode, 200);
      assert.equal(
        (await call(t, { method: 'POST', url: '/keepers/__ctl/Role', as: uut.keeper!, body: { Name: 'r' } })).statusCode,
        201,
      );
      const foreign = await call(t, { url: '/plains/__ctl/Account', as: uut.keeper! });
      assert.equal(foreign.statusCode, 403);
      assert.equal(json(foreign).code, 'PR403-AU-0003');
    });

    it('a token for the unit from a cell that is not configured gives no unit rights', async () => {
      const res = await call(t, { url: '/__ctl/Cell', as: uut.stranger! });
      assert.equal(res.statusCode, 403);
      assert.equal(json(res).code, 'PR403-AU-0001');
    });

    it('the master token acts as the unit user named in X-Personium-Unit-User', async () => {
      const as = { 'x-personium-unit-user': 'http://unit.test/someone' };
      const created = await call(t, { method: 'POST', url: '/__ctl/Cell', headers: as, body: { Name: 'someones' } });
      assert.equal(created.statusCode, 201);
      assert.deepEqual(await cellList(t, 'master', as), ['someones']);
      assert.ok((await cellList(t, 'master')).includes('plains'));
    });

    it('p_owner: an account the owned cell names as its owner representative gets a unit-local unit user token', async () => {
      const as = { 'x-personium-unit-user': 'http://unit.test/#owner1' };
      assert.equal((await call(t, { method: 'POST', url: '/__ctl/Cell', headers: as, body: { Name: 'owned' } })).statusCode, 201);
      await createAccount(t, 'owned', 'rep', 'rep-pw-123');
      await createAccount(t, 'owned', 'other', 'other-pw-1');
      const patch = `<D:propertyupdate xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop>
        <p:ownerRepresentativeAccounts><p:account>rep</p:account></p:ownerRepresentativeAccounts></D:prop></D:set></D:propertyupdate>`;
      assert.equal((await call(t, { method: 'PROPPATCH', url: '/owned/', body: patch })).statusCode, 207);
      assertOAuthError(
        await postForm(t, 'owned', '__token', passwordGrant('other', 'other-pw-1', { p_owner: 'true' })),
        400,
        'invalid_grant',
        'PR400-AN-0014',
      );
      const res = await postForm(t, 'owned', '__token', passwordGrant('rep', 'rep-pw-123', { p_owner: 'true' }));
      assert.equal(res.statusCode, 200, res.body);
      const body = json(res);
      assert.match(body.access_token, /^AU~/);
      assert.equal(body.refresh_token, undefined);
      // It acts as the owner: the owner's cells, and full rights inside them.
      assert.deepEqual(await cellList(t, body.access_token), ['owned']);
      assert.equal((await call(t, { url: '/owned/__ctl/Account', as: body.access_token })).statusCode, 200);
      assert.equal((await call(t, { url: '/plains/__ctl/Account', as: body.access_token })).statusCode, 403);
      // A cell without an owner has nobody to represent.
      await createAccount(t, 'mastercell', 'rep', 'rep-pw-123');
      assert.equal((await call(t, { method: 'PROPPATCH', url: '/mastercell/', body: patch })).statusCode, 207);
      assertOAuthError(
        await postForm(t, 'mastercell', '__token', passwordGrant('rep', 'rep-pw-123', { p_owner: 'true' })),
        400,
        'invalid_grant',
        'PR400-AN-0015',
      );
    });

    it('p_owner needs an account the cell names as representing its owner (PR400-AN-0014)', async () => {
      assertOAuthError(
        await postForm(t, 'admin', '__token', passwordGrant('plain', 'plain-pw-1', { p_owner: 'true' })),
        400,
        'invalid_grant',
        'PR400-AN-0014',
      );
    });
  });
}

describe('trans-cell tokens across two kura units', () => {
  let one: TestApp;
  let two: TestApp;
  let twoClosed: TestApp;
  let oneUrl: string;
  before(async () => {
    const port = await freePort();
    oneUrl = `http://127.0.0.1:${port}/`;
    one = await startTestApp(backends[0]!, { KURA_UNIT_URL: oneUrl });
    await one.app.http.listen({ port, host: '127.0.0.1' });
    // Unit two verifies unit one's tokens with the key one publishes at __certs (a loopback
    // address here, so private addresses are allowed for this unit only).
    two = await startTestApp(backends[0]!, { KURA_OUTBOUND_ALLOW_PRIVATE: 'true' });
    twoClosed = await startTestApp(backends[0]!);
    await createCell(one, 'alice');
    await createAccount(one, 'alice', 'me', 'me-pw-123');
    for (const unit of [two, twoClosed]) {
      await createCell(unit, 'bob');
      await ctlPost(unit, 'bob', 'ExtCell', { Url: `${oneUrl}alice/` });
      await ctlPost(unit, 'bob', 'Role', { Name: 'friend' });
      await ctlPost(unit, 'bob', `ExtCell('${encodeURIComponent(`${oneUrl}alice/`)}')/$links/_Role`, { uri: "http://unit.test/bob/__ctl/Role('friend')" }, 204);
    }
  });
  after(async () => {
    await two.close();
    await twoClosed.close();
    await one.close();
  });

  it("unit two accepts unit one's token after fetching unit one's public key", async () => {
    const tc = (await token(one, 'alice', passwordGrant('me', 'me-pw-123', { p_target: 'http://unit.test/bob/' }))).access_token;
    const local = await token(two, 'bob', { grant_type: 'urn:ietf:params:oauth:grant-type:saml2-bearer', assertion: tc });
    const info = json(await postForm(two, 'bob', '__introspect', { token: local.access_token }, { authorization: 'Bearer test-master-token' }));
    assert.equal(info.sub, `${oneUrl}alice/#me`);
    assert.deepEqual(info.p_roles, ['http://unit.test/bob/__role/__/friend']);
  });

  it('by default a unit does not fetch keys from private addresses, so the token is refused', async () => {
    const tc = (await token(one, 'alice', passwordGrant('me', 'me-pw-123', { p_target: 'http://unit.test/bob/' }))).access_token;
    assertOAuthError(
      await postForm(twoClosed, 'bob', '__token', { grant_type: 'urn:ietf:params:oauth:grant-type:saml2-bearer', assertion: tc }),
      400,
      'invalid_grant',
      'PR400-AN-0011',
    );
  });
});
