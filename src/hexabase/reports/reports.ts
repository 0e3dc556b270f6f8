import { sql, type Expression, type SqlBool } from 'kysely';
import type { EntityStore, StoredEntity } from '../../store/entity-store.js';
import type { PropertyIndexes } from '../../store/property-indexes.js';
import { HexabaseError } from '../errors.js';
import { compileConditions, compileSort } from '../items/conditions.js';
import { ITEM_SET, type DatastoreContext, type DatastoreResolver } from '../items/context.js';
import type { CsvText } from '../items/search.js';
import type { ReportIndexes } from './indexes.js';
import { type ReportDef, isGrouped, requireDefinition } from './model.js';
import { REPORT_ROWS_MAX, readOptions, readSort, translateConditions, type ReportOptions } from './options.js';
import { csvAnswer, reportFields, searchConditions, type ReportPresenter, type RowSource } from './present.js';
import { groupCountQuery, groupedQuery, indexColumns, propOf, type Column, type GroupedRow } from './query.js';

/** A report ready to run: its definition resolved against the datastore as it is now. */
export interface OpenReport {
  ctx: DatastoreContext;
  report: StoredEntity;
  def: ReportDef;
  columns: Column[];
  grouped: boolean;
}

/** What one run asks for besides the definition. */
export interface RunRequest {
  /** ItemList conditions over the datastore (already translated from report columns). */
  conditions?: unknown[] | undefined;
  use_or_condition?: unknown;
  sort: Array<{ field: Column['field']; order: 'asc' | 'desc' }>;
  top: number;
  skip: number;
  count: boolean;
}

/**
 * GetReportData, GetReportDataByConditions and GetReportSearchConditions
 * (spec/hexabase/v0/reports/). A report reads one datastore: its stored conditions AND the
 * request's select the items; a report that groups runs one GROUP BY statement (query.ts) whose
 * groups are counted, ordered and paged in SQL; one that does not pages its items in SQL as ItemList
 * does. Either way no more rows than the answer holds reach JavaScript.
 */
export class ReportService {
  constructor(
    private readonly store: EntityStore,
    private readonly resolver: DatastoreResolver,
    private readonly presenter: ReportPresenter,
    private readonly indexes: ReportIndexes,
    private readonly propertyIndexes: PropertyIndexes,
  ) {}

  /** The report `reportRef` (internal or display id) of an application the caller may see. */
  async open(userId: string, appRef: string, reportRef: string): Promise<OpenReport> {
    const { app } = await this.resolver.resolveApp(userId, appRef);
    return this.openIn(userId, app.key, reportRef);
  }

  async openIn(userId: string, appKey: string, reportRef: string): Promise<OpenReport> {
    const report = await requireDefinition(this.store, appKey, 'report', reportRef);
    const def = report.props as unknown as ReportDef;
    let ctx: DatastoreContext;
    try {
      ctx = await this.resolver.resolve(userId, appKey, def.d_id);
    } catch (err) {
      if (err instanceof HexabaseError && err.code === 'NOT_FOUND') throw new HexabaseError('INVALID_SETTINGS', `the datastore of report ${def.display_id} no longer exists`);
      throw err;
    }
    const columns = def.fields.map((field, i): Column => {
      const source = ctx.def.fields.find((f) => f.field_id === field.f_id);
      if (!source) throw new HexabaseError('INVALID_SETTINGS', `report field ${field.display_id} names a field the datastore no longer has: redefine the report`);
      return { field, source, prop: propOf(source), alias: `c${i}` };
    });
    return { ctx, report, def, columns, grouped: isGrouped(def) };
  }

  /** GetReportData (`fromQuery`: options from the query string) and GetReportDataByConditions (from the body). */
  async data(userId: string, appRef: string, reportRef: string, source: Record<string, unknown>, fromQuery: boolean): Promise<Record<string, unknown> | CsvText> {
    const open = await this.open(userId, appRef, reportRef);
    const options = readOptions(source, fromQuery);
    const fields = open.def.fields;
    const body = fromQuery ? {} : source;
    const top = options.return_count_only ? 0 : options.perPage === 0 ? REPORT_ROWS_MAX : options.perPage;
    const skip = options.perPage === 0 ? 0 : (options.page - 1) * options.perPage;
    const { sources, total } = await this.run(open, {
      conditions: translateConditions(body.conditions, fields),
      use_or_condition: body.use_or_condition,
      sort: readSort(body, fields).map((k) => ({ field: k.field, order: k.order })),
      top,
      skip,
      count: !options.omit_total_items,
    });
    const rows = await this.present(open, sources, options);
    if (options.csv) return csvAnswer(open.columns, rows, options.include_date_at && !open.grouped);
    const answer: Record<string, unknown> = {
      error: '',
      report_title: open.def.title,
      // GetReportDataByConditions: with omit_total_items "totalItemsにはかならず0が返ります".
      totalItems: options.omit_total_items ? 0 : (total ?? 0),
      item_index_from: options.return_count_only ? 0 : skip,
      item_index_to: options.return_count_only ? 0 : skip + Math.max(rows.length - 1, 0),
      report_results: options.return_count_only ? null : rows,
    };
    if (!options.omit_fields_data) answer.report_fields = reportFields(open.ctx, open.columns);
    return answer;
  }

