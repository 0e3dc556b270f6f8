import { sql, type Expression, type RawBuilder, type SqlBool } from 'kysely';
import type { ComparisonOp, FilterExpr, Literal, Operand, OrderKey, PropertyRef } from './ast.js';
import { QueryError } from './errors.js';

export type Dialect = 'sqlite' | 'postgres';

export type EdmType =
  | 'Edm.String'
  | 'Edm.Int32'
  | 'Edm.Int64'
  | 'Edm.Single'
  | 'Edm.Double'
  | 'Edm.Boolean'
  | 'Edm.DateTime';

/** Where a property lives: a typed column, or a member of a JSON document column. */
export type Resolved =
  | { kind: 'column'; column: string; type: EdmType }
  /** `type` undefined = a dynamic (undeclared) property: compared by the literal's type. */
  | { kind: 'json'; column: string; path: string[]; type?: EdmType };

/** Maps a property path to storage; undefined = no such property. Column names it returns are trusted. */
export type Resolver = (path: string[]) => Resolved | undefined;

export interface CompileOptions {
  /**
   * What an unknown property in `$filter` does. apiref 403 says the search "ignores" it; for entity
   * sets with a fixed schema (control objects) kura answers PR400-OD-0045 instead, because a
   * misspelt property that silently matched everything or nothing would hide the client's bug.
   */
  unknownProperty: 'error' | 'ignore';
}

/** How a stored value is compared: as text, as a number, or as a boolean. */
type Domain = 'text' | 'number' | 'boolean';

const DOMAIN_OF: Record<EdmType, Domain> = {
  'Edm.String': 'text',
  'Edm.Int32': 'number',
  'Edm.Int64': 'number',
  'Edm.Single': 'number',
  'Edm.Double': 'number',
  'Edm.DateTime': 'number',
  'Edm.Boolean': 'boolean',
};

const SQL_OPS: Record<ComparisonOp, string> = { eq: '=', ne: '<>', gt: '>', ge: '>=', lt: '<', le: '<=' };
const SAFE_SEGMENT = /^[A-Za-z0-9_.\-]+$/;

const TRUE = sql<SqlBool>`1 = 1`;
const FALSE = sql<SqlBool>`1 = 0`;

/** AST → a parameterised WHERE expression for the dialect (ARCHITECTURE.md idea 2). */
export function compileFilter(
  ast: FilterExpr,
  resolver: Resolver,
  dialect: Dialect,
  options: CompileOptions = { unknownProperty: 'error' },
): Expression<SqlBool> {
  const walk = (e: FilterExpr): RawBuilder<SqlBool> => {
    switch (e.type) {
      case 'and':
        return sql<SqlBool>`(${walk(e.left)} and ${walk(e.right)})`;
      case 'or':
        return sql<SqlBool>`(${walk(e.left)} or ${walk(e.right)})`;
      case 'not':
        // A comparison with a missing value is unknown, and `not unknown` must still be false-ish.
        return sql<SqlBool>`(not coalesce(${walk(e.expr)}, ${FALSE}))`;
      case 'compare':
        return compileComparison(e.op, e.left, e.right, resolver, dialect, options);
      case 'call':
        return compileCall(e.name, e.args, resolver, dialect, options);
      case 'in':
        return compileIn(e.property, e.values, resolver, dialect, options);
      case 'hasAny':
      case 'emptyList':
        return compileList(e, resolver, dialect, options);
    }
  };
  return walk(ast);
}

/** `value in (…)`: one comparison with each literal coerced as `eq` would (an empty list matches nothing). */
function compileIn(property: PropertyRef, values: Literal[], resolver: Resolver, dialect: Dialect, options: CompileOptions): RawBuilder<SqlBool> {
  const resolved = resolveOrThrow(property, resolver, options);
  if (!resolved) return TRUE;
  if (values.length === 0) return FALSE;
  if (values.some((v) => v.kind === 'null')) throw new QueryError('PR400-OD-0046', ['in']);
  const domain = resolved.type ? DOMAIN_OF[resolved.type] : domainOfLiteral(values[0]!);
  if (domain === 'boolean') throw new QueryError('PR400-OD-0046', ['in']);
  const params = values.map((v) => coerce(v, domain, resolved.type, 'in'));
  const value = typedValue(resolved, domain, dialect);
  if (params.length === 1) return sql<SqlBool>`(${value} = ${params[0]})`;
  return sql<SqlBool>`(${value} in (${sql.join(params)}))`;
}

