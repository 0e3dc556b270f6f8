import { sql, type Expression, type RawBuilder, type SqlBool } from 'kysely';
import type { Dialect } from '../../query/compile.js';
import type { Scope } from '../../store/entity-store.js';
import type { DatastoreDef, FieldDef } from '../applications/datastores.js';
import { ITEM_SET } from '../items/context.js';
import type { IndexColumn } from './indexes.js';
import type { Aggregate, ReportFieldDef } from './model.js';

/**
 * The SQL of a grouped report: one statement groups a datastore's items by the group keys and
 * aggregates the other columns (SUM/AVG/MIN/MAX on numbers, COUNT), counts the groups with a window
 * function in the same pass, orders and pages the groups. Properties are read exactly as
 * src/query/compile.ts and items/conditions.ts read them — `json_extract("props", '$."<id>"')` on
 * SQLite, `("props" #>> '{"<id>"}')` on PostgreSQL — so the covering index of indexes.ts (SQLite)
 * holds the very expressions and SQLite never opens the JSON documents. Property names written into
 * the text are internal field ids (24 hex digits) or `status_id`; every client value is a parameter.
 */

/** A report column resolved against the current datastore definition. */
export interface Column {
  field: ReportFieldDef;
  source: FieldDef;
  /** Where the value is stored: the field id, or `status_id` for the status field. */
  prop: string;
  /** The column's name in the grouped statement. */
  alias: string;
}

/**
 * How many item ids a grouped row lists under `items`.
 * deviation: the page lists every item of the group; kura lists the first 100, so a report over
 * 100,000 items does not answer megabytes of ids (the group's size is its COUNT columns).
 */
export const ROW_ITEMS_MAX = 100;
/** Item ids are 24 hex digits, joined by commas. */
const ROW_ITEMS_CHARS = ROW_ITEMS_MAX * 25 - 1;

const SAFE_PROP = /^([0-9a-f]{24}|status_id|created_by|updated_by)$/;
const NUMERIC: ReadonlySet<string> = new Set(['number', 'date', 'datetime']);

export function propOf(field: FieldDef): string {
  return field.dataType === 'status' ? 'status_id' : field.field_id;
}

function safe(prop: string): string {
  if (!SAFE_PROP.test(prop)) throw new Error(`unsafe property name ${prop}`);
  return prop;
}

/** The stored value as text (SQLite: as stored) — the indexed expression. */
function textOf(prop: string, dialect: Dialect): RawBuilder<unknown> {
  return dialect === 'sqlite'
    ? sql`json_extract(${sql.ref('props')}, ${sql.lit(`$."${safe(prop)}"`)})`
    : sql`(${sql.ref('props')} #>> ${sql.lit(`{"${safe(prop)}"}`)})`;
}

/** The stored value as a number; PostgreSQL casts JSON numbers only, so a cast never fails. */
function numberOf(prop: string, dialect: Dialect): RawBuilder<unknown> {
  if (dialect === 'sqlite') return textOf(prop, dialect);
  return sql`(case when jsonb_typeof(${sql.ref('props')} #> ${sql.lit(`{"${safe(prop)}"}`)}) = 'number' then ${textOf(prop, dialect)}::numeric end)`;
}

/** What a column groups by: numbers and dates numerically, everything else as stored text. */
export function valueOf(column: Column, dialect: Dialect): RawBuilder<unknown> {
  return NUMERIC.has(column.source.dataType) ? numberOf(column.prop, dialect) : textOf(column.prop, dialect);
}

function aggregateOf(column: Column, aggregate: Aggregate, dialect: Dialect): RawBuilder<unknown> {
  const value = valueOf(column, dialect);
  switch (aggregate) {
    case 'count':
      return sql`count(${value})`;
    case 'sum':
      return sql`coalesce(sum(${value}), 0)`;
    case 'avg':
      return sql`avg(${value})`;
    case 'min':
      return sql`min(${value})`;
    case 'max':
      return sql`max(${value})`;
  }
}

