import { sql, type Expression, type RawBuilder, type SqlBool } from 'kysely';
import type { FilterExpr, Literal, PropertyRef } from '../../query/ast.js';
import { compileFilter, type Dialect, type Resolved } from '../../query/compile.js';
import type { OrderTerm } from '../../store/entity-store.js';
import type { FieldDef, StatusDef } from '../applications/datastores.js';
import { HexabaseError } from '../errors.js';

/**
 * ItemList `conditions` and sort keys → a parameterised WHERE expression and ORDER BY terms over the
 * `entities` rows of `hx.Item` (spec/hexabase/v0/items-search/ItemList.md; research notes §3 and §5;
 * docs/design/hexabase-items.md for the storage).
 *
 * API
 *   compileConditions(input, def, dialect, now?) → Expression<SqlBool> | undefined   (undefined = no filter)
 *   compileSort(input, def, dialect)             → OrderTerm[]                         (never empty)
 *   CONDITION_LIMITS                              the bounds below
 * `input` is the ItemList body (only conditions, use_or_condition, sort_field_id, sort_order and
 * sort_fields are read); `def` the datastore's fields and statuses. Malformed input throws
 * HexabaseError('INVALID_PARAMS'); whatever a client sends compiles to SQL that cannot fail.
 *
 * SQL. The conditions are built as the shared filter AST (src/query/ast.ts) and compiled by
 * src/query/compile.ts, as OData `$filter` is; only the sort keys are written here. Every value is
 * a bound parameter. A property is read exactly as src/query/compile.ts reads a declared property — `json_extract("props", '$."<id>"')` on SQLite, `("props" #>> '{"<id>"}')` on
 * PostgreSQL — which is the expression src/store/property-indexes.ts indexes, so equality (and on
 * SQLite also ranges) on an indexed field is an index lookup. Names written into the SQL text are only
 * internal field ids that match /^[0-9a-f]{24}$/ and the fixed system names status_id, created_by,
 * updated_by; a definition with another field id is a server bug (plain Error).
 *
 * Field references (`id`, also in sort keys), in this order of precedence:
 *   1. a field's internal field_id;
 *   2. the special ids i_id (entity_key), created_at (published), updated_at (updated), created_by,
 *      updated_by, status_id — they keep their documented meaning even when a field's display id
 *      happens to be spelt the same (that field stays reachable by its field_id);
 *   3. a field's display_id.
 * Any field can be searched, `search: false` or not. Unknown ids are INVALID_PARAMS.
 *
 * Structure. `conditions` is a list of leaves `{id, search_value, exact_match?, not_match?,
 * include_null?}` and groups `{conditions, use_or_condition?}`; a list is ANDed unless its
 * use_or_condition is true (the top level uses the body's). An empty list or group matches everything.
 * Flags are booleans (null/absent = false); anything else is INVALID_PARAMS, as is an object that has
 * both `id` and `conditions`.
 *
 * Values per dataType (stored forms: see values.ts):
 *   text, textarea, autonum — partial match by default: the FIRST search_value only (later ones are
 *     ignored), split at `|` into alternatives, each matched as a literal, case-sensitive substring
 *     (instr / strpos; no LIKE, so `%` and `_` are ordinary). The page says the value is a PCRE regex;
 *     kura evaluates no client regex (a pattern can take exponential time: ReDoS) — only `|` keeps its
 *     meaning, and a backslash before a character that is not a letter or digit makes that character
 *     literal, so a client that regex-escapes its input (`1\+1`, `a\|b`) finds what it meant; other
 *     metacharacters (`.`, `*`, `^`, `(`, `\d` …) are matched literally. `exact_match: true`: equality
 *     with any alternative of any search_value (each split at `|` the same way). Empty alternatives
 *     are dropped.
 *   number — [from, to], inclusive, either null/"" for an open end; a bound is a JSON number or a
 *     numeric string ("100", "-1.5", "1e3"); anything else is INVALID_PARAMS, as is a third element.
 *   date, datetime, created_at, updated_at — [from, to], inclusive, ISO-8601 strings: YYYY-MM-DD,
 *     optionally Thh:mm[:ss[.fraction]] and Z or ±hh[:]mm (no offset = UTC). A `to` bound covers the
 *     whole of its last unit: "2020-01-31" up to 23:59:59.999 that day, "…T10:42:07Z" up to .999 of that
 *     second (the ItemList renders seconds, so a rendered created_at used as `to` includes the item).
 *     "TODAY" (any case; accepted for all four) is today's UTC day: as `from` its start, as `to` its end.
 *   select, radio — each value is an option_id, option display_id or option label (value); it matches
 *     every option it names. A value naming no option matches nothing (not an error: a saved search
 *     may outlive an option). checkbox — the same mapping; the item matches when its list holds ANY
 *     of the options.
 *   users, file — any-of on the ids in the stored list.
 *   status field, status_id — values are s_id, status display_id or status name, compared with the
 *     item's status_id; unknown values match nothing.
 *   dslookup — equality with the referenced i_id. created_by, updated_by — equality with user ids.
 *   i_id — entity_key equality with any value.
 *   Flags that do not apply (exact_match on a range, a select…) are ignored. Numbers are accepted
 *   where a string is expected (i_id 5 = "5"). Each search string is at most 1000 characters and
 *   holds no U+0000 (PostgreSQL text cannot; INVALID_PARAMS on both databases).
 *
 * Blanks: an absent key, JSON null, "" (text kinds) or [] (list kinds); i_id/created_at/updated_at
 *   are never blank. A leaf "has no values" when search_value is empty or holds only null/"" (for a
 *   text partial match: when its first element gives no alternative; for a range: both ends open).
 *   - no values, include_null not true            → matches everything (no condition);
 *   - no values, include_null: true               → "is blank"; with not_match: true → "is not blank";
 *   - values                                      → the match M above;
 *   - values, not_match: true                     → NOT M — blanks count as "not matching", so they are
 *                                                   included (as OData `ne`);
 *   - values, include_null: true                  → additionally every blank;
 *   - values, not_match: true, include_null: false (given explicitly) → blanks excluded: the page's
 *     sample labels include_null false "空白を除く" (excluding blanks). Without not_match a blank never
 *     matches anyway, so an explicit false changes nothing there.
 *
 * Sort: sort_fields [{id, order?}] (first = primary key; order "asc" (default) or "desc", any case)
 *   takes precedence over sort_field_id / sort_order; an empty sort_fields falls back to them. Keys are
 *   field references as above. Blanks sort last in both directions. Numbers and dates sort numerically,
 *   text (and ids) by code point (collate "C" on PostgreSQL, as SQLite compares), select/radio and
 *   status by the definition's option/status order (a value no longer defined sorts with the blanks),
 *   checkbox/users/file by their stored JSON text (stable, not meaningful). Every order ends with
 *   created (published) ascending, then i_id, so paging is stable. On SQLite, when there are
 *   conditions, the published / updated / entity_key terms are written `+column`, so the planner
 *   cannot prefer the scope's published index (for the order) to a field index (for the filter).
 *   Sort terms may carry bound parameters (the option/status order is one string parameter).
 *
 * Limits (CONDITION_LIMITS): nesting of at most 10 lists, 100 leaves and 100 groups in all, 100 values
 *   per leaf and 100 `|` alternatives per leaf, 1000 characters per string, 20 sort keys, and a total
 *   of 10,000 bound parameters (well under SQLite's 32,766 and PostgreSQL's 65,535).
 */

