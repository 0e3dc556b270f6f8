import { randomUUID } from 'node:crypto';
import { PersoniumError } from '../../core/errors/personium-error.js';
import type { EntitySetDescriptor, Multiplicity, NavigationDef, PropertyDef, ValueCodec } from '../../odata/descriptor.js';
import { canonicalKey } from '../../odata/key.js';
import type { EntitySetHooks } from '../../odata/service.js';
import { DuplicateKeyError, type Scope } from '../../store/entity-store.js';
import type { PropertyModel, SchemaModel } from './schema-model.js';
import { isSimpleType, type SimpleType } from './schema-sets.js';
import { MAX_STRING_BYTES, parseDefault, simpleCodec } from './values.js';
import { USER_NAMESPACE, associationModels } from './edmx.js';

/** apiref 364: `__id` is 1–400 characters (personium-core's current rule; the EDMX sample shows an older one). */
const ID_MAX = 400;
/** Dynamic property names (personium-core): as schema names. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** apiref 355/369: declared and dynamic properties of one EntityType together. */
const MAX_PROPERTIES = 400;
const DYNAMIC_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_-]{0,127}$/;

const idProperty: PropertyDef = {
  name: '__id',
  type: 'Edm.String',
  nullable: false,
  // personium-core generates 32 hex digits.
  defaultValue: () => randomUUID().replace(/-/g, ''),
  // A lone surrogate can't be written into the entity's URI: refused like any malformed key.
  format: (v) => typeof v === 'string' && v.length >= 1 && v.length <= ID_MAX && !LONE_SURROGATE.test(v),
};

/** The entity sets of a collection's user data, one per EntityType (apiref 364–370). */
export function userDataSets(schema: SchemaModel): Map<string, EntitySetDescriptor> {
  const sets = new Map<string, EntitySetDescriptor>();
  for (const [name, props] of schema.entityTypes) {
    sets.set(name, {
      name,
      typeName: `${USER_NAMESPACE}.${name}`,
      keys: ['__id'],
      properties: [idProperty, ...[...props.values()].filter((p) => p.declared).map((p) => propertyDef(schema, p))],
      navigations: navigationsOf(schema, name),
      openType: true,
      fullText: true,
      dynamicTypes: new Map([...props.values()].filter((p) => !p.declared && isSimpleType(p.type)).map((p) => [p.name, p.type as SimpleType])),
    });
  }
  return sets;
}

/**
 * One navigation property per association the type takes part in, named after the other type
 * (`_T2`), with the other end's multiplicity; links live in the links table under the association's
 * name. A self-association has one navigation property, on the first end.
 */
function navigationsOf(schema: SchemaModel, type: string): NavigationDef[] {
  const navs: NavigationDef[] = [];
  for (const model of associationModels(schema)) {
    const [a, b] = model.ends;
    if (a.type === type) navs.push({ name: `_${b.type}`, target: b.type, multiplicity: b.multiplicity as Multiplicity, association: model.name, side: 'from' });
    else if (b.type === type) navs.push({ name: `_${a.type}`, target: a.type, multiplicity: a.multiplicity as Multiplicity, association: model.name, side: 'to' });
  }
  return navs;
}

function propertyDef(schema: SchemaModel, p: PropertyModel): PropertyDef {
  const def: PropertyDef = {
    name: p.name,
    type: isSimpleType(p.type) ? p.type : 'Edm.String',
    nullable: p.nullable,
    codec: codecOf(schema, p),
  };
  if (!p.list && !isSimpleType(p.type)) {
    def.memberType = (path) => memberType(schema, p.type, path);
    def.mergeMembers = true;
  }
  if (p.defaultValue !== null && isSimpleType(p.type) && !p.list) {
    const text = p.defaultValue;
    const type = p.type;
    def.defaultValue = () => parseDefault(type, text);
  }
  return def;
}

/** The simple type at `path` below a ComplexType value; lists and unknown members have none. */
function memberType(schema: SchemaModel, type: string, path: string[]): SimpleType | undefined {
  const [name, ...rest] = path;
  const member = name === undefined ? undefined : schema.complexTypes.get(type)?.get(name);
  if (!member || member.list) return undefined;
  if (isSimpleType(member.type)) return rest.length === 0 ? member.type : undefined;
  return rest.length > 0 ? memberType(schema, member.type, rest) : undefined;
}

