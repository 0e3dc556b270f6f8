import { randomUUID } from 'node:crypto';
import type { EntityStore, StoredEntity } from '../../store/entity-store.js';
import type { Applications } from '../applications/applications.js';
import type { DatastoreDef } from '../applications/datastores.js';
import { HexabaseError } from '../errors.js';
import { newId } from '../ids.js';
import { compileConditions } from '../items/conditions.js';
import { itemScope } from '../items/context.js';
import { fieldByRef } from '../items/values.js';
import { type Body, requireDisplayId, requireText } from '../validate.js';
import { checkChart } from './chart-definitions.js';
import type { ReportIndexes } from './indexes.js';
import {
  AGGREGATES,
  DEFINITIONS_PER_APP_MAX,
  REPORT_SET,
  type Aggregate,
  type ChartDef,
  type ReportDef,
  type ReportFieldDef,
  definableApp,
  definitionScope,
  definitionsOf,
  isGrouped,
  releaseDisplayId,
  requireDefinition,
  reserveDisplayId,
} from './model.js';
import { indexColumns, propOf, type Column } from './query.js';

const REPORT_FIELDS_MAX = 100;
/** Keys a report row carries besides its columns: no column may take them. */
const ROW_KEYS: ReadonlySet<string> = new Set(['items', 'i_id', 'rev_no', 'created_at', 'updated_at', 'lookup_items', 'id_value_results', '__proto__']);
/** Field references in conditions that are not fields (items/conditions.ts). */
const SYSTEM_REFS: ReadonlySet<string> = new Set(['i_id', 'created_at', 'updated_at', 'created_by', 'updated_by', 'status_id']);

function invalid(message: string): HexabaseError {
  return new HexabaseError('INVALID_VALUE', message);
}

/**
 * Report definitions, kura's own API (Hexabase defines reports in its GUI):
 * `POST /api/v0/applications/:app-id/reports` → `{report_id}`, `PUT` and `DELETE …/reports/:report-id`.
 * Only the application's creator or a workspace administrator defines (Applications.editable). A
 * definition is checked whole against the datastore before anything is stored.
 */
export class ReportDefinitions {
  constructor(
    private readonly store: EntityStore,
    private readonly applications: Applications,
    private readonly indexes: ReportIndexes,
  ) {}

  async create(userId: string, appRef: string, body: Body): Promise<{ report_id: string }> {
    const app = await definableApp(this.applications, userId, appRef);
    const { def, datastore } = await this.read(app.key, body, undefined, userId);
    const id = newId();
    await this.store.withTransaction(async (trx) => {
      const count = (await trx.query(definitionScope(app.key), REPORT_SET, { top: 0, skip: 0, count: true })).count ?? 0;
      if (count >= DEFINITIONS_PER_APP_MAX) throw new HexabaseError('INVALID_PARAMS', `an application holds at most ${DEFINITIONS_PER_APP_MAX} reports`);
      await reserveDisplayId(trx, app.key, 'report', def.display_id, id);
      await trx.insert(definitionScope(app.key), REPORT_SET, id, { ...def, index: this.indexName(app.key, def, datastore) });
    });
    await this.indexes.ensure(this.plan(app.key, def, datastore));
    return { report_id: id };
  }

  /** A whole new definition; keys left out keep their current value. */
  async update(userId: string, appRef: string, reportRef: string, body: Body): Promise<null> {
    const app = await definableApp(this.applications, userId, appRef);
    const current = await requireDefinition(this.store, app.key, 'report', reportRef);
    const previous = current.props as unknown as ReportDef;
    const { def, datastore } = await this.read(app.key, { ...bodyOf(previous), ...body }, previous, String(previous.created_by ?? userId));
    await this.store.withTransaction(async (trx) => {
      // The charts drawing from the report must still fit it (read in the transaction that writes).
      const charts = (await definitionsOf(trx, app.key, 'chart')).filter((c) => c.props.r_id === current.key);
      for (const chart of charts) checkChart(chart.props as unknown as ChartDef, def, datastore.props as unknown as DatastoreDef, 'fields');
      const fresh = (await trx.get(current.scope, REPORT_SET, current.key)) ?? current;
      if (def.display_id !== fresh.props.display_id) {
        await releaseDisplayId(trx, app.key, 'report', String(fresh.props.display_id));
        await reserveDisplayId(trx, app.key, 'report', def.display_id, fresh.key);
      }
      await trx.update(fresh, { key: fresh.key, props: { ...def, index: this.indexName(app.key, def, datastore) } });
    });
    await this.indexes.ensure(this.plan(app.key, def, datastore));
    await this.dropUnused(app.key, current.props.index);
    return null;
  }

