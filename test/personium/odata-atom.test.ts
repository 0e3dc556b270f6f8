import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import { assertCode, call, json, mkcolOData } from '../support/http.js';
import { createCell, ctlPost } from '../support/auth.js';
import { textOf, type XmlElement } from '../../src/personium/dav/xml-tree.js';
import { ATOM, D, M, RELATED, SCHEME, XML_NS, attr, entryIds, kid, kids, link, members, parseAtom, properties } from '../support/atom.js';

/**
 * OData V2 Atom output ($format=atom, apiref 404; Accept) for user data (apiref 364–378) and
 * control objects (apiref 201–266), read back through an XML parser.
 */
const COL = '/c/box1/col';
const META = `${COL}/$metadata`;
const BASE = `http://unit.test${COL}/`;
const HOSTILE = `<script>alert(1)</script>&"'`;

function atom(res: LightMyRequestResponse, kind: 'feed' | 'entry'): XmlElement {
  assert.equal(res.statusCode, kind === 'entry' && res.headers.location ? 201 : 200, res.body);
  assert.equal(res.headers['content-type'], `application/atom+xml;charset=utf-8;type=${kind}`);
  assert.equal(res.headers.dataserviceversion, '2.0');
  const root = parseAtom(res.body);
  assert.equal(root.ns, ATOM);
  assert.equal(root.local, kind);
  return root;
}

