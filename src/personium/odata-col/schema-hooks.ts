import { PersoniumError } from '../../core/errors/personium-error.js';
import type { EntitySetHooks, WriteContext } from '../../odata/service.js';
import type { EntityStore, Scope, StoredEntity } from '../../store/entity-store.js';
import { complexClosure, complexDepth, loadSchema, type SchemaModel } from './schema-model.js';
import { isSimpleType } from './schema-sets.js';
import { isValidDefault } from './values.js';

/** apiref 345 (unit config MaxEntityTypes). */
const MAX_ENTITY_TYPES = 100;
/** personium-core MaxProperties: declared and dynamic properties of one EntityType. */
const MAX_PROPERTIES = 400;
/** personium-core LayerLimits.SimpleType for a ComplexType's own properties. */
const MAX_COMPLEX_PROPERTIES = 50;
/** personium-core LayerLimits: three ComplexType levels below an EntityType. */
const MAX_COMPLEX_DEPTH = 3;

const ALL = { top: 100_000, skip: 0, count: false } as const;

/**
 * The rules of the schema objects beyond their descriptors (apiref 318–363, personium-core's
 * UserSchemaODataProducer): valid types and defaults, limits, which changes an existing schema
 * allows, and that nothing in use is deleted. `data` is the scope of the collection's user data.
 */
