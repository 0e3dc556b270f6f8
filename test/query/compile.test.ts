import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { EntitySetDescriptor } from '../../src/odata/descriptor.js';
import { resolverFor } from '../../src/odata/query-options.js';
import { compileFilter, compileOrderBy } from '../../src/query/compile.js';
import { QueryError } from '../../src/query/errors.js';
import { parseFilter, parseOrderBy } from '../../src/query/parse.js';
import { EntityStore, type Scope } from '../../src/store/entity-store.js';
import { backends, openTestDatabase } from '../support/backends.js';

/**
 * $filter and $orderby compiled to SQL and run against real rows on each dialect: the same case
 * table must give the same answer on SQLite and PostgreSQL, including the awkward values
 * (LIKE wildcards, quotes, missing members, mixed-type dynamic properties, nested objects).
 */
const set: EntitySetDescriptor = {
  name: 'Item',
  typeName: 'Test.Item',
  keys: ['Name'],
  properties: [
    { name: 'Name', type: 'Edm.String', nullable: false },
    { name: 'Note', type: 'Edm.String' },
    { name: 'Pages', type: 'Edm.Int32' },
    { name: 'Price', type: 'Edm.Double' },
    { name: 'Open', type: 'Edm.Boolean' },
    { name: 'When', type: 'Edm.DateTime' },
  ],
  navigations: [],
  openType: true,
};

const at = (iso: string) => Date.parse(iso);
const rows: Record<string, Record<string, unknown>> = {
  '100%': { Note: "it's", Pages: 10, Price: 1.5, Open: true, When: at('2020-01-01T00:00:00Z'), Mixed: 5 },
  a_b: { Note: null, Pages: 200, Price: 20.25, Open: false, When: at('2021-06-01T12:00:00Z'), Nested: { Inner: 'x' }, Mixed: '5' },
  abc: { Open: true, Extra: 'dyn', Mixed: true, Nested: { Inner: 'y' } },
  ABC: { Note: 'Ünïcode ✓', Pages: 0, Price: -3, When: at('1969-12-31T23:59:59Z') },
};

const cases: Array<[filter: string, expected: string[]]> = [
  ["Name eq '100%'", ['100%']],
  ["startswith(Name,'100%')", ['100%']],
  ["startswith(Name,'a_')", ['a_b']],
  ["startswith(Name,'a')", ['a_b', 'abc']],
  ["startswith(Name,'10')", ['100%']],
  ["startswith(Name,'')", ['100%', 'ABC', 'a_b', 'abc']],
  ["startswith(Name,'abc')", ['abc']],
  ["startswith(Name,'abcd')", []],
  ["substringof('_b',Name)", ['a_b']],
  ["substringof('%',Name)", ['100%']],
  ["substringof('b',Name)", ['a_b', 'abc']],
  ["Note eq 'it''s'", ['100%']],
  ["Note eq 'Ünïcode ✓'", ['ABC']],
  ['Note eq null', ['a_b', 'abc']],
  ['Note ne null', ['100%', 'ABC']],
  ['Pages gt 100', ['a_b']],
  ['Pages le 10', ['100%', 'ABC']],
  ['Pages eq 0', ['ABC']],
  ['Pages ne 10', ['ABC', 'a_b', 'abc']],
  ['Pages eq null', ['abc']],
  ["Pages eq '200'", ['a_b']],
  ['10 lt Pages', ['a_b']],
  ['Price lt 0', ['ABC']],
  ['Price ge 1.5', ['100%', 'a_b']],
  ['Price eq 20.25', ['a_b']],
  ['Open eq true', ['100%', 'abc']],
  ['Open eq false', ['a_b']],
  ['Open ne true', ['ABC', 'a_b']],
  ["When ge datetime'2021-01-01T00:00'", ['a_b']],
  ["When lt datetime'1970-01-01T00:00'", ['ABC']],
  ["__published gt datetime'2000-01-01T00:00'", ['100%', 'ABC', 'a_b', 'abc']],
  ['not (Pages gt 100)', ['100%', 'ABC', 'abc']],
  ["Pages gt 5 and (Open eq true or Note eq null)", ['100%', 'a_b']],
  ["Name eq 'abc' or Name eq 'ABC'", ['ABC', 'abc']],
  ["Extra eq 'dyn'", ['abc']],
  ['Mixed eq 5', ['100%']],
  ["Mixed eq '5'", ['a_b']],
  ['Mixed eq true', ['abc']],
  ['Mixed gt 1', ['100%']],
  ["Nested/Inner eq 'x'", ['a_b']],
  ["Nested/Inner ne 'x'", ['100%', 'ABC', 'abc']],
  ["Missing eq 'x'", []],
  ["Name eq 'a'' or 1=1 or ''a''=''a'", []],
  ["Name eq 'x'');DROP TABLE entities;--'", []],
];