export interface ConditionsInput {
  conditions?: unknown;
  use_or_condition?: unknown;
  sort_field_id?: unknown;
  sort_order?: unknown;
  sort_fields?: unknown;
}

/** What of a datastore definition the compiler needs. */
export interface ConditionsDef {
  fields: FieldDef[];
  statuses: StatusDef[];
}

export const CONDITION_LIMITS = Object.freeze({
  depth: 10,
  leaves: 100,
  groups: 100,
  values: 100,
  valueLength: 1000,
  sortKeys: 20,
  params: 10_000,
});

/** A condition: a filter AST, or a constant that folds away before compiling. */
type Cond = FilterExpr | 'all' | 'none';

const SAFE_FIELD_ID = /^[0-9a-f]{24}$/;
const SYSTEM_PROPS: ReadonlySet<string> = new Set(['status_id', 'created_by', 'updated_by']);
const FALSE = sql<SqlBool>`1 = 0`;
const DAY_MS = 86_400_000;

/** How a reference is searched and sorted. */
type Target =
  | { kind: 'text'; prop: string }
  | { kind: 'number'; prop: string }
  | { kind: 'date'; prop: string }
  | { kind: 'option'; prop: string; field: FieldDef }
  | { kind: 'options'; prop: string; field: FieldDef }
  | { kind: 'list'; prop: string }
  | { kind: 'id'; prop: string }
  | { kind: 'status'; prop: string }
  | { kind: 'key' }
  | { kind: 'time'; column: 'published' | 'updated' };