/** List properties, stored as JSON arrays of strings: membership of any value, or emptiness. */
function compileList(
  e: Extract<FilterExpr, { type: 'hasAny' | 'emptyList' }>,
  resolver: Resolver,
  dialect: Dialect,
  options: CompileOptions,
): RawBuilder<SqlBool> {
  const resolved = resolveOrThrow(e.property, resolver, options);
  if (!resolved) return TRUE;
  if (resolved.kind !== 'json') throw new QueryError('PR400-OD-0046', [e.type]);
  const col = sql.ref(resolved.column);
  if (e.type === 'hasAny') {
    if (e.values.length === 0) return FALSE;
    if (dialect === 'sqlite') {
      return sql<SqlBool>`(exists (select 1 from json_each(${col}, ${jsonPathSqlite(resolved.path)}) where value in (${sql.join(e.values)})))`;
    }
    // `?|` is false, never an error, for values that are not lists; the array is one text[] parameter.
    return sql<SqlBool>`((${col} #> ${jsonPathPg(resolved.path)}) ?| ${e.values}::text[])`;
  }
  if (dialect === 'sqlite') return sql<SqlBool>`(coalesce(json_array_length(${col}, ${jsonPathSqlite(resolved.path)}), 0) = 0)`;
  const json = sql`(${col} #> ${jsonPathPg(resolved.path)})`;
  return sql<SqlBool>`(coalesce(jsonb_array_length(case when jsonb_typeof(${json}) = 'array' then ${json} end), 0) = 0)`;
}

function resolveOrThrow(ref: PropertyRef, resolver: Resolver, options: CompileOptions): Resolved | undefined {
  for (const segment of ref.path) {
    if (!SAFE_SEGMENT.test(segment)) throw new QueryError('PR400-OD-0045', [ref.path.join('/')]);
  }
  const resolved = resolver(ref.path);
  if (!resolved && options.unknownProperty === 'error') throw new QueryError('PR400-OD-0045', [ref.path.join('/')]);
  return resolved;
}

function compileComparison(
  op: ComparisonOp,
  left: Operand,
  right: Operand,
  resolver: Resolver,
  dialect: Dialect,
  options: CompileOptions,
): RawBuilder<SqlBool> {
  // Property on either side; a literal on the other (apiref 403 shows `itemKey op value`).
  let prop: PropertyRef;
  let lit: Literal;
  let effectiveOp = op;
  if (left.type === 'property' && right.type === 'literal') {
    prop = left;
    lit = right.value;
  } else if (left.type === 'literal' && right.type === 'property') {
    prop = right;
    lit = left.value;
    effectiveOp = FLIPPED[op];
  } else {
    throw new QueryError('PR400-OD-0046', [op]);
  }
  const resolved = resolveOrThrow(prop, resolver, options);
  if (!resolved) return TRUE; // options.unknownProperty === 'ignore'

  if (lit.kind === 'null') {
    if (effectiveOp !== 'eq' && effectiveOp !== 'ne') throw new QueryError('PR400-OD-0046', [op]);
    const value = rawValue(resolved, dialect);
    return effectiveOp === 'eq' ? sql<SqlBool>`(${value} is null)` : sql<SqlBool>`(${value} is not null)`;
  }

  const domain = resolved.type ? DOMAIN_OF[resolved.type] : domainOfLiteral(lit);
  const param = coerce(lit, domain, resolved.type, op);
  if (domain === 'boolean' && effectiveOp !== 'eq' && effectiveOp !== 'ne') throw new QueryError('PR400-OD-0046', [op]);

  const value = typedValue(resolved, domain, dialect);
  const bound = dialect === 'sqlite' && domain === 'boolean' ? (param ? 1 : 0) : param;
  // Byte order for text ranges on PostgreSQL, as SQLite does; equality needs none (and keeps index use).
  const ranged = effectiveOp !== 'eq' && effectiveOp !== 'ne';
  const collate = dialect === 'postgres' && domain === 'text' && ranged ? sql` collate "C"` : sql``;
  if (effectiveOp === 'ne') {
    // OData: a missing value is "not equal" to any literal.
    return sql<SqlBool>`(${value} is null or ${value}${collate} <> ${bound})`;
  }
  return sql<SqlBool>`(${value}${collate} ${sql.raw(SQL_OPS[effectiveOp])} ${bound})`;
}

