import type { EntityStore, Scope, StoredEntity } from '../../store/entity-store.js';
import { isSimpleType } from './schema-sets.js';

/**
 * The schema of one user OData collection, read whole: at most 100 EntityTypes (apiref 345) with
 * at most 400 properties each, so one query per set is cheaper than asking piecemeal.
 */
export interface PropertyModel {
  name: string;
  /** `Edm.*` or the name of a ComplexType of the collection. */
  type: string;
  nullable: boolean;
  defaultValue: string | null;
  list: boolean;
  declared: boolean;
}

export interface EndModel {
  name: string;
  entityType: string;
  multiplicity: '0..1' | '1' | '*';
  id: string;
}

export interface SchemaModel {
  entityTypes: Map<string, Map<string, PropertyModel>>;
  complexTypes: Map<string, Map<string, PropertyModel>>;
  ends: EndModel[];
  /** Associations between EntityTypes: pairs of linked AssociationEnds (apiref 323), each pair once. */
  associations: Array<[EndModel, EndModel]>;
}

/** The links-table name of AssociationEnd ↔ AssociationEnd links (stored in both directions). */
export const END_LINK = 'AssociationEnd-AssociationEnd';

/** Where a collection's schema objects live: beside its user data, in a scope of their own. */
export function schemaScope(cellId: string, boxId: string, collectionId: string): Scope {
  return { cellId, boxId, nodeId: `${collectionId}${SCHEMA_SUFFIX}` };
}

const SCHEMA_SUFFIX = '/$metadata';

export function isSchemaScope(scope: Scope): boolean {
  return scope.nodeId.endsWith(SCHEMA_SUFFIX);
}

/** Where a collection's user data lives. */
export function dataScope(cellId: string, boxId: string, collectionId: string): Scope {
  return { cellId, boxId, nodeId: collectionId };
}

const ALL = { top: 100_000, skip: 0, count: false } as const;

export async function loadSchema(store: EntityStore, scope: Scope): Promise<SchemaModel> {
  const [types, props, complex, complexProps, ends] = await Promise.all(
    ['EntityType', 'Property', 'ComplexType', 'ComplexTypeProperty', 'AssociationEnd'].map(
      // Sorted by name, as personium-core reads them (the EDMX lists them in this order).
      async (set) => (await store.query(scope, set, ALL)).entities.sort(byName),
    ),
  );
  const entityTypes = new Map(types!.map((t) => [t.props.Name as string, new Map<string, PropertyModel>()]));
  for (const p of props!) entityTypes.get(p.props['_EntityType.Name'] as string)?.set(p.props.Name as string, propertyModel(p));
  const complexTypes = new Map(complex!.map((t) => [t.props.Name as string, new Map<string, PropertyModel>()]));
  for (const p of complexProps!) complexTypes.get(p.props['_ComplexType.Name'] as string)?.set(p.props.Name as string, propertyModel(p));
  const endModels = ends!.map((e) => ({
    id: e.id,
    name: e.props.Name as string,
    entityType: e.props['_EntityType.Name'] as string,
    multiplicity: e.props.Multiplicity as EndModel['multiplicity'],
  }));
  const byId = new Map(endModels.map((e) => [e.id, e]));
  const associations: Array<[EndModel, EndModel]> = [];
  for (const { from, to } of await store.linksFrom(END_LINK, [...byId.keys()])) {
    const a = byId.get(from);
    const b = byId.get(to);
    // Each pair is stored both ways: keep the direction that puts the ends in a stable order.
    if (a && b && endOrder(a, b) < 0) associations.push([a, b]);
  }
  associations.sort((x, y) => endOrder(x[0], y[0]) || endOrder(x[1], y[1]));
  return { entityTypes, complexTypes, ends: endModels, associations };
}

/** Ends ordered by EntityType, then by name. */
export function endOrder(a: EndModel, b: EndModel): number {
  const x = `${a.entityType}\u0000${a.name}`;
  const y = `${b.entityType}\u0000${b.name}`;
  return x < y ? -1 : x > y ? 1 : 0;
}

function byName(a: StoredEntity, b: StoredEntity): number {
  const x = String(a.props.Name);
  const y = String(b.props.Name);
  return x < y ? -1 : x > y ? 1 : 0;
}

function propertyModel(e: StoredEntity): PropertyModel {
  return {
    name: e.props.Name as string,
    type: e.props.Type as string,
    nullable: e.props.Nullable !== false,
    defaultValue: typeof e.props.DefaultValue === 'string' ? e.props.DefaultValue : null,
    list: e.props.CollectionKind === 'List',
    declared: e.props.IsDeclared !== false,
  };
}

/**
 * How many ComplexType levels lie below a property of type `type` (0 for a simple type); a cycle
 * counts as unbounded. personium-core allows three levels below an EntityType (LayerLimits).
 */
export function complexDepth(schema: SchemaModel, type: string, seen: Set<string> = new Set()): number {
  if (isSimpleType(type)) return 0;
  const props = schema.complexTypes.get(type);
  if (!props || seen.has(type)) return Number.POSITIVE_INFINITY;
  seen.add(type);
  let deepest = 0;
  for (const p of props.values()) deepest = Math.max(deepest, complexDepth(schema, p.type, seen));
  seen.delete(type);
  return 1 + deepest;
}

/** The ComplexTypes `type` uses, itself included, transitively. */
export function complexClosure(schema: SchemaModel, type: string, out: Set<string> = new Set()): Set<string> {
  if (isSimpleType(type) || out.has(type)) return out;
  out.add(type);
  for (const p of schema.complexTypes.get(type)?.values() ?? []) complexClosure(schema, p.type, out);
  return out;
}