function invalid(message: string): HexabaseError {
  return new HexabaseError('INVALID_PARAMS', message);
}

/** A client's string in a message, cut short. */
function shown(text: string): string {
  return JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text);
}

function resolve(def: ConditionsDef, ref: string, where: string): Target {
  const byId = def.fields.find((f) => f.field_id === ref);
  if (byId) return fieldTarget(byId);
  switch (ref) {
    case 'i_id':
      return { kind: 'key' };
    case 'created_at':
      return { kind: 'time', column: 'published' };
    case 'updated_at':
      return { kind: 'time', column: 'updated' };
    case 'created_by':
    case 'updated_by':
      return { kind: 'id', prop: ref };
    case 'status_id':
      return { kind: 'status', prop: 'status_id' };
  }
  const byDisplay = def.fields.find((f) => f.display_id === ref);
  if (byDisplay) return fieldTarget(byDisplay);
  throw invalid(`${where}: no field ${shown(ref)} in this datastore`);
}

function fieldTarget(field: FieldDef): Target {
  if (field.dataType === 'status') return { kind: 'status', prop: 'status_id' };
  if (!SAFE_FIELD_ID.test(field.field_id)) throw new Error(`field id ${field.field_id} is not an internal id`);
  const prop = field.field_id;
  switch (field.dataType) {
    case 'text':
    case 'textarea':
    case 'autonum':
      return { kind: 'text', prop };
    case 'number':
      return { kind: 'number', prop };
    case 'date':
    case 'datetime':
      return { kind: 'date', prop };
    case 'select':
    case 'radio':
      return { kind: 'option', prop, field };
    case 'checkbox':
      return { kind: 'options', prop, field };
    case 'users':
    case 'file':
      return { kind: 'list', prop };
    case 'dslookup':
      return { kind: 'id', prop };
    default:
      // A dataType this compiler does not know yet (a stored definition newer than the code).
      throw invalid(`field ${shown(field.display_id)} cannot be searched`);
  }
}

// ---------------------------------------------------------------------------------------------
// SQL for stored values

function propName(prop: string): string {
  if (!SAFE_FIELD_ID.test(prop) && !SYSTEM_PROPS.has(prop)) throw new Error(`unsafe property name ${prop}`);
  return prop;
}

/** The value as text — the indexed expression (compile.ts `rawValue`, property-indexes.ts). */
function textOf(prop: string, dialect: Dialect): RawBuilder<unknown> {
  const name = propName(prop);
  return dialect === 'sqlite'
    ? sql`json_extract(${sql.ref('props')}, ${sql.lit(`$."${name}"`)})`
    : sql`(${sql.ref('props')} #>> ${sql.lit(`{"${name}"}`)})`;
}

/** The JSON value itself (PostgreSQL jsonb, for type checks and list operators). */
function jsonbOf(prop: string): RawBuilder<unknown> {
  return sql`(${sql.ref('props')} #> ${sql.lit(`{"${propName(prop)}"}`)})`;
}

