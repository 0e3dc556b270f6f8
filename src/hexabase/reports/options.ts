import { CONDITION_LIMITS, type ConditionsInput } from '../items/conditions.js';
import { HexabaseError } from '../errors.js';
import type { ReportFieldDef } from './model.js';

/**
 * What a report request asks for, read alike from GetReportData's query string and from
 * GetReportDataByConditions' body (spec/hexabase/v0/reports/GetReportData.md,
 * GetReportDataByConditions.md).
 */
export interface ReportOptions {
  /** 0 = every row (up to REPORT_ROWS_MAX). */
  perPage: number;
  page: number;
  include_date_at: boolean;
  include_lookups: boolean;
  return_id_value_results: boolean;
  return_count_only: boolean;
  return_utc_datetime: boolean;
  omit_total_items: boolean;
  omit_fields_data: boolean;
  csv: boolean;
}

/** The most rows one answer carries (also when `per_page` is 0 or left out, "all"). */
export const REPORT_ROWS_MAX = 10_000;

const FLAGS = [
  'include_date_at',
  'include_lookups',
  'return_id_value_results',
  'return_count_only',
  'return_utc_datetime',
  'omit_total_items',
  'omit_fields_data',
  // deviation: accepted without effect. include_item_ref's answer is not documented;
  // return_number_value concerns the numbers of lookup items, which ItemRenderer renders as strings.
  'include_item_ref',
  'return_number_value',
] as const;

function invalid(message: string): HexabaseError {
  return new HexabaseError('INVALID_PARAMS', message);
}

function flag(value: unknown, name: string, fromQuery: boolean): boolean {
  if (value === undefined || value === null) return false;
  if (fromQuery && typeof value === 'string') {
    if (value === 'true' || value === '1') return true;
    if (value === 'false' || value === '0' || value === '') return false;
  }
  if (typeof value === 'boolean') return value;
  throw invalid(`${name} is true or false`);
}

function whole(value: unknown, name: string, max: number): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const n = typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > max) throw invalid(`${name} is a whole number from 0 to ${max}`);
  return n;
}

export function readOptions(source: Record<string, unknown>, fromQuery: boolean): ReportOptions {
  const flags = Object.fromEntries(FLAGS.map((name) => [name, flag(source[name], name, fromQuery)])) as Record<(typeof FLAGS)[number], boolean>;
  // deviation: timeouts are checked, not enforced; a report query is bounded by REPORT_ROWS_MAX
  // and, on SQLite, reads one covering index (indexes.ts).
  whole(source.total_count_timeout_sec, 'total_count_timeout_sec', 3600);
  whole(source.data_result_timeout_sec, 'data_result_timeout_sec', 3600);
  const format = source.format;
  if (format !== undefined && format !== null && format !== '' && format !== 'csv' && format !== 'json') throw invalid('format is "csv" or left out');
  return {
    perPage: whole(source.per_page, 'per_page', REPORT_ROWS_MAX) ?? 0,
    page: Math.max(whole(source.page, 'page', 1_000_000) ?? 1, 1),
    include_date_at: flags.include_date_at,
    include_lookups: flags.include_lookups,
    return_id_value_results: flags.return_id_value_results,
    return_count_only: flags.return_count_only,
    return_utc_datetime: flags.return_utc_datetime,
    omit_total_items: flags.omit_total_items,
    omit_fields_data: flags.omit_fields_data,
    csv: format === 'csv',
  };
}

/** A report column by display id or rpf id (GetReportDataByConditions: "display_id または rpf_id"). */
export function reportField(fields: ReportFieldDef[], ref: unknown, where: string): ReportFieldDef {
  if (typeof ref !== 'string' || ref === '') throw invalid(`${where} names a report field by display_id or rpf_id`);
  const found = fields.find((f) => f.display_id === ref) ?? fields.find((f) => f.rpf_id === ref);
  if (!found) throw invalid(`${where}: no field ${JSON.stringify(ref.slice(0, 64))} in this report`);
  return found;
}

/**
 * The request's `conditions` (leaves name a report column by `id` — display id or rpf id — or by
 * `rpf_id`) → ItemList conditions over the datastore field behind each column, which
 * compileConditions then checks and compiles. A condition on an aggregated column filters the items
 * by its source field before they are grouped.
 */
export function translateConditions(value: unknown, fields: ReportFieldDef[], where = 'conditions', depth = 1): unknown[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw invalid(`${where} is a list of conditions`);
  if (depth > CONDITION_LIMITS.depth) throw invalid(`conditions nest at most ${CONDITION_LIMITS.depth} levels deep`);
  if (value.length > CONDITION_LIMITS.leaves + CONDITION_LIMITS.groups) throw invalid(`${where} holds too many conditions`);
  return value.map((node, i) => {
    const at = `${where}[${i}]`;
    if (typeof node !== 'object' || node === null || Array.isArray(node)) throw invalid(`${at} is an object`);
    const c = node as Record<string, unknown>;
    if (c.conditions !== undefined) return { ...c, conditions: translateConditions(c.conditions, fields, `${at}.conditions`, depth + 1) };
    const { rpf_id, ...rest } = c;
    const field = reportField(fields, c.id ?? rpf_id, `${at}.id`);
    return { ...rest, id: field.f_id };
  });
}

/** The sort keys of a request as {report field, order}: sort_fields first, else sort_field_id. */
export function readSort(body: ConditionsInput, fields: ReportFieldDef[]): Array<{ field: ReportFieldDef; order: 'asc' | 'desc' }> {
  const order = (value: unknown, name: string): 'asc' | 'desc' => {
    if (value === undefined || value === null || value === '') return 'asc';
    const text = typeof value === 'string' ? value.toLowerCase() : undefined;
    if (text !== 'asc' && text !== 'desc') throw invalid(`${name} is "asc" or "desc"`);
    return text;
  };
  const keys: Array<{ field: ReportFieldDef; order: 'asc' | 'desc' }> = [];
  if (body.sort_fields !== undefined && body.sort_fields !== null) {
    if (!Array.isArray(body.sort_fields) || body.sort_fields.length > CONDITION_LIMITS.sortKeys) {
      throw invalid(`sort_fields is a list of at most ${CONDITION_LIMITS.sortKeys} {id, order}`);
    }
    body.sort_fields.forEach((key, i) => {
      if (typeof key !== 'object' || key === null) throw invalid(`sort_fields[${i}] is {id, order}`);
      const k = key as Record<string, unknown>;
      keys.push({ field: reportField(fields, k.id ?? k.rpf_id, `sort_fields[${i}].id`), order: order(k.order, `sort_fields[${i}].order`) });
    });
  }
  if (keys.length === 0 && body.sort_field_id !== undefined && body.sort_field_id !== null && body.sort_field_id !== '') {
    keys.push({ field: reportField(fields, body.sort_field_id, 'sort_field_id'), order: order(body.sort_order, 'sort_order') });
  }
  return keys;
}