  /** GetReportSearchConditions. */
  async conditions(userId: string, appRef: string, reportRef: string): Promise<Record<string, unknown>[]> {
    const open = await this.open(userId, appRef, reportRef);
    return searchConditions(open.ctx, open.columns, false);
  }

  async present(open: OpenReport, sources: RowSource[], options: Pick<ReportOptions, 'include_date_at' | 'include_lookups' | 'return_id_value_results' | 'return_utc_datetime'>) {
    return this.presenter.rows(open.ctx, open.columns, sources, { ...options, grouped: open.grouped });
  }

  /** The rows of one page and (when counted) how many there are in all. */
  async run(open: OpenReport, request: RunRequest): Promise<{ sources: RowSource[]; total: number | undefined }> {
    const { ctx, def } = open;
    const dialect = this.store.dialect;
    const asked = request.conditions === undefined ? undefined : compileConditions({ conditions: request.conditions, use_or_condition: request.use_or_condition }, ctx.def, dialect);
    const where = both(compileConditions({ conditions: def.conditions }, ctx.def, dialect), asked);
    if (open.grouped) return this.runGrouped(open, request, where);

    await this.propertyIndexes.ensure(ctx.def.fields.filter((f) => f.search).map((f) => f.field_id));
    const orderBy = compileSort(
      { conditions: [...def.conditions, ...(request.conditions ?? [])], sort_fields: request.sort.map((k) => ({ id: k.field.f_id, order: k.order })) },
      ctx.def,
      dialect,
    );
    const result = await this.store.query(ctx.scope, ITEM_SET, { where, orderBy, top: request.top, skip: request.skip, count: request.count });
    const sources = result.entities.map((entity): RowSource => ({ props: entity.props, aggregates: new Map(), itemKeys: [entity.key], entity }));
    return { sources, total: result.count };
  }

  private async runGrouped(open: OpenReport, request: RunRequest, where: Expression<SqlBool> | undefined) {
    const { ctx, def, columns } = open;
    const dialect = this.store.dialect;
    const groups = def.group_by.map((id) => columns.find((c) => c.field.rpf_id === id)!);
    await this.indexes.ensure(this.indexes.plan(ctx.scope, indexColumns(groups, columns, def.conditions, ctx.def)));
    const query = {
      scope: ctx.scope,
      groups,
      aggregates: columns.filter((c) => c.field.aggregate),
      where,
      order: request.sort.map((k) => ({ column: columns.find((c) => c.field === k.field)!, direction: k.order })),
      top: request.top,
      skip: request.skip,
      withTotal: request.count,
      statuses: ctx.def.statuses.map((s) => s.s_id),
      dialect,
    };
    const count = async () => Number((await groupCountQuery(query).execute(this.store.executor)).rows[0]?.n ?? 0);
    if (request.top === 0) return { sources: [], total: request.count ? await count() : undefined };
    const rows = (await groupedQuery(query).execute(this.store.executor)).rows;
    let total: number | undefined;
    if (request.count) total = rows[0] ? Number(rows[0].total) : request.skip > 0 ? await count() : 0;
    return { sources: rows.map((row) => this.source(row, groups, query.aggregates)), total };
  }

  private source(row: GroupedRow, groups: Column[], aggregates: Column[]): RowSource {
    const props: Record<string, unknown> = {};
    for (const g of groups) {
      const value = canonical(g, row[g.alias]);
      if (value !== undefined) props[g.prop] = value;
    }
    const results = new Map<string, number | null>();
    for (const a of aggregates) {
      const value = row[a.alias];
      results.set(a.field.rpf_id, value === null || value === undefined ? null : Number(value));
    }
    return { props, aggregates: results, itemKeys: row.ids ? row.ids.split(',').filter((id) => id.length === 24) : [] };
  }
}

/** A group key as SQL hands it back → the canonical stored form (values.ts). */
function canonical(column: Column, value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  switch (column.source.dataType) {
    case 'number':
    case 'date':
    case 'datetime':
      return Number(value);
    case 'checkbox':
    case 'users':
    case 'file':
      // SQLite's json_extract and PostgreSQL's #>> both hand a list back as JSON text.
      return typeof value === 'string' ? JSON.parse(value) : value;
    default:
      return String(value);
  }
}

function both(a: Expression<SqlBool> | undefined, b: Expression<SqlBool> | undefined): Expression<SqlBool> | undefined {
  if (!a) return b;
  if (!b) return a;
  return sql<SqlBool>`(${a} and ${b})`;
}