/**
 * The value as a number. SQLite: the plain extract, which the index holds (values are validated on
 * write, and a field whose dataType changes gets a new id). PostgreSQL: numbers only, so a cast can
 * never fail; no text index can serve this (property-indexes.ts).
 */
function numberOf(prop: string, dialect: Dialect): RawBuilder<unknown> {
  if (dialect === 'sqlite') return textOf(prop, dialect);
  return sql`(case when jsonb_typeof(${jsonbOf(prop)}) = 'number' then ${textOf(prop, dialect)}::numeric end)`;
}

/**
 * The AST property for a target; what it stands for (a column, or a typed member of `props` read as
 * the index reads it) is recorded for the compiler's resolver.
 */
function property(ctx: Context, t: Target): PropertyRef {
  let name: string;
  let resolved: Resolved;
  switch (t.kind) {
    case 'key':
      name = 'entity_key';
      resolved = { kind: 'column', column: 'entity_key', type: 'Edm.String' };
      break;
    case 'time':
      name = t.column;
      resolved = { kind: 'column', column: t.column, type: 'Edm.Int64' };
      break;
    case 'number':
    case 'date':
      name = propName(t.prop);
      resolved = { kind: 'json', column: 'props', path: [name], type: 'Edm.Double' };
      break;
    default:
      name = propName(t.prop);
      resolved = { kind: 'json', column: 'props', path: [name], type: 'Edm.String' };
  }
  ctx.properties.set(name, resolved);
  return { type: 'property', path: [name] };
}

const text = (value: string): Literal => ({ kind: 'string', value });
const num = (value: number): Literal => ({ kind: 'number', value, raw: String(value) });

function compare(ctx: Context, t: Target, op: 'eq' | 'ge' | 'le', value: Literal): FilterExpr {
  return { type: 'compare', op, left: property(ctx, t), right: { type: 'literal', value } };
}

function isBlank(ctx: Context, t: Target): Cond | undefined {
  switch (t.kind) {
    case 'key':
    case 'time':
      return undefined;
    case 'number':
    case 'date':
      return compare(ctx, t, 'eq', { kind: 'null' });
    case 'options':
    case 'list':
      return { type: 'emptyList', property: property(ctx, t) };
    case 'text':
    case 'option':
    case 'id':
    case 'status':
      return or([compare(ctx, t, 'eq', { kind: 'null' }), compare(ctx, t, 'eq', text(''))]);
  }
}

// ---------------------------------------------------------------------------------------------
// Input checks

function flag(value: unknown, name: string): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw invalid(`${name} is true or false`);
  return value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A search value → its text, or undefined for null / "". */
function valueText(value: unknown, where: string): string | undefined {
  if (value === null || value === undefined) return undefined;
  let text: string;
  if (typeof value === 'string') text = value;
  else if (typeof value === 'number' && Number.isFinite(value)) text = String(value);
  else throw invalid(`${where} is a string, a number or null`);
  if (text.length > CONDITION_LIMITS.valueLength) throw invalid(`${where} is longer than ${CONDITION_LIMITS.valueLength} characters`);
  // PostgreSQL text cannot hold NUL (nor can a stored value): refused on both databases alike.
  if (text.includes('\u0000')) throw invalid(`${where} holds U+0000`);
  return text === '' ? undefined : text;
}

/**
 * A search string → its `|` alternatives. A backslash before a character that is not a letter or
 * digit makes it literal (`\|` is a `|`, `\\` a backslash); before a letter or digit, and at the end,
 * the backslash is kept. Empty alternatives are dropped.
 */
export function alternatives(text: string): string[] {
  const out: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length && !/[A-Za-z0-9]/.test(text[i + 1]!)) {
      current += text[++i]!;
    } else if (c === '|') {
      if (current !== '') out.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  if (current !== '') out.push(current);
  return out;
}

const NUMERIC = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

