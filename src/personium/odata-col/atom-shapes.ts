import type { EdmShape } from '../../odata/atom-writer.js';
import type { EntitySetDescriptor } from '../../odata/descriptor.js';
import { USER_NAMESPACE } from './edmx.js';
import type { PropertyModel, SchemaModel } from './schema-model.js';
import { isSimpleType } from './schema-sets.js';

/**
 * The Atom `m:type` of each user-data property, from the collection's schema: a ComplexType value
 * is `UserData.{Type}` with typed members, a `CollectionKind: List` property is `Bag(…)`, and a
 * dynamic property has the type its first value recorded (IsDeclared=false). User-data descriptors
 * carry ComplexTypes and lists through codecs the Atom writer cannot look into; pass the result as
 * `ODataServiceOptions.shapeOf`.
 */
export function userDataShapes(schema: SchemaModel): (set: EntitySetDescriptor, property: string) => EdmShape | undefined {
  // Asked once per property per entity written: each shape is built once per request.
  const cache = new Map<string, EdmShape | undefined>();
  return (set, property) => {
    const key = `${set.name}\u0000${property}`;
    if (!cache.has(key)) {
      const model = schema.entityTypes.get(set.name)?.get(property);
      cache.set(key, model ? shapeOf(schema, model, new Set()) : undefined);
    }
    return cache.get(key);
  };
}

/** `within` names the ComplexTypes being expanded; schema hooks refuse cycles, this only guards. */
function shapeOf(schema: SchemaModel, p: PropertyModel, within: ReadonlySet<string>): EdmShape {
  const element = isSimpleType(p.type) ? ({ kind: 'simple', type: p.type } as const) : complexShape(schema, p.type, within);
  return p.list ? { kind: 'collection', element } : element;
}

function complexShape(schema: SchemaModel, type: string, within: ReadonlySet<string>): EdmShape {
  const typeName = `${USER_NAMESPACE}.${type}`;
  const members = schema.complexTypes.get(type);
  if (!members || within.has(type)) return { kind: 'complex', typeName };
  const inner = new Set(within).add(type);
  return { kind: 'complex', typeName, members: [...members.values()].map((m) => ({ name: m.name, shape: shapeOf(schema, m, inner) })) };
}
