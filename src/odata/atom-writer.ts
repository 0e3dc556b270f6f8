import type { EdmType } from '../query/compile.js';
import type { StoredEntity } from '../store/entity-store.js';
import type { EntitySetDescriptor, NavigationDef } from './descriptor.js';
import { formatEtag } from './etag.js';
import { formatKeyPredicate, keyValuesOf } from './key.js';
import { escapeAttr, escapeText, isXmlLocalName } from '../core/xml-escape.js';

/**
 * OData V2 Atom payloads (the `application/atom+xml` twin of json-writer.ts): feeds and entries
 * shaped as odata4j writes them for personium-core (`PersoniumAtomFeedFormatWriter`), built as
 * strings with every value and name escaped (xml-escape.ts). Element and attribute order follows
 * the OData V2 Atom format ([MS-ODATA] §2.2.6.2).
 */

const ATOM_NS = 'http://www.w3.org/2005/Atom';
const D_NS = 'http://schemas.microsoft.com/ado/2007/08/dataservices';
const M_NS = 'http://schemas.microsoft.com/ado/2007/08/dataservices/metadata';
const SCHEME = 'http://schemas.microsoft.com/ado/2007/08/dataservices/scheme';
const RELATED = 'http://schemas.microsoft.com/ado/2007/08/dataservices/related/';
const XML_DECL = '<?xml version="1.0" encoding="utf-8"?>';
const ROOT_NS = `xmlns="${ATOM_NS}" xmlns:d="${D_NS}" xmlns:m="${M_NS}"`;

/**
 * What a property's value is, as far as `m:type` is concerned. A PropertyDef's `type` describes a
 * simple value; a set whose codecs write ComplexType values or lists, or whose dynamic properties
 * have recorded types, describes them through `AtomContext.shapeOf`; otherwise the writer infers
 * the shape from the value.
 */
export type EdmShape =
  | { kind: 'simple'; type: EdmType }
  /** `typeName` is the qualified ComplexType name; without it no `m:type` is written. */
  | { kind: 'complex'; typeName?: string; members?: ReadonlyArray<{ name: string; shape: EdmShape }> }
  /** Written as `Bag(element type)`, the name odata4j gives a collection property. */
  | { kind: 'collection'; element: EdmShape };

export interface AtomContext {
  /** `xml:base` of the document; entity links are written relative to it. */
  serviceRoot: string;
  /** The shape of a declared or dynamic property of `set`; undefined leaves it to the writer. */
  shapeOf?: ((set: EntitySetDescriptor, property: string) => EdmShape | undefined) | undefined;
}

/** One entity to write, with what `$expand` brought along (apiref 405). */
export interface EntityView {
  set: EntitySetDescriptor;
  entity: StoredEntity;
  /** `$select` (apiref 406); all properties when absent. */
  select?: ReadonlySet<string> | undefined;
  expanded?: ExpandedNav[];
}

export interface ExpandedNav {
  nav: NavigationDef;
  target: EntitySetDescriptor;
  entities: StoredEntity[];
}

export interface AtomFeed {
  /** The feed's title: the entity set or navigation property name. */
  title: string;
  /** The feed's address relative to the service root (`Role`, `Box('b')/_Role`). */
  href: string;
  entries: EntityView[];
  /** `$inlinecount=allpages` (apiref 407). */
  count?: number | undefined;
}

export function atomFeedDocument(ctx: AtomContext, feed: AtomFeed): string {
  return XML_DECL + feedXml(ctx, feed, ` ${ROOT_NS} xml:base="${escapeAttr(ctx.serviceRoot)}"`);
}

export function atomEntryDocument(ctx: AtomContext, view: EntityView): string {
  return XML_DECL + entryXml(ctx, view, ` ${ROOT_NS} xml:base="${escapeAttr(ctx.serviceRoot)}"`);
}

/** `$links` in XML ([MS-ODATA] §2.2.6.5.2): `<links><uri>…</uri></links>`. */
export function xmlLinksDocument(uris: string[], count?: number): string {
  const counted = count === undefined ? '' : `<m:count>${count}</m:count>`;
  return `${XML_DECL}<links xmlns="${D_NS}" xmlns:m="${M_NS}">${counted}${uris.map((u) => `<uri>${escapeText(u)}</uri>`).join('')}</links>`;
}