function numberBound(value: unknown, where: string): number | undefined {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw invalid(`${where} is not a number`);
    return value;
  }
  const text = valueText(value, where);
  if (text === undefined) return undefined;
  if (!NUMERIC.test(text)) throw invalid(`${where}: ${shown(text)} is not a number`);
  const n = Number(text);
  if (!Number.isFinite(n)) throw invalid(`${where}: ${shown(text)} is not a number`);
  return n;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** An ISO-8601 date or date-time → [first ms, last ms] of the span its precision names; undefined if malformed. */
export function instantSpan(text: string): [number, number] | undefined {
  const m = ISO.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = h === undefined ? 0 : Number(h);
  const minute = mi === undefined ? 0 : Number(mi);
  const second = s === undefined ? 0 : Number(s);
  const ms = frac === undefined ? 0 : Number(frac.slice(0, 3).padEnd(3, '0'));
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  const start = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  const check = new Date(Date.UTC(year, month - 1, day));
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month - 1) return undefined; // 2021-02-30
  let offset = 0;
  if (zone !== undefined && zone !== 'Z') {
    const zm = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
    const oh = Number(zm[2]);
    const om = Number(zm[3]);
    if (oh > 23 || om > 59) return undefined;
    offset = (zm[1] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  }
  const unit = h === undefined ? DAY_MS : s === undefined ? 60_000 : frac === undefined ? 1000 : 1;
  const first = start - offset;
  return [first, first + unit - 1];
}

function dateBound(value: unknown, end: 'from' | 'to', where: string, now: Date): number | undefined {
  if (value !== null && value !== undefined && typeof value !== 'string') throw invalid(`${where} is an ISO-8601 date string or null`);
  const text = valueText(value, where);
  if (text === undefined) return undefined;
  let span: [number, number] | undefined;
  if (text.toUpperCase() === 'TODAY') {
    const start = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
    span = [start, start + DAY_MS - 1];
  } else {
    span = instantSpan(text);
  }
  if (!span) throw invalid(`${where}: ${shown(text)} is not an ISO-8601 date such as 2020-01-24T10:42:07.880Z (or "TODAY")`);
  return end === 'from' ? span[0] : span[1];
}

// ---------------------------------------------------------------------------------------------
// Compilation of conditions

interface Context {
  def: ConditionsDef;
  /** What each property the AST names stands for (see property()). */
  properties: Map<string, Resolved>;
  now: Date;
  leaves: number;
  groups: number;
  params: number;
}

function spend(ctx: Context, params: number): void {
  ctx.params += params;
  if (ctx.params > CONDITION_LIMITS.params) throw invalid('conditions are too large');
}

function and(parts: Cond[]): Cond {
  const exprs: FilterExpr[] = [];
  for (const p of parts) {
    if (p === 'none') return 'none';
    if (p !== 'all') exprs.push(p);
  }
  return exprs.length === 0 ? 'all' : balanced('and', exprs);
}

function or(parts: Cond[]): Cond {
  const exprs: FilterExpr[] = [];
  for (const p of parts) {
    if (p === 'all') return 'all';
    if (p !== 'none') exprs.push(p);
  }
  return exprs.length === 0 ? 'none' : balanced('or', exprs);
}

/** A list joined into a tree of depth log2(n), so long lists stay far from SQL's expression-depth limits. */
function balanced(type: 'and' | 'or', exprs: FilterExpr[]): FilterExpr {
  if (exprs.length === 1) return exprs[0]!;
  const half = exprs.length >> 1;
  return { type, left: balanced(type, exprs.slice(0, half)), right: balanced(type, exprs.slice(half)) };
}

function not(c: Cond): Cond {
  if (c === 'all') return 'none';
  if (c === 'none') return 'all';
  // compile.ts counts a comparison with a missing value as "does not match" before negating.
  return { type: 'not', expr: c };
}

/**
 * The ItemList conditions → a WHERE expression over `entities` (see the header for the semantics);
 * undefined when nothing is filtered. `now` fixes what "TODAY" means.
 */
