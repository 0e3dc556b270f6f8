import { escapeAttr } from '../../core/xml-escape.js';
import type { PropertyModel, SchemaModel } from './schema-model.js';
import { isSimpleType } from './schema-sets.js';

/** The namespace and container name of every user OData collection (apiref 371). */
export const USER_NAMESPACE = 'UserData';

/** An association between two EntityTypes, formed by linking two AssociationEnds (apiref 323). */
export interface AssociationModel {
  /** `T1-T2-assoc` */
  name: string;
  ends: [{ type: string; role: string; multiplicity: string }, { type: string; role: string; multiplicity: string }];
}

/** personium-core's naming: `T1-T2-assoc`, roles `T:endName`. */
export function associationModels(schema: SchemaModel): AssociationModel[] {
  return schema.associations.map(([a, b]) => ({
    name: `${a.entityType}-${b.entityType}-assoc`,
    ends: [
      { type: a.entityType, role: `${a.entityType}:${a.name}`, multiplicity: a.multiplicity },
      { type: b.entityType, role: `${b.entityType}:${b.name}`, multiplicity: b.multiplicity },
    ],
  }));
}

/**
 * `{collection}/$metadata` (apiref 371): the EDMX of the collection's schema — ComplexTypes,
 * EntityTypes (open, keyed by `__id`, with the three built-in properties), Associations and the
 * EntityContainer, in personium-core's order and attributes.
 */
export function writeEdmx(schema: SchemaModel): string {
  const associations = associationModels(schema);
  const out: string[] = [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx" xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices" xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" xmlns:p="urn:x-personium:xmlns">',
    '<edmx:DataServices m:DataServiceVersion="1.0">',
    `<Schema xmlns="http://schemas.microsoft.com/ado/2006/04/edm" Namespace="${USER_NAMESPACE}">`,
  ];
  for (const [name, props] of schema.complexTypes) {
    out.push(`<ComplexType Name="${escapeAttr(name)}">`);
    for (const p of props.values()) out.push(propertyElement(p));
    out.push('</ComplexType>');
  }
  for (const [name, props] of schema.entityTypes) {
    out.push(`<EntityType Name="${escapeAttr(name)}" OpenType="true">`);
    out.push('<Key><PropertyRef Name="__id"></PropertyRef></Key>');
    out.push(`<Property Name="__id" Type="Edm.String" Nullable="false" DefaultValue="UUID()" p:Format="regEx('^.{1,400}$')"></Property>`);
    out.push('<Property Name="__published" Type="Edm.DateTime" Nullable="false" DefaultValue="SYSUTCDATETIME()" Precision="3"></Property>');
    out.push('<Property Name="__updated" Type="Edm.DateTime" Nullable="false" DefaultValue="SYSUTCDATETIME()" Precision="3"></Property>');
    for (const p of props.values()) out.push(propertyElement(p));
    for (const a of associations) {
      a.ends.forEach((end, i) => {
        if (end.type !== name) return;
        const other = a.ends[1 - i]!;
        // A self-association has one navigation property, written once.
        if (i === 1 && a.ends[0].type === name) return;
        out.push(
          `<NavigationProperty Name="_${escapeAttr(other.type)}" Relationship="${USER_NAMESPACE}.${escapeAttr(a.name)}" FromRole="${escapeAttr(end.role)}" ToRole="${escapeAttr(other.role)}"></NavigationProperty>`,
        );
      });
    }
    out.push('</EntityType>');
  }
  for (const a of associations) {
    out.push(`<Association Name="${escapeAttr(a.name)}">`);
    for (const end of a.ends) {
      out.push(`<End Role="${escapeAttr(end.role)}" Type="${USER_NAMESPACE}.${escapeAttr(end.type)}" Multiplicity="${escapeAttr(end.multiplicity)}"></End>`);
    }
    out.push('</Association>');
  }
  out.push(`<EntityContainer Name="${USER_NAMESPACE}" m:IsDefaultEntityContainer="true">`);
  for (const name of schema.entityTypes.keys()) {
    out.push(`<EntitySet Name="${escapeAttr(name)}" EntityType="${USER_NAMESPACE}.${escapeAttr(name)}"></EntitySet>`);
  }
  for (const a of associations) {
    out.push(`<AssociationSet Name="${escapeAttr(a.name)}" Association="${USER_NAMESPACE}.${escapeAttr(a.name)}">`);
    for (const end of a.ends) out.push(`<End Role="${escapeAttr(end.role)}" EntitySet="${escapeAttr(end.type)}"></End>`);
    out.push('</AssociationSet>');
  }
  out.push('</EntityContainer>', '</Schema>', '</edmx:DataServices>', '</edmx:Edmx>');
  return out.join('');
}

function propertyElement(p: PropertyModel): string {
  const type = isSimpleType(p.type) ? p.type : `${USER_NAMESPACE}.${p.type}`;
  let attrs = `Name="${escapeAttr(p.name)}" Type="${escapeAttr(type)}" Nullable="${p.nullable}"`;
  if (p.defaultValue !== null) attrs += ` DefaultValue="${escapeAttr(p.defaultValue)}"`;
  if (p.list) attrs += ' CollectionKind="List"';
  if (!p.declared) attrs += ' p:IsDeclared="false"';
  return `<Property ${attrs}></Property>`;
}

/** An Atom service document listing `sets` (apiref 317 for the schema, 372 for user data). */
export function atomServiceDocument(base: string, sets: readonly string[]): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    `<service xmlns="http://www.w3.org/2007/app" xml:base="${escapeAttr(base)}" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:app="http://www.w3.org/2007/app">` +
    '<workspace><atom:title>Default</atom:title>' +
    sets.map((s) => `<collection href="${escapeAttr(s)}"><atom:title>${escapeAttr(s)}</atom:title></collection>`).join('') +
    '</workspace></service>'
  );
}

/** The schema sets in the order of apiref 317's sample. */
export const SCHEMA_SET_NAMES = ['EntityType', 'AssociationEnd', 'ComplexTypeProperty', 'Property', 'ComplexType'] as const;
