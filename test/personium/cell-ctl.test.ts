import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import type { LightMyRequestResponse as Response } from 'fastify';
import { call, json, type Call } from '../support/http.js';
import { AuthStore } from '../../src/store/auth-store.js';
import { findCell } from '../../src/personium/unit/cells.js';

const CELL = 'http://unit.test/c1/';

/** A request to the control objects of cell c1. */
function ctl(t: TestApp, method: string, path: string, body?: unknown, extra: Partial<Call> = {}) {
  return call(t, { method, url: `/c1/__ctl/${path}`, ...(body !== undefined ? { body } : {}), ...extra });
}

async function names(t: TestApp, set: string): Promise<string[]> {
  const res = await ctl(t, 'GET', `${set}?$top=10000`);
  assert.equal(res.statusCode, 200);
  return json(res)
    .d.results.map((e: Record<string, unknown>) => String(e.Name ?? e.Url ?? e.ExtRole))
    .sort();
}

function assertError(res: Response, status: number, code: string): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(json(res).code, code);
}

for (const backend of backends) {
  describe(`Cell root, metadata and control objects (apiref 200, 296, 201–266) on ${backend.name}`, { skip: backend.skip }, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(backend);
      assert.equal((await call(t, { method: 'POST', url: '/__ctl/Cell', body: { Name: 'c1' } })).statusCode, 201);
    });
    after(() => t.close());

    describe('cell root', () => {
      it('answers cell metadata as JSON (apiref 296)', async () => {
        const res = await call(t, { url: '/c1/', as: 'anonymous', headers: { accept: 'application/json' } });
        assert.equal(res.statusCode, 200);
        assert.deepEqual(json(res), {
          cell: { name: 'c1', url: CELL },
          unit: { url: 'http://unit.test/', path_based_cellurl_enabled: true },
        });
      });

      it('answers an HTML page to a browser (apiref 200)', async () => {
        const res = await call(t, { url: '/c1/', as: 'anonymous', headers: { accept: 'text/html' } });
        assert.equal(res.statusCode, 200);
        assert.match(String(res.headers['content-type']), /^text\/html/);
        assert.match(res.body, /c1/);
      });

      it('404 PR404-DV-0003 for a cell that does not exist, at the root and below __ctl', async () => {
        assertError(await call(t, { url: '/nocell/', headers: { accept: 'application/json' } }), 404, 'PR404-DV-0003');
        assertError(await call(t, { url: '/nocell/__ctl/Account' }), 404, 'PR404-DV-0003');
      });

      it('404 PR404-OD-0001 for an unknown control-object set', async () => {
        assertError(await ctl(t, 'GET', 'Nothing'), 404, 'PR404-OD-0001');
      });

      it('401 without a token', async () => {
        assertError(await ctl(t, 'GET', 'Account', undefined, { as: 'anonymous' }), 401, 'PR401-AU-0001');
      });
    });

    describe('Account (apiref 212–222, 2AC)', () => {
      it('creates an account with defaults and never echoes the password', async () => {
        const res = await ctl(t, 'POST', 'Account', { Name: 'alice' }, { headers: { 'x-personium-credential': 'secret-1' } });
        assert.equal(res.statusCode, 201, res.body);
        assert.equal(res.headers.location, `${CELL}__ctl/Account('alice')`);
        const d = json(res).d.results;
        assert.equal(d.__metadata.type, 'CellCtl.Account');
        assert.equal(d.Type, 'basic');
        assert.equal(d.Status, 'active');
        assert.equal(d.IPAddressRange, null);
        assert.equal(d.Cell, null);
        assert.ok(!res.body.includes('secret-1'));
        const cell = (await findCell(t.app.store, 'c1'))!;
        const account = (await t.app.store.get({ cellId: cell.id, boxId: '', nodeId: '' }, 'Account', 'alice'))!;
        const hash = await new AuthStore(t.app.store.executor).passwordHash(account.id);
        assert.match(hash ?? '', /^scrypt\$/);
      });

      it('accepts every documented Type and an IP address range', async () => {
        for (const [name, body] of [
          ['g1', { Type: 'oidc:google' }],
          ['g2', { Type: 'basic oidc:google' }],
          ['ip1', { IPAddressRange: '192.127.0.2,192.128.0.0/24' }],
          ['st1', { Status: 'passwordChangeRequired' }],
        ] as const) {
          const res = await ctl(t, 'POST', 'Account', { Name: name, ...body });
          assert.equal(res.statusCode, 201, `${name}: ${res.body}`);
        }
      });

      const refused: [string, Record<string, unknown>, Record<string, string>, number, string][] = [
        ['a password that is too short', { Name: 'bad1' }, { 'x-personium-credential': 'abc' }, 400, 'PR400-AU-0001'],
        ['a password with a space', { Name: 'bad2' }, { 'x-personium-credential': 'abc def ghi' }, 400, 'PR400-AU-0001'],
        ['a password longer than 32', { Name: 'bad3' }, { 'x-personium-credential': 'a'.repeat(33) }, 400, 'PR400-AU-0001'],
        ['a name starting with a symbol', { Name: '-x' }, {}, 400, 'PR400-OD-0006'],
        ['a name of 129 characters', { Name: 'a'.repeat(129) }, {}, 400, 'PR400-OD-0006'],
        ['an unknown Type', { Name: 'bad4', Type: 'saml' }, {}, 400, 'PR400-OD-0006'],
        ['a Type with two spaces', { Name: 'bad5', Type: 'basic  oidc:google' }, {}, 400, 'PR400-OD-0006'],
        ['an unknown Status', { Name: 'bad6', Status: 'frozen' }, {}, 400, 'PR400-OD-0006'],
        ['an IP range with /33', { Name: 'bad7', IPAddressRange: '10.0.0.0/33' }, {}, 400, 'PR400-OD-0006'],
        ['an unknown property', { Name: 'bad8', Password: 'x' }, {}, 400, 'PR400-OD-0006'],
        ['__metadata in the body', { Name: 'bad9', __metadata: {} }, {}, 400, 'PR400-OD-0007'],
      ];
      for (const [what, body, headers, status, code] of refused) {
        it(`refuses ${what} with ${status} ${code} and creates nothing`, async () => {
          const before = await names(t, 'Account');
          assertError(await ctl(t, 'POST', 'Account', body, { headers }), status, code);
          assert.deepEqual(await names(t, 'Account'), before);
        });
      }

      it('409 PR409-OD-0003 for a duplicate name', async () => {
        assertError(await ctl(t, 'POST', 'Account', { Name: 'alice' }), 409, 'PR409-OD-0003');
      });

      it('retrieves, lists with query options, and 404s a missing account', async () => {
        const one = await ctl(t, 'GET', "Account('alice')");
        assert.equal(one.statusCode, 200);
        assert.equal(json(one).d.results.Name, 'alice');
        const listed = await ctl(t, 'GET', "Account?$filter=startswith(Name,'g')&$orderby=Name desc&$inlinecount=allpages");
        assert.equal(listed.statusCode, 200);
        const d = json(listed).d;
        assert.equal(d.__count, '2');
        assert.deepEqual(d.results.map((a: { Name: string }) => a.Name), ['g2', 'g1']);
        assertError(await ctl(t, 'GET', "Account('nobody')"), 404, 'PR404-OD-0002');
      });

      it('PUT replaces (omitted properties return to defaults), MERGE keeps the rest, If-Match guards both', async () => {
        assert.equal((await ctl(t, 'POST', 'Account', { Name: 'bob', Status: 'deactivated', IPAddressRange: '10.0.0.1' })).statusCode, 201);
        const etag = String((await ctl(t, 'GET', "Account('bob')")).headers.etag);
        assertError(
          await ctl(t, 'MERGE', "Account('bob')", { Status: 'active' }, { headers: { 'if-match': 'W/"9-1"' } }),
          412,
          'PR412-OD-0002',
        );
        const merged = await ctl(t, 'MERGE', "Account('bob')", { Status: 'active' }, { headers: { 'if-match': etag } });
        assert.equal(merged.statusCode, 204, merged.body);
        let d = json(await ctl(t, 'GET', "Account('bob')")).d.results;
        assert.equal(d.Status, 'active');
        assert.equal(d.IPAddressRange, '10.0.0.1');
        const put = await ctl(t, 'PUT', "Account('bob')", { Name: 'bobby' });
        assert.equal(put.statusCode, 204, put.body);
        assertError(await ctl(t, 'GET', "Account('bob')"), 404, 'PR404-OD-0002');
        d = json(await ctl(t, 'GET', "Account('bobby')")).d.results;
        assert.equal(d.IPAddressRange, null);
        assert.equal(d.Status, 'active');
      });

      it('changes the password with X-Personium-Credential on PUT and refuses a bad one without changing anything', async () => {
        const cell = (await findCell(t.app.store, 'c1'))!;
        const account = (await t.app.store.get({ cellId: cell.id, boxId: '', nodeId: '' }, 'Account', 'alice'))!;
        const auth = new AuthStore(t.app.store.executor);
        const before = await auth.passwordHash(account.id);
        assertError(
          await ctl(t, 'PUT', "Account('alice')", { Name: 'alice' }, { headers: { 'x-personium-credential': 'no' } }),
          400,
          'PR400-AU-0001',
        );
        assert.equal(await auth.passwordHash(account.id), before);
        const ok = await ctl(t, 'PUT', "Account('alice')", { Name: 'alice' }, { headers: { 'x-personium-credential': 'secret-2' } });
        assert.equal(ok.statusCode, 204, ok.body);
        assert.notEqual(await auth.passwordHash(account.id), before);
      });
    });

    describe('Box (apiref 256–266, 2B0)', () => {
      it('creates boxes with and without a schema', async () => {
        assert.equal((await ctl(t, 'POST', 'Box', { Name: 'box1', Schema: 'https://app1.example/' })).statusCode, 201);
        const plain = await ctl(t, 'POST', 'Box', { Name: 'box2' });
        assert.equal(plain.statusCode, 201);
        assert.equal(json(plain).d.results.Schema, null);
        assert.equal((await ctl(t, 'POST', 'Box', { Name: 'box3', Schema: 'urn:x-personium:app3' })).statusCode, 201);
      });

      it('409 PR409-OD-0003 when another box already has the schema', async () => {
        assertError(await ctl(t, 'POST', 'Box', { Name: 'box9', Schema: 'https://app1.example/' }), 409, 'PR409-OD-0003');
        assertError(await ctl(t, 'MERGE', "Box('box2')", { Schema: 'https://app1.example/' }), 409, 'PR409-OD-0003');
        assert.equal(json(await ctl(t, 'GET', "Box('box2')")).d.results.Schema, null);
        // Keeping one's own schema is no conflict.
        assert.equal((await ctl(t, 'PUT', "Box('box1')", { Name: 'box1', Schema: 'https://app1.example/' })).statusCode, 204);
      });

      for (const schema of ['ftp://app.example/', 'https://app.example/path', 'not a url', 'https://app.example/a/../']) {
        it(`400 PR400-OD-0050 for schema ${JSON.stringify(schema)}`, async () => {
          assertError(await ctl(t, 'POST', 'Box', { Name: 'boxbad', Schema: schema }), 400, 'PR400-OD-0050');
          assertError(await ctl(t, 'GET', "Box('boxbad')"), 404, 'PR404-OD-0002');
        });
      }

      it('400 for names the page forbids', async () => {
        for (const name of ['_box', '-box', 'b/x', 'a'.repeat(129)]) {
          assertError(await ctl(t, 'POST', 'Box', { Name: name }), 400, 'PR400-OD-0006');
        }
      });
    });

    describe('Role (apiref 201–211, 2AB) and its associations', () => {
      it('creates a cell-level role and a box-bound role; both key forms retrieve them', async () => {
        assert.equal((await ctl(t, 'POST', 'Role', { Name: 'r1' })).statusCode, 201);
        const bound = await ctl(t, 'POST', 'Role', { Name: 'r1', '_Box.Name': 'box1' });
        assert.equal(bound.statusCode, 201, bound.body);
        assert.equal(bound.headers.location, `${CELL}__ctl/Role(Name='r1',_Box.Name='box1')`);
        assert.equal(json(await ctl(t, 'GET', "Role('r1')")).d.results['_Box.Name'], null);
        assert.equal(json(await ctl(t, 'GET', "Role(Name='r1')")).d.results['_Box.Name'], null);
        const byBox = await ctl(t, 'GET', "Role(Name='r1',_Box.Name='box1')");
        assert.equal(byBox.statusCode, 200);
        assert.equal(json(byBox).d.results['_Box.Name'], 'box1');
      });

      it('400 PR400-OD-0024 for a role in a box that does not exist', async () => {
        const res = await ctl(t, 'POST', 'Role', { Name: 'r2', '_Box.Name': 'nobox' });
        assertError(res, 400, 'PR400-OD-0024');
        assert.match(json(res).message.value, /nobox/);
      });

      it('creates and lists roles through the box navigation property (apiref 265, 266)', async () => {
        const res = await ctl(t, 'POST', "Box('box2')/_Role", { Name: 'viaBox' });
        assert.equal(res.statusCode, 201, res.body);
        assert.equal(json(res).d.results['_Box.Name'], 'box2');
        const list = json(await ctl(t, 'GET', "Box('box2')/_Role")).d.results;
        assert.deepEqual(list.map((r: { Name: string }) => r.Name), ['viaBox']);
        const box = json(await ctl(t, 'GET', "Role(Name='viaBox',_Box.Name='box2')?$expand=_Box")).d.results;
        assert.equal(box._Box.Name, 'box2');
      });

      it('renaming a box carries its roles along; deleting a box that has roles is refused', async () => {
        assert.equal((await ctl(t, 'MERGE', "Box('box2')", { Name: 'box2b' })).statusCode, 204);
        assert.equal((await ctl(t, 'GET', "Role(Name='viaBox',_Box.Name='box2b')")).statusCode, 200);
        assertError(await ctl(t, 'DELETE', "Box('box2b')"), 409, 'PR409-OD-0001');
        assert.equal((await ctl(t, 'GET', "Box('box2b')")).statusCode, 200);
      });

      it('links roles and accounts both ways with $links, lists and unlinks them (apiref 206–209, 217–220)', async () => {
        const link = await ctl(t, 'POST', "Role('r1')/$links/_Account", { uri: `${CELL}__ctl/Account('alice')` });
        assert.equal(link.statusCode, 204, link.body);
        assertError(await ctl(t, 'POST', "Role('r1')/$links/_Account", { uri: `${CELL}__ctl/Account('alice')` }), 409, 'PR409-OD-0002');
        const fromAccount = json(await ctl(t, 'GET', "Account('alice')/$links/_Role")).d.results;
        assert.deepEqual(fromAccount, [{ uri: `${CELL}__ctl/Role(Name='r1',_Box.Name=null)` }]);
        const viaNav = json(await ctl(t, 'GET', "Account('alice')/_Role")).d.results;
        assert.deepEqual(viaNav.map((r: { Name: string }) => r.Name), ['r1']);
        assertError(
          await ctl(t, 'POST', "Role('r1')/$links/_Account", { uri: `${CELL}__ctl/Account('ghost')` }),
          400,
          'PR400-OD-0024',
        );
        assert.equal((await ctl(t, 'DELETE', "Role('r1')/$links/_Account('alice')")).statusCode, 204);
        assertError(await ctl(t, 'DELETE', "Role('r1')/$links/_Account('alice')"), 404, 'PR404-OD-0002');
        assert.deepEqual(json(await ctl(t, 'GET', "Account('alice')/$links/_Role")).d.results, []);
      });

      it('links a role to a box and a relation with $links, both ways (apiref 206, 261)', async () => {
        assert.equal((await ctl(t, 'POST', 'Role', { Name: 'floater' })).statusCode, 201);
        const toBox = await ctl(t, 'POST', "Role('floater')/$links/_Box", { uri: `${CELL}__ctl/Box('box3')` });
        assert.equal(toBox.statusCode, 204, toBox.body);
        assert.equal((await ctl(t, 'GET', "Role(Name='floater',_Box.Name='box3')")).statusCode, 200);
        const fromBox = json(await ctl(t, 'GET', "Box('box3')/$links/_Role")).d.results;
        assert.deepEqual(fromBox, [{ uri: `${CELL}__ctl/Role(Name='floater',_Box.Name='box3')` }]);
        // A role belongs to one box at most.
        assertError(await ctl(t, 'POST', "Role(Name='floater',_Box.Name='box3')/$links/_Box", { uri: `${CELL}__ctl/Box('box1')` }), 409, 'PR409-OD-0002');
        assert.equal((await ctl(t, 'DELETE', "Box('box3')/$links/_Role(Name='floater',_Box.Name='box3')")).statusCode, 204);
        assert.equal((await ctl(t, 'GET', "Role('floater')")).statusCode, 200);
        assert.equal((await ctl(t, 'POST', 'Relation', { Name: 'rel1' })).statusCode, 201);
        assert.equal((await ctl(t, 'POST', "Role('floater')/$links/_Relation", { uri: `${CELL}__ctl/Relation('rel1')` })).statusCode, 204);
        const relations = json(await ctl(t, 'GET', "Role('floater')/_Relation")).d.results;
        assert.deepEqual(relations.map((r: { Name: string }) => r.Name), ['rel1']);
        const roles = json(await ctl(t, 'GET', "Relation('rel1')/$links/_Role")).d.results;
        assert.deepEqual(roles, [{ uri: `${CELL}__ctl/Role(Name='floater',_Box.Name=null)` }]);
      });

      it('creates an account already linked through the role navigation property (apiref 210)', async () => {
        const res = await ctl(t, 'POST', "Role('r1')/_Account", { Name: 'carol' }, { headers: { 'x-personium-credential': 'carol-pw' } });
        assert.equal(res.statusCode, 201, res.body);
        const linked = json(await ctl(t, 'GET', "Role('r1')/_Account")).d.results;
        assert.deepEqual(linked.map((a: { Name: string }) => a.Name), ['carol']);
      });

      it('deleting a linked account removes its links, not the role', async () => {
        assert.equal((await ctl(t, 'DELETE', "Account('carol')")).statusCode, 204);
        assert.deepEqual(json(await ctl(t, 'GET', "Role('r1')/_Account")).d.results, []);
        assert.equal((await ctl(t, 'GET', "Role('r1')")).statusCode, 200);
      });
    });

    describe('ExtCell, Relation and ExtRole (apiref 223–255, 2AD–2AF)', () => {
      const ext = 'https://other.example/cellb/';

      it('creates an ExtCell and refuses URLs that are not normalised cell URLs (PR400-OD-0049)', async () => {
        assert.equal((await ctl(t, 'POST', 'ExtCell', { Url: ext })).statusCode, 201);
        assert.equal((await ctl(t, 'POST', 'ExtCell', { Url: 'personium-localunit:/c2/' })).statusCode, 201);
        for (const url of ['https://other.example/cellb', 'ftp://x.example/c/', 'https://other.example/a/../b/', 'nonsense']) {
          assertError(await ctl(t, 'POST', 'ExtCell', { Url: url }), 400, 'PR400-OD-0049');
        }
        assertError(await ctl(t, 'POST', 'ExtCell', { Url: ext }), 409, 'PR409-OD-0003');
        const one = await ctl(t, 'GET', `ExtCell('${encodeURIComponent(ext)}')`);
        assert.equal(one.statusCode, 200, one.body);
        assert.equal(json(one).d.results.Url, ext);
      });

      it('links an ExtCell to a role and to a relation', async () => {
        const key = `ExtCell('${encodeURIComponent(ext)}')`;
        assert.equal((await ctl(t, 'POST', `${key}/$links/_Role`, { uri: `${CELL}__ctl/Role('r1')` })).statusCode, 204);
        assert.equal((await ctl(t, 'POST', 'Relation', { Name: 'friend' })).statusCode, 201);
        assert.equal((await ctl(t, 'POST', `Relation('friend')/$links/_ExtCell`, { uri: `${CELL}__ctl/${key}` })).statusCode, 204);
        const roles = json(await ctl(t, 'GET', `${key}/_Role`)).d.results;
        assert.deepEqual(roles.map((r: { Name: string }) => r.Name), ['r1']);
        const cells = json(await ctl(t, 'GET', "Relation('friend')/_ExtCell")).d.results;
        assert.deepEqual(cells.map((c: { Url: string }) => c.Url), [ext]);
      });

      it('relations take `+` and `:` in names and may belong to a box', async () => {
        assert.equal((await ctl(t, 'POST', 'Relation', { Name: 'x+y:z' })).statusCode, 201);
        assert.equal((await ctl(t, 'POST', 'Relation', { Name: 'boxrel', '_Box.Name': 'box1' })).statusCode, 201);
        assertError(await ctl(t, 'POST', 'Relation', { Name: ':bad' }), 400, 'PR400-OD-0006');
        assertError(await ctl(t, 'POST', 'Relation', { Name: 'r', '_Box.Name': 'nobox' }), 400, 'PR400-OD-0024');
      });

      it('creates ExtRoles under a relation with the three-part key', async () => {
        const role = 'https://other.example/cellb/__role/__/admin';
        const res = await ctl(t, 'POST', 'ExtRole', { ExtRole: role, '_Relation.Name': 'friend' });
        assert.equal(res.statusCode, 201, res.body);
        const key = `ExtRole(ExtRole='${encodeURIComponent(role)}',_Relation.Name='friend',_Relation._Box.Name=null)`;
        const one = await ctl(t, 'GET', key);
        assert.equal(one.statusCode, 200, one.body);
        assertError(await ctl(t, 'POST', 'ExtRole', { ExtRole: role, '_Relation.Name': 'nobody' }), 400, 'PR400-OD-0024');
        assertError(await ctl(t, 'POST', 'ExtRole', { ExtRole: role }), 400, 'PR400-OD-0009');
        const listed = json(await ctl(t, 'GET', "Relation('friend')/_ExtRole")).d.results;
        assert.deepEqual(listed.map((e: { ExtRole: string }) => e.ExtRole), [role]);
        assert.equal((await ctl(t, 'POST', `${key}/$links/_Role`, { uri: `${CELL}__ctl/Role('r1')` })).statusCode, 204);
      });

      it('a relation with ExtRoles cannot be deleted; renaming it carries them along', async () => {
        assertError(await ctl(t, 'DELETE', "Relation('friend')"), 409, 'PR409-OD-0001');
        assert.equal((await ctl(t, 'MERGE', "Relation('friend')", { Name: 'pal' })).statusCode, 204);
        const listed = json(await ctl(t, 'GET', "Relation('pal')/_ExtRole")).d.results;
        assert.equal(listed.length, 1);
        assert.equal(listed[0]['_Relation.Name'], 'pal');
      });

      it('deleting an ExtCell linked to roles and relations removes the links', async () => {
        assert.equal((await ctl(t, 'DELETE', `ExtCell('${encodeURIComponent(ext)}')`)).statusCode, 204);
        assert.deepEqual(json(await ctl(t, 'GET', "Relation('pal')/_ExtCell")).d.results, []);
      });
    });

    describe('cell deletion', () => {
      it('a cell with control objects is not empty (apiref 104) and a recursive delete takes everything (105)', async () => {
        assertError(await call(t, { method: 'DELETE', url: "/__ctl/Cell('c1')" }), 409, 'PR409-OD-0001');
        const res = await call(t, { method: 'DELETE', url: '/c1/', headers: { 'x-personium-recursive': 'true' } });
        assert.equal(res.statusCode, 204);
        assertError(await ctl(t, 'GET', 'Account'), 404, 'PR404-DV-0003');
        assert.equal((await call(t, { method: 'POST', url: '/__ctl/Cell', body: { Name: 'c1' } })).statusCode, 201);
        assert.deepEqual(await names(t, 'Account'), []);
      });
    });
  });
}

describe('cell control objects in subdomain mode', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp(backends[0]!, { KURA_CELL_URL_MODE: 'subdomain' });
    await call(t, { method: 'POST', url: '/__ctl/Cell', body: { Name: 'sub' } });
  });
  after(() => t.close());

  it('serves the cell under its own host name and writes URIs with it', async () => {
    const res = await call(t, { method: 'POST', url: '/__ctl/Role', headers: { host: 'sub.unit.test' }, body: { Name: 'r' } });
    assert.equal(res.statusCode, 201, res.body);
    assert.equal(res.headers.location, "http://sub.unit.test/__ctl/Role(Name='r',_Box.Name=null)");
    const meta = json(await call(t, { url: '/', headers: { host: 'sub.unit.test', accept: 'application/json' } }));
    assert.equal(meta.cell.url, 'http://sub.unit.test/');
    assert.equal(meta.unit.path_based_cellurl_enabled, false);
    assert.equal((await call(t, { url: '/sub/__ctl/Role' })).statusCode, 404);
  });
});