const refusals: Array<[filter: string, code: string]> = [
  ["Pages eq 'ten'", 'PR400-OD-0047'],
  ['Pages eq 1.5', 'PR400-OD-0047'],
  ['Open eq 1', 'PR400-OD-0046'],
  ['Open gt true', 'PR400-OD-0046'],
  ['Pages gt null', 'PR400-OD-0046'],
  ["When eq true", 'PR400-OD-0046'],
  ["startswith(Pages,'1')", 'PR400-OD-0046'],
  ["Name eq Note", 'PR400-OD-0046'],
];

for (const backend of backends) {
  describe(`$filter/$orderby compiled and run on ${backend.name}`, { skip: backend.skip }, () => {
    let store: EntityStore;
    let release: () => Promise<void>;
    const scope: Scope = { cellId: 'c', boxId: 'b', nodeId: 'n' };
    const resolver = resolverFor(set);

    const run = async (filter: string | undefined, orderby?: string): Promise<string[]> => {
      const dialect = store.dialect;
      const result = await store.query(scope, 'Item', {
        where: filter === undefined ? undefined : compileFilter(parseFilter(filter), resolver, dialect),
        orderBy: orderby === undefined ? undefined : compileOrderBy(parseOrderBy(orderby), resolver, dialect),
        top: 100,
        skip: 0,
        count: false,
      });
      return result.entities.map((e) => e.key);
    };

    before(async () => {
      const opened = await openTestDatabase(backend);
      release = opened.release;
      store = new EntityStore(opened.database.db, opened.database.dialect);
      for (const [name, props] of Object.entries(rows)) await store.insert(scope, 'Item', name, { Name: name, ...props });
      // Same shapes in another entity set and another scope: a filter must never reach them.
      await store.insert(scope, 'Other', 'abc', { Name: 'abc', Open: true });
      await store.insert({ ...scope, boxId: 'other' }, 'Item', 'abc', { Name: 'abc', Open: true });
    });
    after(() => release());

    for (const [filter, expected] of cases) {
      it(`$filter=${filter}`, async () => {
        assert.deepEqual((await run(filter)).sort(), [...expected].sort());
      });
    }

    for (const [filter, code] of refusals) {
      it(`refuses $filter=${filter} with ${code}`, () => {
        assert.throws(
          () => compileFilter(parseFilter(filter), resolver, store.dialect),
          (err: unknown) => err instanceof QueryError && err.code === code,
        );
      });
    }

    it('refuses unknown properties on a closed set, ignores them when asked to', async () => {
      const closed = resolverFor({ ...set, openType: false });
      assert.throws(
        () => compileFilter(parseFilter("Extra eq 'dyn'"), closed, store.dialect),
        (err: unknown) => err instanceof QueryError && err.code === 'PR400-OD-0045',
      );
      const where = compileFilter(parseFilter("Extra eq 'dyn' and Pages gt 100"), closed, store.dialect, {
        unknownProperty: 'ignore',
      });
      const result = await store.query(scope, 'Item', { where, top: 100, skip: 0, count: false });
      assert.deepEqual(result.entities.map((e) => e.key), ['a_b']);
    });

    it('orders text by code point on both dialects, nulls last in both directions', async () => {
      assert.deepEqual(await run(undefined, 'Name'), ['100%', 'ABC', 'a_b', 'abc']);
      assert.deepEqual(await run(undefined, 'Name desc'), ['abc', 'a_b', 'ABC', '100%']);
      assert.deepEqual(await run(undefined, 'Pages'), ['ABC', '100%', 'a_b', 'abc']);
      assert.deepEqual(await run(undefined, 'Pages desc'), ['a_b', '100%', 'ABC', 'abc']);
      assert.deepEqual(await run(undefined, 'Note asc,Name desc'), ['100%', 'ABC', 'abc', 'a_b']);
    });

    it('orders numbers numerically, not as text', async () => {
      assert.deepEqual(await run('Price ne null', 'Price'), ['ABC', '100%', 'a_b']);
      assert.deepEqual(await run(undefined, 'When desc'), ['a_b', '100%', 'ABC', 'abc']);
    });
  });
}