const FLIPPED: Record<ComparisonOp, ComparisonOp> = { eq: 'eq', ne: 'ne', gt: 'lt', ge: 'le', lt: 'gt', le: 'ge' };

function domainOfLiteral(lit: Literal): Domain {
  switch (lit.kind) {
    case 'string':
      return 'text';
    case 'boolean':
      return 'boolean';
    default:
      return 'number';
  }
}

/** Literal → the parameter for a comparison in `domain` (apiref 403, "search specification by type"). */
function coerce(lit: Literal, domain: Domain, type: EdmType | undefined, op: string): string | number | boolean {
  switch (domain) {
    case 'text':
      // Edm.String: "convert keywords specified for search to string type".
      if (lit.kind === 'string') return lit.value;
      if (lit.kind === 'number') return lit.raw;
      if (lit.kind === 'boolean') return String(lit.value);
      throw new QueryError('PR400-OD-0046', [op]);
    case 'boolean':
      if (lit.kind === 'boolean') return lit.value;
      throw new QueryError('PR400-OD-0046', [op]);
    case 'number': {
      if (type === 'Edm.DateTime' && lit.kind === 'datetime') return lit.value;
      if (lit.kind === 'boolean' || (lit.kind === 'datetime' && type !== undefined)) {
        throw new QueryError('PR400-OD-0046', [op]);
      }
      const n = lit.kind === 'string' ? parseNumeric(lit.value) : lit.kind === 'number' || lit.kind === 'datetime' ? lit.value : NaN;
      if (!Number.isFinite(n)) throw new QueryError('PR400-OD-0047', [op]);
      if ((type === 'Edm.Int32' || type === 'Edm.Int64' || type === 'Edm.DateTime') && !Number.isInteger(n)) {
        throw new QueryError('PR400-OD-0047', [op]);
      }
      // personium-core: a literal no Int32 property can hold is a client error, not an empty answer.
      if (type === 'Edm.Int32' && (n < -2147483648 || n > 2147483647)) throw new QueryError('PR400-OD-0047', [op]);
      return n;
    }
  }
}

function parseNumeric(text: string): number {
  return /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(text) ? Number(text) : NaN;
}

function jsonPathSqlite(path: string[]): RawBuilder<string> {
  return sql.lit(`$.${path.map((p) => `"${p}"`).join('.')}`) as RawBuilder<string>;
}

function jsonPathPg(path: string[]): RawBuilder<string> {
  return sql.lit(`{${path.map((p) => `"${p}"`).join(',')}}`) as RawBuilder<string>;
}

/** The stored value as SQL, without type filtering (null checks and ordering fallbacks). */
function rawValue(r: Resolved, dialect: Dialect): RawBuilder<unknown> {
  if (r.kind === 'column') return sql.ref(r.column) as RawBuilder<unknown>;
  return dialect === 'sqlite'
    ? sql`json_extract(${sql.ref(r.column)}, ${jsonPathSqlite(r.path)})`
    : sql`(${sql.ref(r.column)} #>> ${jsonPathPg(r.path)})`;
}

/**
 * The stored value as SQL in one domain. Values of another JSON type become NULL, so a dynamic
 * property holding a string never matches a numeric comparison (and PostgreSQL never fails a cast).
 */
function typedValue(r: Resolved, domain: Domain, dialect: Dialect): RawBuilder<unknown> {
  if (r.kind === 'column') return sql.ref(r.column) as RawBuilder<unknown>;
  const col = sql.ref(r.column);
  if (dialect === 'sqlite') {
    const path = jsonPathSqlite(r.path);
    // Declared properties are validated on write, so the plain extract (which an index can match) is exact.
    if (r.type && domain !== 'boolean') return sql`json_extract(${col}, ${path})`;
    switch (domain) {
      case 'text':
        return sql`(case when json_type(${col}, ${path}) = 'text' then json_extract(${col}, ${path}) end)`;
      case 'number':
        return sql`(case when json_type(${col}, ${path}) in ('integer', 'real') then json_extract(${col}, ${path}) end)`;
      case 'boolean':
        return sql`(case json_type(${col}, ${path}) when 'true' then 1 when 'false' then 0 end)`;
    }
  }
  const path = jsonPathPg(r.path);
  switch (domain) {
    case 'text':
      if (r.type) return sql`(${col} #>> ${path})`;
      return sql`(case when jsonb_typeof(${col} #> ${path}) = 'string' then ${col} #>> ${path} end)`;
    case 'number':
      return sql`(case when jsonb_typeof(${col} #> ${path}) = 'number' then (${col} #>> ${path})::numeric end)`;
    case 'boolean':
      return sql`(case when jsonb_typeof(${col} #> ${path}) = 'boolean' then (${col} #>> ${path})::boolean end)`;
  }
}

