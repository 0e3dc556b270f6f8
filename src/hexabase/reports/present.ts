import type { EntityStore, StoredEntity } from '../../store/entity-store.js';
import type { FieldDef } from '../applications/datastores.js';
import { ITEM_SET, type DatastoreContext } from '../items/context.js';
import type { ItemRenderer } from '../items/render.js';
import { CsvText } from '../items/search.js';
import { isoSeconds } from '../items/values.js';
import { HX_SCOPE, HX_SETS } from '../model.js';
import type { Column } from './query.js';

/**
 * Report rows as GetReportData shows them (spec/hexabase/v0/reports/GetReportData.md, samples of
 * GetReportDataByConditions.md): one key per column, named by its display id; blanks left out.
 * Values render as ItemList renders them (ItemRenderer: option and status labels, user names,
 * looked-up titles, comma-joined lists), except what the report pages show differently: numbers
 * and aggregates are JSON numbers (`"NUM": 0`), date fields `2016/01/01` (ISO UTC with
 * `return_utc_datetime`), datetime fields ISO UTC (`2021-05-27T18:38:13Z`), created_at/updated_at
 * `2020/08/16 11:59:45`.
 * deviation: kura keeps no time zone per user, so these dates are UTC (Hexabase shows its users' local time).
 */

/** One row before rendering. */
export interface RowSource {
  /** The row's stored values of its non-aggregated columns, as an item holds them. */
  props: Record<string, unknown>;
  /** Aggregate results by rpf id. */
  aggregates: Map<string, number | null>;
  /** The items behind the row (grouped: the first ROW_ITEMS_MAX). */
  itemKeys: string[];
  /** The item itself, for a report that does not group. */
  entity?: StoredEntity;
}

export interface PresentOptions {
  grouped: boolean;
  include_date_at: boolean;
  include_lookups: boolean;
  return_id_value_results: boolean;
  return_utc_datetime: boolean;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** `2016/01/01` (UTC). */
export function slashDate(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}`;
}

/** `2020/08/16 11:59:45` (UTC). */
export function slashDateTime(ms: number): string {
  const d = new Date(ms);
  return `${slashDate(ms)} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

function stored(column: Column, props: Record<string, unknown>): unknown {
  return props[column.prop];
}

export class ReportPresenter {
  constructor(
    private readonly store: EntityStore,
    private readonly renderer: ItemRenderer,
  ) {}

  async rows(ctx: DatastoreContext, columns: Column[], sources: RowSource[], options: PresentOptions): Promise<Record<string, unknown>[]> {
    // Grouped rows render through ItemRenderer as items holding only their group values.
    const entities = sources.map((s): StoredEntity => s.entity ?? { id: '', scope: ctx.scope, entitySet: ITEM_SET, key: '', version: 1, published: 0, updated: 0, props: s.props });
    const flat = await this.renderer.flat(ctx, entities, { displayIds: false, numbers: true, lookups: false });
    const lookups = options.include_lookups && columns.some((c) => !c.field.aggregate && c.source.dataType === 'dslookup')
      ? await this.renderer.flat(ctx, entities, { displayIds: true, numbers: false, lookups: true })
      : undefined;
    const users = options.return_id_value_results ? await this.userNames(columns, sources) : new Map<string, string>();
    return sources.map((source, i) => {
      const row: Record<string, unknown> = {};
      const idValues: Record<string, unknown> = {};
      const lookupItems: Record<string, unknown> = {};
      for (const column of columns) {
        const key = column.field.display_id;
        if (column.field.aggregate) {
          const value = source.aggregates.get(column.field.rpf_id);
          if (value !== null && value !== undefined) row[key] = value;
          continue;
        }
        const value = stored(column, source.props);
        if (value === undefined || value === null) continue;
        row[key] = this.value(column.source, value, flat[i]!, options);
        const idValue = options.return_id_value_results ? idValueOf(ctx, column.source, value, users) : undefined;
        if (idValue !== undefined) idValues[key] = idValue;
        const expanded = (lookups?.[i]?.lookup_items as Record<string, unknown> | undefined)?.[column.source.display_id];
        if (column.source.dataType === 'dslookup' && expanded !== undefined) lookupItems[key] = expanded;
      }
      if (options.grouped) {
        row.items = source.itemKeys.map((key) => ({ d_id: ctx.datastore.key, i_id: key }));
      } else if (source.entity) {
        const e = source.entity;
        row.i_id = e.key;
        row.rev_no = e.version;
        row.items = [{ d_id: ctx.datastore.key, i_id: e.key }];
        if (options.include_date_at) {
          row.created_at = slashDateTime(e.published);
          row.updated_at = slashDateTime(e.updated);
        }
      }
      if (Object.keys(lookupItems).length > 0) row.lookup_items = lookupItems;
      if (options.return_id_value_results && Object.keys(idValues).length > 0) row.id_value_results = idValues;
      return row;
    });
  }