  /** A report no chart draws from (delete those charts first). */
  async remove(userId: string, appRef: string, reportRef: string): Promise<null> {
    const app = await definableApp(this.applications, userId, appRef);
    const current = await requireDefinition(this.store, app.key, 'report', reportRef);
    await this.store.withTransaction(async (trx) => {
      const chart = (await definitionsOf(trx, app.key, 'chart')).find((c) => c.props.r_id === current.key);
      if (chart) throw new HexabaseError('INVALID_PARAMS', `chart ${String(chart.props.display_id)} draws from this report: delete it first`);
      await releaseDisplayId(trx, app.key, 'report', String(current.props.display_id));
      await trx.delete(current);
    });
    await this.dropUnused(app.key, current.props.index);
    return null;
  }

  private async read(appKey: string, body: Body, previous: ReportDef | undefined, createdBy: string): Promise<{ def: ReportDef; datastore: StoredEntity }> {
    const datastores = await this.applications.datastoresOf(appKey);
    const ref = requireText(body.datastore_id, 'datastore_id');
    const datastore = datastores.find((d) => d.key === ref) ?? datastores.find((d) => d.props.display_id === ref);
    if (!datastore) throw invalid('datastore_id names no datastore of this application');
    const def = readReport(body, previous, datastore, this.store.dialect);
    return { def: { ...def, created_by: createdBy }, datastore };
  }

  private plan(appKey: string, def: ReportDef, datastore: StoredEntity) {
    if (!isGrouped(def)) return undefined;
    const dsDef = datastore.props as unknown as DatastoreDef;
    const columns = def.fields.map((f): Column => {
      const source = dsDef.fields.find((s) => s.field_id === f.f_id)!;
      return { field: f, source, prop: propOf(source), alias: '' };
    });
    const groups = def.group_by.map((id) => columns.find((c) => c.field.rpf_id === id)!);
    return this.indexes.plan(itemScope(appKey, datastore.key), indexColumns(groups, columns, def.conditions, dsDef));
  }

  private indexName(appKey: string, def: ReportDef, datastore: StoredEntity): string | null {
    return this.plan(appKey, def, datastore)?.name ?? null;
  }

  private async dropUnused(appKey: string, name: unknown): Promise<void> {
    if (typeof name !== 'string') return;
    const reports = await definitionsOf(this.store, appKey, 'report');
    if (!reports.some((r) => r.props.index === name)) await this.indexes.drop(name);
  }
}

/** A stored definition in the request's form (PUT merges the body over it). */
function bodyOf(def: ReportDef): Body {
  const byRpf = new Map(def.fields.map((f) => [f.rpf_id, f.display_id]));
  return {
    display_id: def.display_id,
    title: def.title,
    datastore_id: def.d_id,
    fields: def.fields.map((f) => ({ display_id: f.display_id, title: f.title, field_id: f.f_id, ...(f.aggregate ? { aggregate: f.aggregate } : {}) })),
    group_by: def.group_by.map((id) => byRpf.get(id)),
    conditions: def.conditions,
  };
}

function list(value: unknown, name: string, max: number): unknown[] {
  if (!Array.isArray(value) || value.length > max) throw invalid(`${name} is a list of at most ${max}`);
  return value;
}

