import type { EntityStore } from '../../store/entity-store.js';
import type { DatastoreResolver } from '../items/context.js';
import { HexabaseError } from '../errors.js';
import type { Body } from '../validate.js';
import { type ChartDef, requireDefinition } from './model.js';
import { translateConditions } from './options.js';
import { searchConditions } from './present.js';
import type { ReportService } from './reports.js';

/** The most labels (report rows) one chart draws. */
export const CHART_POINTS_MAX = 1000;

/**
 * GetChartData, GetChartDataByConditions and GetChartSearchConditions (spec/hexabase/v0/charts/).
 * A chart runs its report (all rows up to CHART_POINTS_MAX, in the report's order): `labels` are
 * the rendered values of the label column, one dataset `{data, label}` per value column, titled by
 * that column. Conditions name report columns, as for GetReportDataByConditions.
 */
export class ChartService {
  constructor(
    private readonly store: EntityStore,
    private readonly resolver: DatastoreResolver,
    private readonly reports: ReportService,
  ) {}

  async data(userId: string, appRef: string, chartRef: string, body: Body | undefined) {
    const { chart, open } = await this.open(userId, appRef, chartRef);
    const { sources } = await this.reports.run(open, {
      conditions: translateConditions(body?.conditions, open.def.fields),
      use_or_condition: body?.use_or_condition,
      sort: [],
      top: CHART_POINTS_MAX,
      skip: 0,
      count: false,
    });
    const rows = await this.reports.present(open, sources, { include_date_at: false, include_lookups: false, return_id_value_results: false, return_utc_datetime: false });
    const column = (rpfId: string) => {
      const found = open.def.fields.find((f) => f.rpf_id === rpfId);
      if (!found) throw new HexabaseError('INVALID_SETTINGS', `chart ${chart.display_id} names a column its report no longer has`);
      return found;
    };
    const label = column(chart.label_field);
    return {
      chart: { type: chart.type },
      color: chart.color,
      datasets: chart.value_fields.map(column).map((field) => ({
        data: rows.map((row) => (typeof row[field.display_id] === 'number' ? row[field.display_id] : null)),
        label: field.title,
      })),
      labels: rows.map((row) => String(row[label.display_id] ?? '')),
      title: { text: chart.title },
      zero: true,
    };
  }

  async conditions(userId: string, appRef: string, chartRef: string) {
    const { open } = await this.open(userId, appRef, chartRef);
    return searchConditions(open.ctx, open.columns, true);
  }

  private async open(userId: string, appRef: string, chartRef: string) {
    const { app } = await this.resolver.resolveApp(userId, appRef);
    const entity = await requireDefinition(this.store, app.key, 'chart', chartRef);
    const chart = entity.props as unknown as ChartDef;
    return { chart, open: await this.reports.openIn(userId, app.key, chart.r_id) };
  }
}
