import assert from 'node:assert/strict';
import { elements, parseXml, textOf, type XmlElement } from '../../src/personium/dav/xml-tree.js';

/** Reading OData V2 Atom documents in tests, through a real namespace-aware parser (saxes). */

export const ATOM = 'http://www.w3.org/2005/Atom';
export const D = 'http://schemas.microsoft.com/ado/2007/08/dataservices';
export const M = 'http://schemas.microsoft.com/ado/2007/08/dataservices/metadata';
export const XML_NS = 'http://www.w3.org/XML/1998/namespace';
export const RELATED = 'http://schemas.microsoft.com/ado/2007/08/dataservices/related/';
export const SCHEME = 'http://schemas.microsoft.com/ado/2007/08/dataservices/scheme';

/** Parses a whole document; a parse error (ill-formed XML) fails the test. */
export function parseAtom(body: string): XmlElement {
  return parseXml(body);
}

export function kids(el: XmlElement, ns: string, local: string): XmlElement[] {
  return elements(el).filter((c) => c.ns === ns && c.local === local);
}

export function kid(el: XmlElement, ns: string, local: string): XmlElement {
  const found = kids(el, ns, local);
  assert.equal(found.length, 1, `one <${local}> in <${el.local}>`);
  return found[0]!;
}

export function attr(el: XmlElement, local: string, ns = ''): string | undefined {
  return el.attrs.find((a) => a.ns === ns && a.local === local)?.value;
}

export interface AtomProperty {
  type: string | undefined;
  isNull: boolean;
  text: string;
  el: XmlElement;
}

function asProperty(el: XmlElement): AtomProperty {
  return { type: attr(el, 'type', M), isNull: attr(el, 'null', M) === 'true', text: textOf(el), el };
}

/** `<content><m:properties>` of an entry, by property name, in document order. */
export function properties(entry: XmlElement): Map<string, AtomProperty> {
  const props = kid(kid(entry, ATOM, 'content'), M, 'properties');
  return new Map(elements(props).map((p) => { assert.equal(p.ns, D); return [p.local, asProperty(p)]; }));
}

/** The `d:` children of a complex or collection property value. */
export function members(p: AtomProperty): AtomProperty[] {
  return elements(p.el).map((c) => { assert.equal(c.ns, D); return asProperty(c); });
}

/** The `<link>` of an entry with the given rel. */
export function link(entry: XmlElement, rel: string): XmlElement {
  const found = kids(entry, ATOM, 'link').filter((l) => attr(l, 'rel') === rel);
  assert.equal(found.length, 1, `one link rel=${rel}`);
  return found[0]!;
}

export function entryIds(feed: XmlElement): string[] {
  return kids(feed, ATOM, 'entry').map((e) => textOf(kid(e, ATOM, 'id')));
}
