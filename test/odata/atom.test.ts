import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideFormat } from '../../src/odata/format.js';
import { atomEntryDocument } from '../../src/odata/atom-writer.js';
import type { EntitySetDescriptor } from '../../src/odata/descriptor.js';
import { PersoniumError } from '../../src/core/errors/personium-error.js';
import { userDataSets } from '../../src/personium/odata-col/user-data.js';
import { userDataShapes } from '../../src/personium/odata-col/atom-shapes.js';
import type { PropertyModel, SchemaModel } from '../../src/personium/odata-col/schema-model.js';
import type { StoredEntity } from '../../src/store/entity-store.js';
import { ATOM, attr, kid, members, parseAtom, properties } from '../support/atom.js';

describe('output format decision (apiref 404; research notes §0 "Output format")', () => {
  const rows: [format: string | undefined, accept: string | undefined, expected: 'json' | 'atom', why: string][] = [
    [undefined, undefined, 'json', 'neither given: JSON (deviation: personium-core defaults to Atom)'],
    ['json', undefined, 'json', '$format=json'],
    ['atom', undefined, 'atom', '$format=atom'],
    ['json', 'application/atom+xml', 'json', '$format wins over Accept'],
    ['atom', 'application/json', 'atom', '$format wins over Accept'],
    [undefined, 'application/atom+xml', 'atom', 'Accept: Atom'],
    [undefined, 'application/xml', 'atom', 'Accept: application/xml is served as Atom'],
    [undefined, 'application/atom+xml;type=feed', 'atom', 'media type parameters other than q are ignored'],
    [undefined, 'APPLICATION/ATOM+XML', 'atom', 'media types are case-insensitive'],
    [undefined, 'application/json', 'json', 'Accept: JSON'],
    [undefined, '*/*', 'json', 'anything: the default'],
    [undefined, 'application/*', 'json', 'both match equally: the default'],
    [undefined, 'application/json, application/atom+xml', 'json', 'a tie goes to JSON (deviation: Atom in personium-core)'],
    [undefined, 'application/json;q=0.5, application/atom+xml', 'atom', 'Atom preferred by q'],
    [undefined, 'application/atom+xml;q=0.5, application/json', 'json', 'JSON preferred by q'],
    [undefined, 'application/json;q=0, */*', 'atom', 'JSON refused, anything else welcome'],
    [undefined, 'application/xml;q=0.9, */*;q=0.1', 'atom', 'the most specific range decides JSON\'s q (*/*)'],
    [undefined, 'text/html', 'json', 'an unrelated type: kura keeps answering JSON (deviation: 415 in personium-core)'],
    [undefined, 'application/atom+xml;q=2, application/json', 'json', 'a malformed q drops its range'],
    [undefined, '', 'json', 'an empty Accept'],
  ];
  for (const [format, accept, expected, why] of rows) {
    it(`${why}: $format=${format ?? '-'} Accept=${accept ?? '-'} → ${expected}`, () => {
      assert.equal(decideFormat(format, accept), expected);
    });
  }

  for (const format of ['bogus', 'xml', 'JSON', 'Atom', '', 'atomsvc']) {
    it(`$format=${JSON.stringify(format)} → 400 PR400-OD-0005, whatever Accept says`, () => {
      assert.throws(
        () => decideFormat(format, 'application/json'),
        (err: unknown) => err instanceof PersoniumError && err.code === 'PR400-OD-0005',
      );
    });
  }
});