/**
 * The datastore's items: on SQLite with the scope as literals, so a covering index that is partial
 * on this datastore can be proven to apply (ids are checked by the caller: hex, and fixed names).
 */
function scopeWhere(scope: Scope, dialect: Dialect): RawBuilder<SqlBool> {
  const v = (value: string) => (dialect === 'sqlite' ? sql.lit(value) : sql`${value}`);
  return sql<SqlBool>`${sql.ref('cell_id')} = ${v(scope.cellId)} and ${sql.ref('box_id')} = ${v(scope.boxId)} and ${sql.ref('node_id')} = ${v(scope.nodeId)} and ${sql.ref('entity_set')} = ${v(ITEM_SET)}`;
}

/**
 * The columns a grouped report's covering index holds: group keys first (so the index walks in group
 * order and SQLite aggregates without a sorter), then aggregated values and condition fields.
 */
export function indexColumns(groups: Column[], columns: Column[], conditions: unknown[], def: DatastoreDef): IndexColumn[] {
  const out = new Map<string, IndexColumn>();
  for (const c of [...groups, ...columns]) out.set(c.prop, { prop: c.prop });
  const walk = (list: unknown[]) => {
    for (const node of list) {
      const n = node as Record<string, unknown>;
      if (Array.isArray(n.conditions)) walk(n.conditions);
      else if (n.id === 'created_at') out.set('published', { column: 'published' });
      else if (n.id === 'updated_at') out.set('updated', { column: 'updated' });
      else if (n.id === 'created_by' || n.id === 'updated_by' || n.id === 'status_id') out.set(n.id, { prop: n.id });
      else {
        const field = def.fields.find((f) => f.field_id === n.id);
        if (field) out.set(propOf(field), { prop: propOf(field) });
      }
    }
  };
  walk(conditions);
  return [...out.values()];
}

/** A sort key of a grouped report: a group column (by value) or an aggregated one (by result). */
export interface GroupOrder {
  column: Column;
  direction: 'asc' | 'desc';
}

export interface GroupedQuery {
  scope: Scope;
  groups: Column[];
  aggregates: Column[];
  where: Expression<SqlBool> | undefined;
  order: GroupOrder[];
  top: number;
  skip: number;
  /** Count the groups in the same pass (`total` on every row). */
  withTotal: boolean;
  /** The datastore's status ids in definition order (status keys sort by it). */
  statuses: string[];
  dialect: Dialect;
}

export interface GroupedRow {
  [alias: string]: unknown;
  n: number | string;
  ids: string | null;
  total?: number | string;
}

/**
 * The datastore's items that match. On SQLite the conditions are wrapped so the planner cannot seek
 * the covering index by them: given an equality on an indexed expression (`… = ?`, the commonest
 * condition), SQLite seeks by it and then groups through a sorter that reads every matching item's
 * JSON document again (120 ms for a third of 100,000 items), where a walk over the whole index in
 * group order, testing the conditions on the index's own values, costs one index scan whatever
 * the conditions are (15–40 ms per 100,000 items here).
 */
function source(q: Pick<GroupedQuery, 'scope' | 'where' | 'dialect'>): RawBuilder<unknown> {
  const where = !q.where ? sql`` : q.dialect === 'sqlite' ? sql` and coalesce(${q.where}, 0)` : sql` and ${q.where}`;
  return sql`from ${sql.table('entities')} where ${scopeWhere(q.scope, q.dialect)}${where}`;
}

function groupBy(groups: Column[], dialect: Dialect): RawBuilder<unknown> {
  return groups.length === 0 ? sql`` : sql` group by ${sql.join(groups.map((g) => valueOf(g, dialect)))}`;
}