export function schemaHooks(data: Scope): Readonly<Record<string, EntitySetHooks>> {
  const hasData = async (store: EntityStore, entityType: string) =>
    (await store.query(data, entityType, { top: 1, skip: 0, count: false })).entities.length > 0;

  /** Whether any EntityType whose properties use `complexType` (at any depth) holds data. */
  const complexTypeHasData = async (store: EntityStore, schema: SchemaModel, complexType: string) => {
    for (const [typeName, props] of schema.entityTypes) {
      const uses = [...props.values()].some((p) => complexClosure(schema, p.type).has(complexType));
      if (uses && (await hasData(store, typeName))) return true;
    }
    return false;
  };

  /**
   * Type, DefaultValue and nesting of a Property (`owner.kind` entity) or ComplexTypeProperty
   * (`complex`) being created: the schema as it would be with it must have no ComplexType that
   * contains itself and no EntityType property nested deeper than the limit.
   */
  const checkValueFields = async (props: Record<string, unknown>, ctx: WriteContext, owner: { kind: 'entity' | 'complex'; name: string }) => {
    const type = props.Type;
    if (typeof type !== 'string') throw new PersoniumError('PR400-OD-0006', ['Type']);
    const schema = await loadSchema(ctx.store, ctx.scope);
    if (!isSimpleType(type) && !schema.complexTypes.has(type)) throw new PersoniumError('PR400-OD-0006', ['Type']);
    const def = props.DefaultValue;
    if (def !== null && def !== undefined && (!isSimpleType(type) || !isValidDefault(type, def as string))) {
      throw new PersoniumError('PR400-OD-0006', ['DefaultValue']);
    }
    const siblings = (owner.kind === 'entity' ? schema.entityTypes : schema.complexTypes).get(owner.name);
    if (siblings && siblings.size >= (owner.kind === 'entity' ? MAX_PROPERTIES : MAX_COMPLEX_PROPERTIES)) throw new PersoniumError('PR400-OD-0032');
    siblings?.set(props.Name as string, { name: props.Name as string, type, nullable: true, defaultValue: null, list: false, declared: true });
    for (const complex of schema.complexTypes.keys()) {
      if (!Number.isFinite(complexDepth(schema, complex))) throw new PersoniumError('PR400-OD-0032');
    }
    for (const entityProps of schema.entityTypes.values()) {
      for (const p of entityProps.values()) if (complexDepth(schema, p.type) > MAX_COMPLEX_DEPTH) throw new PersoniumError('PR400-OD-0032');
    }
  };

  /** PUT may rename, and widen Int32 to Double; nothing else (personium-core checkAcceptableModification). */
  const assertAcceptableChange = (kind: string, fields: string[], props: Record<string, unknown>, current: StoredEntity) => {
    for (const field of fields) {
      const before = current.props[field] ?? null;
      const after = props[field] ?? null;
      if (before === after) continue;
      if (field === 'Type' && before === 'Edm.Int32' && after === 'Edm.Double') continue;
      throw new PersoniumError('PR400-OD-0042', [`${kind} '${field}' change from [${String(before)}] to [${String(after)}]`]);
    }
  };

  const refuseMerge = async (mode: 'create' | 'replace' | 'merge') => {
    // personium-core answers MERGE on these three with 501 (ODataSvcSchemaResource.beforeMerge).
    if (mode === 'merge') throw new PersoniumError('PR501-MC-0001');
  };

  return {
    EntityType: {
      async beforeWrite(_props, current, ctx) {
        if (current) return;
        const existing = await ctx.store.query(ctx.scope, 'EntityType', { ...ALL, top: MAX_ENTITY_TYPES + 1 });
        if (existing.entities.length >= MAX_ENTITY_TYPES) throw new PersoniumError('PR400-OD-0033');
      },
      async afterWrite(entity, current, ctx) {
        // A renamed EntityType keeps its data (personium-core moves it to the new name).
        const from = current?.props.Name;
        if (current && from !== entity.props.Name) {
          await ctx.store.renameEntitySet(data, from as string, entity.props.Name as string);
        }
      },
      async beforeDelete(entity, store) {
        if (await hasData(store, entity.props.Name as string)) throw new PersoniumError('PR409-OD-0001');
        // Properties that user data introduced go with their type; declared ones keep it (409 below).
        const scope = entity.scope;
        const props = await store.query(scope, 'Property', ALL);
        for (const p of props.entities) {
          if (p.props['_EntityType.Name'] === entity.props.Name && p.props.IsDeclared === false) await store.delete(p);
        }
      },
    },

    Property: {
      prepare: refuseMerge,
      async beforeWrite(props, current, ctx) {
        if (current) {
          props.IsDeclared = current.props.IsDeclared;
          assertAcceptableChange('Property', ['_EntityType.Name', 'Type', 'Nullable', 'DefaultValue', 'CollectionKind', 'IsKey', 'UniqueKey'], props, current);
          return;
        }
        props.IsDeclared = true;
        const owner = props['_EntityType.Name'] as string;
        await checkValueFields(props, ctx, { kind: 'entity', name: owner });
        if (props.Nullable === false && (await hasData(ctx.store, owner))) throw new PersoniumError('PR400-OD-0006', ['Nullable']);
      },
      async beforeDelete(entity, store) {
        if (await hasData(store, entity.props['_EntityType.Name'] as string)) throw new PersoniumError('PR409-OD-0001');
      },
    },

    ComplexType: {
      prepare: refuseMerge,
      async beforeWrite(_props, current, ctx) {
        if (!current) return;
        // Renaming a ComplexType in use would orphan the properties typed by it.
        if (await isComplexTypeUsed(ctx.store, ctx.scope, current.props.Name as string)) throw new PersoniumError('PR409-OD-0001');
      },
      async beforeDelete(entity, store) {
        if (await isComplexTypeUsed(store, entity.scope, entity.props.Name as string)) throw new PersoniumError('PR409-OD-0001');
      },
    },

    ComplexTypeProperty: {
      prepare: refuseMerge,
      async beforeWrite(props, current, ctx) {
        if (current) {
          assertAcceptableChange('ComplexTypeProperty', ['_ComplexType.Name', 'Type', 'Nullable', 'DefaultValue', 'CollectionKind'], props, current);
          return;
        }
        await checkValueFields(props, ctx, { kind: 'complex', name: props['_ComplexType.Name'] as string });
      },
      async beforeDelete(entity, store) {
        const schema = await loadSchema(store, entity.scope);
        if (await complexTypeHasData(store, schema, entity.props['_ComplexType.Name'] as string)) throw new PersoniumError('PR409-OD-0001');
      },
    },

    AssociationEnd: {
      async beforeWrite(props, current) {
        if (current) assertAcceptableChange('AssociationEnd', ['_EntityType.Name', 'Multiplicity'], props, current);
      },
    },
  };
}

/** Whether a Property or ComplexTypeProperty has `name` as its Type. */
async function isComplexTypeUsed(store: EntityStore, scope: Scope, name: string): Promise<boolean> {
  for (const set of ['Property', 'ComplexTypeProperty']) {
    const found = await store.query(scope, set, ALL);
    if (found.entities.some((p) => p.props.Type === name)) return true;
  }
  return false;
}
