import { DuplicateKeyError, type EntityStore, type Scope, type StoredEntity } from '../../store/entity-store.js';
import type { Applications } from '../applications/applications.js';
import { HexabaseError } from '../errors.js';
import { ID_PATTERN } from '../ids.js';
import { HX_SCOPE } from '../model.js';

/**
 * How kura keeps report and chart definitions (kura's own definition API: Hexabase defines them in
 * its GUI). Both live in one scope per application, `{hx, <p_id>, reports}`, outside HX_SCOPE so a
 * definition write does not drop the `hexabase` read cache; a display id is reserved by an entity
 * keyed by it in the same scope, so the identity index keeps display ids unique atomically.
 */
export const REPORT_SET = 'hx.Report';
export const REPORT_DISPLAY_ID_SET = 'hx.ReportDisplayId';
export const CHART_SET = 'hx.Chart';
export const CHART_DISPLAY_ID_SET = 'hx.ChartDisplayId';

/** Definitions of one kind per application. */
export const DEFINITIONS_PER_APP_MAX = 500;

export const AGGREGATES = ['sum', 'count', 'avg', 'min', 'max'] as const;
export type Aggregate = (typeof AGGREGATES)[number];

/** One output column of a report (`rpf_id` is stable across redefinitions with the same display id). */
export interface ReportFieldDef {
  rpf_id: string;
  display_id: string;
  title: string;
  /** The datastore field's internal id. */
  f_id: string;
  aggregate?: Aggregate;
}

export interface ReportDef {
  display_id: string;
  title: string;
  /** The datastore's internal id. */
  d_id: string;
  fields: ReportFieldDef[];
  /** rpf ids of the columns rows are grouped by. */
  group_by: string[];
  /** ItemList conditions over the datastore, field references as internal ids (ANDed). */
  conditions: unknown[];
  created_by: string;
}

export interface ChartDef {
  display_id: string;
  title: string;
  type: string;
  color: string;
  /** The report's internal id. */
  r_id: string;
  /** rpf id of the column whose values are the labels. */
  label_field: string;
  /** rpf ids of the numeric columns, one dataset each. */
  value_fields: string[];
  created_by: string;
}

/**
 * An application whose reports and charts the caller may define: its creator or a workspace
 * administrator (Applications.editable). Whoever cannot see it at all gets NOT_FOUND, as for reads.
 */
export async function definableApp(applications: Applications, userId: string, appRef: string): Promise<StoredEntity> {
  await applications.visible(userId, appRef);
  return applications.editable(userId, appRef);
}

/** A report groups (and then aggregates) when it names group keys or aggregates anything. */
export function isGrouped(def: ReportDef): boolean {
  return def.group_by.length > 0 || def.fields.some((f) => f.aggregate !== undefined);
}

export function definitionScope(appKey: string): Scope {
  return { cellId: HX_SCOPE.cellId, boxId: appKey, nodeId: 'reports' };
}

/** A definition of `set` by internal id, else by display id (through its reservation). */
export async function findDefinition(store: EntityStore, appKey: string, kind: 'report' | 'chart', ref: string): Promise<StoredEntity | undefined> {
  const scope = definitionScope(appKey);
  const [set, reservations] = kind === 'report' ? [REPORT_SET, REPORT_DISPLAY_ID_SET] : [CHART_SET, CHART_DISPLAY_ID_SET];
  const byId = ID_PATTERN.test(ref) ? await store.get(scope, set, ref) : undefined;
  if (byId) return byId;
  if (ref.length > 64) return undefined;
  const reserved = await store.get(scope, reservations, ref);
  return reserved ? store.get(scope, set, String(reserved.props.id)) : undefined;
}

export async function requireDefinition(store: EntityStore, appKey: string, kind: 'report' | 'chart', ref: string): Promise<StoredEntity> {
  const found = await findDefinition(store, appKey, kind, ref);
  if (!found) throw new HexabaseError('NOT_FOUND', `no ${kind} ${ref.slice(0, 64)} in this application`);
  return found;
}

/** Inserts the reservation of `displayId`; a taken one is INVALID_VALUE. */
export async function reserveDisplayId(trx: EntityStore, appKey: string, kind: 'report' | 'chart', displayId: string, id: string): Promise<void> {
  const set = kind === 'report' ? REPORT_DISPLAY_ID_SET : CHART_DISPLAY_ID_SET;
  try {
    await trx.insert(definitionScope(appKey), set, displayId, { id });
  } catch (err) {
    if (err instanceof DuplicateKeyError) throw new HexabaseError('INVALID_VALUE', `display_id ${displayId} is taken by another ${kind} of this application`);
    throw err;
  }
}

export async function releaseDisplayId(trx: EntityStore, appKey: string, kind: 'report' | 'chart', displayId: string): Promise<void> {
  const set = kind === 'report' ? REPORT_DISPLAY_ID_SET : CHART_DISPLAY_ID_SET;
  const reserved = await trx.get(definitionScope(appKey), set, displayId);
  if (reserved) await trx.delete(reserved);
}

export async function definitionsOf(store: EntityStore, appKey: string, kind: 'report' | 'chart'): Promise<StoredEntity[]> {
  const set = kind === 'report' ? REPORT_SET : CHART_SET;
  return (await store.query(definitionScope(appKey), set, { top: DEFINITIONS_PER_APP_MAX + 1, skip: 0, count: false })).entities;
}