/** One page of groups with their aggregates, item count, first item ids and (optionally) the group total. */
export function groupedQuery(q: GroupedQuery): RawBuilder<GroupedRow> {
  const { dialect } = q;
  const ids =
    dialect === 'sqlite'
      ? sql`substr(group_concat(${sql.ref('entity_key')}, ','), 1, ${sql.lit(ROW_ITEMS_CHARS)})`
      : sql`left(string_agg(${sql.ref('entity_key')}, ','), ${sql.lit(ROW_ITEMS_CHARS)})`;
  const select = [
    ...q.groups.map((g) => sql`${valueOf(g, dialect)} as ${sql.ref(g.alias)}`),
    ...q.aggregates.map((a) => sql`${aggregateOf(a, a.field.aggregate!, dialect)} as ${sql.ref(a.alias)}`),
    sql`count(*) as ${sql.ref('n')}`,
    sql`${ids} as ${sql.ref('ids')}`,
    ...(q.withTotal ? [sql`count(*) over () as ${sql.ref('total')}`] : []),
  ];
  const inner = sql`select ${sql.join(select)} ${source(q)}${groupBy(q.groups, dialect)}`;
  const terms = orderTerms(q);
  const orderBy = terms.length === 0 ? sql`` : sql` order by ${sql.join(terms)}`;
  return sql<GroupedRow>`select * from (${inner}) as ${sql.table('r')}${orderBy} limit ${q.top} offset ${q.skip}`;
}

/** The number of groups alone (return_count_only, or a page past the last group). */
export function groupCountQuery(q: Pick<GroupedQuery, 'scope' | 'groups' | 'where' | 'dialect'>): RawBuilder<{ n: number | string }> {
  if (q.groups.length === 0) return sql<{ n: number | string }>`select 1 as ${sql.ref('n')}`;
  return sql<{ n: number | string }>`select count(*) as ${sql.ref('n')} from (select 1 as ${sql.ref('one')} ${source(q)}${groupBy(q.groups, q.dialect)}) as ${sql.table('r')}`;
}

/**
 * ORDER BY over the grouped rows: the requested keys, then every group key ascending (so pages are
 * stable). Blanks sort last both ways; options and statuses in their definition's order; text by
 * code point (collate "C" on PostgreSQL, as SQLite compares).
 */
function orderTerms(q: GroupedQuery): RawBuilder<unknown>[] {
  const terms: RawBuilder<unknown>[] = [];
  const seen = new Set<string>();
  const add = (column: Column, direction: 'asc' | 'desc') => {
    if (seen.has(column.alias)) return;
    seen.add(column.alias);
    const ref = sql.ref(`r.${column.alias}`);
    terms.push(sql`(case when ${ref} is null then 1 else 0 end) asc`);
    terms.push(sql`${sortValue(column, ref, q)} ${sql.raw(direction)}`);
  };
  for (const key of q.order) add(key.column, key.direction);
  for (const g of q.groups) add(g, 'asc');
  return terms;
}

function sortValue(column: Column, ref: RawBuilder<unknown>, q: GroupedQuery): RawBuilder<unknown> {
  if (column.field.aggregate) return ref;
  const { source: field } = column;
  if (NUMERIC.has(field.dataType)) return ref;
  if (field.dataType === 'select' || field.dataType === 'radio') return positionIn((field.options ?? []).map((o) => o.option_id), ref, q.dialect);
  if (field.dataType === 'status') return positionIn(q.statuses, ref, q.dialect);
  return q.dialect === 'postgres' ? sql`${ref} collate "C"` : ref;
}

/** Where `v` stands in `ids` as a number (null when not there): one parameter holding `|id|id|`. */
function positionIn(ids: string[], v: RawBuilder<unknown>, dialect: Dialect): RawBuilder<unknown> {
  const joined = `|${ids.filter((id) => !id.includes('|')).join('|')}|`;
  const fn = dialect === 'sqlite' ? sql`instr` : sql`strpos`;
  return sql`nullif(${fn}(${joined}, '|' || ${v} || '|'), 0)`;
}
