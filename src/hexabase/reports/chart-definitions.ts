import type { EntityStore } from '../../store/entity-store.js';
import type { Applications } from '../applications/applications.js';
import type { DatastoreDef } from '../applications/datastores.js';
import { HexabaseError } from '../errors.js';
import { newId } from '../ids.js';
import { type Body, optionalText, requireDisplayId, requireText } from '../validate.js';
import {
  CHART_SET,
  DEFINITIONS_PER_APP_MAX,
  REPORT_SET,
  type ChartDef,
  type ReportDef,
  type ReportFieldDef,
  definableApp,
  definitionScope,
  findDefinition,
  releaseDisplayId,
  requireDefinition,
  reserveDisplayId,
} from './model.js';

/** The chart types kura accepts (Chart.js names, as Hexabase's GUI offers them; `barStacked` is the page's sample). */
export const CHART_TYPES = ['bar', 'barStacked', 'horizontalBar', 'horizontalBarStacked', 'line', 'area', 'pie', 'doughnut', 'radar', 'polarArea'] as const;
const VALUE_FIELDS_MAX = 20;

function invalid(message: string): HexabaseError {
  return new HexabaseError('INVALID_VALUE', message);
}

/**
 * Chart definitions, kura's own API: `POST /api/v0/applications/:app-id/charts {display_id, title,
 * type, report_id, label_field, value_fields, color?}` → `{chart_id}`, `PUT` and `DELETE
 * …/charts/:chart-id`. A chart draws one report: its labels are the values of `label_field`, one
 * dataset per entry of `value_fields` (numeric columns), titled by that column's title.
 */
export class ChartDefinitions {
  constructor(
    private readonly store: EntityStore,
    private readonly applications: Applications,
  ) {}

  async create(userId: string, appRef: string, body: Body): Promise<{ chart_id: string }> {
    const app = await definableApp(this.applications, userId, appRef);
    const def = await this.read(app.key, body, userId);
    const id = newId();
    await this.store.withTransaction(async (trx) => {
      const count = (await trx.query(definitionScope(app.key), CHART_SET, { top: 0, skip: 0, count: true })).count ?? 0;
      if (count >= DEFINITIONS_PER_APP_MAX) throw new HexabaseError('INVALID_PARAMS', `an application holds at most ${DEFINITIONS_PER_APP_MAX} charts`);
      await requireReport(trx, app.key, def.r_id);
      await reserveDisplayId(trx, app.key, 'chart', def.display_id, id);
      await trx.insert(definitionScope(app.key), CHART_SET, id, { ...def });
    });
    return { chart_id: id };
  }

  /** A whole new definition; keys left out keep their current value. */
  async update(userId: string, appRef: string, chartRef: string, body: Body): Promise<null> {
    const app = await definableApp(this.applications, userId, appRef);
    const current = await requireDefinition(this.store, app.key, 'chart', chartRef);
    const previous = current.props as unknown as ChartDef;
    const merged = {
      display_id: previous.display_id,
      title: previous.title,
      type: previous.type,
      color: previous.color,
      report_id: previous.r_id,
      label_field: previous.label_field,
      value_fields: previous.value_fields,
      ...body,
    };
    const def = await this.read(app.key, merged, previous.created_by);
    await this.store.withTransaction(async (trx) => {
      await requireReport(trx, app.key, def.r_id);
      const fresh = (await trx.get(current.scope, CHART_SET, current.key)) ?? current;
      if (def.display_id !== fresh.props.display_id) {
        await releaseDisplayId(trx, app.key, 'chart', String(fresh.props.display_id));
        await reserveDisplayId(trx, app.key, 'chart', def.display_id, fresh.key);
      }
      await trx.update(fresh, { key: fresh.key, props: { ...def } });
    });
    return null;
  }

  async remove(userId: string, appRef: string, chartRef: string): Promise<null> {
    const app = await definableApp(this.applications, userId, appRef);
    const current = await requireDefinition(this.store, app.key, 'chart', chartRef);
    await this.store.withTransaction(async (trx) => {
      await releaseDisplayId(trx, app.key, 'chart', String(current.props.display_id));
      await trx.delete(current);
    });
    return null;
  }

  private async read(appKey: string, body: Body, createdBy: string): Promise<ChartDef> {
    const displayId = requireDisplayId(body.display_id);
    const title = requireText(body.title, 'title');
    const type = requireText(body.type, 'type');
    if (!(CHART_TYPES as readonly string[]).includes(type)) throw invalid(`type is one of ${CHART_TYPES.join(', ')}`);
    const color = optionalText(body.color, 'color') ?? 'DEFAULT';
    const report = await findDefinition(this.store, appKey, 'report', requireText(body.report_id, 'report_id'));
    if (!report) throw invalid('report_id names no report of this application');
    const reportDef = report.props as unknown as ReportDef;
    const fields = reportDef.fields;
    const column = (ref: unknown, at: string): ReportFieldDef => {
      const found = typeof ref === 'string' ? (fields.find((f) => f.display_id === ref) ?? fields.find((f) => f.rpf_id === ref)) : undefined;
      if (!found) throw invalid(`${at} names no field of report ${reportDef.display_id}`);
      return found;
    };
    const label = column(requireText(body.label_field, 'label_field'), 'label_field');
    if (!Array.isArray(body.value_fields) || body.value_fields.length === 0 || body.value_fields.length > VALUE_FIELDS_MAX) {
      throw invalid(`value_fields is a list of 1 to ${VALUE_FIELDS_MAX} report fields`);
    }
    const values = body.value_fields.map((ref, i) => column(ref, `value_fields[${i}]`));
    if (new Set(values).size !== values.length) throw invalid('value_fields names a field twice');
    const def: ChartDef = { display_id: displayId, title, type, color, r_id: report.key, label_field: label.rpf_id, value_fields: values.map((v) => v.rpf_id), created_by: createdBy };
    const datastore = (await this.applications.datastoresOf(appKey)).find((d) => d.key === reportDef.d_id);
    if (!datastore) throw invalid(`report ${reportDef.display_id} reads a datastore that no longer exists`);
    checkChart(def, reportDef, datastore.props as unknown as DatastoreDef, 'value_fields');
    return def;
  }
}

/** The chart's report is still there when the chart is written (it was checked before the transaction). */
async function requireReport(trx: EntityStore, appKey: string, reportKey: string): Promise<void> {
  if (!(await trx.get(definitionScope(appKey), REPORT_SET, reportKey))) throw invalid('report_id names no report of this application');
}

/**
 * A chart still fits its report: the label and value columns exist and every value column is a
 * number (aggregated, or a number field). Report redefinitions check their charts with it too.
 */
export function checkChart(chart: ChartDef, report: Omit<ReportDef, 'created_by'>, datastore: DatastoreDef, where: string): void {
  const byId = new Map(report.fields.map((f) => [f.rpf_id, f]));
  if (!byId.has(chart.label_field)) throw invalid(`${where}: the label field of chart ${chart.display_id} is no longer in the report`);
  for (const id of chart.value_fields) {
    const field = byId.get(id);
    if (!field) throw invalid(`${where}: a value field of chart ${chart.display_id} is no longer in the report`);
    const source = datastore.fields.find((f) => f.field_id === field.f_id);
    if (!field.aggregate && source?.dataType !== 'number') throw invalid(`${where}: ${field.display_id} is not a number, so chart ${chart.display_id} cannot draw it`);
  }
}