export function compileConditions(
  input: ConditionsInput,
  def: ConditionsDef,
  dialect: Dialect,
  now: Date = new Date(),
): Expression<SqlBool> | undefined {
  if (input.conditions === undefined || input.conditions === null) {
    flag(input.use_or_condition, 'use_or_condition');
    return undefined;
  }
  const ctx: Context = { def, properties: new Map(), now, leaves: 0, groups: 0, params: 0 };
  const cond = list(ctx, input.conditions, flag(input.use_or_condition, 'use_or_condition') ?? false, 1, 'conditions');
  if (cond === 'all') return undefined;
  if (cond === 'none') return FALSE;
  return compileFilter(cond, (path) => ctx.properties.get(path[0]!), dialect, { unknownProperty: 'error' });
}

function list(ctx: Context, value: unknown, useOr: boolean, depth: number, where: string): Cond {
  if (!Array.isArray(value)) throw invalid(`${where} is a list of conditions`);
  if (depth > CONDITION_LIMITS.depth) throw invalid(`conditions nest at most ${CONDITION_LIMITS.depth} levels deep`);
  if (value.length > CONDITION_LIMITS.leaves + CONDITION_LIMITS.groups) throw invalid(`${where} holds too many conditions`);
  const parts = value.map((item, i) => node(ctx, item, depth, `${where}[${i}]`));
  return useOr ? or(parts) : and(parts);
}

function node(ctx: Context, value: unknown, depth: number, where: string): Cond {
  if (!isObject(value)) throw invalid(`${where} is an object`);
  if (value.conditions !== undefined) {
    if (value.id !== undefined) throw invalid(`${where} has both id and conditions`);
    if (++ctx.groups > CONDITION_LIMITS.groups) throw invalid(`conditions hold at most ${CONDITION_LIMITS.groups} groups`);
    const useOr = flag(value.use_or_condition, `${where}.use_or_condition`) ?? false;
    return list(ctx, value.conditions, useOr, depth + 1, `${where}.conditions`);
  }
  if (++ctx.leaves > CONDITION_LIMITS.leaves) throw invalid(`conditions hold at most ${CONDITION_LIMITS.leaves} field conditions`);
  return leaf(ctx, value, where);
}

function leaf(ctx: Context, value: Record<string, unknown>, where: string): Cond {
  if (typeof value.id !== 'string' || value.id === '') throw invalid(`${where}.id is required`);
  if (value.id.length > CONDITION_LIMITS.valueLength) throw invalid(`${where}.id is too long`);
  const values = value.search_value;
  if (!Array.isArray(values)) throw invalid(`${where}.search_value is a list`);
  if (values.length > CONDITION_LIMITS.values) throw invalid(`${where}.search_value holds at most ${CONDITION_LIMITS.values} values`);
  const exact = flag(value.exact_match, `${where}.exact_match`) ?? false;
  const negate = flag(value.not_match, `${where}.not_match`) ?? false;
  const includeNull = flag(value.include_null, `${where}.include_null`);
  const target = resolve(ctx.def, value.id, `${where}.id`);
  const at = `${where}.search_value`;

  const match = positive(ctx, target, values, exact, at);
  const blank = (): Cond => isBlank(ctx, target) ?? 'none';
  if (match === undefined) {
    // No values: no condition, or "is (not) blank" when include_null asks for it.
    if (includeNull !== true) return 'all';
    return negate ? not(blank()) : blank();
  }
  if (negate) {
    const negated = not(match);
    return includeNull === false ? and([negated, not(blank())]) : negated;
  }
  return includeNull === true ? or([match, blank()]) : match;
}

