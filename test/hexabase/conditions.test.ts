import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sql, type CompiledQuery, type Kysely } from 'kysely';
import type { Database } from '../../src/store/schema.js';
import type { Dialect } from '../../src/query/compile.js';
import { backends, openTestDatabase } from '../support/backends.js';
import { EntityStore, type Scope } from '../../src/store/entity-store.js';
import { PropertyIndexes } from '../../src/store/property-indexes.js';
import type { FieldDef, StatusDef } from '../../src/hexabase/applications/datastores.js';
import { HexabaseError } from '../../src/hexabase/errors.js';
import {
  CONDITION_LIMITS,
  alternatives,
  compileConditions,
  compileSort,
  instantSpan,
  type ConditionsDef,
  type ConditionsInput,
} from '../../src/hexabase/items/conditions.js';

/** A 24-hex id whose last digits are `n` (fields start with f, items with e, statuses with 5). */
const hex = (prefix: string, n: number) => `${prefix}${n.toString(16).padStart(23, '0')}`;
const key = (n: number) => hex('e', n);

function field(n: number, display_id: string, dataType: FieldDef['dataType'], extra: Partial<FieldDef> = {}): FieldDef {
  return { field_id: hex('f', n), display_id, name: display_id, dataType, as_title: false, search: true, show_list: true, unique: false, required: false, ...extra };
}
const option = (option_id: string, display_id: string, value: string, sort_id: number) => ({ option_id, display_id, value, sort_id, enabled: true });

const F = {
  title: field(1, 'title', 'text'),
  notes: field(2, 'notes', 'textarea'),
  amount: field(3, 'amount', 'number'),
  due: field(4, 'due', 'date'),
  at: field(5, 'at', 'datetime'),
  rank: field(6, 'rank', 'select', {
    // Options listed out of id order: sorting follows the definition, not the ids.
    options: [option('opt-gold', 'A', 'Gold', 0), option('opt-bronze', 'C', 'Bronze', 2), option('opt-silver', 'B', 'Silver', 1)].sort((a, b) => a.sort_id - b.sort_id),
  }),
  tags: field(7, 'tags', 'checkbox', { options: [option('tag-x', 'x', 'Ex', 0), option('tag-y', 'y', 'Why', 1), option('tag-z', 'z', 'Zed', 2)] }),
  owners: field(8, 'owners', 'users'),
  files: field(9, 'files', 'file'),
  ref: field(10, 'ref', 'dslookup', { dslookup_datastore_id: hex('d', 1) }),
  code: field(11, 'code', 'autonum', { prefix: 'NO-' }),
  state: field(12, 'state', 'status'),
  radio: field(13, 'radio', 'radio', { options: [option('r-1', 'one', 'One', 0), option('r-2', 'two', 'Two', 1)] }),
};
const S = {
  new: { s_id: hex('5', 1), display_id: 'new', name: 'New', sort_id: 0 },
  doing: { s_id: hex('5', 2), display_id: 'doing', name: 'Doing', sort_id: 1 },
  done: { s_id: hex('5', 3), display_id: 'done', name: 'Done', sort_id: 2 },
} satisfies Record<string, StatusDef>;
const DEF: ConditionsDef = { fields: Object.values(F), statuses: [S.new, S.doing, S.done] };

const ms = (iso: string) => Date.parse(iso);
const NOW = new Date('2024-03-15T12:00:00.000Z');
/** Item n is created at BASE + n minutes. */
const BASE = ms('2024-01-01T00:00:00.000Z');
const u1 = hex('0', 0xa1);
const u2 = hex('0', 0xa2);

/** The dozen items: n → props keyed by internal field id (the canonical forms of values.ts). */
const ITEMS: Record<number, Record<string, unknown>> = {
  1: { title: 'Apple pie', notes: 'sweet\nred', amount: 100, due: ms('2024-01-10T00:00:00Z'), at: ms('2024-03-15T00:00:00.000Z'), rank: 'opt-gold', tags: ['tag-x'], owners: [u1], files: ['file1'], ref: key(3), code: 'NO-1', status_id: S.new.s_id, created_by: u1, updated_by: u1, radio: 'r-1' },
  2: { title: 'apple tart', amount: 250, due: ms('2024-03-15T00:00:00.000Z'), at: ms('2024-03-14T23:59:59.999Z'), rank: 'opt-silver', tags: ['tag-x', 'tag-y'], owners: [u1, u2], ref: key(4), code: 'NO-2', status_id: S.doing.s_id, created_by: u2, updated_by: u1, radio: 'r-2' },
  3: { title: 'Banana', amount: -5, due: ms('2024-03-15T23:59:59.999Z'), rank: 'opt-bronze', tags: ['tag-z'], owners: [u2], files: ['file2', 'file3'], code: 'NO-3', status_id: S.done.s_id, created_by: u1, updated_by: u2 },
  4: { title: '100% juice', amount: 1000.5, due: ms('2024-03-16T00:00:00.000Z'), rank: 'opt-gold', tags: [], owners: [], status_id: S.new.s_id, created_by: u2, updated_by: u2 },
  5: { title: 'under_score', amount: 0, rank: 'opt-silver', status_id: S.doing.s_id, created_by: u2 },
  6: { title: "O'Reilly'); DROP TABLE entities; --", amount: 99.99 },
  7: { title: 'a.c', amount: 101 },
  8: { title: 'abc', amount: 1e6 },
  9: { title: '', amount: null, tags: null },
  10: { title: 'C:\\path\\x', amount: 7 },
  11: { title: 'x|y', amount: 8 },
  12: {},
};
const ALL = Object.keys(ITEMS).map(Number);
const except = (...ns: number[]) => ALL.filter((n) => !ns.includes(n));

/** Props keyed by field id (`status_id`, `created_by`, `updated_by` stay as they are). */
function stored(props: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(props)) out[name in F ? F[name as keyof typeof F].field_id : name] = value;
  return out;
}