function feedXml(ctx: AtomContext, feed: AtomFeed, rootAttrs = ''): string {
  const parts = [
    `<feed${rootAttrs}>`,
    `<title type="text">${escapeText(feed.title)}</title>`,
    `<id>${escapeText(ctx.serviceRoot + feed.href)}</id>`,
    // The feed is generated now, as odata4j dates it.
    `<updated>${new Date().toISOString()}</updated>`,
    `<link rel="self" title="${escapeAttr(feed.title)}" href="${escapeAttr(feed.href)}"/>`,
  ];
  if (feed.count !== undefined) parts.push(`<m:count>${feed.count}</m:count>`);
  for (const view of feed.entries) parts.push(entryXml(ctx, view));
  parts.push('</feed>');
  return parts.join('');
}

function entryXml(ctx: AtomContext, view: EntityView, rootAttrs = ''): string {
  const { set, entity, select } = view;
  const relid = `${set.name}${formatKeyPredicate(set, keyValuesOf(set, entity.props))}`;
  const parts = [
    `<entry${rootAttrs} m:etag="${escapeAttr(formatEtag(entity.version, entity.updated))}">`,
    `<id>${escapeText(ctx.serviceRoot + relid)}</id>`,
    '<title type="text"/>',
    `<updated>${isoInstant(entity.updated)}</updated>`,
    // Atom requires an author on every entry of a feed without one (RFC 4287 §4.1.2).
    '<author><name/></author>',
    `<link rel="edit" title="${escapeAttr(set.name)}" href="${escapeAttr(relid)}"/>`,
  ];
  for (const nav of set.navigations) {
    const expanded = view.expanded?.find((x) => x.nav === nav);
    // As in JSON: `$select` drops a deferred link, but what `$expand` asked for is always written.
    if (select && !select.has(nav.name) && !expanded) continue;
    parts.push(navigationLink(ctx, relid, nav, expanded));
  }
  parts.push(
    `<category term="${escapeAttr(set.typeName)}" scheme="${SCHEME}"/>`,
    `<content type="application/xml"><m:properties>${propertiesXml(ctx, view)}</m:properties></content>`,
    '</entry>',
  );
  return parts.join('');
}

/** A deferred link, or with `$expand` the related entities inline (`m:inline`). */
function navigationLink(ctx: AtomContext, relid: string, nav: NavigationDef, expanded: ExpandedNav | undefined): string {
  const many = nav.multiplicity === '*';
  const href = `${relid}/${nav.name}`;
  const open =
    `<link rel="${escapeAttr(RELATED + nav.name)}" type="application/atom+xml;type=${many ? 'feed' : 'entry'}"` +
    ` title="${escapeAttr(nav.name)}" href="${escapeAttr(href)}"`;
  if (!expanded) return `${open}/>`;
  const views = expanded.entities.map((entity) => ({ set: expanded.target, entity }));
  if (many) return `${open}><m:inline>${feedXml(ctx, { title: nav.name, href, entries: views })}</m:inline></link>`;
  // A single-valued navigation with nothing linked: an empty m:inline says "expanded, and null".
  return `${open}><m:inline>${views[0] ? entryXml(ctx, views[0]) : ''}</m:inline></link>`;
}

/** The same properties, in the same order, as entityToJson writes. */
function propertiesXml(ctx: AtomContext, view: EntityView): string {
  const { set, entity, select } = view;
  const wanted = (name: string) => !select || select.has(name);
  const parts: string[] = [];
  for (const def of set.properties) {
    if (!wanted(def.name)) continue;
    const stored = entity.props[def.name] ?? null;
    const shape = ctx.shapeOf?.(set, def.name) ?? { kind: 'simple', type: def.type };
    parts.push(propertyXml(def.name, shape, def.codec ? def.codec.write(stored) : stored));
  }
  if (set.openType) {
    // Dynamic properties: the type the set recorded for them, or else what their JSON value is.
    for (const [name, value] of Object.entries(entity.props)) {
      if (!wanted(name) || SERVER_DATES.has(name) || set.properties.some((p) => p.name === name)) continue;
      parts.push(propertyXml(name, ctx.shapeOf?.(set, name), value));
    }
  }
  parts.push(propertyXml('__published', DATE_TIME, entity.published), propertyXml('__updated', DATE_TIME, entity.updated));
  return parts.join('');
}

const DATE_TIME: EdmShape = { kind: 'simple', type: 'Edm.DateTime' };
const SERVER_DATES = new Set(['__published', '__updated']);

