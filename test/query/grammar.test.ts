import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import peggy from 'peggy';
import type { FilterExpr, Literal, Operand } from '../../src/query/ast.js';
import { QueryError } from '../../src/query/errors.js';
import { MAX_FILTER_DEPTH, MAX_FILTER_LENGTH, MAX_FILTER_TERMS, MAX_ORDERBY_KEYS, SKIP_MAX, TOP_MAX } from '../../src/query/limits.js';
import { parseFilter, parseInlineCount, parseOrderBy, parseSelect, parseSkip, parseTop } from '../../src/query/parse.js';

const prop = (...path: string[]): Operand => ({ type: 'property', path });
const lit = (value: Literal): Operand => ({ type: 'literal', value });
const str = (value: string) => lit({ kind: 'string', value });

function refusedWith(fn: () => unknown, code: string) {
  assert.throws(fn, (err: unknown) => err instanceof QueryError && err.code === code);
}

describe('$filter grammar (apiref 403)', () => {
  it('parses every comparison operator', () => {
    for (const op of ['eq', 'ne', 'gt', 'ge', 'lt', 'le'] as const) {
      assert.deepEqual(parseFilter(`Name ${op} 'x'`), { type: 'compare', op, left: prop('Name'), right: str('x') });
    }
  });

  it('decodes every literal kind', () => {
    const right = (text: string) => (parseFilter(`P eq ${text}`) as { right: Operand }).right;
    assert.deepEqual(right("'it''s'"), str("it's"));
    assert.deepEqual(right('100'), lit({ kind: 'number', value: 100, raw: '100' }));
    assert.deepEqual(right('-1.5'), lit({ kind: 'number', value: -1.5, raw: '-1.5' }));
    assert.deepEqual(right('2.5e3'), lit({ kind: 'number', value: 2500, raw: '2.5e3' }));
    assert.deepEqual(right('1.5d'), lit({ kind: 'number', value: 1.5, raw: '1.5' }));
    assert.deepEqual(right('true'), lit({ kind: 'boolean', value: true }));
    assert.deepEqual(right('false'), lit({ kind: 'boolean', value: false }));
    assert.deepEqual(right('null'), lit({ kind: 'null' }));
    assert.deepEqual(right("datetime'2017-12-15T09:39:10'"), lit({ kind: 'datetime', value: Date.UTC(2017, 11, 15, 9, 39, 10), raw: '2017-12-15T09:39:10' }));
    assert.deepEqual(right("datetime'2017-12-15T09:39'"), lit({ kind: 'datetime', value: Date.UTC(2017, 11, 15, 9, 39), raw: '2017-12-15T09:39' }));
    assert.deepEqual(
      right("datetimeoffset'2017-12-15T18:39:10+09:00'"),
      lit({ kind: 'datetime', value: Date.UTC(2017, 11, 15, 9, 39, 10), raw: '2017-12-15T18:39:10+09:00' }),
    );
  });

  it('keeps `true`, `null` and `not` as property prefixes (trueName, nullable, notes)', () => {
    assert.deepEqual(parseFilter("trueName eq 'a'"), { type: 'compare', op: 'eq', left: prop('trueName'), right: str('a') });
    assert.deepEqual(parseFilter('nullable eq null'), { type: 'compare', op: 'eq', left: prop('nullable'), right: lit({ kind: 'null' }) });
    assert.deepEqual(parseFilter("notes eq 'a'"), { type: 'compare', op: 'eq', left: prop('notes'), right: str('a') });
  });

  it('reads property paths with dots, hyphens, underscores and complex members', () => {
    assert.deepEqual((parseFilter("_Box.Name eq 'b'") as { left: Operand }).left, prop('_Box.Name'));
    assert.deepEqual((parseFilter("__id eq 'b'") as { left: Operand }).left, prop('__id'));
    assert.deepEqual((parseFilter("Address/City eq 'b'") as { left: Operand }).left, prop('Address', 'City'));
    assert.deepEqual((parseFilter("item-key eq 'b'") as { left: Operand }).left, prop('item-key'));
  });

  it('binds and tighter than or, left to right, and honours parentheses', () => {
    const a = parseFilter("A eq 1 or B eq 2 and C eq 3") as FilterExpr & { type: 'or' };
    assert.equal(a.type, 'or');
    assert.equal(a.right.type, 'and');
    const b = parseFilter("(A eq 1 or B eq 2) and C eq 3");
    assert.equal(b.type, 'and');
    const c = parseFilter('A eq 1 and B eq 2 and C eq 3') as FilterExpr & { type: 'and' };
    assert.equal(c.left.type, 'and', 'left-associative');
    assert.deepEqual(parseFilter("((Name eq 'a'))"), parseFilter("Name eq 'a'"));
  });

  it('parses startswith and substringof with their OData V2 argument order, and not', () => {
    assert.deepEqual(parseFilter("startswith(Name, 'ab')"), { type: 'call', name: 'startswith', args: [prop('Name'), str('ab')] });
    assert.deepEqual(parseFilter("substringof('ab',Name)"), { type: 'call', name: 'substringof', args: [str('ab'), prop('Name')] });
    assert.equal(parseFilter("not (Name eq 'a')").type, 'not');
  });

  it("reads `Name eq 'a'' or 1=1'` as one string, not as an injected condition", () => {
    assert.deepEqual(parseFilter("Name eq 'a'' or 1=1'"), { type: 'compare', op: 'eq', left: prop('Name'), right: str("a' or 1=1") });
  });

  const broken: [string, string][] = [
    ["Name eq 'a", 'PR400-OD-0003'],
    ["(Name eq 'a'", 'PR400-OD-0003'],
    ["Name eq 'a')", 'PR400-OD-0003'],
    ["Name eq 'a' garbage", 'PR400-OD-0003'],
    ["Name like 'a'", 'PR400-OD-0003'],
    ['Name eq', 'PR400-OD-0003'],
    ['', 'PR400-OD-0003'],
    ["Name eq 'a' and", 'PR400-OD-0003'],
    ["datetime'2017-13-01T00:00:00' eq P", 'PR400-OD-0003'],
    ["P eq datetime'2017-02-30T00:00:00'", 'PR400-OD-0003'],
    ["P eq datetime'2017-02-03T00:00:00+09:00'", 'PR400-OD-0003'],
    ["endswith(Name,'a')", 'PR400-OD-0044'],
    ["tolower(Name) eq 'a'", 'PR400-OD-0044'],
    ['Price add 1 eq 2', 'PR400-OD-0043'],
  ];
  for (const [text, code] of broken) {
    it(`refuses ${JSON.stringify(text)} with ${code}`, () => refusedWith(() => parseFilter(text), code));
  }

  it('reports where a syntax error is', () => {
    try {
      parseFilter("Name eq 'a' garbage");
      assert.fail('expected an error');
    } catch (err) {
      assert.ok(err instanceof QueryError);
      assert.equal(err.position, 12);
    }
  });

  it('enforces its limits with a 400 code, never a stack overflow', () => {
    refusedWith(() => parseFilter(`Name eq '${'x'.repeat(MAX_FILTER_LENGTH)}'`), 'PR400-OD-0003');
    const deep = '('.repeat(MAX_FILTER_DEPTH + 1) + "A eq 1" + ')'.repeat(MAX_FILTER_DEPTH + 1);
    refusedWith(() => parseFilter(deep), 'PR400-OD-0003');
    assert.doesNotThrow(() => parseFilter('('.repeat(MAX_FILTER_DEPTH) + 'A eq 1' + ')'.repeat(MAX_FILTER_DEPTH)));
    refusedWith(() => parseFilter('not '.repeat(MAX_FILTER_DEPTH + 1) + 'A eq 1'), 'PR400-OD-0003');
    const many = Array.from({ length: MAX_FILTER_TERMS + 1 }, (_, i) => `A eq ${i}`).join(' or ');
    refusedWith(() => parseFilter(many), 'PR400-OD-0003');
    // Parentheses inside strings don't count as nesting.
    assert.doesNotThrow(() => parseFilter(`Name eq '${'('.repeat(200)}'`));
  });
});