function assertInvalid(fn: () => unknown, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof HexabaseError, String(err));
    assert.equal(err.code, 'INVALID_PARAMS');
    if (message) assert.match(err.message, message);
    return true;
  });
}

/** The database's plan for a compiled query, as text. */
async function planOf(db: Kysely<Database>, dialect: Dialect, compiled: CompiledQuery): Promise<string> {
  if (dialect === 'sqlite') {
    return (await db.executeQuery<{ detail: string }>({ ...compiled, sql: `explain query plan ${compiled.sql}` })).rows.map((r) => r.detail).join('\n');
  }
  return (await db.executeQuery<{ 'QUERY PLAN': string }>({ ...compiled, sql: `explain ${compiled.sql}` })).rows.map((r) => r['QUERY PLAN']).join('\n');
}

for (const backend of backends) {
  describe(`Hexabase ItemList conditions compiled to SQL on ${backend.name}`, { skip: backend.skip }, () => {
    let release: () => Promise<void>;
    let db: Kysely<Database>;
    let dialect: Dialect;
    let store: EntityStore;
    let clock = BASE;
    const scope: Scope = { cellId: 'hx', boxId: hex('a', 1), nodeId: hex('d', 2) };
    const numberOf = new Map<string, number>();

    before(async () => {
      const opened = await openTestDatabase(backend);
      release = opened.release;
      ({ db, dialect } = opened.database);
      store = new EntityStore(db, dialect, () => clock);
      for (const n of ALL) {
        clock = BASE + n * 60_000;
        await store.insert(scope, 'hx.Item', key(n), stored(ITEMS[n]!));
        numberOf.set(key(n), n);
      }
      // Same field ids in another datastore: never seen by a search of this one.
      await store.insert({ ...scope, nodeId: hex('d', 3) }, 'hx.Item', key(99), stored({ title: 'Apple pie', amount: 100 }));
      // Item 1 is updated later (updated_at differs from created_at).
      clock = ms('2024-02-01T00:00:00Z');
      const one = (await store.get(scope, 'hx.Item', key(1)))!;
      await store.update(one, { key: one.key, props: one.props });
    });
    after(() => release());

    /** The items (by number) the input selects, in the order it asks for. */
    async function search(input: ConditionsInput, page?: { top: number; skip: number }): Promise<number[]> {
      const where = compileConditions(input, DEF, dialect, NOW);
      const orderBy = compileSort(input, DEF, dialect);
      const result = await store.query(scope, 'hx.Item', { where, orderBy, top: page?.top ?? 1000, skip: page?.skip ?? 0, count: true });
      if (!page) assert.equal(result.count, result.entities.length);
      return result.entities.map((e) => numberOf.get(e.key)!);
    }
    /** One leaf on its own. */
    const leaf = (id: string, search_value: unknown[], flags: Record<string, unknown> = {}) => search({ conditions: [{ id, search_value, ...flags }] });

    it('without conditions selects every item of the datastore, oldest first', async () => {
      assert.equal(compileConditions({}, DEF, dialect), undefined);
      assert.equal(compileConditions({ conditions: null }, DEF, dialect), undefined);
      assert.equal(compileConditions({ conditions: [] }, DEF, dialect), undefined);
      assert.equal(compileConditions({ conditions: [{ conditions: [] }] }, DEF, dialect), undefined);
      assert.deepEqual(await search({}), ALL);
    });

    it('matches text partially: the first value, split at |, each a literal case-sensitive substring', async () => {
      assert.deepEqual(await leaf('title', ['Apple']), [1]);
      assert.deepEqual(await leaf('title', ['apple']), [2]);
      assert.deepEqual(await leaf('title', ['pple']), [1, 2]);
      assert.deepEqual(await leaf('title', ['Apple|Banana']), [1, 3]);
      assert.deepEqual(await leaf('title', ['Apple||Banana|']), [1, 3], 'empty alternatives are dropped');
      // Only the first value counts in a partial match.
      assert.deepEqual(await leaf('title', ['Banana', 'Apple']), [3]);
      // By internal id as well as display id; textarea the same way (newlines are characters like others).
      assert.deepEqual(await leaf(F.title.field_id, ['Apple']), [1]);
      assert.deepEqual(await leaf('notes', ['t\nr']), [1]);
    });

    it('treats LIKE wildcards, quotes, SQL and regex metacharacters in text as literals', async () => {
      assert.deepEqual(await leaf('title', ['%']), [4]);
      assert.deepEqual(await leaf('title', ['_']), [5]);
      assert.deepEqual(await leaf('title', ["'"]), [6]);
      assert.deepEqual(await leaf('title', ["'); DROP TABLE entities; --"]), [6]);
      assert.deepEqual(await leaf('title', ['" or 1=1 --']), []);
      assert.deepEqual(await leaf('title', ['.']), [7], 'a dot is a dot, not any character');
      assert.deepEqual(await leaf('title', ['a.c']), [7]);
      assert.deepEqual(await leaf('title', ['^abc$']), []);
      assert.deepEqual(await leaf('title', ['.*']), []);
      assert.deepEqual(await leaf('title', ['(a+)+$']), []);
      assert.deepEqual(await leaf('title', ['[']), []);
      // A regex-escaped literal means the literal; `\|` is a pipe, not an alternative.
      assert.deepEqual(await leaf('title', ['a\\.c']), [7]);
      assert.deepEqual(await leaf('title', ['x\\|y']), [11]);
      assert.deepEqual(await leaf('title', ['x|y']), [6, 10, 11], 'x or y (O\'Reilly has a y)');
      assert.deepEqual(await leaf('title', ['\\']), [10], 'a lone backslash is a backslash');
      assert.deepEqual(await leaf('title', ['C:\\path']), [10]);
    });

    it('exact_match: equality with any value or alternative, case-sensitive', async () => {
      assert.deepEqual(await leaf('title', ['Banana'], { exact_match: true }), [3]);
      assert.deepEqual(await leaf('title', ['banana'], { exact_match: true }), []);
      assert.deepEqual(await leaf('title', ['Banan'], { exact_match: true }), []);
      assert.deepEqual(await leaf('title', ['Banana', 'abc'], { exact_match: true }), [3, 8]);
      assert.deepEqual(await leaf('title', ['Banana|abc', 'a.c'], { exact_match: true }), [3, 7, 8]);
      assert.deepEqual(await leaf('title', ['x\\|y'], { exact_match: true }), [11]);
      assert.deepEqual(await leaf('title', ['C:\\path\\x'], { exact_match: true }), [10], 'a backslash before a letter is kept');
      assert.deepEqual(await leaf('title', ["O'Reilly'); DROP TABLE entities; --"], { exact_match: true }), [6]);
      assert.deepEqual(await leaf('code', ['NO-'], {}), [1, 2, 3], 'autonum searches like text');
      assert.deepEqual(await leaf('code', ['NO-1'], { exact_match: true }), [1]);
    });

    it('not_match negates, counting blanks as not matching; include_null false then excludes them', async () => {
      assert.deepEqual(await leaf('title', ['Banana'], { exact_match: true, not_match: true }), except(3));
      assert.deepEqual(await leaf('title', ['Banana'], { exact_match: true, not_match: true, include_null: true }), except(3));
      assert.deepEqual(await leaf('title', ['Banana'], { exact_match: true, not_match: true, include_null: false }), except(3, 9, 12));
      assert.deepEqual(await leaf('title', ['pple'], { not_match: true }), except(1, 2));
      assert.deepEqual(await leaf('rank', ['A'], { not_match: true }), except(1, 4));
      assert.deepEqual(await leaf('tags', ['x'], { not_match: true }), except(1, 2));
      assert.deepEqual(await leaf('amount', ['100', null], { not_match: true }), [3, 5, 6, 9, 10, 11, 12]);
      assert.deepEqual(await leaf('amount', ['100', null], { not_match: true, include_null: false }), [3, 5, 6, 10, 11]);
    });

    it('include_null adds blanks; without values it means "is blank", with not_match "is not blank"', async () => {
      assert.deepEqual(await leaf('title', ['Banana'], { exact_match: true, include_null: true }), [3, 9, 12]);
      assert.deepEqual(await leaf('title', ['Banana'], { include_null: false }), [3]);
      assert.deepEqual(await leaf('title', [], { include_null: true }), [9, 12]);
      assert.deepEqual(await leaf('title', [null], { include_null: true }), [9, 12]);
      assert.deepEqual(await leaf('title', [], { include_null: true, not_match: true }), except(9, 12));
      assert.deepEqual(await leaf('amount', [null, null], { include_null: true }), [9, 12]);
      assert.deepEqual(await leaf('amount', [null, '0'], { include_null: true }), [3, 5, 9, 12]);
      assert.deepEqual(await leaf('tags', [], { include_null: true }), except(1, 2, 3), '[] and null lists are blank');
      assert.deepEqual(await leaf('owners', [], { include_null: true, not_match: true }), [1, 2, 3]);
      assert.deepEqual(await leaf('rank', [], { include_null: true }), except(1, 2, 3, 4, 5));
      assert.deepEqual(await leaf('state', [], { include_null: true }), except(1, 2, 3, 4, 5));
      // i_id and the times are never blank.
      assert.deepEqual(await leaf('i_id', [], { include_null: true }), []);
      assert.deepEqual(await leaf('created_at', [], { include_null: true, not_match: true }), ALL);
    });

    it('a leaf without values (empty, null or "") and no include_null matches everything', async () => {
      for (const values of [[], [null], [''], [null, null], ['', null]]) {
        for (const id of ['title', 'amount', 'due', 'rank', 'tags', 'owners', 'state', 'i_id', 'created_by', 'updated_at']) {
          assert.equal(compileConditions({ conditions: [{ id, search_value: values }] }, DEF, dialect, NOW), undefined, `${id} ${JSON.stringify(values)}`);
        }
      }
      assert.deepEqual(await leaf('title', [''], { exact_match: true, not_match: true }), ALL);
      assert.deepEqual(await leaf('title', ['|||']), ALL, 'nothing but separators');
    });

    it('number ranges: inclusive, open at null, bounds as strings or numbers, compared numerically', async () => {
      assert.deepEqual(await leaf('amount', ['100', null]), [1, 2, 4, 7, 8]);
      assert.deepEqual(await leaf('amount', [null, '100']), [1, 3, 5, 6, 10, 11]);
      assert.deepEqual(await leaf('amount', ['100']), [1, 2, 4, 7, 8], 'a missing `to` is open');
      assert.deepEqual(await leaf('amount', ['99.99', '100']), [1, 6]);
      assert.deepEqual(await leaf('amount', [0, 0]), [5]);
      assert.deepEqual(await leaf('amount', ['-5', '-5']), [3]);
      assert.deepEqual(await leaf('amount', ['1e3', null]), [4, 8]);
      assert.deepEqual(await leaf('amount', [' 8 ', '', ]), [1, 2, 4, 6, 7, 8, 11]);
      assert.deepEqual(await leaf('amount', ['9', '7']), [], 'from above to');
      assert.deepEqual(await leaf('amount', ['1e300', null]), []);
      assert.deepEqual(await leaf('amount', ['-1e300', '1e300']), except(9, 12));
      for (const bad of [['abc'], ['1', '2', '3'], [true], ['Infinity'], ['0x10'], ['1,000'], [{}], [[1]], ['1e999'], [Number.NaN]]) {
        assertInvalid(() => compileConditions({ conditions: [{ id: 'amount', search_value: bad }] }, DEF, dialect, NOW));
      }
    });

    it('date ranges: ISO-8601 bounds, a `to` covering its last unit, "TODAY" as the UTC day of now', async () => {
      assert.deepEqual(await leaf('due', ['TODAY', null]), [2, 3, 4]);
      assert.deepEqual(await leaf('due', [null, 'TODAY']), [1, 2, 3]);
      assert.deepEqual(await leaf('due', ['TODAY', 'TODAY']), [2, 3]);
      assert.deepEqual(await leaf('due', ['today', 'Today']), [2, 3]);
      assert.deepEqual(await leaf('due', ['2024-03-15', '2024-03-15']), [2, 3]);
      assert.deepEqual(await leaf('due', ['2024-03-15T00:00:00.000Z', '2024-03-15T23:59:59.998Z']), [2]);
      assert.deepEqual(await leaf('due', ['2024-03-16T08:59:59+09:00', null]), [3, 4], '+09:00 is 23:59:59Z the day before');
      assert.deepEqual(await leaf('due', ['2024-03-16T09:00:00+09:00', null]), [4]);
      assert.deepEqual(await leaf('due', ['2024-03-16T09:00', null]), [], 'no offset = UTC');
      // A `to` with seconds covers that whole second; with milliseconds, exactly that instant.
      assert.deepEqual(await leaf('at', [null, '2024-03-14T23:59:59Z']), [2]);
      assert.deepEqual(await leaf('at', [null, '2024-03-14T23:59:59.998Z']), []);
      assert.deepEqual(await leaf('at', [null, '2024-03-14T23:59']), [2]);
      assert.deepEqual(await leaf('at', ['2024-03-15T09:00:00.000+09:00', null]), [1]);
      assert.deepEqual(await leaf('at', ['TODAY', null]), [1], 'TODAY on a datetime field too');
      for (const bad of [['2024-02-30'], ['2023-02-29T00:00:00Z'], ['yesterday'], ['2024-13-01'], ['2024-01-01T24:00:00Z'], [1710460800000], ['2024-1-5'], ['2024-01-01T00:00:00+25:00'], [true], ['2024-01-01 00:00:00']]) {
        assertInvalid(() => compileConditions({ conditions: [{ id: 'due', search_value: bad }] }, DEF, dialect, NOW), /search_value\[0\]/);
      }
      assertInvalid(() => compileConditions({ conditions: [{ id: 'due', search_value: [null, 'soon'] }] }, DEF, dialect, NOW), /search_value\[1\]/);
      assert.deepEqual(await leaf('due', ['2024-02-29', null]), [2, 3, 4], 'a leap day is a day');
    });

    it('created_at / updated_at are ranges over the item times; i_id, created_by, updated_by are any-of', async () => {
      assert.deepEqual(await leaf('created_at', ['2024-01-01T00:03:00Z', '2024-01-01T00:05:00Z']), [3, 4, 5]);
      assert.deepEqual(await leaf('created_at', ['2024-01-01T00:11:00.001Z', null]), [12]);
      assert.deepEqual(await leaf('updated_at', ['2024-01-31', null]), [1]);
      assert.deepEqual(await leaf('updated_at', [null, '2024-01-01']), except(1));
      assert.deepEqual(await leaf('i_id', [key(3), key(5), "' or 1=1 --", key(99)]), [3, 5], 'i_id of another datastore matches nothing here');
      assert.deepEqual(await leaf('i_id', [key(3)], { not_match: true }), except(3));
      assert.deepEqual(await leaf('created_by', [u1]), [1, 3]);
      assert.deepEqual(await leaf('created_by', [u1, u2]), [1, 2, 3, 4, 5]);
      assert.deepEqual(await leaf('updated_by', [u2]), [3, 4]);
      assert.deepEqual(await leaf('updated_by', [u2], { not_match: true, include_null: false }), [1, 2]);
    });

    it('select and radio: by option id, display id or label; unknown options match nothing', async () => {
      assert.deepEqual(await leaf('rank', ['A']), [1, 4]);
      assert.deepEqual(await leaf('rank', ['Gold']), [1, 4]);
      assert.deepEqual(await leaf('rank', ['opt-silver']), [2, 5]);
      assert.deepEqual(await leaf('rank', ['Gold', 'B']), [1, 2, 4, 5]);
      assert.deepEqual(await leaf('rank', ['nope']), []);
      assert.deepEqual(await leaf('rank', ['nope', 'C']), [3]);
      assert.deepEqual(await leaf('rank', ['nope'], { not_match: true }), ALL);
      assert.deepEqual(await leaf('rank', ['nope'], { include_null: true }), except(1, 2, 3, 4, 5));
      assert.deepEqual(await leaf('rank', ['Gol']), [], 'no partial match on options');
      assert.deepEqual(await leaf('radio', ['Two']), [2]);
    });

    it('checkbox, users and file: any of the values in the stored list', async () => {
      assert.deepEqual(await leaf('tags', ['x']), [1, 2]);
      assert.deepEqual(await leaf('tags', ['Why', 'tag-z']), [2, 3]);
      assert.deepEqual(await leaf('tags', ['nope']), []);
      assert.deepEqual(await leaf('owners', [u1]), [1, 2]);
      assert.deepEqual(await leaf('owners', [u2]), [2, 3]);
      assert.deepEqual(await leaf('owners', ["'] or 1=1"]), []);
      assert.deepEqual(await leaf('files', ['file3', 'file1']), [1, 3]);
      assert.deepEqual(await leaf('files', ['file3'], { not_match: true }), except(3));
    });

    it('status: by the status field or status_id, with s_id, display id or name; dslookup by i_id', async () => {
      assert.deepEqual(await leaf('state', ['doing']), [2, 5]);
      assert.deepEqual(await leaf(F.state.field_id, [S.new.s_id]), [1, 4]);
      assert.deepEqual(await leaf('status_id', [S.new.s_id, 'Done']), [1, 3, 4]);
      assert.deepEqual(await leaf('status_id', ['nope']), []);
      assert.deepEqual(await leaf('state', ['done'], { not_match: true }), except(3));
      assert.deepEqual(await leaf('ref', [key(3)]), [1]);
      assert.deepEqual(await leaf('ref', [key(3), key(4)]), [1, 2]);
    });

    it('nests groups with AND and OR as the page example does', async () => {
      // (title = "Banana" OR amount in [200, 300]) AND (title contains "a" AND status is not "done")
      const input = {
        conditions: [
          { conditions: [{ id: 'title', search_value: ['Banana'], exact_match: true }, { id: 'amount', search_value: ['200', '300'] }], use_or_condition: true },
          { conditions: [{ id: 'title', search_value: ['a'] }, { id: 'state', search_value: ['done'], not_match: true }] },
        ],
        use_or_condition: false,
      };
      assert.deepEqual(await search(input), [2]);
      assert.deepEqual(await search({ ...input, use_or_condition: true }), [2, 3, 7, 8, 10]);
      // Top-level OR of leaves; an empty group in an OR matches everything, in an AND nothing changes.
      assert.deepEqual(await search({ conditions: [{ id: 'rank', search_value: ['A'] }, { id: 'tags', search_value: ['z'] }], use_or_condition: true }), [1, 3, 4]);
      assert.deepEqual(await search({ conditions: [{ id: 'rank', search_value: ['A'] }, { conditions: [] }], use_or_condition: true }), ALL);
      assert.deepEqual(await search({ conditions: [{ id: 'rank', search_value: ['A'] }, { conditions: [] }] }), [1, 4]);
      // A group with use_or_condition nested three deep.
      assert.deepEqual(
        await search({ conditions: [{ conditions: [{ conditions: [{ id: 'i_id', search_value: [key(1)] }, { id: 'i_id', search_value: [key(2)] }], use_or_condition: true }, { id: 'rank', search_value: ['B'] }] }] }),
        [2],
      );
      // An AND with a leaf that can match nothing is nothing; an OR of it is the rest.
      assert.deepEqual(await search({ conditions: [{ id: 'rank', search_value: ['nope'] }, { id: 'title', search_value: ['a'] }] }), []);
      assert.deepEqual(await search({ conditions: [{ id: 'rank', search_value: ['nope'] }, { id: 'title', search_value: ['Apple'] }], use_or_condition: true }), [1]);
    });

    it('refuses malformed conditions with INVALID_PARAMS', () => {
      const bad = (conditions: unknown, extra: Record<string, unknown> = {}, message?: RegExp) =>
        assertInvalid(() => compileConditions({ conditions, ...extra }, DEF, dialect, NOW), message);
      bad('title');
      bad({ id: 'title', search_value: ['x'] });
      bad(42);
      bad([1]);
      bad([null]);
      bad([['title']]);
      bad([{ search_value: ['x'] }], {}, /id is required/);
      bad([{ id: 42, search_value: ['x'] }]);
      bad([{ id: '', search_value: ['x'] }]);
      bad([{ id: 'title' }], {}, /search_value/);
      bad([{ id: 'title', search_value: 'x' }], {}, /search_value/);
      bad([{ id: 'title', search_value: { 0: 'x' } }]);
      bad([{ id: 'nope', search_value: ['x'] }], {}, /no field "nope"/);
      bad([{ id: "title' or 1=1 --", search_value: ['x'] }], {}, /no field/);
      bad([{ id: 'Title', search_value: ['x'] }], {}, /no field/);
      bad([{ id: 'x'.repeat(5000), search_value: ['x'] }]);
      bad([{ id: 'title', search_value: ['x'], exact_match: 'yes' }], {}, /exact_match/);
      bad([{ id: 'title', search_value: ['x'], not_match: 1 }], {}, /not_match/);
      bad([{ id: 'title', search_value: ['x'], include_null: 'true' }], {}, /include_null/);
      bad([], { use_or_condition: 'true' }, /use_or_condition/);
      bad([{ conditions: [], use_or_condition: 0 }]);
      bad([{ conditions: 'x' }]);
      bad([{ id: 'title', search_value: ['x'], conditions: [] }], {}, /both/);
      bad([{ id: 'title', search_value: [{}] }]);
      bad([{ id: 'title', search_value: [['x']] }]);
      bad([{ id: 'title', search_value: [true] }]);
      bad([{ id: 'title', search_value: ['a\u0000b'] }], {}, /U\+0000/);
      bad([{ id: 'title', search_value: ['x'], exact_match: true }, { id: 'i_id', search_value: ['\u0000'] }], {}, /U\+0000/);
      bad([{ id: 'i_id', search_value: [{ $ne: null }] }]);
      bad([{ id: 'title', search_value: ['x'.repeat(1001)] }], {}, /1000/);
      bad([{ id: 'title', search_value: ['ok', 'x'.repeat(1001)] }], {}, /1000/);
      bad([{ id: 'title', search_value: Array.from({ length: 101 }, (_, i) => `v${i}`), exact_match: true }], {}, /at most 100/);
      bad([{ id: 'title', search_value: [Array.from({ length: 101 }, (_, i) => `v${i}`).join('|')] }], {}, /alternatives/);
      bad(Array.from({ length: 101 }, () => ({ id: 'title', search_value: ['x'] })), {}, /100 field conditions/);
      bad(Array.from({ length: 101 }, () => ({ conditions: [] })), {}, /100 groups/);
      bad(Array.from({ length: 1_000_000 }, () => 0), {}, /too many/);
      let deep: unknown = [{ id: 'title', search_value: ['x'] }];
      for (let i = 0; i < 10; i++) deep = [{ conditions: deep }];
      bad(deep, {}, /10 levels/);
      // Hostile shapes never become anything but INVALID_PARAMS.
      bad(JSON.parse('[{"__proto__": {"id": "title"}, "search_value": ["x"]}]'));
      bad([{ id: 'toString', search_value: ['x'] }], {}, /no field/);
      bad([{ id: '__proto__', search_value: ['x'] }], {}, /no field/);
      // A string, not a JSON value, where bound values go: accepted as text (and must be harmless).
      assert.ok(compileConditions({ conditions: [{ id: 'title', search_value: [7] }] }, DEF, dialect, NOW));
    });

    it('runs the largest conditions the limits allow, and refuses one more parameter', async () => {
      // 10 levels, 99 groups, 100 leaves of 100 alternatives each: 10,000 parameters, with quotes and wildcards.
      const leafOf = (i: number) => ({ id: 'title', search_value: [Array.from({ length: 100 }, (_, j) => `n${i}-${j}%'_`).join('|')] });
      let nested: unknown[] = Array.from({ length: 10 }, (_, i) => leafOf(i));
      for (let depth = 1; depth < 10; depth++) nested = [{ conditions: nested, use_or_condition: depth % 2 === 0 }, ...Array.from({ length: 10 }, (_, i) => leafOf(depth * 10 + i))];
      const groups = Array.from({ length: 90 }, () => ({ conditions: [] }));
      const input = { conditions: [...nested, ...groups] };
      assert.deepEqual(await search(input), []);
      assert.deepEqual(await search({ conditions: nested, use_or_condition: true }), []);
      assertInvalid(() => compileConditions({ conditions: [...nested, { id: 'amount', search_value: ['1'] }] }, DEF, dialect, NOW), /100 field conditions/);
      assert.ok(compileConditions({ conditions: [...nested, ...groups, { conditions: [] }] }, DEF, dialect, NOW), '100 groups');
      assertInvalid(() => compileConditions({ conditions: [...nested, ...groups, { conditions: [] }, { conditions: [] }] }, DEF, dialect, NOW), /100 groups/);
      // Options shared by one label multiply the parameters: the total is bounded, not only the leaves.
      const many: ConditionsDef = {
        fields: [field(1, 'pick', 'select', { options: Array.from({ length: 1000 }, (_, i) => option(`o-${i}`, `o${i}`, 'same', i)) })],
        statuses: [],
      };
      const picks = (n: number) => ({ conditions: Array.from({ length: n }, () => ({ id: 'pick', search_value: ['same'] })) });
      assert.ok(compileConditions(picks(10), many, dialect, NOW));
      assertInvalid(() => compileConditions(picks(11), many, dialect, NOW), /too large/);
      assert.deepEqual(
        (await store.query(scope, 'hx.Item', { where: compileConditions(picks(10), many, dialect, NOW), top: 10, skip: 0, count: true })).count,
        0,
      );
      // Just under the limits in each dimension, on every kind of field at once.
      const wide = [
        { id: 'title', search_value: Array.from({ length: 100 }, (_, i) => `${i}`.repeat(3)), exact_match: true },
        { id: 'tags', search_value: Array.from({ length: 99 }, (_, i) => `t${i}`).concat(['x']) },
        { id: 'owners', search_value: Array.from({ length: 100 }, (_, i) => `u${i}`) },
        { id: 'i_id', search_value: Array.from({ length: 100 }, (_, i) => key(i)) },
        { id: 'title', search_value: ['x'.repeat(1000)] },
      ];
      assert.deepEqual(await search({ conditions: wide, use_or_condition: true }), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      assert.deepEqual(await search({ conditions: wide }), []);
    });

    it('never lets client input turn into a SQL error (random conditions)', async () => {
      const ids = ['title', 'notes', 'amount', 'due', 'at', 'rank', 'tags', 'owners', 'files', 'ref', 'code', 'state', 'radio', 'i_id', 'created_at', 'updated_at', 'created_by', 'updated_by', 'status_id', 'nope', F.amount.field_id];
      const value = fc.oneof(
        fc.constantFrom(null, '', 'TODAY', '\u0000', 'a\u0000b', '\ud800', '😀', '100', '-1.5', '1e3', '2024-03-15', '2024-03-15T10:00:00Z', 'A', 'Gold', 'tag-x', 'doing', key(3), u1, "'", '%', '_', '\\', '|', 'a|b', '\\|', '(', '.*'),
        fc.string({ maxLength: 20 }),
        fc.string({ maxLength: 8, unit: 'binary' }),
        fc.integer(),
        fc.double(),
        fc.boolean(),
      );
      const flagArb = fc.option(fc.oneof(fc.boolean(), fc.constantFrom('true', 1)), { nil: undefined, freq: 3 });
      const cond = fc.letrec<{ node: unknown }>((tie) => ({
        node: fc.oneof(
          { depthSize: 'small', withCrossShrink: true },
          fc.record({ id: fc.constantFrom(...ids), search_value: fc.array(value, { maxLength: 4 }), exact_match: flagArb, not_match: flagArb, include_null: flagArb }, { requiredKeys: ['id', 'search_value'] }),
          fc.record({ conditions: fc.array(tie('node'), { maxLength: 3 }), use_or_condition: flagArb }, { requiredKeys: ['conditions'] }),
        ),
      })).node;
      const sortKey = fc.record({ id: fc.constantFrom(...ids), order: fc.option(fc.constantFrom('asc', 'desc', 'DESC', 'up'), { nil: undefined }) }, { requiredKeys: ['id'] });
      await fc.assert(
        fc.asyncProperty(fc.array(cond, { maxLength: 4 }), flagArb, fc.option(fc.array(sortKey, { maxLength: 3 }), { nil: undefined }), async (conditions, useOr, sortFields) => {
          const input = { conditions, use_or_condition: useOr, sort_fields: sortFields };
          let where;
          let orderBy;
          try {
            where = compileConditions(input, DEF, dialect, NOW);
            orderBy = compileSort(input, DEF, dialect);
          } catch (err) {
            assert.ok(err instanceof HexabaseError && err.code === 'INVALID_PARAMS', String(err));
            return;
          }
          await store.query(scope, 'hx.Item', { where, orderBy, top: 5, skip: 0, count: true });
        }),
        { numRuns: 300 },
      );
    });

    it('sorts numbers numerically and text by code point, blanks last in both directions', async () => {
      assert.deepEqual(await search({ sort_fields: [{ id: 'amount', order: 'desc' }] }), [8, 4, 2, 7, 1, 6, 11, 10, 5, 3, 9, 12]);
      assert.deepEqual(await search({ sort_fields: [{ id: 'amount' }] }), [3, 5, 10, 11, 6, 1, 7, 2, 4, 8, 9, 12]);
      assert.deepEqual(await search({ sort_field_id: 'amount', sort_order: 'ASC' }), [3, 5, 10, 11, 6, 1, 7, 2, 4, 8, 9, 12]);
      assert.deepEqual(await search({ sort_field_id: 'title' }), [4, 1, 3, 10, 6, 7, 8, 2, 5, 11, 9, 12]);
      assert.deepEqual(await search({ sort_field_id: 'title', sort_order: 'desc' }), [11, 5, 2, 8, 7, 6, 10, 3, 1, 4, 9, 12]);
      assert.deepEqual(await search({ sort_field_id: 'due', sort_order: 'desc' }), [4, 3, 2, 1, 5, 6, 7, 8, 9, 10, 11, 12]);
    });

    it('sorts select and status by definition order, and by several keys in priority order', async () => {
      assert.deepEqual(await search({ sort_field_id: 'rank' }), [1, 4, 2, 5, 3, 6, 7, 8, 9, 10, 11, 12]);
      assert.deepEqual(await search({ sort_field_id: 'rank', sort_order: 'desc' }), [3, 2, 5, 1, 4, 6, 7, 8, 9, 10, 11, 12]);
      assert.deepEqual(await search({ sort_fields: [{ id: 'state', order: 'desc' }] }), [3, 2, 5, 1, 4, 6, 7, 8, 9, 10, 11, 12]);
      assert.deepEqual(await search({ sort_fields: [{ id: 'status_id' }] }), [1, 4, 2, 5, 3, 6, 7, 8, 9, 10, 11, 12]);
      assert.deepEqual(await search({ sort_fields: [{ id: 'rank' }, { id: 'amount', order: 'desc' }] }), [4, 1, 2, 5, 3, 8, 7, 6, 11, 10, 9, 12]);
      // sort_fields wins over sort_field_id; an empty sort_fields falls back to it.
      assert.deepEqual(await search({ sort_fields: [{ id: 'created_at', order: 'desc' }], sort_field_id: 'amount' }), [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
      assert.deepEqual(await search({ sort_fields: [], sort_field_id: 'i_id', sort_order: 'desc' }), [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
      assert.deepEqual(await search({ sort_field_id: 'updated_at', sort_order: 'desc' }), [1, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2]);
      // List fields sort by their stored form (deterministic), blanks last.
      const byTags = await search({ sort_field_id: 'tags' });
      assert.deepEqual(byTags.slice(0, 3), [2, 1, 3], '["tag-x","tag-y"] < ["tag-x"]');
      assert.deepEqual(byTags.slice(3), [4, 5, 6, 7, 8, 9, 10, 11, 12]);
      // Filter and sort together.
      assert.deepEqual(await search({ conditions: [{ id: 'title', search_value: ['a'] }], sort_field_id: 'amount', sort_order: 'desc' }), [8, 2, 7, 10, 3]);
    });

    it('pages stably through equal sort keys', async () => {
      for (const input of [{}, { sort_field_id: 'rank' }, { sort_fields: [{ id: 'state', order: 'desc' }] }]) {
        const whole = await search(input);
        const pages = [...(await search(input, { top: 5, skip: 0 })), ...(await search(input, { top: 5, skip: 5 })), ...(await search(input, { top: 5, skip: 10 }))];
        assert.deepEqual(pages, whole);
      }
    });

    it('refuses unknown sort keys and orders', () => {
      const bad = (input: ConditionsInput, message?: RegExp) => assertInvalid(() => compileSort(input, DEF, dialect), message);
      bad({ sort_field_id: 'nope' }, /sort_field_id: no field/);
      bad({ sort_field_id: 42 });
      bad({ sort_field_id: 'title', sort_order: 'up' }, /sort_order/);
      bad({ sort_field_id: 'title', sort_order: 1 }, /sort_order/);
      bad({ sort_fields: 'title' });
      bad({ sort_fields: [{ id: 'nope' }] }, /sort_fields\[0\]\.id: no field/);
      bad({ sort_fields: [{ order: 'asc' }] }, /sort_fields\[0\]\.id/);
      bad({ sort_fields: ['title'] });
      bad({ sort_fields: [{ id: 'title', order: 'sideways' }] }, /sort_fields\[0\]\.order/);
      bad({ sort_fields: Array.from({ length: 21 }, () => ({ id: 'title' })) }, /20/);
      assert.equal(compileSort({ sort_field_id: '' }, DEF, dialect).length, 2, 'only the default order');
    });
  });

  describe(`Hexabase ItemList conditions use the field indexes on ${backend.name}`, { skip: backend.skip }, () => {
    it('exact text and (on SQLite) number ranges are index lookups; results match', async () => {
      const { database, release } = await openTestDatabase(backend);
      try {
        const { db, dialect } = database;
        const store = new EntityStore(db, dialect);
        const scope: Scope = { cellId: 'hx', boxId: hex('a', 1), nodeId: hex('d', 2) };
        const other: Scope = { ...scope, nodeId: hex('d', 3) };
        await store.withTransaction(async (trx) => {
          for (let i = 0; i < 3000; i++) await trx.insert(scope, 'hx.Item', key(i), stored({ title: `t-${i % 150}`, amount: i, status_id: S.new.s_id }));
          for (let i = 0; i < 500; i++) await trx.insert(other, 'hx.Item', key(i), stored({ title: 't-5', amount: 5 }));
        });
        await new PropertyIndexes(db, dialect).ensure([F.title.field_id, F.amount.field_id]);
        if (dialect === 'postgres') await sql`analyze entities`.execute(db);

        const plan = async (input: ConditionsInput) => {
          const where = compileConditions(input, DEF, dialect, NOW);
          let query = db
            .selectFrom('entities')
            .select(['id', 'props'])
            .where('cell_id', '=', scope.cellId)
            .where('box_id', '=', scope.boxId)
            .where('node_id', '=', scope.nodeId)
            .where('entity_set', '=', 'hx.Item');
          if (where) query = query.where(where);
          // As EntityStore.query writes it: the compiled terms, then its own tiebreak.
          for (const term of compileSort(input, DEF, dialect)) query = query.orderBy(term.expr, term.direction);
          return planOf(db, dialect, query.orderBy('published', 'asc').orderBy('id', 'asc').limit(20).compile());
        };
        const INDEX = /entities_p_[0-9a-f]{24}/;

        const exact = { conditions: [{ id: 'title', search_value: ['t-5'], exact_match: true }] };
        assert.match(await plan(exact), INDEX);
        const several = { conditions: [{ id: 'title', search_value: ['t-5|t-6', 't-7'], exact_match: true }] };
        assert.match(await plan(several), INDEX);
        // Whatever the order asked for.
        assert.match(await plan({ ...exact, sort_field_id: 'amount', sort_order: 'desc' }), INDEX);
        assert.match(await plan({ ...exact, sort_field_id: 'created_at', sort_order: 'desc' }), INDEX);
        assert.match(await plan({ ...exact, sort_fields: [{ id: 'i_id' }] }), INDEX);
        if (dialect === 'sqlite') {
          // Without conditions the scope's published index serves the default order: no sort step.
          const unfiltered = await plan({});
          assert.match(unfiltered, /entities_by_published/, unfiltered);
        }
        const range = { conditions: [{ id: 'amount', search_value: ['100', '119'] }] };
        const rangePlan = await plan(range);
        if (dialect === 'sqlite') {
          assert.match(rangePlan, INDEX);
        } else {
          // The PostgreSQL index holds the text form; a numeric range goes through a type check no index can hold.
          assert.doesNotMatch(rangePlan, INDEX, rangePlan);
        }

        const run = async (input: ConditionsInput) =>
          store.query(scope, 'hx.Item', { where: compileConditions(input, DEF, dialect, NOW), orderBy: compileSort(input, DEF, dialect), top: 100, skip: 0, count: true });
        const e = await run(exact);
        assert.equal(e.count, 20);
        assert.deepEqual(e.entities.map((x) => x.props[F.amount.field_id]), Array.from({ length: 20 }, (_, i) => 5 + 150 * i));
        assert.equal((await run(several)).count, 60);
        const r = await run({ ...range, sort_field_id: 'amount', sort_order: 'desc' });
        assert.deepEqual(r.entities.map((x) => x.props[F.amount.field_id]), Array.from({ length: 20 }, (_, i) => 119 - i));
      } finally {
        await release();
      }
    });
  });
}

describe('Hexabase conditions: value parsing', () => {
  it('splits search strings at unescaped |, a backslash making punctuation literal', () => {
    assert.deepEqual(alternatives('a|b'), ['a', 'b']);
    assert.deepEqual(alternatives('a\\|b'), ['a|b']);
    assert.deepEqual(alternatives('a\\\\|b'), ['a\\', 'b']);
    assert.deepEqual(alternatives('1\\+1'), ['1+1']);
    assert.deepEqual(alternatives('\\d+'), ['\\d+']);
    assert.deepEqual(alternatives('end\\'), ['end\\']);
    assert.deepEqual(alternatives('||a||'), ['a']);
    assert.deepEqual(alternatives(''), []);
  });

  it('reads ISO-8601 instants as the span their precision names', () => {
    assert.deepEqual(instantSpan('2024-03-15'), [ms('2024-03-15T00:00:00Z'), ms('2024-03-15T23:59:59.999Z')]);
    assert.deepEqual(instantSpan('2024-03-15T10:42'), [ms('2024-03-15T10:42:00Z'), ms('2024-03-15T10:42:59.999Z')]);
    assert.deepEqual(instantSpan('2024-03-15T10:42:07Z'), [ms('2024-03-15T10:42:07Z'), ms('2024-03-15T10:42:07.999Z')]);
    assert.deepEqual(instantSpan('2024-03-15T10:42:07.88Z'), [ms('2024-03-15T10:42:07.880Z'), ms('2024-03-15T10:42:07.880Z')]);
    assert.deepEqual(instantSpan('2024-03-15T10:42:07.123456789+0530'), [ms('2024-03-15T05:12:07.123Z'), ms('2024-03-15T05:12:07.123Z')]);
    for (const bad of ['2024-02-30', '2024-00-10', '2024-03-15T', '2024-03-15T25:00', '2024-03-15T10:60', '15/03/2024', ' 2024-03-15', '2024-03-15Z', '+002024-03-15']) {
      assert.equal(instantSpan(bad), undefined, bad);
    }
  });

  it('refuses a definition whose field id could not be written into SQL', () => {
    const def: ConditionsDef = { fields: [{ ...F.title, field_id: "x'); drop table entities; --" }], statuses: [] };
    assert.throws(() => compileConditions({ conditions: [{ id: 'title', search_value: ['a'] }] }, def, 'sqlite'), (err: unknown) => err instanceof Error && !(err instanceof HexabaseError));
    assert.equal(CONDITION_LIMITS.depth, 10);
  });
});
