import { sql, type Expression, type SqlBool } from 'kysely';
import { PersoniumError } from '../core/errors/personium-error.js';
import { jsonStringEquals } from '../query/compile.js';
import type { EntityStore, QuerySpec, Scope, StoredEntity } from '../store/entity-store.js';
import type { EntitySetDescriptor, NavigationDef } from './descriptor.js';
import { canonicalKey, formatKeyPredicate, keyValuesOf, type KeyValue } from './key.js';

/**
 * Associations carried by properties (NavigationDef.reference): a Role's `_Box.Name` names its Box,
 * an ExtRole's `_Relation.Name`/`_Relation._Box.Name` its Relation. Personium makes these both key
 * members and links, so the property is the one source of truth and the "link" is derived from it:
 * nothing can drift apart, and a Box rename rewrites its children's keys in the same transaction.
 */
export type Reference = NonNullable<NavigationDef['reference']>;

/** The parent's key values a child points at; undefined when the child points at none. */
export function referencedKey(ref: Reference, child: Record<string, unknown>): KeyValue[] | undefined {
  const values = ref.childProps.map((p) => (child[p] ?? null) as KeyValue);
  return values[0] === null ? undefined : values;
}

/** Query restriction: the children of `parent` (parent side) or the parent of `child` (child side). */
export function relatedWhere(
  nav: NavigationDef & { reference: Reference },
  source: StoredEntity,
  store: EntityStore,
): Expression<SqlBool> {
  const ref = nav.reference;
  if (ref.role === 'parent') {
    const values = ref.parentKeys.map((k) => (source.props[k] ?? null) as string | null);
    const terms = ref.childProps.map((p, i) => jsonStringEquals('props', p, values[i] ?? null, store.dialect));
    return terms.reduce((a, b) => sql<SqlBool>`(${a} and ${b})`);
  }
  const key = referencedKey(ref, source.props);
  if (!key) return sql<SqlBool>`1 = 0`;
  return sql<SqlBool>`${sql.ref('entity_key')} = ${canonicalKey(key)}`;
}

export function withRelated(spec: QuerySpec, where: Expression<SqlBool>): QuerySpec {
  return { ...spec, where: spec.where ? sql<SqlBool>`(${spec.where} and ${where})` : where };
}

/** Refuses a child whose reference names a parent that does not exist (PR400-OD-0024 "[Box('b')] does not exist"). */
export async function assertReferencesExist(
  store: EntityStore,
  scope: Scope,
  set: EntitySetDescriptor,
  sets: ReadonlyMap<string, EntitySetDescriptor>,
  props: Record<string, unknown>,
): Promise<void> {
  for (const nav of set.navigations) {
    if (nav.reference?.role !== 'child') continue;
    const key = referencedKey(nav.reference, props);
    if (!key) continue;
    const parentSet = sets.get(nav.target)!;
    if (!(await store.get(scope, parentSet.name, canonicalKey(key)))) {
      // personium-core names the missing parent by its key value(s) in the message.
      throw new PersoniumError('PR400-OD-0024', [key.length === 1 ? String(key[0]) : formatKeyPredicate(parentSet, key)]);
    }
  }
}

/** True when some child still points at this parent (a Box with Roles, a Relation with ExtRoles). */
export async function hasReferencingChildren(
  store: EntityStore,
  scope: Scope,
  set: EntitySetDescriptor,
  entity: StoredEntity,
): Promise<boolean> {
  for (const nav of set.navigations) {
    if (nav.reference?.role !== 'parent') continue;
    const found = await store.query(scope, nav.target, {
      where: relatedWhere(nav as NavigationDef & { reference: Reference }, entity, store),
      top: 1,
      skip: 0,
      count: false,
    });
    if (found.entities.length > 0) return true;
  }
  return false;
}

/** After a parent's key changed, points its children at the new key (their own keys change with it). */
export async function cascadeKeyChange(
  store: EntityStore,
  scope: Scope,
  set: EntitySetDescriptor,
  sets: ReadonlyMap<string, EntitySetDescriptor>,
  before: StoredEntity,
  afterProps: Record<string, unknown>,
): Promise<void> {
  for (const nav of set.navigations) {
    if (nav.reference?.role !== 'parent') continue;
    const ref = nav.reference;
    if (ref.parentKeys.every((k) => (before.props[k] ?? null) === (afterProps[k] ?? null))) continue;
    const childSet = sets.get(nav.target)!;
    const children = await store.query(scope, childSet.name, {
      where: relatedWhere(nav as NavigationDef & { reference: Reference }, before, store),
      top: Number.MAX_SAFE_INTEGER,
      skip: 0,
      count: false,
    });
    for (const child of children.entities) {
      await repointChild(store, childSet, child, ref, ref.parentKeys.map((k) => (afterProps[k] ?? null) as KeyValue));
    }
  }
}

/** Sets (or clears, with null values) the reference properties of one child, rewriting its key. */
export async function repointChild(
  store: EntityStore,
  childSet: EntitySetDescriptor,
  child: StoredEntity,
  ref: Reference,
  parentKey: KeyValue[] | null,
): Promise<StoredEntity> {
  const props = { ...child.props };
  ref.childProps.forEach((p, i) => {
    props[p] = parentKey ? (parentKey[i] ?? null) : null;
  });
  return store.update(child, { key: canonicalKey(keyValuesOf(childSet, props)), props });
}