/** The leaf's match without flags, or undefined when it has no values. */
function positive(ctx: Context, t: Target, values: unknown[], exact: boolean, at: string): Cond | undefined {
  switch (t.kind) {
    case 'text': {
      // Every value is checked, even those a partial match ignores.
      const all = values.map((v, i) => valueText(v, `${at}[${i}]`));
      const texts = exact ? all : all.slice(0, 1);
      const pieces = unique(texts.flatMap((value) => (value === undefined ? [] : alternatives(value))), at);
      if (pieces.length === 0) return undefined;
      spend(ctx, pieces.length);
      if (exact) return equalsAny(ctx, t, pieces);
      const prop = property(ctx, t);
      return or(pieces.map((p): FilterExpr => ({ type: 'call', name: 'substringof', args: [{ type: 'literal', value: text(p) }, prop] })));
    }
    case 'number':
    case 'date':
    case 'time': {
      if (values.length > 2) throw invalid(`${at} is [from, to]`);
      const [from, to] =
        t.kind === 'number'
          ? [numberBound(values[0], `${at}[0]`), numberBound(values[1], `${at}[1]`)]
          : [dateBound(values[0], 'from', `${at}[0]`, ctx.now), dateBound(values[1], 'to', `${at}[1]`, ctx.now)];
      if (from === undefined && to === undefined) return undefined;
      spend(ctx, 2);
      const parts: Cond[] = [];
      if (from !== undefined) parts.push(compare(ctx, t, 'ge', num(from)));
      if (to !== undefined) parts.push(compare(ctx, t, 'le', num(to)));
      return and(parts);
    }
    case 'option':
    case 'options': {
      const refs = idValues(values, at);
      if (refs.length === 0) return undefined;
      const options = t.field.options ?? [];
      const ids = [...new Set(refs.flatMap((ref) => options.filter((o) => o.option_id === ref || o.display_id === ref || o.value === ref).map((o) => o.option_id)))];
      if (ids.length === 0) return 'none';
      spend(ctx, ids.length);
      return t.kind === 'option' ? equalsAny(ctx, t, ids) : { type: 'hasAny', property: property(ctx, t), values: ids };
    }
    case 'status': {
      const refs = idValues(values, at);
      if (refs.length === 0) return undefined;
      const ids = [...new Set(refs.flatMap((ref) => ctx.def.statuses.filter((s) => s.s_id === ref || s.display_id === ref || s.name === ref).map((s) => s.s_id)))];
      if (ids.length === 0) return 'none';
      spend(ctx, ids.length);
      return equalsAny(ctx, t, ids);
    }
    case 'list': {
      const ids = idValues(values, at);
      if (ids.length === 0) return undefined;
      spend(ctx, ids.length);
      return { type: 'hasAny', property: property(ctx, t), values: ids };
    }
    case 'id':
    case 'key': {
      const ids = idValues(values, at);
      if (ids.length === 0) return undefined;
      spend(ctx, ids.length);
      return equalsAny(ctx, t, ids);
    }
  }
}

function idValues(values: unknown[], at: string): string[] {
  const out = new Set<string>();
  values.forEach((v, i) => {
    const text = valueText(v, `${at}[${i}]`);
    if (text !== undefined) out.add(text);
  });
  return [...out];
}

function unique(pieces: string[], at: string): string[] {
  const out = [...new Set(pieces)];
  if (out.length > CONDITION_LIMITS.values) throw invalid(`${at} holds at most ${CONDITION_LIMITS.values} alternatives`);
  return out;
}

function equalsAny(ctx: Context, t: Target, values: string[]): FilterExpr {
  return { type: 'in', property: property(ctx, t), values: values.map(text) };
}

// ---------------------------------------------------------------------------------------------
// Sort

/**
 * sort_fields / sort_field_id + sort_order → ORDER BY terms (see the header); always ends with
 * created ascending, then i_id.
 */
