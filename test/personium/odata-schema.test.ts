import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import { assertCode, call, json, mkcolOData } from '../support/http.js';
import { createAccount, createCell, ctlPost, passwordGrant, token } from '../support/auth.js';

const COL = '/c/box1/col';
const META = `${COL}/$metadata`;
const post = (t: TestApp, set: string, body: unknown, as?: string) => call(t, { method: 'POST', url: `${META}/${set}`, body, ...(as ? { as } : {}) });
const names = async (t: TestApp, path: string) => json(await call(t, { url: `${META}/${path}` })).d.results.map((r: { Name: string }) => r.Name).sort();

for (const backend of backends) {
  describe(`OData collection schema (apiref 316–363) on ${backend.name}`, { skip: backend.skip }, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(backend);
      await createCell(t, 'c');
      await ctlPost(t, 'c', 'Box', { Name: 'box1' });
      await mkcolOData(t, COL);
    });
    after(() => t.close());

    it('creates, retrieves, lists and renames EntityTypes (apiref 345–348)', async () => {
      const created = await post(t, 'EntityType', { Name: 'Sales' });
      assert.equal(created.statusCode, 201, created.body);
      const entity = json(created).d.results;
      assert.equal(entity.Name, 'Sales');
      assert.equal(entity.__metadata.type, 'ODataSvcSchema.EntityType');
      assert.equal(entity.__metadata.uri, `http://unit.test${META}/EntityType('Sales')`);
      assert.match(String(created.headers.etag), /^W\/"1-\d+"$/);
      assertCode(await post(t, 'EntityType', { Name: 'Sales' }), 409, 'PR409-OD-0003');
      for (const bad of ['', '_x', '-x', 'a/b', 'x'.repeat(129)]) assertCode(await post(t, 'EntityType', { Name: bad }), 400, 'PR400-OD-0006');
      assertCode(await post(t, 'EntityType', {}), 400, 'PR400-OD-0009');
      assert.equal((await post(t, 'EntityType', { Name: 'Temp' })).statusCode, 201);
      assert.deepEqual(await names(t, 'EntityType'), ['Sales', 'Temp']);
      const renamed = await call(t, { method: 'PUT', url: `${META}/EntityType('Temp')`, body: { Name: 'Temp2' } });
      assert.equal(renamed.statusCode, 204, renamed.body);
      assert.equal((await call(t, { url: `${META}/EntityType('Temp2')` })).statusCode, 200);
      assertCode(await call(t, { url: `${META}/EntityType('Temp')` }), 404, 'PR404-OD-0002');
      assert.equal((await call(t, { method: 'DELETE', url: `${META}/EntityType('Temp2')` })).statusCode, 204);
    });

    it('creates Properties with the documented types, defaults and kinds; refuses the rest with nothing stored (apiref 355)', async () => {
      const ok = [
        { Name: 'title', Type: 'Edm.String', Nullable: false, DefaultValue: 'untitled' },
        { Name: 'amount', Type: 'Edm.Int32', DefaultValue: '0' },
        { Name: 'rate', Type: 'Edm.Single', DefaultValue: '1.5' },
        { Name: 'total', Type: 'Edm.Double' },
        { Name: 'done', Type: 'Edm.Boolean', DefaultValue: 'false' },
        { Name: 'at', Type: 'Edm.DateTime', DefaultValue: 'SYSUTCDATETIME()' },
        { Name: 'tags', Type: 'Edm.String', CollectionKind: 'List' },
      ];
      for (const p of ok) {
        const res = await post(t, 'Property', { ...p, '_EntityType.Name': 'Sales' });
        assert.equal(res.statusCode, 201, `${p.Name}: ${res.body}`);
      }
      const amount = json(await call(t, { url: `${META}/Property(Name='amount',_EntityType.Name='Sales')` })).d.results;
      assert.equal(amount.__metadata.type, 'ODataSvcSchema.Property');
      assert.deepEqual(
        { Type: amount.Type, Nullable: amount.Nullable, DefaultValue: amount.DefaultValue, CollectionKind: amount.CollectionKind, IsKey: amount.IsKey, IsDeclared: amount.IsDeclared },
        { Type: 'Edm.Int32', Nullable: true, DefaultValue: '0', CollectionKind: 'None', IsKey: false, IsDeclared: true },
      );
      const before = await names(t, "EntityType('Sales')/_Property");
      const refused: [Record<string, unknown>, number, string][] = [
        [{ Name: 'x', Type: 'Edm.Int64' }, 400, 'PR400-OD-0006'],
        [{ Name: 'x', Type: 'NoSuchComplex' }, 400, 'PR400-OD-0006'],
        [{ Name: 'x', Type: 'Edm.Int32', DefaultValue: '2147483648' }, 400, 'PR400-OD-0006'],
        [{ Name: 'x', Type: 'Edm.Boolean', DefaultValue: 'yes' }, 400, 'PR400-OD-0006'],
        [{ Name: 'x', Type: 'Edm.DateTime', DefaultValue: '2020-01-01' }, 400, 'PR400-OD-0006'],
        [{ Name: 'x', Type: 'Edm.Single', DefaultValue: '123456.1' }, 400, 'PR400-OD-0006'],
        [{ Name: 'x', Type: 'Edm.String', CollectionKind: 'Set' }, 400, 'PR400-OD-0006'],
        [{ Name: 'x' }, 400, 'PR400-OD-0009'],
        [{ Name: 'title', Type: 'Edm.String' }, 409, 'PR409-OD-0003'],
      ];
      for (const [body, status, code] of refused) assertCode(await post(t, 'Property', { ...body, '_EntityType.Name': 'Sales' }), status, code);
      assertCode(await post(t, 'Property', { Name: 'x', Type: 'Edm.String', '_EntityType.Name': 'Nope' }), 400, 'PR400-OD-0024');
      assert.deepEqual(await names(t, "EntityType('Sales')/_Property"), before);
    });

    it('lets a PUT rename a Property or widen Int32 to Double, and nothing else; MERGE is 501 (personium-core)', async () => {
      const url = (n: string) => `${META}/Property(Name='${n}',_EntityType.Name='Sales')`;
      const base = { '_EntityType.Name': 'Sales', DefaultValue: '0' };
      assert.equal((await call(t, { method: 'PUT', url: url('amount'), body: { ...base, Name: 'amount2', Type: 'Edm.Double' } })).statusCode, 204);
      const changed = await call(t, { method: 'PUT', url: url('amount2'), body: { ...base, Name: 'amount2', Type: 'Edm.String' } });
      assertCode(changed, 400, 'PR400-OD-0042');
      assertCode(await call(t, { method: 'PUT', url: url('amount2'), body: { ...base, Name: 'amount2', Type: 'Edm.Double', Nullable: false } }), 400, 'PR400-OD-0042');
      assertCode(await call(t, { method: 'MERGE', url: url('amount2'), body: { Name: 'amount3' } }), 501, 'PR501-MC-0001');
      assert.equal(json(await call(t, { url: url('amount2') })).d.results.Type, 'Edm.Double');
    });

    it('ComplexTypes nest up to three levels and never contain themselves (apiref 327, 336)', async () => {
      for (const n of ['L1', 'L2', 'L3', 'L4']) assert.equal((await post(t, 'ComplexType', { Name: n })).statusCode, 201);
      const ctp = (owner: string, name: string, type: string) => post(t, 'ComplexTypeProperty', { Name: name, '_ComplexType.Name': owner, Type: type });
      assert.equal((await ctp('L3', 'leaf', 'Edm.String')).statusCode, 201);
      assert.equal((await ctp('L2', 'l3', 'L3')).statusCode, 201);
      assert.equal((await ctp('L1', 'l2', 'L2')).statusCode, 201);
      assert.equal((await post(t, 'Property', { Name: 'nested', '_EntityType.Name': 'Sales', Type: 'L1' })).statusCode, 201);
      // A fourth level below Sales.nested would exceed personium-core's layer limits.
      assert.equal((await ctp('L4', 'leaf', 'Edm.String')).statusCode, 201);
      assertCode(await ctp('L3', 'l4', 'L4'), 400, 'PR400-OD-0032');
      assertCode(await ctp('L3', 'loop', 'L1'), 400, 'PR400-OD-0032');
      assertCode(await ctp('L1', 'self', 'L1'), 400, 'PR400-OD-0032');
      assert.deepEqual(await names(t, "ComplexType('L3')/_ComplexTypeProperty"), ['leaf']);
      // In use: neither deleted nor renamed.
      assertCode(await call(t, { method: 'DELETE', url: `${META}/ComplexType('L1')` }), 409, 'PR409-OD-0001');
      assertCode(await call(t, { method: 'PUT', url: `${META}/ComplexType('L1')`, body: { Name: 'L1b' } }), 409, 'PR409-OD-0001');
      // Not used as a type: renamed, its properties follow.
      assert.equal((await call(t, { method: 'PUT', url: `${META}/ComplexType('L4')`, body: { Name: 'L4b' } })).statusCode, 204);
      assert.deepEqual(await names(t, "ComplexType('L4b')/_ComplexTypeProperty"), ['leaf']);
    });

    it('AssociationEnds take the documented multiplicities; only the Name changes (apiref 318–322)', async () => {
      assert.equal((await post(t, 'EntityType', { Name: 'Customer' })).statusCode, 201);
      assert.equal((await post(t, 'AssociationEnd', { Name: 'toSales', '_EntityType.Name': 'Customer', Multiplicity: '1' })).statusCode, 201);
      assertCode(await post(t, 'AssociationEnd', { Name: 'bad', '_EntityType.Name': 'Customer', Multiplicity: '0 .. 1' }), 400, 'PR400-OD-0006');
      assertCode(await post(t, 'AssociationEnd', { Name: 'bad', '_EntityType.Name': 'Customer' }), 400, 'PR400-OD-0009');
      const url = `${META}/AssociationEnd(Name='toSales',_EntityType.Name='Customer')`;
      assertCode(await call(t, { method: 'PUT', url, body: { Name: 'toSales', '_EntityType.Name': 'Customer', Multiplicity: '*' } }), 400, 'PR400-OD-0042');
      assert.equal((await call(t, { method: 'PUT', url, body: { Name: 'sales', '_EntityType.Name': 'Customer', Multiplicity: '1' } })).statusCode, 204);
      // An EntityType with ends or declared properties can't be deleted.
      assertCode(await call(t, { method: 'DELETE', url: `${META}/EntityType('Customer')` }), 409, 'PR409-OD-0001');
      assert.equal((await call(t, { method: 'DELETE', url: `${META}/AssociationEnd(Name='sales',_EntityType.Name='Customer')` })).statusCode, 204);
      assert.equal((await call(t, { method: 'DELETE', url: `${META}/EntityType('Customer')` })).statusCode, 204);
    });

    it('serves the EDMX of the schema and the service documents (apiref 317, 371, 372)', async () => {
      const edmx = await call(t, { url: META });
      assert.equal(edmx.statusCode, 200);
      assert.match(String(edmx.headers['content-type']), /^application\/xml/);
      const body = edmx.body;
      assert.match(body, /<Schema xmlns="http:\/\/schemas.microsoft.com\/ado\/2006\/04\/edm" Namespace="UserData">/);
      assert.match(body, /<EntityType Name="Sales" OpenType="true"><Key><PropertyRef Name="__id"><\/PropertyRef><\/Key>/);
      assert.match(body, /<Property Name="title" Type="Edm.String" Nullable="false" DefaultValue="untitled"><\/Property>/);
      assert.match(body, /<Property Name="tags" Type="Edm.String" Nullable="true" CollectionKind="List"><\/Property>/);
      assert.match(body, /<Property Name="nested" Type="UserData.L1" Nullable="true"><\/Property>/);
      assert.match(body, /<ComplexType Name="L3"><Property Name="leaf" Type="Edm.String" Nullable="true"><\/Property><\/ComplexType>/);
      assert.match(body, /<EntitySet Name="Sales" EntityType="UserData.Sales"><\/EntitySet>/);
      assert.ok(body.indexOf('<ComplexType') < body.indexOf('<EntityType'), 'ComplexTypes come first (apiref 371)');

      const schemaDoc = await call(t, { url: `${META}?$format=atomsvc` });
      assert.match(schemaDoc.body, /<collection href="EntityType"><atom:title>EntityType<\/atom:title><\/collection>/);
      const atom = await call(t, { url: `${COL}/` });
      assert.match(String(atom.headers['content-type']), /^application\/atomsvc\+xml/);
      assert.match(atom.body, /<collection href="Sales">/);
      assert.deepEqual(json(await call(t, { url: `${COL}/?$format=json` })).d.EntitySets, ['Sales']);
    });

    it('needs read to see the schema and alter-schema to change it (apiref 006)', async () => {
      await createAccount(t, 'c', 'reader', 'reader-pw-1');
      await ctlPost(t, 'c', 'Role', { Name: 'readers', '_Box.Name': 'box1' });
      await ctlPost(t, 'c', "Role(Name='readers',_Box.Name='box1')/$links/_Account", { uri: "http://unit.test/c/__ctl/Account('reader')" }, 204);
      const acl = '<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:ace><D:principal><D:href>http://unit.test/c/__role/box1/readers</D:href></D:principal><D:grant><D:privilege><D:read/></D:privilege></D:grant></D:ace></D:acl>';
      assert.equal((await call(t, { method: 'ACL', url: COL, body: acl })).statusCode, 200);
      const reader = (await token(t, 'c', passwordGrant('reader', 'reader-pw-1'))).access_token as string;
      assert.equal((await call(t, { url: `${META}/EntityType`, as: reader })).statusCode, 200);
      assert.equal((await call(t, { url: META, as: reader })).statusCode, 200);
      assertCode(await post(t, 'EntityType', { Name: 'Forbidden' }, reader), 403, 'PR403-AU-0002');
      assertCode(await call(t, { url: `${META}/EntityType`, as: 'anonymous' }), 401, 'PR401-AU-0001');
      assertCode(await call(t, { url: `${META}/EntityType('Forbidden')` }), 404, 'PR404-OD-0002');
    });

    it('an OData collection with a schema is deleted only recursively, taking its schema along', async () => {
      const other = '/c/box1/col2';
      await mkcolOData(t, other);
      assert.equal((await call(t, { method: 'POST', url: `${other}/$metadata/EntityType`, body: { Name: 'Gone' } })).statusCode, 201);
      assertCode(await call(t, { method: 'DELETE', url: other }), 403, 'PR403-DV-0003');
      assert.equal((await call(t, { url: `${other}/$metadata/EntityType('Gone')` })).statusCode, 200, 'nothing changed');
      assert.equal((await call(t, { method: 'DELETE', url: other, headers: { 'x-personium-recursive': 'true' } })).statusCode, 204);
      // A new collection of the same name starts empty.
      await mkcolOData(t, other);
      assert.deepEqual(json(await call(t, { url: `${other}/$metadata/EntityType` })).d.results, []);
    });

    it('refuses unknown schema sets, malformed keys and bodies, and POST elsewhere in the box', async () => {
      assertCode(await call(t, { url: `${META}/Nothing` }), 404, 'PR404-OD-0001');
      assertCode(await call(t, { url: `${META}/EntityType(Name=)` }), 400, 'PR400-OD-0004');
      assertCode(await call(t, { method: 'POST', url: `${META}/EntityType`, body: '{"Name":' }), 400, 'PR400-OD-0001');
      assertCode(await call(t, { method: 'POST', url: `${META}/EntityType`, body: { Name: 'X', __published: '/Date(0)/' } }), 400, 'PR400-OD-0007');
      assert.equal((await call(t, { method: 'POST', url: '/c/box1/notodata', body: 'x' })).statusCode, 405);
      assert.equal((await call(t, { method: 'PUT', url: META, body: 'x' })).statusCode, 405);
    });
  });
}