  private value(field: FieldDef, value: unknown, flat: Record<string, unknown>, options: PresentOptions): unknown {
    switch (field.dataType) {
      case 'number':
        return Number(value);
      case 'date':
        return options.return_utc_datetime ? isoSeconds(Number(value)) : slashDate(Number(value));
      case 'datetime':
        return isoSeconds(Number(value));
      default:
        return flat[field.field_id] ?? '';
    }
  }

  /** The names of the users the rows' user columns name, each read once. */
  private async userNames(columns: Column[], sources: RowSource[]): Promise<Map<string, string>> {
    const ids = new Set<string>();
    for (const c of columns) {
      if (c.field.aggregate || c.source.dataType !== 'users') continue;
      for (const s of sources) for (const id of (stored(c, s.props) as string[] | undefined) ?? []) ids.add(id);
    }
    const names = new Map<string, string>();
    for (const id of ids) names.set(id, String((await this.store.get(HX_SCOPE, HX_SETS.user, id))?.props.username ?? id));
    return names;
  }
}

/** `id_value_results` of one value: options and statuses by display id, users by id (the page's sample). */
function idValueOf(ctx: DatastoreContext, field: FieldDef, value: unknown, users: Map<string, string>): unknown {
  const option = (id: string) => {
    const o = field.options?.find((x) => x.option_id === id);
    return { id: o?.display_id ?? id, value: o?.value ?? id };
  };
  switch (field.dataType) {
    case 'select':
    case 'radio':
      return option(String(value));
    case 'checkbox':
      return (value as string[]).map(option);
    case 'status': {
      const s = ctx.def.statuses.find((x) => x.s_id === value);
      return { id: s?.display_id ?? String(value), value: s?.name ?? String(value) };
    }
    case 'users':
      return (value as string[]).map((id) => ({ id, value: users.get(id) ?? id }));
    default:
      return undefined;
  }
}

/** GetReportData's `report_fields`: each column with the display settings kura does not keep, at their defaults. */
export function reportFields(ctx: DatastoreContext, columns: Column[]): Record<string, unknown>[] {
  return columns.map(({ field, source }) => {
    const dataType = field.aggregate ? 'number' : source.dataType;
    const listed = ['select', 'radio', 'checkbox', 'status'].includes(dataType);
    return {
      title: field.title,
      rpf_id: field.rpf_id,
      display_id: field.display_id,
      data_type: dataType,
      display_type: dataType === 'number' ? 'number' : listed ? 'text' : '',
      align: dataType === 'number' ? 'right' : listed ? 'left' : '',
      width: 200,
      negative_sign_type: 'triangle',
      // Spelt as the page spells it.
      num_format: 'comma-separeted',
      num_info: { prefix: '', suffix: '', no_comma: false },
      conditions: [],
      f_id: source.field_id,
      d_id: ctx.datastore.key,
      merge_cells: false,
      hide: false,
      disable_search: false,
      use_integrated_report: false,
      is_cross_key: false,
    };
  });
}

/**
 * GetReportSearchConditions (and, with `chart` set, GetChartSearchConditions): the columns a
 * condition may name. A condition filters items by the column's source field, so `dataType` is the
 * source field's, with its options or statuses.
 */
export function searchConditions(ctx: DatastoreContext, columns: Column[], chart: boolean): Record<string, unknown>[] {
  return columns.map(({ field, source }, order) => {
    const entry: Record<string, unknown> = chart
      ? { rpf_id: field.rpf_id, name: field.title, dataType: source.dataType, order }
      : { rpf_id: field.rpf_id, display_id: field.display_id, f_id: source.field_id, name: field.title, dataType: source.dataType, order };
    if (source.options) entry.options = source.options.map((o) => ({ o_id: o.option_id, value: o.value, color: '', enabled: o.enabled, sort_id: o.sort_id }));
    if (source.dataType === 'status') entry.statuses = ctx.def.statuses.map((s) => ({ s_id: s.s_id, name: s.name, color: '' }));
    return entry;
  });
}

/** `format: "csv"`: a header of column display ids (the page's sample), then one line per row. */
export function csvAnswer(columns: Column[], rows: Record<string, unknown>[], withDates: boolean): CsvText {
  const keys = [...columns.map((c) => c.field.display_id), ...(withDates ? ['created_at', 'updated_at'] : [])];
  const lines = [keys, ...rows.map((row) => keys.map((k) => row[k] ?? ''))].map((cells) => cells.map(csvCell).join(','));
  return new CsvText(`${lines.join('\r\n')}\r\n`);
}

/** Quoted as RFC 4180 asks; text a spreadsheet would run as a formula gets a leading `'` (numbers stay numbers). */
function csvCell(value: unknown): string {
  let text = String(value);
  if (typeof value !== 'number' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