function compileCall(
  name: 'startswith' | 'substringof',
  args: Operand[],
  resolver: Resolver,
  dialect: Dialect,
  options: CompileOptions,
): RawBuilder<SqlBool> {
  // startswith(property, 'text'); substringof('text', property) — OData V2 argument order.
  const [propArg, litArg] = name === 'startswith' ? [args[0], args[1]] : [args[1], args[0]];
  if (args.length !== 2 || propArg?.type !== 'property' || litArg?.type !== 'literal') {
    throw new QueryError('PR400-OD-0046', [name]);
  }
  if (litArg.value.kind !== 'string') throw new QueryError('PR400-OD-0046', [name]);
  const resolved = resolveOrThrow(propArg, resolver, options);
  if (!resolved) return TRUE;
  if (resolved.type && DOMAIN_OF[resolved.type] !== 'text') throw new QueryError('PR400-OD-0046', [name]);
  const needle = litArg.value.value;
  const value = typedValue(resolved, 'text', dialect);
  // Case-sensitive on both dialects, and free of LIKE wildcards: no escaping to get wrong.
  if (name === 'startswith') {
    const upper = dialect === 'sqlite' && resolved.kind === 'column' ? prefixUpperBound(needle) : undefined;
    // On an indexed column a prefix is a range (exact in code-point order, which SQLite's byte order is).
    if (upper !== undefined) return sql<SqlBool>`(${value} >= ${needle} and ${value} < ${upper})`;
    return dialect === 'sqlite'
      ? sql<SqlBool>`(substr(${value}, 1, ${Array.from(needle).length}) = ${needle})`
      : sql<SqlBool>`(starts_with(${value}, ${needle}))`;
  }
  return dialect === 'sqlite' ? sql<SqlBool>`(instr(${value}, ${needle}) > 0)` : sql<SqlBool>`(strpos(${value}, ${needle}) > 0)`;
}

/** The least string greater than every string starting with `prefix`: its last code point plus one. */
function prefixUpperBound(prefix: string): string | undefined {
  const points = Array.from(prefix);
  const last = points.pop();
  if (last === undefined) return undefined;
  let next = last.codePointAt(0)! + 1;
  if (next === 0xd800) next = 0xe000; // skip the surrogate block, which no string holds
  if (next > 0x10ffff) return undefined;
  return points.join('') + String.fromCodePoint(next);
}

export interface CompiledOrder {
  expr: Expression<unknown>;
  direction: 'asc' | 'desc';
}

/**
 * `$orderby` keys → ORDER BY terms. apiref 400: unknown properties are ignored, and nulls sort
 * last in both directions — written as an explicit `is null` key so both dialects agree.
 */
export function compileOrderBy(keys: OrderKey[], resolver: Resolver, dialect: Dialect): CompiledOrder[] {
  const terms: CompiledOrder[] = [];
  for (const key of keys) {
    if (!key.path.every((s) => SAFE_SEGMENT.test(s))) continue;
    const resolved = resolver(key.path);
    if (!resolved) continue;
    const value =
      resolved.type && DOMAIN_OF[resolved.type] !== 'text'
        ? typedValue(resolved, DOMAIN_OF[resolved.type], dialect)
        : rawValue(resolved, dialect);
    const ordered = dialect === 'postgres' && (!resolved.type || DOMAIN_OF[resolved.type] === 'text') ? sql`${value} collate "C"` : value;
    terms.push({ expr: sql`(case when ${value} is null then 1 else 0 end)`, direction: 'asc' });
    terms.push({ expr: ordered, direction: key.direction });
  }
  return terms;
}

/**
 * `props.name = value` (or `IS NULL` for null) on a JSON document column: how the engine finds the
 * children of a property-carried association (Roles whose `_Box.Name` names a Box).
 */
export function jsonStringEquals(column: string, name: string, value: string | null, dialect: Dialect): Expression<SqlBool> {
  if (!SAFE_SEGMENT.test(name)) throw new Error(`unsafe property name ${name}`);
  const read = rawValue({ kind: 'json', column, path: [name] }, dialect);
  return value === null ? sql<SqlBool>`${read} is null` : sql<SqlBool>`${read} = ${value}`;
}