function codecOf(schema: SchemaModel, p: PropertyModel): ValueCodec {
  const element = isSimpleType(p.type) ? simpleCodec(p.type) : complexCodec(schema, p.type);
  return p.list ? listCodec(element) : element;
}

const refuse = undefined;

/** A ComplexType value: an object of its declared members only, each checked by its own codec. */
function complexCodec(schema: SchemaModel, type: string): ValueCodec {
  const members = [...(schema.complexTypes.get(type)?.values() ?? [])].map((p) => ({ p, codec: codecOf(schema, p) }));
  return {
    read(v) {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return refuse;
      const given = v as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const name of Object.keys(given)) if (!members.some((m) => m.p.name === name)) return refuse;
      for (const { p, codec } of members) {
        const value = given[p.name];
        if (value === undefined || value === null) {
          if (value === undefined && p.defaultValue !== null && isSimpleType(p.type) && !p.list) out[p.name] = parseDefault(p.type, p.defaultValue);
          else if (!p.nullable) return refuse;
          else out[p.name] = null;
          continue;
        }
        const stored = codec.read(value);
        if (stored === undefined) return refuse;
        out[p.name] = stored;
      }
      return out;
    },
    write(stored) {
      if (stored === null || typeof stored !== 'object') return stored;
      const out: Record<string, unknown> = {};
      for (const { p, codec } of members) out[p.name] = codec.write((stored as Record<string, unknown>)[p.name] ?? null);
      return out;
    },
  };
}

function listCodec(element: ValueCodec): ValueCodec {
  return {
    read(v) {
      if (!Array.isArray(v)) return refuse;
      const out: unknown[] = [];
      for (const item of v) {
        const stored = item === null ? null : element.read(item);
        if (stored === undefined) return refuse;
        out.push(stored);
      }
      return out;
    },
    write: (stored) => (Array.isArray(stored) ? stored.map((s) => (s === null ? null : element.write(s))) : stored),
  };
}

/**
 * Rules of user data beyond the descriptors: a PUT keeps the entity's `__id` (apiref 367), dynamic
 * properties hold only scalars of the type their first value gave them, and a dynamic property seen
 * for the first time is recorded in the schema (IsDeclared=false), as personium-core does.
 */
export function userDataHooks(schema: SchemaModel, schemaAt: Scope): Readonly<Record<string, EntitySetHooks>> {
  const hooks: Record<string, EntitySetHooks> = {};
  for (const [typeName, props] of schema.entityTypes) {
    hooks[typeName] = {
      beforeWrite(values, current) {
        if (current) values.__id = current.props.__id;
        let unseen = 0;
        for (const [name, value] of Object.entries(values)) {
          if (name === '__id') continue;
          const known = props.get(name);
          if (known?.declared) continue;
          // apiref 369: at most 400 properties per EntityType, dynamic ones included.
          if (!known && props.size + ++unseen > MAX_PROPERTIES) throw new PersoniumError('PR400-OD-0032');
          if (!DYNAMIC_NAME.test(name)) throw new PersoniumError('PR400-OD-0006', [name]);
          if (value === null) continue;
          const type = known?.type as SimpleType | undefined;
          const ok = type ? simpleCodec(type).read(value) !== undefined : isDynamicScalar(value);
          if (!ok) throw new PersoniumError('PR400-OD-0006', [name]);
        }
      },
      async afterWrite(entity, _current, ctx) {
        for (const [name, value] of Object.entries(entity.props)) {
          if (name === '__id' || props.has(name)) continue;
          try {
            await ctx.store.insert(schemaAt, 'Property', canonicalKey([name, typeName]), {
              Name: name,
              '_EntityType.Name': typeName,
              Type: typeof value === 'number' ? 'Edm.Double' : typeof value === 'boolean' ? 'Edm.Boolean' : 'Edm.String',
              Nullable: true,
              DefaultValue: null,
              CollectionKind: 'None',
              IsKey: false,
              UniqueKey: null,
              IsDeclared: false,
            });
          } catch (err) {
            // Recorded meanwhile by a concurrent write: the first type stands.
            if (!(err instanceof DuplicateKeyError)) throw err;
          }
        }
      },
    };
  }
  return hooks;
}

function isDynamicScalar(value: unknown): boolean {
  if (typeof value === 'string') return Buffer.byteLength(value) <= MAX_STRING_BYTES;
  if (typeof value === 'number') return Number.isFinite(value);
  return typeof value === 'boolean';
}