/** The checked definition (rpf ids of `previous` kept by display id); nothing is stored here. */
export function readReport(body: Body, previous: ReportDef | undefined, datastore: StoredEntity, dialect: EntityStore['dialect']): Omit<ReportDef, 'created_by'> {
  const ds = datastore.props as unknown as DatastoreDef;
  const displayId = requireDisplayId(body.display_id);
  const title = requireText(body.title, 'title');
  if (body.fields === undefined || body.fields === null) throw new HexabaseError('INVALID_PARAMS', 'fields is required');
  const bodies = list(body.fields, 'fields', REPORT_FIELDS_MAX);
  if (bodies.length === 0) throw new HexabaseError('INVALID_PARAMS', 'fields is required');
  const oldIds = new Map((previous?.fields ?? []).map((f) => [f.display_id, f.rpf_id]));
  const fields = bodies.map((raw, i): ReportFieldDef => {
    const at = `fields[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw invalid(`${at} is an object`);
    const f = raw as Body;
    const fieldDisplayId = requireDisplayId(f.display_id, `${at}.display_id`);
    if (ROW_KEYS.has(fieldDisplayId)) throw invalid(`${at}.display_id ${fieldDisplayId} is a key every report row has`);
    const fieldTitle = requireText(f.title, `${at}.title`);
    const ref = requireText(f.field_id, `${at}.field_id`);
    const source = fieldByRef(ds, ref);
    if (!source) throw invalid(`${at}.field_id: no field ${ref.slice(0, 64)} in datastore ${String(datastore.props.display_id)}`);
    const out: ReportFieldDef = { rpf_id: oldIds.get(fieldDisplayId) ?? randomUUID(), display_id: fieldDisplayId, title: fieldTitle, f_id: source.field_id };
    if (f.aggregate !== undefined && f.aggregate !== null) {
      if (typeof f.aggregate !== 'string' || !(AGGREGATES as readonly string[]).includes(f.aggregate)) throw invalid(`${at}.aggregate is one of ${AGGREGATES.join(', ')}`);
      if (f.aggregate !== 'count' && source.dataType !== 'number') throw invalid(`${at}.aggregate ${f.aggregate} needs a number field; ${source.display_id} is ${source.dataType}`);
      out.aggregate = f.aggregate as Aggregate;
    }
    return out;
  });
  const seen = new Set<string>();
  for (const f of fields) {
    if (seen.has(f.display_id)) throw invalid(`fields: display_id ${f.display_id} appears twice`);
    seen.add(f.display_id);
  }

  const groupRefs = body.group_by === undefined || body.group_by === null ? [] : list(body.group_by, 'group_by', REPORT_FIELDS_MAX);
  const groupBy = groupRefs.map((ref, i) => {
    const field = fields.find((f) => f.display_id === ref);
    if (!field) throw invalid(`group_by[${i}] names no output field of this report`);
    if (field.aggregate) throw invalid(`group_by[${i}]: ${field.display_id} is aggregated`);
    return field.rpf_id;
  });
  if (new Set(groupBy).size !== groupBy.length) throw invalid('group_by names a field twice');
  const grouped = groupBy.length > 0 || fields.some((f) => f.aggregate);
  const loose = grouped ? fields.find((f) => !f.aggregate && !groupBy.includes(f.rpf_id)) : undefined;
  if (loose) throw invalid(`${loose.display_id} is neither aggregated nor in group_by: a grouped report shows one row per group`);

  let conditions: unknown[] = [];
  if (body.conditions !== undefined && body.conditions !== null) {
    if (!Array.isArray(body.conditions)) throw new HexabaseError('INVALID_PARAMS', 'conditions is a list');
    compileConditions({ conditions: body.conditions }, ds, dialect);
    conditions = body.conditions.map((c) => internalIds(ds, c));
  }
  return { display_id: displayId, title, d_id: datastore.key, fields, group_by: groupBy, conditions };
}

/** Field references → internal field ids, with the precedence compileConditions gives them. */
function internalIds(def: DatastoreDef, condition: unknown): unknown {
  const c = condition as Record<string, unknown>;
  if (Array.isArray(c.conditions)) return { ...c, conditions: c.conditions.map((inner) => internalIds(def, inner)) };
  if (typeof c.id !== 'string' || def.fields.some((f) => f.field_id === c.id) || SYSTEM_REFS.has(c.id)) return c;
  const field = def.fields.find((f) => f.display_id === c.id);
  return field ? { ...c, id: field.field_id } : c;
}
