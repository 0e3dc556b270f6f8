import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import { assertCode, call, json, mkcolOData } from '../support/http.js';
import { createAccount, createCell, ctlPost, passwordGrant, sleep, token } from '../support/auth.js';

const COL = '/c/box1/col';
const META = `${COL}/$metadata`;
const ids = async (t: TestApp) => json(await call(t, { url: `${COL}/Sales?$top=100` })).d.results.map((r: { __id: string }) => r.__id).sort();

for (const backend of backends) {
  describe(`OData user data (apiref 364–370) on ${backend.name}`, { skip: backend.skip }, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(backend);
      await createCell(t, 'c');
      await ctlPost(t, 'c', 'Box', { Name: 'box1' });
      await mkcolOData(t, COL);
      const schema: [string, unknown][] = [
        ['EntityType', { Name: 'Sales' }],
        ['ComplexType', { Name: 'Addr' }],
        ['ComplexTypeProperty', { Name: 'city', '_ComplexType.Name': 'Addr', Type: 'Edm.String', Nullable: false }],
        ['ComplexTypeProperty', { Name: 'zip', '_ComplexType.Name': 'Addr', Type: 'Edm.Int32' }],
        ['Property', { Name: 'title', '_EntityType.Name': 'Sales', Type: 'Edm.String', Nullable: false }],
        ['Property', { Name: 'amount', '_EntityType.Name': 'Sales', Type: 'Edm.Int32', DefaultValue: '7' }],
        ['Property', { Name: 'rate', '_EntityType.Name': 'Sales', Type: 'Edm.Single' }],
        ['Property', { Name: 'at', '_EntityType.Name': 'Sales', Type: 'Edm.DateTime' }],
        ['Property', { Name: 'addr', '_EntityType.Name': 'Sales', Type: 'Addr' }],
        ['Property', { Name: 'tags', '_EntityType.Name': 'Sales', Type: 'Edm.String', CollectionKind: 'List' }],
      ];
      for (const [set, body] of schema) assert.equal((await call(t, { method: 'POST', url: `${META}/${set}`, body })).statusCode, 201, JSON.stringify(body));
    });
    after(() => t.close());

    it('creates with and without __id, applying defaults and typing declared values (apiref 364)', async () => {
      const res = await call(t, {
        method: 'POST',
        url: `${COL}/Sales`,
        body: { __id: 's1', title: 'first', at: '/Date(1000)/', addr: { city: 'Tokyo' }, tags: ['a', 'b'], note: 'dynamic', n: 3 },
      });
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.headers.location, `http://unit.test${COL}/Sales('s1')`);
      assert.match(String(res.headers.etag), /^W\/"1-\d+"$/);
      const e = json(res).d.results;
      assert.equal(e.__metadata.type, 'UserData.Sales');
      assert.deepEqual(
        { id: e.__id, title: e.title, amount: e.amount, rate: e.rate, at: e.at, addr: e.addr, tags: e.tags, note: e.note, n: e.n },
        { id: 's1', title: 'first', amount: 7, rate: null, at: '/Date(1000)/', addr: { city: 'Tokyo', zip: null }, tags: ['a', 'b'], note: 'dynamic', n: 3 },
      );
      const generated = json(await call(t, { method: 'POST', url: `${COL}/Sales`, body: { title: 'second' } })).d.results.__id;
      assert.match(generated, /^[0-9a-f]{32}$/);
      assertCode(await call(t, { method: 'POST', url: `${COL}/Sales`, body: { __id: 's1', title: 'again' } }), 409, 'PR409-OD-0003');
      // A lone surrogate (valid JSON, not valid text) can't become part of a URI.
      const lone = await call(t, { method: 'POST', url: `${COL}/Sales`, body: '{"__id":"a\\ud800b","title":"x"}', headers: { 'content-type': 'application/json' } });
      assertCode(lone, 400, 'PR400-OD-0006');
      // The dynamic properties are now part of the schema, typed by their first value.
      const edmx = (await call(t, { url: META })).body;
      assert.match(edmx, /<Property Name="n" Type="Edm.Double" Nullable="true" p:IsDeclared="false"><\/Property>/);
      assert.match(edmx, /<Property Name="note" Type="Edm.String" Nullable="true" p:IsDeclared="false"><\/Property>/);
    });

    it('refuses values of the wrong type, out of range or undeclared in a ComplexType, storing nothing', async () => {
      const before = await ids(t);
      const bad: Record<string, unknown>[] = [
        { title: 'x', amount: 'seven' },
        { title: 'x', amount: 2147483648 },
        { title: 'x', rate: 123456.5 },
        { title: 'x', at: '2020-01-01' },
        { title: 'x', at: '/Date(253402300800000)/' },
        { title: 'x', addr: { city: 'Osaka', street: 'unknown member' } },
        { title: 'x', addr: { zip: 1 } },
        { title: 'x', addr: 'not an object' },
        { title: 'x', tags: 'not a list' },
        { title: 'x', n: 'a string for a Double' },
        { title: 'x', nested: { objects: 'are not dynamic values' } },
        { title: 'x', '_bad-name': 1 },
        { title: 'x'.repeat(51201) },
        { title: 'x', __id: '' },
        { title: 'x', __id: 'y'.repeat(401) },
      ];
      for (const body of bad) assertCode(await call(t, { method: 'POST', url: `${COL}/Sales`, body }), 400, 'PR400-OD-0006');
      assertCode(await call(t, { method: 'POST', url: `${COL}/Sales`, body: { amount: 1 } }), 400, 'PR400-OD-0009');
      assert.deepEqual(await ids(t), before);
    });

    it('replaces with PUT (keeping __id), merges with MERGE, checks If-Match and deletes (apiref 366–370)', async () => {
      const url = `${COL}/Sales('s1')`;
      const etag = String((await call(t, { url })).headers.etag);
      assert.equal((await call(t, { method: 'PUT', url, body: { __id: 'other', title: 'replaced' }, headers: { 'if-match': etag } })).statusCode, 204);
      let e = json(await call(t, { url })).d.results;
      assert.equal(e.__id, 's1');
      assert.equal(e.title, 'replaced');
      assert.equal(e.amount, 7, 'the default again');
      assert.equal(e.note, undefined, 'dynamic properties not sent are gone');
      assertCode(await call(t, { method: 'PUT', url, body: { title: 'stale' }, headers: { 'if-match': etag } }), 412, 'PR412-OD-0002');
      assert.equal((await call(t, { method: 'MERGE', url, body: { amount: 11 } })).statusCode, 204);
      e = json(await call(t, { url })).d.results;
      assert.deepEqual([e.title, e.amount], ['replaced', 11]);
      // A ComplexType value in a MERGE updates only the members it names (apiref 369).
      assert.equal((await call(t, { method: 'MERGE', url, body: { addr: { city: 'Kobe', zip: 650 } } })).statusCode, 204);
      assert.equal((await call(t, { method: 'MERGE', url, body: { addr: { zip: 651 } } })).statusCode, 204);
      assert.deepEqual(json(await call(t, { url })).d.results.addr, { city: 'Kobe', zip: 651 });
      assertCode(await call(t, { method: 'MERGE', url, body: { addr: { zip: 'x' } } }), 400, 'PR400-OD-0006');
      assertCode(await call(t, { method: 'MERGE', url, body: { addr: { street: 'none' } } }), 400, 'PR400-OD-0006');
      assertCode(await call(t, { method: 'MERGE', url, body: { addr: { city: null } } }), 400, 'PR400-OD-0006');
      assert.deepEqual(json(await call(t, { url })).d.results.addr, { city: 'Kobe', zip: 651 });
      assertCode(await call(t, { method: 'DELETE', url: `${META}/EntityType('Sales')` }), 409, 'PR409-OD-0001');
      assertCode(await call(t, { method: 'DELETE', url: `${META}/Property(Name='amount',_EntityType.Name='Sales')` }), 409, 'PR409-OD-0001');
      assert.equal((await call(t, { method: 'DELETE', url })).statusCode, 204);
      assertCode(await call(t, { url }), 404, 'PR404-OD-0002');
    });

    it('lists with $filter, $orderby, $top, $select and $inlinecount over declared and dynamic properties (apiref 365, 400–407)', async () => {
      for (let i = 0; i < 5; i++) {
        assert.equal((await call(t, { method: 'POST', url: `${COL}/Sales`, body: { __id: `q${i}`, title: `t${i}`, amount: i * 10, color: i % 2 ? 'red' : 'blue' } })).statusCode, 201);
      }
      const res = await call(t, { url: `${COL}/Sales?$filter=${encodeURIComponent("amount ge 20 and color eq 'blue'")}&$orderby=amount%20desc&$inlinecount=allpages&$select=title` });
      assert.equal(res.statusCode, 200, res.body);
      const body = json(res).d;
      assert.equal(body.__count, '2');
      assert.deepEqual(body.results.map((r: { title: string }) => r.title), ['t4', 't2']);
      assert.equal(body.results[0].amount, undefined, '$select leaves other properties out');
      assert.deepEqual(json(await call(t, { url: `${COL}/Sales?$top=2&$orderby=__id&$filter=${encodeURIComponent("startswith(__id,'q')")}` })).d.results.map((r: { __id: string }) => r.__id), ['q0', 'q1']);
      assertCode(await call(t, { url: `${COL}/Nothing` }), 404, 'PR404-OD-0001');
      assertCode(await call(t, { url: `${COL}/Sales?$filter=${encodeURIComponent("title eq 'x' or")}` }), 400, 'PR400-OD-0003');
    });

    it('filters on ComplexType members and recorded dynamic properties; a name the schema lacks is PR400-OD-0045 (personium-core)', async () => {
      const post = (body: unknown) => call(t, { method: 'POST', url: `${COL}/Sales`, body });
      assert.equal((await post({ __id: 'cx1', title: 'x', addr: { city: 'Kyoto', zip: 600 }, size: 3 })).statusCode, 201);
      assert.equal((await post({ __id: 'cx2', title: 'x', addr: { city: 'Nara', zip: 630 }, size: 12 })).statusCode, 201);
      const found = async (filter: string) =>
        json(await call(t, { url: `${COL}/Sales?$filter=${encodeURIComponent(filter)}&$orderby=__id` })).d.results.map((r: { __id: string }) => r.__id);
      assert.deepEqual(await found("addr/city eq 'Kyoto'"), ['cx1']);
      assert.deepEqual(await found('addr/zip ge 610'), ['cx2']);
      // `size` was recorded as Edm.Double by its first value: compared as a number, not as text.
      assert.deepEqual(await found('size gt 5 and size lt 20'), ['cx2']);
      for (const unknown of ["nosuch eq 'a'", "addr/street eq 'a'", "title/sub eq 'a'"]) {
        assertCode(await call(t, { url: `${COL}/Sales?$filter=${encodeURIComponent(unknown)}` }), 400, 'PR400-OD-0045');
      }
      assertCode(await call(t, { url: `${COL}/Sales?$filter=${encodeURIComponent("addr/zip eq 'text'")}` }), 400, 'PR400-OD-0047');
    });

    it('refuses hostile queries and bodies with 400/413, changing and revealing nothing', async () => {
      const before = await ids(t);
      const list = (filter: string) => call(t, { url: `${COL}/Sales?$filter=${encodeURIComponent(filter)}` });
      // Quotes stay inside the literal: an injection attempt is just a title nobody has.
      for (const filter of ["title eq 'x'' or ''1''=''1'", "title eq 'x'' or 1 eq 1 --'"]) {
        const res = await list(filter);
        assert.equal(res.statusCode, 200, `${filter}: ${res.body}`);
        assert.deepEqual(json(res).d.results, [], filter);
      }
      const codes: [string, string][] = [
        ["title) or (1 eq 1", 'PR400-OD-0003'],
        // A backslash escapes nothing in OData: the literal ends there and the rest is not a filter.
        ["title eq 'x\\'); drop table entities; --'", 'PR400-OD-0003'],
        ["ti'tle eq 'x'", 'PR400-OD-0003'],
        [`${'('.repeat(60)}title eq 'a'${')'.repeat(60)}`, 'PR400-OD-0003'],
        [Array.from({ length: 201 }, (_, i) => `title eq 't${i}'`).join(' or '), 'PR400-OD-0003'],
        [`title eq '${'x'.repeat(9000)}'`, 'PR400-OD-0003'],
        ["amount eq 'many'", 'PR400-OD-0047'],
        ['amount eq true', 'PR400-OD-0046'],
        ['title gt null', 'PR400-OD-0046'],
        ['amount eq 2147483648000000000000', 'PR400-OD-0047'],
        ["startswith(amount,'1')", 'PR400-OD-0046'],
      ];
      for (const [filter, code] of codes) {
        const res = await list(filter);
        assert.equal(res.statusCode, 400, `${filter.slice(0, 80)}: ${res.body}`);
        assert.equal(json(res).code, code, filter.slice(0, 80));
      }
      assertCode(await call(t, { url: `${COL}/Sales?$top=10001` }), 400, 'PR400-OD-0029');
      assertCode(await call(t, { url: `${COL}/Sales?$skip=-1` }), 400, 'PR400-OD-0029');
      assertCode(await call(t, { url: `${COL}/Sales?$orderby=${encodeURIComponent('title; drop')}` }), 400, 'PR400-OD-0015');
      // Bodies: too large as a whole (413), a string beyond Personium's 50 KiB, an object for a string, text for a number.
      const post = (body: unknown) => call(t, { method: 'POST', url: `${COL}/Sales`, body });
      assert.equal((await post({ title: 'x', big: 'y'.repeat(1024 * 1024 + 1) })).statusCode, 413);
      assertCode(await post({ title: 'z'.repeat(51_201) }), 400, 'PR400-OD-0006');
      assertCode(await post({ title: { not: 'text' } }), 400, 'PR400-OD-0006');
      assertCode(await post({ title: 'x', __updated: '/Date(0)/' }), 400, 'PR400-OD-0007');
      assertCode(await post({ title: 'x', amount: '12' }), 400, 'PR400-OD-0006');
      assertCode(await call(t, { method: 'POST', url: `${COL}/Sales`, body: '{"title": "x",' }), 400, 'PR400-OD-0001');
      assert.deepEqual(await ids(t), before);
    });

    it('holds at most 400 properties per EntityType, dynamic ones included (apiref 369)', async () => {
      assert.equal((await call(t, { method: 'POST', url: `${META}/EntityType`, body: { Name: 'Wide' } })).statusCode, 201);
      const wide = (n: number, from = 0) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`p${from + i}`, i]));
      assertCode(await call(t, { method: 'POST', url: `${COL}/Wide`, body: { __id: 'w0', ...wide(401) } }), 400, 'PR400-OD-0032');
      assert.equal((await call(t, { method: 'POST', url: `${COL}/Wide`, body: { __id: 'w1', ...wide(400) } })).statusCode, 201);
      assertCode(await call(t, { method: 'POST', url: `${COL}/Wide`, body: { __id: 'w2', extra: 1 } }), 400, 'PR400-OD-0032');
      assert.deepEqual(json(await call(t, { url: `${COL}/Wide` })).d.results.map((r: { __id: string }) => r.__id), ['w1']);
    });

    it('reads need read, writes write, schema changes alter-schema, through the collection ACL (apiref 006)', async () => {
      const roleToken = async (name: string, privileges: string[]) => {
        await createAccount(t, 'c', name, `${name}-pw-1`);
        await ctlPost(t, 'c', 'Role', { Name: name, '_Box.Name': 'box1' });
        await ctlPost(t, 'c', `Role(Name='${name}',_Box.Name='box1')/$links/_Account`, { uri: `http://unit.test/c/__ctl/Account('${name}')` }, 204);
        return { name, privileges, token: (await token(t, 'c', passwordGrant(name, `${name}-pw-1`))).access_token as string };
      };
      const callers = [await roleToken('onlyread', ['D:read']), await roleToken('onlywrite', ['D:write']), await roleToken('schemer', ['p:alter-schema'])];
      const aces = callers
        .map((c) => `<D:ace><D:principal><D:href>http://unit.test/c/__role/box1/${c.name}</D:href></D:principal><D:grant>${c.privileges.map((p) => `<D:privilege><${p}/></D:privilege>`).join('')}</D:grant></D:ace>`)
        .join('');
      const acl = `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns">${aces}</D:acl>`;
      assert.equal((await call(t, { method: 'ACL', url: COL, body: acl })).statusCode, 200);
      const [reader, writer, schemer] = callers.map((c) => c.token);
      const before = await ids(t);
      const create = (as: string, __id: string) => call(t, { method: 'POST', url: `${COL}/Sales`, body: { __id, title: 'acl' }, as });
      const declare = (as: string, Name: string) => call(t, { method: 'POST', url: `${META}/EntityType`, body: { Name }, as });

      assert.equal((await call(t, { url: `${COL}/Sales`, as: reader })).statusCode, 200);
      assertCode(await create(reader!, 'by-reader'), 403, 'PR403-AU-0002');
      assertCode(await declare(reader!, 'ByReader'), 403, 'PR403-AU-0002');
      assertCode(await call(t, { url: `${COL}/Sales`, as: writer }), 403, 'PR403-AU-0002');
      assert.equal((await create(writer!, 'by-writer')).statusCode, 201);
      assertCode(await declare(writer!, 'ByWriter'), 403, 'PR403-AU-0002');
      assert.equal((await declare(schemer!, 'BySchemer')).statusCode, 201);
      assertCode(await create(schemer!, 'by-schemer'), 403, 'PR403-AU-0002');
      assertCode(await call(t, { url: `${COL}/Sales`, as: 'anonymous' }), 401, 'PR401-AU-0001');
      assert.deepEqual(await ids(t), [...before, 'by-writer'].sort());
      const types = json(await call(t, { url: `${META}/EntityType` })).d.results.map((e: { Name: string }) => e.Name);
      assert.ok(types.includes('BySchemer') && !types.includes('ByReader') && !types.includes('ByWriter'));
    });

    it('searches every value with q through the full-text index: phrases, all pieces, after updates and deletes (apiref 408)', async () => {
      const post = (body: unknown) => call(t, { method: 'POST', url: `${COL}/Sales`, body });
      assert.equal((await post({ __id: 'ft1', title: 'Quarterly Report draft', addr: { city: 'Sapporo' }, tags: ['urgent'] })).statusCode, 201);
      assert.equal((await post({ __id: 'ft2', title: 'report final', memo: 'Sapporo branch' })).statusCode, 201);
      const search = async (q: string, extra = '') => {
        const res = await call(t, { url: `${COL}/Sales?q=${encodeURIComponent(q)}${extra}` });
        assert.equal(res.statusCode, 200, res.body);
        return json(res).d.results.map((r: { __id: string }) => r.__id).sort();
      };
      assert.deepEqual(await search('REPORT'), ['ft1', 'ft2']);
      assert.deepEqual(await search('sapporo report'), ['ft1', 'ft2']);
      assert.deepEqual(await search('sapporo urgent'), ['ft1']);
      assert.deepEqual(await search('quarterly report'), ['ft1']);
      // Spaces separate pieces that must all occur; within a piece the words are a phrase.
      assert.deepEqual(await search('final report'), ['ft2']);
      assert.deepEqual(await search('report-final'), ['ft2']);
      assert.deepEqual(await search('final-report'), []);
      assert.deepEqual(await search('report', `&$filter=${encodeURIComponent("title eq 'report final'")}`), ['ft2']);
      // FTS syntax is only text here: no operator, column filter or error comes through.
      assert.deepEqual(await search('report OR "x* NEAR( title:'), []);
      assert.deepEqual(await search('!!!'), []);
      assert.equal((await call(t, { method: 'PUT', url: `${COL}/Sales('ft2')`, body: { title: 'memo only' } })).statusCode, 204);
      assert.deepEqual(await search('report'), ['ft1']);
      assert.equal((await call(t, { method: 'DELETE', url: `${COL}/Sales('ft1')` })).statusCode, 204);
      assert.deepEqual(await search('report'), []);
      assertCode(await call(t, { url: `${COL}/Sales?q=${'x'.repeat(256)}` }), 400, 'PR400-OD-0029');
      assertCode(await call(t, { url: `${COL}/Sales?q=` }), 400, 'PR400-OD-0029');
    });

    it('associates EntityTypes by linking AssociationEnds, then links, navigates and expands user data (apiref 323, 373–378)', async () => {
      const end = (name: string, type: string, m: string) => call(t, { method: 'POST', url: `${META}/AssociationEnd`, body: { Name: name, '_EntityType.Name': type, Multiplicity: m } });
      assert.equal((await call(t, { method: 'POST', url: `${META}/EntityType`, body: { Name: 'Customer' } })).statusCode, 201);
      for (const [n, type, m] of [['c', 'Customer', '1'], ['s', 'Sales', '*'], ['s2', 'Sales', '1'], ['c2', 'Customer', '*']] as const) {
        assert.equal((await end(n, type, m)).statusCode, 201);
      }
      const endUri = (n: string, type: string) => `http://unit.test${META}/AssociationEnd(Name='${n}',_EntityType.Name='${type}')`;
      const link = (from: string, fromType: string, to: string, toType: string) =>
        call(t, { method: 'POST', url: `${META}/AssociationEnd(Name='${from}',_EntityType.Name='${fromType}')/$links/_AssociationEnd`, body: { uri: endUri(to, toType) } });
      assertCode(await link('c', 'Customer', 's2', 'Sales'), 400, 'PR400-OD-0031');
      assert.equal((await link('c', 'Customer', 's', 'Sales')).statusCode, 204);
      assertCode(await link('c2', 'Customer', 's', 'Sales'), 409, 'PR409-OD-0002');
      assertCode(await link('c2', 'Customer', 's2', 'Sales'), 409, 'PR409-OD-0006');
      const listed = json(await call(t, { url: `${META}/AssociationEnd(Name='s',_EntityType.Name='Sales')/$links/_AssociationEnd` })).d.results;
      assert.deepEqual(listed, [{ uri: endUri('c', 'Customer') }]);
      const edmx = (await call(t, { url: META })).body;
      assert.match(edmx, /<Association Name="Customer-Sales-assoc"><End Role="Customer:c" Type="UserData.Customer" Multiplicity="1"><\/End><End Role="Sales:s" Type="UserData.Sales" Multiplicity="\*"><\/End><\/Association>/);
      assert.match(edmx, /<NavigationProperty Name="_Sales" Relationship="UserData.Customer-Sales-assoc" FromRole="Customer:c" ToRole="Sales:s">/);

      const C = `${COL}/Customer`;
      assert.equal((await call(t, { method: 'POST', url: C, body: { __id: 'alice' } })).statusCode, 201);
      assert.equal((await call(t, { method: 'POST', url: C, body: { __id: 'bob' } })).statusCode, 201);
      const viaNav = await call(t, { method: 'POST', url: `${C}('alice')/_Sales`, body: { __id: 'o1', title: 'by nav' } });
      assert.equal(viaNav.statusCode, 201, viaNav.body);
      assert.equal(viaNav.headers.location, `http://unit.test${COL}/Sales('o1')`);
      assert.equal((await call(t, { method: 'POST', url: `${COL}/Sales`, body: { __id: 'o2', title: 'linked later' } })).statusCode, 201);
      const customerUri = (id: string) => `http://unit.test${C}('${id}')`;
      assert.equal((await call(t, { method: 'POST', url: `${COL}/Sales('o2')/$links/_Customer`, body: { uri: customerUri('alice') } })).statusCode, 204);
      // A Sales entity belongs to one Customer (the Customer end is 1).
      assertCode(await call(t, { method: 'POST', url: `${COL}/Sales('o2')/$links/_Customer`, body: { uri: customerUri('bob') } }), 409, 'PR409-OD-0002');
      const nav = json(await call(t, { url: `${C}('alice')/_Sales?$orderby=__id` })).d.results.map((r: { __id: string }) => r.__id);
      assert.deepEqual(nav, ['o1', 'o2']);
      const expanded = json(await call(t, { url: `${C}('alice')?$expand=_Sales` })).d.results._Sales.map((r: { __id: string }) => r.__id).sort();
      assert.deepEqual(expanded, ['o1', 'o2']);
      assertCode(await call(t, { method: 'DELETE', url: `${C}('alice')` }), 409, 'PR409-OD-0001');
      assert.equal((await call(t, { method: 'DELETE', url: `${COL}/Sales('o2')/$links/_Customer('alice')` })).statusCode, 204);
      assert.deepEqual(json(await call(t, { url: `${C}('alice')/_Sales` })).d.results.map((r: { __id: string }) => r.__id), ['o1']);
    });

    it('expands *:* associations newest link first, others newest entity first (apiref 405)', async () => {
      const post = (url: string, body: unknown) => call(t, { method: 'POST', url, body });
      for (const Name of ['Post', 'Tag']) assert.equal((await post(`${META}/EntityType`, { Name })).statusCode, 201);
      for (const [Name, type] of [['p', 'Post'], ['t', 'Tag']]) {
        assert.equal((await post(`${META}/AssociationEnd`, { Name, '_EntityType.Name': type, Multiplicity: '*' })).statusCode, 201);
      }
      const link = await post(`${META}/AssociationEnd(Name='p',_EntityType.Name='Post')/$links/_AssociationEnd`, {
        uri: `http://unit.test${META}/AssociationEnd(Name='t',_EntityType.Name='Tag')`,
      });
      assert.equal(link.statusCode, 204, link.body);
      // Created b, then a; linked a, then b: by link b comes first, by creation a would.
      for (const __id of ['b', 'a']) {
        assert.equal((await post(`${COL}/Tag`, { __id })).statusCode, 201);
        await sleep(5);
      }
      assert.equal((await post(`${COL}/Post`, { __id: 'p1' })).statusCode, 201);
      for (const tag of ['a', 'b']) {
        assert.equal((await post(`${COL}/Post('p1')/$links/_Tag`, { uri: `http://unit.test${COL}/Tag('${tag}')` })).statusCode, 204);
        await sleep(5);
      }
      const expanded = json(await call(t, { url: `${COL}/Post('p1')?$expand=_Tag` })).d.results._Tag.map((e: { __id: string }) => e.__id);
      assert.deepEqual(expanded, ['b', 'a']);
      const inList = json(await call(t, { url: `${COL}/Post?$expand=_Tag` })).d.results[0]._Tag.map((e: { __id: string }) => e.__id);
      assert.deepEqual(inList, ['b', 'a']);
    });

    it('a renamed EntityType keeps its data (personium-core)', async () => {
      assert.equal((await call(t, { method: 'POST', url: `${META}/EntityType`, body: { Name: 'Old' } })).statusCode, 201);
      assert.equal((await call(t, { method: 'POST', url: `${COL}/Old`, body: { __id: 'kept', v: 1 } })).statusCode, 201);
      assert.equal((await call(t, { method: 'PUT', url: `${META}/EntityType('Old')`, body: { Name: 'New' } })).statusCode, 204);
      const moved = json(await call(t, { url: `${COL}/New('kept')` })).d.results;
      assert.deepEqual([moved.__id, moved.v, moved.__metadata.type], ['kept', 1, 'UserData.New']);
      assertCode(await call(t, { url: `${COL}/Old('kept')` }), 404, 'PR404-OD-0001');
    });
  });
}