for (const backend of backends) {
  describe(`OData Atom output on ${backend.name}`, { skip: backend.skip }, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(backend);
      await createCell(t, 'c');
      await ctlPost(t, 'c', 'Box', { Name: 'box1' });
      await ctlPost(t, 'c', 'Role', { Name: 'reader', '_Box.Name': 'box1' });
      await mkcolOData(t, COL);
      const schema: [string, unknown][] = [
        ['EntityType', { Name: 'Sales' }],
        ['EntityType', { Name: 'Customer' }],
        ['ComplexType', { Name: 'Addr' }],
        ['ComplexTypeProperty', { Name: 'city', '_ComplexType.Name': 'Addr', Type: 'Edm.String', Nullable: false }],
        ['ComplexTypeProperty', { Name: 'zip', '_ComplexType.Name': 'Addr', Type: 'Edm.Int32' }],
        ['Property', { Name: 'title', '_EntityType.Name': 'Sales', Type: 'Edm.String', Nullable: false }],
        ['Property', { Name: 'amount', '_EntityType.Name': 'Sales', Type: 'Edm.Int32', DefaultValue: '7' }],
        ['Property', { Name: 'rate', '_EntityType.Name': 'Sales', Type: 'Edm.Double' }],
        ['Property', { Name: 'paid', '_EntityType.Name': 'Sales', Type: 'Edm.Boolean' }],
        ['Property', { Name: 'at', '_EntityType.Name': 'Sales', Type: 'Edm.DateTime' }],
        ['Property', { Name: 'addr', '_EntityType.Name': 'Sales', Type: 'Addr' }],
        ['Property', { Name: 'tags', '_EntityType.Name': 'Sales', Type: 'Edm.String', CollectionKind: 'List' }],
        ['AssociationEnd', { Name: 'c', '_EntityType.Name': 'Customer', Multiplicity: '1' }],
        ['AssociationEnd', { Name: 's', '_EntityType.Name': 'Sales', Multiplicity: '*' }],
      ];
      for (const [set, body] of schema) assert.equal((await call(t, { method: 'POST', url: `${META}/${set}`, body })).statusCode, 201, JSON.stringify(body));
      const endLink = await call(t, {
        method: 'POST',
        url: `${META}/AssociationEnd(Name='c',_EntityType.Name='Customer')/$links/_AssociationEnd`,
        body: { uri: `http://unit.test${META}/AssociationEnd(Name='s',_EntityType.Name='Sales')` },
      });
      assert.equal(endLink.statusCode, 204, endLink.body);
      const rows: [string, unknown][] = [
        ['Customer', { __id: 'alice' }],
        ['Sales', { __id: 's1', title: 'first', rate: 1.5, paid: true, at: '/Date(1000)/', addr: { city: 'Tokyo', zip: 1000001 }, tags: ['a', 'b'], note: 'dynamic', n: 3, flag: false }],
        ['Sales', { __id: 's2', title: HOSTILE, amount: -4, tags: [] }],
      ];
      for (const [set, body] of rows) assert.equal((await call(t, { method: 'POST', url: `${COL}/${set}`, body })).statusCode, 201, JSON.stringify(body));
      const linked = await call(t, { method: 'POST', url: `${COL}/Sales('s1')/$links/_Customer`, body: { uri: `${BASE}Customer('alice')` } });
      assert.equal(linked.statusCode, 204, linked.body);
    });
    after(() => t.close());

    it('lists user data as an Atom feed with $format=atom: ids, links, category, typed properties, m:count (apiref 365, 404, 407)', async () => {
      const feed = atom(await call(t, { url: `${COL}/Sales?$format=atom&$inlinecount=allpages&$orderby=__id` }), 'feed');
      assert.equal(attr(feed, 'base', XML_NS), BASE);
      assert.equal(textOf(kid(feed, ATOM, 'title')), 'Sales');
      assert.equal(textOf(kid(feed, ATOM, 'id')), `${BASE}Sales`);
      assert.equal(textOf(kid(feed, M, 'count')), '2');
      assert.deepEqual(entryIds(feed), [`${BASE}Sales('s1')`, `${BASE}Sales('s2')`]);

      const [s1] = kids(feed, ATOM, 'entry');
      const asJson = json(await call(t, { url: `${COL}/Sales('s1')` })).d.results;
      assert.equal(attr(s1!, 'etag', M), asJson.__metadata.etag);
      assert.equal(attr(link(s1!, 'edit'), 'href'), "Sales('s1')");
      const nav = link(s1!, `${RELATED}_Customer`);
      assert.deepEqual([attr(nav, 'href'), attr(nav, 'type'), attr(nav, 'title')], ["Sales('s1')/_Customer", 'application/atom+xml;type=entry', '_Customer']);
      const category = kid(s1!, ATOM, 'category');
      assert.deepEqual([attr(category, 'term'), attr(category, 'scheme')], ['UserData.Sales', SCHEME]);
      assert.equal(attr(kid(s1!, ATOM, 'content'), 'type'), 'application/xml');

      const p = properties(s1!);
      const typed = (name: string) => [p.get(name)?.type, p.get(name)?.text];
      assert.deepEqual(typed('__id'), ['Edm.String', 's1']);
      assert.deepEqual(typed('title'), ['Edm.String', 'first']);
      assert.deepEqual(typed('amount'), ['Edm.Int32', '7']);
      assert.deepEqual(typed('rate'), ['Edm.Double', '1.5']);
      assert.deepEqual(typed('paid'), ['Edm.Boolean', 'true']);
      // OData V2 Atom writes Edm.DateTime without a zone designator.
      assert.deepEqual(typed('at'), ['Edm.DateTime', '1970-01-01T00:00:01.000']);
      // Dynamic properties: typed from their JSON values.
      assert.deepEqual(typed('note'), ['Edm.String', 'dynamic']);
      assert.deepEqual(typed('n'), ['Edm.Double', '3']);
      assert.deepEqual(typed('flag'), ['Edm.Boolean', 'false']);
      assert.equal(p.get('__published')?.type, 'Edm.DateTime');
      assert.equal(p.get('__published')?.text, new Date(Number(/\d+/.exec(asJson.__published)![0])).toISOString().slice(0, -1));
      // A ComplexType value nests its members; a list holds one d:element per item.
      assert.deepEqual(members(p.get('addr')!).map((m) => [m.el.local, m.text]), [['city', 'Tokyo'], ['zip', '1000001']]);
      assert.equal(p.get('tags')?.type, 'Bag(Edm.String)');
      assert.deepEqual(members(p.get('tags')!).map((m) => [m.el.local, m.text]), [['element', 'a'], ['element', 'b']]);

      const q = properties(kids(feed, ATOM, 'entry')[1]!);
      assert.deepEqual([q.get('rate')?.type, q.get('rate')?.isNull, q.get('rate')?.text], ['Edm.Double', true, '']);
      assert.deepEqual([q.get('at')?.type, q.get('at')?.isNull], ['Edm.DateTime', true]);
      assert.equal(q.get('addr')?.isNull, true);
      assert.deepEqual(members(q.get('tags')!), []);
      assert.deepEqual([q.get('amount')?.type, q.get('amount')?.text], ['Edm.Int32', '-4']);
    });

    it('leaves m:count out without $inlinecount and honours $select, $top and $filter', async () => {
      const filter = encodeURIComponent("__id eq 's1'");
      const feed = atom(await call(t, { url: `${COL}/Sales?$format=atom&$select=title&$filter=${filter}` }), 'feed');
      assert.deepEqual(kids(feed, M, 'count'), []);
      const [entry] = kids(feed, ATOM, 'entry');
      assert.deepEqual([...properties(entry!).keys()], ['title', '__published', '__updated']);
      assert.deepEqual(kids(entry!, ATOM, 'link').map((l) => attr(l, 'rel')), ['edit']);
      assert.equal(kids(atom(await call(t, { url: `${COL}/Sales?$format=atom&$top=1` }), 'feed'), ATOM, 'entry').length, 1);
    });

    it('escapes a hostile value so that it round-trips through an XML parser', async () => {
      const res = await call(t, { url: `${COL}/Sales('s2')?$format=atom` });
      assert.ok(!res.body.includes('<script>'), 'no markup from a value reaches the document');
      const entry = atom(res, 'entry');
      assert.equal(res.headers.etag, json(await call(t, { url: `${COL}/Sales('s2')` })).d.results.__metadata.etag);
      assert.equal(attr(entry, 'base', XML_NS), BASE);
      assert.equal(properties(entry).get('title')?.text, HOSTILE);

      // The same through a key and an attribute: the entity URI, the edit link and m:etag.
      const key = `k"><x a='1'/>&amp;`;
      const made = await call(t, { method: 'POST', url: `${COL}/Sales?$format=atom`, body: { __id: key, title: `line\r\nbreak\ttab` } });
      const created = atom(made, 'entry');
      const uri = json(await call(t, { url: new URL(String(made.headers.location)).pathname })).d.results.__metadata.uri;
      assert.equal(textOf(kid(created, ATOM, 'id')), uri);
      assert.equal(`${BASE}${attr(link(created, 'edit'), 'href')}`, uri);
      assert.equal(properties(created).get('__id')?.text, key);
      assert.equal(properties(created).get('title')?.text, 'line\r\nbreak\ttab');
      assert.equal((await call(t, { method: 'DELETE', url: new URL(uri).pathname })).statusCode, 204);
    });

    it('answers Atom to an Accept header that prefers it, JSON otherwise', async () => {
      const entity = `${COL}/Sales('s1')`;
      for (const accept of ['application/atom+xml', 'application/xml', 'application/json;q=0.5, application/atom+xml']) {
        atom(await call(t, { url: entity, headers: { accept } }), 'entry');
      }
      for (const accept of ['application/json', '*/*', 'application/json, application/atom+xml', 'text/html']) {
        const res = await call(t, { url: entity, headers: { accept } });
        assert.match(String(res.headers['content-type']), /^application\/json\b/, accept);
        assert.equal(json(res).d.results.__id, 's1');
      }
      const forced = await call(t, { url: `${entity}?$format=json`, headers: { accept: 'application/atom+xml' } });
      assert.match(String(forced.headers['content-type']), /^application\/json\b/, '$format wins');
      atom(await call(t, { url: `${COL}/Sales`, headers: { accept: 'application/atom+xml' } }), 'feed');
    });

    it('refuses any $format other than json and atom with 400 PR400-OD-0005, writing nothing', async () => {
      const urls = [`${COL}/Sales`, `${COL}/Sales('s1')`, `${COL}/Customer('alice')/_Sales`, `${COL}/Sales('s1')/$links/_Customer`, '/c/__ctl/Role', '/__ctl/Cell'];
      for (const url of urls) {
        for (const format of ['bogus', 'xml']) assertCode(await call(t, { url: `${url}?$format=${format}` }), 400, 'PR400-OD-0005');
      }
      const before = json(await call(t, { url: `${COL}/Sales?$inlinecount=allpages&$top=0` })).d.__count;
      assertCode(await call(t, { method: 'POST', url: `${COL}/Sales?$format=bogus`, body: { title: 'not stored' } }), 400, 'PR400-OD-0005');
      assertCode(await call(t, { method: 'POST', url: `${COL}/Customer('alice')/_Sales?$format=bogus`, body: { title: 'not stored' } }), 400, 'PR400-OD-0005');
      assert.equal(json(await call(t, { url: `${COL}/Sales?$inlinecount=allpages&$top=0` })).d.__count, before);
    });

    it('expands navigation properties inline: a feed for many, an entry for one, empty for none (apiref 405)', async () => {
      const alice = atom(await call(t, { url: `${COL}/Customer('alice')?$expand=_Sales&$format=atom` }), 'entry');
      const many = link(alice, `${RELATED}_Sales`);
      assert.equal(attr(many, 'type'), 'application/atom+xml;type=feed');
      const inlineFeed = kid(kid(many, M, 'inline'), ATOM, 'feed');
      assert.deepEqual(entryIds(inlineFeed), [`${BASE}Sales('s1')`]);
      assert.equal(properties(kids(inlineFeed, ATOM, 'entry')[0]!).get('title')?.text, 'first');
      // As in JSON, what $expand asks for is written even when $select leaves the link out.
      const selected = atom(await call(t, { url: `${COL}/Customer('alice')?$expand=_Sales&$select=__id&$format=atom` }), 'entry');
      assert.deepEqual(entryIds(kid(kid(link(selected, `${RELATED}_Sales`), M, 'inline'), ATOM, 'feed')), [`${BASE}Sales('s1')`]);

      const listed = atom(await call(t, { url: `${COL}/Sales?$expand=_Customer&$format=atom&$orderby=__id` }), 'feed');
      const [s1, s2] = kids(listed, ATOM, 'entry');
      const one = kid(kid(link(s1!, `${RELATED}_Customer`), M, 'inline'), ATOM, 'entry');
      assert.equal(textOf(kid(one, ATOM, 'id')), `${BASE}Customer('alice')`);
      assert.deepEqual(kid(link(s2!, `${RELATED}_Customer`), M, 'inline').children, []);
    });

    it('writes navigation lists, $links and creates in Atom too (apiref 364, 374, 378)', async () => {
      const nav = atom(await call(t, { url: `${COL}/Customer('alice')/_Sales?$format=atom&$inlinecount=allpages` }), 'feed');
      assert.equal(textOf(kid(nav, ATOM, 'id')), `${BASE}Customer('alice')/_Sales`);
      assert.equal(textOf(kid(nav, M, 'count')), '1');
      assert.deepEqual(entryIds(nav), [`${BASE}Sales('s1')`]);

      const links = await call(t, { url: `${COL}/Sales('s1')/$links/_Customer?$format=atom` });
      assert.equal(links.statusCode, 200);
      assert.equal(links.headers['content-type'], 'application/xml;charset=utf-8');
      const root = parseAtom(links.body);
      assert.deepEqual([root.ns, root.local], [D, 'links']);
      assert.deepEqual(kids(root, D, 'uri').map(textOf), [`${BASE}Customer('alice')`]);

      const made = await call(t, { method: 'POST', url: `${COL}/Customer('alice')/_Sales`, headers: { accept: 'application/atom+xml' }, body: { __id: 'viaNav', title: 'nav' } });
      const entry = atom(made, 'entry');
      assert.equal(made.headers.location, `${BASE}Sales('viaNav')`);
      assert.equal(properties(entry).get('__id')?.text, 'viaNav');
      assert.equal((await call(t, { method: 'DELETE', url: `${COL}/Sales('viaNav')/$links/_Customer('alice')` })).statusCode, 204);
      assert.equal((await call(t, { method: 'DELETE', url: `${COL}/Sales('viaNav')` })).statusCode, 204);
    });

    it('writes control objects in Atom: cell Role (apiref 202, 203) and unit Cell (apiref 101)', async () => {
      const roles = atom(await call(t, { url: '/c/__ctl/Role?$format=atom', headers: { accept: 'application/json' } }), 'feed');
      assert.equal(attr(roles, 'base', XML_NS), 'http://unit.test/c/__ctl/');
      const [role] = kids(roles, ATOM, 'entry');
      assert.equal(textOf(kid(role!, ATOM, 'id')), "http://unit.test/c/__ctl/Role(Name='reader',_Box.Name='box1')");
      assert.equal(attr(kid(role!, ATOM, 'category'), 'term'), 'CellCtl.Role');
      const p = properties(role!);
      assert.deepEqual([p.get('Name')?.type, p.get('Name')?.text], ['Edm.String', 'reader']);
      assert.deepEqual([p.get('_Box.Name')?.type, p.get('_Box.Name')?.text], ['Edm.String', 'box1']);
      assert.equal(attr(link(role!, `${RELATED}_Box`), 'href'), "Role(Name='reader',_Box.Name='box1')/_Box");

      // Cell control objects read Accept too.
      atom(await call(t, { url: "/c/__ctl/Box('box1')", headers: { accept: 'application/atom+xml' } }), 'entry');
      const cells = atom(await call(t, { url: "/__ctl/Cell?$format=atom&$filter=Name%20eq%20'c'" }), 'feed');
      assert.equal(attr(kid(kids(cells, ATOM, 'entry')[0]!, ATOM, 'category'), 'term'), 'UnitCtl.Cell');
    });
  });
}
