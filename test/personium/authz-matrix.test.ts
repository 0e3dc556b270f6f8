import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import { call } from '../support/http.js';
import { createAccount, createCell, ctlPost, passwordGrant, token } from '../support/auth.js';

/**
 * The authorization matrix (issue 4): for each route and the privilege it needs, a caller whose
 * role holds exactly that privilege succeeds, the same caller holding only another privilege gets
 * 403, and a caller without credentials 401 — unless `all` grants it.
 */
const C = 'http://unit.test/m/';

interface Row {
  name: string;
  privilege: string;
  /** An unrelated privilege of the same level, for the 403 case. */
  other: string;
  /** Sends the request; `n` keeps names unique across the three calls. */
  send: (t: TestApp, as: string, n: number) => Promise<{ statusCode: number; body: string }>;
  ok: number;
}

const cellAcl = (privilege: string) =>
  `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:ace><D:principal><D:href>actor</D:href></D:principal><D:grant><D:privilege><p:${privilege}/></D:privilege></D:grant></D:ace></D:acl>`;
const boxAcl = (privilege: string, principal = '<D:href>../__/actor</D:href>') =>
  `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:ace><D:principal>${principal}</D:principal><D:grant><D:privilege><D:${privilege}/></D:privilege></D:grant></D:ace></D:acl>`;

const cellRows: Row[] = [
  { name: 'list Accounts', privilege: 'auth-read', other: 'social-read', ok: 200, send: (t, as) => call(t, { url: '/m/__ctl/Account', as }) },
  { name: 'create a Role', privilege: 'auth', other: 'auth-read', ok: 201, send: (t, as, n) => call(t, { method: 'POST', url: '/m/__ctl/Role', as, body: { Name: `r${n}` } }) },
  { name: 'list ExtCells', privilege: 'social-read', other: 'auth-read', ok: 200, send: (t, as) => call(t, { url: '/m/__ctl/ExtCell', as }) },
  { name: 'create a Relation', privilege: 'social', other: 'auth', ok: 201, send: (t, as, n) => call(t, { method: 'POST', url: '/m/__ctl/Relation', as, body: { Name: `rel${n}` } }) },
  { name: 'list Boxes', privilege: 'box-read', other: 'social', ok: 200, send: (t, as) => call(t, { url: '/m/__ctl/Box', as }) },
  { name: 'create a Box', privilege: 'box', other: 'auth', ok: 201, send: (t, as, n) => call(t, { method: 'POST', url: '/m/__ctl/Box', as, body: { Name: `b${n}` } }) },
  { name: 'PROPFIND the cell', privilege: 'propfind', other: 'box-read', ok: 207, send: (t, as) => call(t, { method: 'PROPFIND', url: '/m/', as, headers: { depth: '0' } }) },
];

const boxRows: Row[] = [
  { name: 'GET a file', privilege: 'read', other: 'write', ok: 200, send: (t, as) => call(t, { url: '/m/box/f.txt', as }) },
  { name: 'PUT a new file', privilege: 'bind', other: 'read', ok: 201, send: (t, as, n) => call(t, { method: 'PUT', url: `/m/box/new${n}.txt`, as, body: 'x' }) },
  { name: 'PUT over a file', privilege: 'write-content', other: 'bind', ok: 204, send: (t, as) => call(t, { method: 'PUT', url: '/m/box/f.txt', as, body: 'file' }) },
  { name: 'MKCOL', privilege: 'bind', other: 'read', ok: 201, send: (t, as, n) => call(t, { method: 'MKCOL', url: `/m/box/col${n}`, as }) },
  { name: 'DELETE a file', privilege: 'unbind', other: 'bind', ok: 204, send: async (t, as, n) => {
    await call(t, { method: 'PUT', url: `/m/box/del${n}.txt`, body: 'x' });
    return call(t, { method: 'DELETE', url: `/m/box/del${n}.txt`, as });
  } },
  { name: 'PROPFIND a file', privilege: 'read-properties', other: 'write', ok: 207, send: (t, as) => call(t, { method: 'PROPFIND', url: '/m/box/f.txt', as, headers: { depth: '0' } }) },
  { name: 'PROPPATCH a file', privilege: 'write-properties', other: 'read', ok: 207, send: (t, as) =>
    call(t, { method: 'PROPPATCH', url: '/m/box/f.txt', as, body: '<D:propertyupdate xmlns:D="DAV:" xmlns:z="urn:z"><D:set><D:prop><z:a>1</z:a></D:prop></D:set></D:propertyupdate>' }) },
];