/** Prints an AST back to filter text, to check parse(print(ast)) = ast for random ASTs. */
function print(e: FilterExpr): string {
  switch (e.type) {
    case 'and':
    case 'or':
      return `(${print(e.left)} ${e.type} ${print(e.right)})`;
    case 'not':
      return `not (${print(e.expr)})`;
    case 'compare':
      return `${printOperand(e.left)} ${e.op} ${printOperand(e.right)}`;
    case 'call':
      return `${e.name}(${e.args.map(printOperand).join(',')})`;
    default:
      // `in`, `hasAny`, `emptyList` are built by the Hexabase search, never parsed from OData V2 text.
      throw new Error(`${e.type} has no $filter text`);
  }
}

function printOperand(o: Operand): string {
  if (o.type === 'property') return o.path.join('/');
  const v = o.value;
  switch (v.kind) {
    case 'string':
      return `'${v.value.replace(/'/g, "''")}'`;
    case 'number':
      return v.raw;
    case 'boolean':
      return String(v.value);
    case 'null':
      return 'null';
    case 'datetime':
      return `datetime'${v.raw}'`;
  }
}

const arbProperty: fc.Arbitrary<Operand> = fc
  .array(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/).filter((s) => !['true', 'false', 'null', 'not', 'datetime', 'datetimeoffset'].includes(s)), { minLength: 1, maxLength: 2 })
  .map((path) => ({ type: 'property', path }));
