import type { EntitySetDescriptor, NavigationDef, PropertyDef } from '../../odata/descriptor.js';
import {
  ACCOUNT_NAME,
  ACCOUNT_STATUSES,
  NAME,
  RELATION_NAME,
  isAccountType,
  isCellUrl,
  isIpAddressRange,
  isRoleUri,
  isSchemaUri,
} from './formats.js';

/**
 * The cell control objects (apiref 201–266) as descriptors for the generic OData engine.
 * Many-to-many associations live in the links table; Box→Role, Box→Relation and Relation→ExtRole
 * are carried by the child's `_Box.Name` / `_Relation.*` key properties (see odata/references.ts).
 */

const matches = (re: RegExp) => (v: unknown) => typeof v === 'string' && re.test(v);

const name = (n: string, re: RegExp, nullable = false): PropertyDef => ({
  name: n,
  type: 'Edm.String',
  nullable,
  format: matches(re),
});

/** A many-to-many association stored in the links table; `from` names the set on the link's from side. */
function manyToMany(from: string, to: string): [NavigationDef, NavigationDef] {
  const association = `${from}-${to}`;
  return [
    { name: `_${to}`, target: to, multiplicity: '*', association, side: 'from' },
    { name: `_${from}`, target: from, multiplicity: '*', association, side: 'to' },
  ];
}

/** An association carried by the child's properties naming the parent's key. */
function byReference(
  parent: string,
  child: string,
  childProps: string[],
  parentKeys: string[],
  childMultiplicity: '0..1' | '1',
): [NavigationDef, NavigationDef] {
  const association = `${parent}-${child}`;
  return [
    { name: `_${child}`, target: child, multiplicity: '*', association, side: 'from', reference: { role: 'parent', childProps, parentKeys } },
    { name: `_${parent}`, target: parent, multiplicity: childMultiplicity, association, side: 'to', reference: { role: 'child', childProps, parentKeys } },
  ];
}

const [accountToRole, roleToAccount] = manyToMany('Account', 'Role');
const [extCellToRole, roleToExtCell] = manyToMany('ExtCell', 'Role');
const [relationToRole, roleToRelation] = manyToMany('Relation', 'Role');
const [extRoleToRole, roleToExtRole] = manyToMany('ExtRole', 'Role');
const [extCellToRelation, relationToExtCell] = manyToMany('ExtCell', 'Relation');
const [boxToRole, roleToBox] = byReference('Box', 'Role', ['_Box.Name'], ['Name'], '0..1');
const [boxToRelation, relationToBox] = byReference('Box', 'Relation', ['_Box.Name'], ['Name'], '0..1');
const [relationToExtRole, extRoleToRelation] = byReference(
  'Relation',
  'ExtRole',
  ['_Relation.Name', '_Relation._Box.Name'],
  ['Name', '_Box.Name'],
  '1',
);

export const accountSet: EntitySetDescriptor = {
  name: 'Account',
  typeName: 'CellCtl.Account',
  keys: ['Name'],
  properties: [
    name('Name', ACCOUNT_NAME),
    { name: 'Type', type: 'Edm.String', nullable: false, defaultValue: () => 'basic', format: isAccountType },
    { name: 'IPAddressRange', type: 'Edm.String', format: isIpAddressRange },
    {
      name: 'Status',
      type: 'Edm.String',
      nullable: false,
      defaultValue: () => 'active',
      format: (v) => (ACCOUNT_STATUSES as readonly unknown[]).includes(v),
    },
    { name: 'Cell', type: 'Edm.String', format: isCellUrl, formatError: 'PR400-OD-0049' },
    { name: 'LastAuthenticated', type: 'Edm.DateTime' },
  ],
  navigations: [accountToRole],
  deleteUnlinks: true,
};

export const roleSet: EntitySetDescriptor = {
  name: 'Role',
  typeName: 'CellCtl.Role',
  keys: ['Name', '_Box.Name'],
  properties: [name('Name', NAME), name('_Box.Name', NAME, true)],
  navigations: [roleToBox, roleToAccount, roleToExtCell, roleToRelation, roleToExtRole],
  deleteUnlinks: true,
};

export const extCellSet: EntitySetDescriptor = {
  name: 'ExtCell',
  typeName: 'CellCtl.ExtCell',
  keys: ['Url'],
  properties: [{ name: 'Url', type: 'Edm.String', nullable: false, format: isCellUrl, formatError: 'PR400-OD-0049' }],
  navigations: [extCellToRole, extCellToRelation],
  deleteUnlinks: true,
};

export const relationSet: EntitySetDescriptor = {
  name: 'Relation',
  typeName: 'CellCtl.Relation',
  keys: ['Name', '_Box.Name'],
  properties: [name('Name', RELATION_NAME), name('_Box.Name', NAME, true)],
  navigations: [relationToBox, relationToRole, relationToExtCell, relationToExtRole],
  deleteUnlinks: true,
};

export const extRoleSet: EntitySetDescriptor = {
  name: 'ExtRole',
  typeName: 'CellCtl.ExtRole',
  keys: ['ExtRole', '_Relation.Name', '_Relation._Box.Name'],
  properties: [
    { name: 'ExtRole', type: 'Edm.String', nullable: false, format: isRoleUri },
    name('_Relation.Name', RELATION_NAME),
    name('_Relation._Box.Name', NAME, true),
  ],
  navigations: [extRoleToRole, extRoleToRelation],
  deleteUnlinks: true,
};

export const boxSet: EntitySetDescriptor = {
  name: 'Box',
  typeName: 'CellCtl.Box',
  keys: ['Name'],
  properties: [name('Name', NAME), { name: 'Schema', type: 'Edm.String', format: isSchemaUri, formatError: 'PR400-OD-0050' }],
  navigations: [boxToRole, boxToRelation],
  deleteUnlinks: true,
};

export const cellCtlSets: ReadonlyMap<string, EntitySetDescriptor> = new Map(
  [accountSet, roleSet, extCellSet, relationSet, extRoleSet, boxSet].map((s) => [s.name, s]),
);