for (const backend of backends.slice(0, 1)) {
  describe(`authorization matrix on ${backend.name}`, () => {
    let t: TestApp;
    let actor: string;
    before(async () => {
      t = await startTestApp(backend);
      await createCell(t, 'm');
      await createAccount(t, 'm', 'actor', 'actor-pw-1');
      await ctlPost(t, 'm', 'Role', { Name: 'actor' });
      await ctlPost(t, 'm', "Role('actor')/$links/_Account", { uri: `${C}__ctl/Account('actor')` }, 204);
      await ctlPost(t, 'm', 'Box', { Name: 'box' });
      await call(t, { method: 'PUT', url: '/m/box/f.txt', body: 'file' });
      actor = (await token(t, 'm', passwordGrant('actor', 'actor-pw-1'))).access_token;
    });
    after(() => t.close());

    let n = 0;
    for (const row of cellRows) {
      it(`cell: ${row.name} needs ${row.privilege}`, async () => {
        assert.equal((await call(t, { method: 'ACL', url: '/m/', body: cellAcl(row.privilege) })).statusCode, 200);
        assert.equal((await row.send(t, actor, n++)).statusCode, row.ok);
        assert.equal((await row.send(t, 'anonymous', n++)).statusCode, 401);
        assert.equal((await call(t, { method: 'ACL', url: '/m/', body: cellAcl(row.other) })).statusCode, 200);
        const refused = await row.send(t, actor, n++);
        assert.equal(refused.statusCode, 403, refused.body);
      });
    }

    for (const row of boxRows) {
      it(`box: ${row.name} needs ${row.privilege}`, async () => {
        assert.equal((await call(t, { method: 'ACL', url: '/m/', body: cellAcl('message') })).statusCode, 200);
        assert.equal((await call(t, { method: 'ACL', url: '/m/box', body: boxAcl(row.privilege) })).statusCode, 200);
        assert.equal((await row.send(t, actor, n++)).statusCode, row.ok);
        assert.equal((await row.send(t, 'anonymous', n++)).statusCode, 401);
        assert.equal((await call(t, { method: 'ACL', url: '/m/box', body: boxAcl(row.other) })).statusCode, 200);
        const refused = await row.send(t, actor, n++);
        assert.equal(refused.statusCode, 403, refused.body);
        // `all` as principal opens it to callers without credentials.
        assert.equal((await call(t, { method: 'ACL', url: '/m/box', body: boxAcl(row.privilege, '<D:all/>') })).statusCode, 200);
        assert.equal((await row.send(t, 'anonymous', n++)).statusCode, row.ok);
      });
    }

    it('cell ACL: setting it needs acl', async () => {
      assert.equal((await call(t, { method: 'ACL', url: '/m/', body: cellAcl('acl-read') })).statusCode, 200);
      assert.equal((await call(t, { method: 'ACL', url: '/m/', as: actor, body: cellAcl('root') })).statusCode, 403);
      assert.equal((await call(t, { method: 'ACL', url: '/m/', as: 'anonymous', body: cellAcl('root') })).statusCode, 401);
      assert.equal((await call(t, { method: 'ACL', url: '/m/', body: cellAcl('acl') })).statusCode, 200);
      assert.equal((await call(t, { method: 'ACL', url: '/m/', as: actor, body: cellAcl('acl') })).statusCode, 200);
    });

    it('box ACL: setting it needs write-acl, and root on the cell opens every box', async () => {
      assert.equal((await call(t, { method: 'ACL', url: '/m/', body: cellAcl('message') })).statusCode, 200);
      assert.equal((await call(t, { method: 'ACL', url: '/m/box', body: boxAcl('write') })).statusCode, 200);
      assert.equal((await call(t, { method: 'ACL', url: '/m/box', as: actor, body: boxAcl('read') })).statusCode, 403);
      assert.equal((await call(t, { method: 'ACL', url: '/m/box', body: boxAcl('write-acl') })).statusCode, 200);
      assert.equal((await call(t, { method: 'ACL', url: '/m/box', as: actor, body: boxAcl('write-acl') })).statusCode, 200);
      assert.equal((await call(t, { method: 'ACL', url: '/m/box', body: boxAcl('read-acl') })).statusCode, 200);
      assert.equal((await call(t, { url: '/m/box/f.txt', as: actor })).statusCode, 403);
      assert.equal((await call(t, { method: 'ACL', url: '/m/', body: cellAcl('root') })).statusCode, 200);
      assert.equal((await call(t, { url: '/m/box/f.txt', as: actor })).statusCode, 200);
    });
  });
}
