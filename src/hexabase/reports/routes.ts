import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { ReadCache } from '../../personium/read-cache.js';
import type { EntityStore } from '../../store/entity-store.js';
import type { PropertyIndexes } from '../../store/property-indexes.js';
import type { Database } from '../../store/schema.js';
import type { Applications } from '../applications/applications.js';
import type { Route } from '../http/item-routes.js';
import { DatastoreResolver } from '../items/context.js';
import { ItemRenderer, type FileDescriber } from '../items/render.js';
import type { Body } from '../validate.js';
import { ChartDefinitions } from './chart-definitions.js';
import { ChartService } from './charts.js';
import { ReportIndexes } from './indexes.js';
import { ReportPresenter } from './present.js';
import { ReportDefinitions } from './report-definitions.js';
import { ReportService } from './reports.js';

interface ReportRouteDeps {
  store: EntityStore;
  applications: Applications;
  indexes: PropertyIndexes;
  cache?: ReadCache | undefined;
  files?: FileDescriber | undefined;
  jsonBody: (req: FastifyRequest) => Body;
  /** The body as JSON when there is one, `{}` when empty. */
  optionalBody: (req: FastifyRequest) => Body;
}

interface ReportParams {
  appId: string;
  reportId: string;
  chartId: string;
}

/**
 * Reports and charts (spec/hexabase/v0/reports/, charts/; issue 7), and kura's own endpoints that
 * define them (Hexabase defines them in its GUI).
 */
export function reportRoutes(route: Route, deps: ReportRouteDeps): { reports: ReportService; charts: ChartService } {
  const { store, jsonBody, optionalBody } = deps;
  const resolver = new DatastoreResolver(store, deps.applications, deps.cache);
  const indexes = new ReportIndexes(store.executor as Kysely<Database>, store.dialect);
  const presenter = new ReportPresenter(store, new ItemRenderer(store, deps.files));
  const reports = new ReportService(store, resolver, presenter, indexes, deps.indexes);
  const charts = new ChartService(store, resolver, reports);
  const reportDefs = new ReportDefinitions(store, deps.applications, indexes);
  const chartDefs = new ChartDefinitions(store, deps.applications);
  const p = (req: FastifyRequest) => req.params as ReportParams;
  const user = (req: FastifyRequest) => req.hxSession!.userId;
  const q = (req: FastifyRequest) => req.query as Record<string, unknown>;
  const reportBase = '/applications/:appId/reports';
  const chartBase = '/applications/:appId/charts';

  route('POST', reportBase, true, async (req) => reportDefs.create(user(req), p(req).appId, jsonBody(req)));
  route('PUT', `${reportBase}/:reportId`, true, async (req) => reportDefs.update(user(req), p(req).appId, p(req).reportId, jsonBody(req)));
  route('DELETE', `${reportBase}/:reportId`, true, async (req) => reportDefs.remove(user(req), p(req).appId, p(req).reportId));
  route('GET', `${reportBase}/:reportId`, true, async (req) => reports.data(user(req), p(req).appId, p(req).reportId, q(req), true));
  route('GET', `${reportBase}/:reportId/conditions`, true, async (req) => reports.conditions(user(req), p(req).appId, p(req).reportId));
  // `/filter` on the page's URL format, `/conditions` in its request sample: both are served.
  for (const suffix of ['filter', 'conditions']) {
    route('POST', `${reportBase}/:reportId/${suffix}`, true, async (req) => reports.data(user(req), p(req).appId, p(req).reportId, optionalBody(req), false));
  }

  route('POST', chartBase, true, async (req) => chartDefs.create(user(req), p(req).appId, jsonBody(req)));
  route('PUT', `${chartBase}/:chartId`, true, async (req) => chartDefs.update(user(req), p(req).appId, p(req).chartId, jsonBody(req)));
  route('DELETE', `${chartBase}/:chartId`, true, async (req) => chartDefs.remove(user(req), p(req).appId, p(req).chartId));
  route('GET', `${chartBase}/:chartId`, true, async (req) => charts.data(user(req), p(req).appId, p(req).chartId, undefined));
  route('GET', `${chartBase}/:chartId/conditions`, true, async (req) => charts.conditions(user(req), p(req).appId, p(req).chartId));
  for (const suffix of ['filter', 'conditions']) {
    route('POST', `${chartBase}/:chartId/${suffix}`, true, async (req) => charts.data(user(req), p(req).appId, p(req).chartId, optionalBody(req)));
  }
  return { reports, charts };
}
