import type { EntitySetDescriptor, NavigationDef, PropertyDef } from '../../odata/descriptor.js';

/**
 * The schema of a user OData collection (apiref 316–363) as descriptors for the generic OData
 * engine, served under `{collection}/$metadata/`. Membership is carried by the child's key
 * properties (`_EntityType.Name`, `_ComplexType.Name`), as personium-core does: its $links between
 * EntityType and Property, or ComplexType and ComplexTypeProperty, answer PR400-OD-0008.
 */

/** personium-core Common.PATTERN_NAME: 1–128 characters, a letter or digit first. */
export const SCHEMA_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_-]{0,127}$/;

/** Simple types a Property may have (apiref 355); anything else must name a ComplexType. */
export const SIMPLE_TYPES = ['Edm.Boolean', 'Edm.String', 'Edm.Int32', 'Edm.Single', 'Edm.Double', 'Edm.DateTime'] as const;
export type SimpleType = (typeof SIMPLE_TYPES)[number];

export function isSimpleType(type: string): type is SimpleType {
  return (SIMPLE_TYPES as readonly string[]).includes(type);
}

const schemaName = (n: string): PropertyDef => ({
  name: n,
  type: 'Edm.String',
  nullable: false,
  format: (v) => typeof v === 'string' && SCHEMA_NAME.test(v),
});

/** The typed-value fields Property and ComplexTypeProperty share; Type and DefaultValue are checked by the hooks. */
const valueFields: PropertyDef[] = [
  { name: 'Type', type: 'Edm.String', nullable: false },
  { name: 'Nullable', type: 'Edm.Boolean', nullable: false, defaultValue: () => true },
  { name: 'DefaultValue', type: 'Edm.String' },
  {
    name: 'CollectionKind',
    type: 'Edm.String',
    nullable: false,
    defaultValue: () => 'None',
    format: (v) => v === 'None' || v === 'List',
  },
];

function byReference(parent: string, child: string, childProp: string): [NavigationDef, NavigationDef] {
  const association = `${parent}-${child}`;
  const reference = { childProps: [childProp], parentKeys: ['Name'] };
  return [
    { name: `_${child}`, target: child, multiplicity: '*', association, side: 'from', reference: { role: 'parent', ...reference } },
    { name: `_${parent}`, target: parent, multiplicity: '1', association, side: 'to', reference: { role: 'child', ...reference } },
  ];
}

const [entityTypeToProperty, propertyToEntityType] = byReference('EntityType', 'Property', '_EntityType.Name');
const [entityTypeToEnd, endToEntityType] = byReference('EntityType', 'AssociationEnd', '_EntityType.Name');
const [complexTypeToProperty, complexPropertyToType] = byReference('ComplexType', 'ComplexTypeProperty', '_ComplexType.Name');

export const entityTypeSet: EntitySetDescriptor = {
  name: 'EntityType',
  typeName: 'ODataSvcSchema.EntityType',
  keys: ['Name'],
  properties: [schemaName('Name')],
  navigations: [entityTypeToProperty, entityTypeToEnd],
};

export const propertySet: EntitySetDescriptor = {
  name: 'Property',
  typeName: 'ODataSvcSchema.Property',
  keys: ['Name', '_EntityType.Name'],
  properties: [
    schemaName('Name'),
    schemaName('_EntityType.Name'),
    ...valueFields,
    // Stored and returned; the key of user data is always `__id` (apiref 355).
    { name: 'IsKey', type: 'Edm.Boolean', nullable: false, defaultValue: () => false },
    { name: 'UniqueKey', type: 'Edm.String', format: (v) => typeof v === 'string' && SCHEMA_NAME.test(v) },
    // Server-owned: true for properties created here, false for those user data introduced.
    { name: 'IsDeclared', type: 'Edm.Boolean', nullable: false, defaultValue: () => true },
  ],
  navigations: [propertyToEntityType],
};

export const complexTypeSet: EntitySetDescriptor = {
  name: 'ComplexType',
  typeName: 'ODataSvcSchema.ComplexType',
  keys: ['Name'],
  properties: [schemaName('Name')],
  navigations: [complexTypeToProperty],
};

export const complexTypePropertySet: EntitySetDescriptor = {
  name: 'ComplexTypeProperty',
  typeName: 'ODataSvcSchema.ComplexTypeProperty',
  keys: ['Name', '_ComplexType.Name'],
  properties: [schemaName('Name'), schemaName('_ComplexType.Name'), ...valueFields],
  navigations: [complexPropertyToType],
};

export const associationEndSet: EntitySetDescriptor = {
  name: 'AssociationEnd',
  typeName: 'ODataSvcSchema.AssociationEnd',
  keys: ['Name', '_EntityType.Name'],
  properties: [
    schemaName('Name'),
    schemaName('_EntityType.Name'),
    { name: 'Multiplicity', type: 'Edm.String', nullable: false, format: (v) => v === '0..1' || v === '1' || v === '*' },
  ],
  navigations: [endToEntityType],
  // Its links to another end (end-links.ts) go with it.
  deleteUnlinks: true,
};

export const schemaSets: ReadonlyMap<string, EntitySetDescriptor> = new Map(
  [entityTypeSet, associationEndSet, complexTypePropertySet, propertySet, complexTypeSet].map((s) => [s.name, s]),
);