export function compileSort(input: ConditionsInput, def: ConditionsDef, dialect: Dialect): OrderTerm[] {
  const keys: { id: string; order: 'asc' | 'desc'; where: string }[] = [];
  const sortOrder = order(input.sort_order, 'sort_order');
  if (input.sort_fields !== undefined && input.sort_fields !== null) {
    if (!Array.isArray(input.sort_fields)) throw invalid('sort_fields is a list of {id, order}');
    if (input.sort_fields.length > CONDITION_LIMITS.sortKeys) throw invalid(`sort_fields holds at most ${CONDITION_LIMITS.sortKeys} keys`);
    input.sort_fields.forEach((key, i) => {
      const where = `sort_fields[${i}]`;
      if (!isObject(key)) throw invalid(`${where} is {id, order}`);
      if (typeof key.id !== 'string' || key.id === '') throw invalid(`${where}.id is required`);
      keys.push({ id: key.id, order: order(key.order, `${where}.order`), where: `${where}.id` });
    });
  }
  if (keys.length === 0 && input.sort_field_id !== undefined && input.sort_field_id !== null && input.sort_field_id !== '') {
    if (typeof input.sort_field_id !== 'string') throw invalid('sort_field_id is a field id');
    keys.push({ id: input.sort_field_id, order: sortOrder, where: 'sort_field_id' });
  }

  // SQLite plans without statistics: left free to walk the scope's `published` (or key) index for the
  // order, it prefers that to a field index that finds a handful of matches, and then reads every item
  // of the datastore. With a filter, a unary plus keeps the column out of index matching (the filter is
  // evaluated over the whole scope for the total count anyway); without one, the index walk is best.
  const filtered = dialect === 'sqlite' && Array.isArray(input.conditions) && input.conditions.length > 0;
  const column = (name: 'published' | 'updated' | 'entity_key'): RawBuilder<unknown> => {
    if (filtered) return sql`+${sql.ref(name)}`;
    return name === 'entity_key' ? collateC(sql.ref(name), dialect) : sql.ref(name);
  };

  const terms: OrderTerm[] = [];
  for (const key of keys) {
    const target = resolve(def, key.id, key.where);
    const value = sortValue(target, def, dialect, column);
    // Blanks (and values that no longer mean anything) are NULL: one group, last in both directions.
    if (target.kind !== 'key' && target.kind !== 'time') terms.push({ expr: sql`(case when ${value} is null then 1 else 0 end)`, direction: 'asc' });
    terms.push({ expr: value, direction: key.order });
  }
  terms.push({ expr: column('published'), direction: 'asc' });
  terms.push({ expr: column('entity_key'), direction: 'asc' });
  return terms;
}

function order(value: unknown, name: string): 'asc' | 'desc' {
  if (value === undefined || value === null || value === '') return 'asc';
  const text = typeof value === 'string' ? value.toLowerCase() : undefined;
  if (text !== 'asc' && text !== 'desc') throw invalid(`${name} is "asc" or "desc"`);
  return text;
}

/** Byte (code point) order on PostgreSQL, as SQLite compares text. */
function collateC(v: RawBuilder<unknown>, dialect: Dialect): RawBuilder<unknown> {
  return dialect === 'postgres' ? sql`${v} collate "C"` : v;
}

/** What a key sorts by; NULL for blanks. */
function sortValue(
  t: Target,
  def: ConditionsDef,
  dialect: Dialect,
  column: (name: 'published' | 'updated' | 'entity_key') => RawBuilder<unknown>,
): RawBuilder<unknown> {
  switch (t.kind) {
    case 'key':
      return column('entity_key');
    case 'time':
      return column(t.column);
    case 'number':
    case 'date':
      return numberOf(t.prop, dialect);
    case 'option':
      return positionIn((t.field.options ?? []).map((o) => o.option_id), textOf(t.prop, dialect), dialect);
    case 'status':
      return positionIn(def.statuses.map((s) => s.s_id), textOf(t.prop, dialect), dialect);
    case 'text':
    case 'id':
      return collateC(sql`nullif(${textOf(t.prop, dialect)}, '')`, dialect);
    case 'options':
    case 'list':
      // The stored JSON text; both databases write an empty list as `[]`.
      return collateC(sql`nullif(${textOf(t.prop, dialect)}, '[]')`, dialect);
  }
}

/**
 * Where `v` stands in `ids` (by definition order) as a number, null when not there: one parameter
 * holding the ids between `|`, searched for `|<value>|`.
 */
function positionIn(ids: string[], v: RawBuilder<unknown>, dialect: Dialect): RawBuilder<unknown> {
  const joined = `|${ids.filter((id) => !id.includes('|')).join('|')}|`;
  const fn = dialect === 'sqlite' ? sql`instr` : sql`strpos`;
  return sql`nullif(${fn}(${joined}, '|' || ${v} || '|'), 0)`;
}