const arbLiteral: fc.Arbitrary<Operand> = fc.oneof(
  fc.string().map((value) => str(value)),
  fc.integer({ min: -1e9, max: 1e9 }).map((n) => lit({ kind: 'number', value: n, raw: String(n) })),
  fc.boolean().map((value) => lit({ kind: 'boolean', value })),
  fc.constant(lit({ kind: 'null' })),
  fc.date({ min: new Date(Date.UTC(1970, 0, 1)), max: new Date(Date.UTC(2999, 0, 1)), noInvalidDate: true }).map((d) => {
    const raw = d.toISOString().slice(0, 19);
    return lit({ kind: 'datetime', value: Date.parse(`${raw}Z`), raw });
  }),
);
const arbFilter: fc.Arbitrary<FilterExpr> = fc.letrec<{ expr: FilterExpr }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({
      type: fc.constant('compare' as const),
      op: fc.constantFrom('eq', 'ne', 'gt', 'ge', 'lt', 'le' as const),
      left: arbProperty,
      right: arbLiteral,
    }, { noNullPrototype: true }),
    fc.tuple(arbProperty, fc.string()).map(([p, s]) => ({ type: 'call' as const, name: 'startswith' as const, args: [p, str(s)] })),
    fc.record({ type: fc.constantFrom('and' as const, 'or' as const), left: tie('expr'), right: tie('expr') }, { noNullPrototype: true }),
    fc.record({ type: fc.constant('not' as const), expr: tie('expr') }, { noNullPrototype: true }),
  ),
})).expr;

describe('$filter grammar properties (fast-check)', () => {
  it('parse(print(ast)) equals ast', () => {
    fc.assert(
      fc.property(arbFilter, (ast) => {
        const text = print(ast);
        fc.pre(text.length <= MAX_FILTER_LENGTH && (text.match(/\(/g)?.length ?? 0) < MAX_FILTER_DEPTH);
        assert.deepEqual(parseFilter(text), ast);
      }),
      { numRuns: 300 },
    );
  });

  it('any input either parses or throws a QueryError', () => {
    const filterish = fc.array(fc.constantFrom('Name', ' ', 'eq', "'", '(', ')', 'and', 'or', 'not', '1', ',', 'startswith', 'null', "datetime'", '/', '-', '.', 'x'), { maxLength: 30 }).map((a) => a.join(''));
    fc.assert(
      fc.property(fc.oneof(fc.string(), filterish), (text) => {
        try {
          parseFilter(text);
        } catch (err) {
          assert.ok(err instanceof QueryError, String(err));
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('other query options (apiref 400–402, 406, 407)', () => {
  it('$orderby: keys, directions and its limit', () => {
    assert.deepEqual(parseOrderBy('Name desc, __published'), [
      { path: ['Name'], direction: 'desc' },
      { path: ['__published'], direction: 'asc' },
    ]);
    refusedWith(() => parseOrderBy('Name sideways'), 'PR400-OD-0015');
    refusedWith(() => parseOrderBy(''), 'PR400-OD-0015');
    refusedWith(() => parseOrderBy(Array.from({ length: MAX_ORDERBY_KEYS + 1 }, (_, i) => `P${i}`).join(',')), 'PR400-OD-0015');
  });

  it('$top: default 25, 0–10000, integers only', () => {
    assert.equal(parseTop(undefined), 25);
    assert.equal(parseTop('0'), 0);
    assert.equal(parseTop(String(TOP_MAX)), TOP_MAX);
    for (const bad of [String(TOP_MAX + 1), '-1', '1.5', 'abc', '', '99999999999999999999']) refusedWith(() => parseTop(bad), 'PR400-OD-0029');
  });

  it('$skip: natural numbers up to its limit', () => {
    assert.equal(parseSkip(undefined), 0);
    assert.equal(parseSkip(String(SKIP_MAX)), SKIP_MAX);
    refusedWith(() => parseSkip(String(SKIP_MAX + 1)), 'PR400-OD-0029');
    refusedWith(() => parseSkip('-1'), 'PR400-OD-0029');
  });

  it('$select and $inlinecount', () => {
    assert.deepEqual(parseSelect('Name, __published'), ['Name', '__published']);
    assert.equal(parseSelect('*'), '*');
    refusedWith(() => parseSelect("Name'"), 'PR400-OD-0017');
    assert.equal(parseInlineCount('allpages'), true);
    assert.equal(parseInlineCount('none'), false);
    assert.equal(parseInlineCount(undefined), false);
    refusedWith(() => parseInlineCount('some'), 'PR400-OD-0013');
  });
});

describe('generated parser freshness', () => {
  it('the checked-in parser is what the grammar generates', () => {
    const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/query');
    const grammar = fs.readFileSync(path.join(dir, 'odata-filter.peggy'), 'utf8');
    const generated = peggy.generate(grammar, { output: 'source', format: 'es' });
    const committed = fs.readFileSync(path.join(dir, 'odata-filter.parser.js'), 'utf8');
    assert.equal(committed.trim(), String(generated).trim(), 'run `npm run build:grammar` and commit the result');
  });
});