/**
 * `<d:{name} m:type="…">value</d:{name}>`. A name that cannot be an XML name is left out: JSON
 * carries such a property, Atom has no way to spell it (see isXmlLocalName). Without a declared
 * shape the value's own is written, and a null of unknown type gets no `m:type`.
 */
function propertyXml(name: string, declared: EdmShape | undefined, value: unknown, writeType = true): string {
  if (!isXmlLocalName(name)) return '';
  const tag = `d:${name}`;
  if (value === null || value === undefined) return `<${tag}${writeType && declared ? typeAttr(declared) : ''} m:null="true"/>`;
  const shape = declared ? fit(declared, value) : inferShape(value);
  return `<${tag}${writeType ? typeAttr(shape) : ''}>${valueXml(shape, value)}</${tag}>`;
}

function valueXml(shape: EdmShape, value: unknown): string {
  switch (shape.kind) {
    case 'simple':
      return escapeText(formatSimple(shape.type, value));
    case 'collection':
      // Items carry no m:type of their own: the Bag(…) names it once (odata4j does the same).
      return (value as unknown[]).map((item) => propertyXml('element', shape.element, item, false)).join('');
    case 'complex': {
      const object = value as Record<string, unknown>;
      if (!shape.members) return Object.entries(object).map(([name, v]) => propertyXml(name, undefined, v)).join('');
      return shape.members.map((m) => propertyXml(m.name, m.shape, object[m.name] ?? null)).join('');
    }
  }
}

/** The declared shape, unless the value plainly is something else (a codec's list or object). */
function fit(declared: EdmShape, value: unknown): EdmShape {
  const isList = Array.isArray(value);
  const isObject = typeof value === 'object' && value !== null && !isList;
  switch (declared.kind) {
    case 'simple':
      // A list property's descriptor names its element type (user data `CollectionKind: List`).
      if (isList) return { kind: 'collection', element: declared };
      return isObject ? inferShape(value) : declared;
    case 'collection':
      return isList ? declared : inferShape(value);
    case 'complex':
      return isObject ? declared : inferShape(value);
  }
}

/** The shape of a non-null value nothing declares: JSON's scalars are Edm.String, Edm.Double, Edm.Boolean. */
function inferShape(value: unknown): EdmShape {
  if (typeof value === 'boolean') return { kind: 'simple', type: 'Edm.Boolean' };
  if (typeof value === 'number') return { kind: 'simple', type: 'Edm.Double' };
  if (Array.isArray(value)) {
    const first = value.find((v) => v !== null && v !== undefined);
    return { kind: 'collection', element: first === undefined ? STRING : inferShape(first) };
  }
  if (typeof value === 'object' && value !== null) return { kind: 'complex' };
  return STRING;
}

const STRING: EdmShape = { kind: 'simple', type: 'Edm.String' };

function typeAttr(shape: EdmShape): string {
  const name = typeName(shape);
  return name === undefined ? '' : ` m:type="${escapeAttr(name)}"`;
}

function typeName(shape: EdmShape): string | undefined {
  switch (shape.kind) {
    case 'simple':
      return shape.type;
    case 'complex':
      return shape.typeName;
    case 'collection': {
      const element = typeName(shape.element);
      return element === undefined ? undefined : `Bag(${element})`;
    }
  }
}

const DATE_WIRE = /^\/Date\((-?\d+)\)\/$/;

/** A simple value in its Atom lexical form ([MS-ODATA] §2.2.2: XML Schema forms, DateTime without zone). */
function formatSimple(type: EdmType, value: unknown): string {
  switch (type) {
    case 'Edm.DateTime': {
      // Stored as epoch ms; a codec writes the JSON form `/Date(ms)/`.
      const ms = typeof value === 'number' ? value : typeof value === 'string' ? Number(DATE_WIRE.exec(value)?.[1] ?? NaN) : NaN;
      return Number.isFinite(ms) && !Number.isNaN(new Date(ms).getTime()) ? isoInstant(ms).slice(0, -1) : String(value);
    }
    case 'Edm.Double':
    case 'Edm.Single':
      if (typeof value !== 'number') return String(value);
      if (Number.isNaN(value)) return 'NaN';
      if (!Number.isFinite(value)) return value > 0 ? 'INF' : '-INF';
      // JavaScript's `1e+21` is a valid xsd:double lexical form.
      return String(value);
    default:
      return String(value);
  }
}

/** RFC 3339 UTC, as Atom's `updated` requires (RFC 4287 §3.3). */
function isoInstant(ms: number): string {
  return new Date(ms).toISOString();
}