describe('Atom entry writer with user-data shapes (userDataShapes)', () => {
  const prop = (name: string, type: string, extra: Partial<PropertyModel> = {}): [string, PropertyModel] => [
    name,
    { name, type, nullable: true, defaultValue: null, list: false, declared: true, ...extra },
  ];
  const schema: SchemaModel = {
    entityTypes: new Map([
      [
        'Sales',
        new Map([
          prop('addr', 'Addr'),
          prop('addrs', 'Addr', { list: true }),
          prop('tags', 'Edm.String', { list: true }),
          prop('n', 'Edm.Double', { declared: false }),
          prop('gone', 'Edm.Boolean', { declared: false }),
        ]),
      ],
    ]),
    complexTypes: new Map([['Addr', new Map([prop('city', 'Edm.String'), prop('zip', 'Edm.Int32'), prop('since', 'Edm.DateTime')])]]),
    ends: [],
    associations: [],
  };
  const set: EntitySetDescriptor = userDataSets(schema).get('Sales')!;
  const entity: StoredEntity = {
    id: 'x',
    scope: { cellId: 'c', boxId: 'b', nodeId: 'n' },
    entitySet: 'Sales',
    key: 's1',
    version: 3,
    published: 0,
    updated: 86_400_000,
    props: {
      __id: 's1',
      addr: { city: 'Tokyo', zip: 5, since: 1000 },
      addrs: [{ city: 'Osaka', zip: null, since: null }],
      tags: ['a', null],
      n: 3,
      gone: null,
      undeclared: 'x',
    },
  };

  it('types ComplexType values, their members and lists from the schema', () => {
    const doc = atomEntryDocument({ serviceRoot: 'http://u/c/b/col/', shapeOf: userDataShapes(schema) }, { set, entity });
    const entry = parseAtom(doc);
    assert.equal(entry.ns, ATOM);
    assert.equal(attr(entry, 'etag', 'http://schemas.microsoft.com/ado/2007/08/dataservices/metadata'), `W/"3-86400000"`);
    const p = properties(entry);
    assert.equal(p.get('addr')!.type, 'UserData.Addr');
    assert.deepEqual(
      members(p.get('addr')!).map((m) => [m.el.local, m.type, m.text]),
      [['city', 'Edm.String', 'Tokyo'], ['zip', 'Edm.Int32', '5'], ['since', 'Edm.DateTime', '1970-01-01T00:00:01.000']],
    );
    assert.equal(p.get('addrs')!.type, 'Bag(UserData.Addr)');
    const [first] = members(p.get('addrs')!);
    assert.equal(first!.el.local, 'element');
    assert.deepEqual(members(first!).map((m) => [m.el.local, m.type, m.isNull]), [['city', 'Edm.String', false], ['zip', 'Edm.Int32', true], ['since', 'Edm.DateTime', true]]);
    assert.equal(p.get('tags')!.type, 'Bag(Edm.String)');
    assert.deepEqual(members(p.get('tags')!).map((m) => [m.text, m.isNull]), [['a', false], ['', true]]);
    // Dynamic properties take the type recorded in the schema (IsDeclared=false), null ones too.
    assert.deepEqual([p.get('n')!.type, p.get('n')!.text], ['Edm.Double', '3']);
    assert.deepEqual([p.get('gone')!.type, p.get('gone')!.isNull], ['Edm.Boolean', true]);
    assert.deepEqual([p.get('undeclared')!.type, p.get('undeclared')!.text], ['Edm.String', 'x']);
    assert.equal(p.get('__updated')!.text, '1970-01-02T00:00:00.000');
    assert.equal(kid(entry, ATOM, 'updated').children[0], '1970-01-02T00:00:00.000Z');
  });

  it('without shapes, infers what it can and writes no m:type it cannot know', () => {
    const entry = parseAtom(atomEntryDocument({ serviceRoot: 'http://u/c/b/col/' }, { set, entity }));
    const p = properties(entry);
    assert.equal(p.get('addr')!.type, undefined);
    assert.deepEqual(members(p.get('addr')!).map((m) => m.el.local), ['city', 'zip', 'since']);
    assert.equal(p.get('tags')!.type, 'Bag(Edm.String)');
    assert.deepEqual([p.get('gone')!.type, p.get('gone')!.isNull], [undefined, true]);
  });

  it('leaves out a property whose name cannot be an XML name, and never writes characters XML cannot carry', () => {
    const open: EntitySetDescriptor = { name: 'T', typeName: 'N.T', keys: ['k'], properties: [{ name: 'k', type: 'Edm.String' }], navigations: [], openType: true };
    const odd: StoredEntity = {
      ...entity,
      props: { k: 'key', v: 'a\u0000b\uD800c\r\n', '1st': 'v', 'x"/><evil/><d:y a="': 'v', 'a:b': 'v', ok: 'fine' },
    };
    const p = properties(parseAtom(atomEntryDocument({ serviceRoot: 'http://u/' }, { set: open, entity: odd })));
    assert.deepEqual([...p.keys()], ['k', 'v', 'ok', '__published', '__updated']);
    // NUL and a lone surrogate become U+FFFD; CR and LF survive the parser's line-end handling.
    assert.equal(p.get('v')!.text, 'a\uFFFDb\uFFFDc\r\n');
  });
});
