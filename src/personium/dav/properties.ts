import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import { PersoniumError } from '../../core/errors/personium-error.js';
import { DAV_NS, PERSONIUM_NS, elements, onlyElements, propertyKey, textOf, type XmlElement } from './xml-tree.js';

/** Dead properties of a resource: `{namespace}name` → the element as it was set (RFC 4918 §4). */
export type DeadProperties = Record<string, XmlElement>;

export interface PropertyOperation {
  action: 'set' | 'remove';
  property: XmlElement;
}

/** Largest total size of one resource's dead properties, as stored JSON. */
const MAX_PROPERTIES_BYTES = 64 * 1024;

/** Reads a `DAV:propertyupdate` body (apiref 291) into its operations, in document order. */
export function parsePropertyUpdate(root: XmlElement): PropertyOperation[] {
  const invalid = (why: string) => new PersoniumError('PR400-DV-0006', [], { cause: new Error(why) });
  if (root.ns !== DAV_NS || root.local !== 'propertyupdate' || !onlyElements(root)) throw invalid('root is not DAV:propertyupdate');
  const ops: PropertyOperation[] = [];
  for (const instruction of elements(root)) {
    if (instruction.ns !== DAV_NS || (instruction.local !== 'set' && instruction.local !== 'remove') || !onlyElements(instruction)) {
      throw invalid(`unexpected ${instruction.local}`);
    }
    for (const prop of elements(instruction)) {
      if (prop.ns !== DAV_NS || prop.local !== 'prop' || !onlyElements(prop)) throw invalid('set/remove must hold DAV:prop');
      for (const property of elements(prop)) ops.push({ action: instruction.local, property });
    }
  }
  if (ops.length === 0) throw invalid('no property to change');
  return ops;
}

/** Properties no client may set: live WebDAV properties live in `DAV:`. */
export function isProtected(property: XmlElement): boolean {
  return property.ns === DAV_NS;
}

export function applyPropertyUpdate(current: DeadProperties, ops: PropertyOperation[]): DeadProperties {
  const next: DeadProperties = { ...current };
  for (const { action, property } of ops) {
    if (action === 'set') next[propertyKey(property)] = property;
    else delete next[propertyKey(property)];
  }
  if (Buffer.byteLength(JSON.stringify(next)) > MAX_PROPERTIES_BYTES) {
    throw new PersoniumError('PR400-DV-0006', [], { cause: new Error('properties too large') });
  }
  return next;
}

/** Writes an element (a stored property) under `parent`, namespaces declared where they are used. */
export function writeElement(parent: XMLBuilder, el: XmlElement, withChildren = true): void {
  const node = parent.ele(el.ns || null, el.prefix && el.ns ? `${el.prefix}:${el.local}` : el.local);
  for (const a of el.attrs) {
    if (a.ns) node.att(a.ns, a.local, a.value);
    else node.att(a.local, a.value);
  }
  if (!withChildren) return;
  for (const child of el.children) {
    if (typeof child === 'string') node.txt(child);
    else writeElement(node, child);
  }
}

/**
 * The 207 answer to a PROPPATCH (apiref 291): one propstat per status. On success every property
 * is 200 (set ones with their value, removed ones empty); when one is protected, it is 403, the
 * rest 424 (Failed Dependency) and nothing was changed (RFC 4918 §9.2: all or nothing).
 */
export function proppatchMultistatus(
  href: string,
  ops: PropertyOperation[],
  notFound: (op: PropertyOperation) => boolean = () => false,
): { ok: boolean; body: string } {
  const ok = !ops.some((op) => isProtected(op.property));
  const doc = create({ version: '1.0', encoding: 'utf-8' });
  const response = doc.ele(DAV_NS, 'D:multistatus').att('http://www.w3.org/2000/xmlns/', 'xmlns:p', PERSONIUM_NS).ele(DAV_NS, 'D:response');
  response.ele(DAV_NS, 'D:href').txt(href);
  const groups = new Map<string, PropertyOperation[]>();
  for (const op of ops) {
    // Removing a property that is not there is reported, not refused (personium-core: 404 in its propstat).
    const status = !ok
      ? isProtected(op.property)
        ? 'HTTP/1.1 403 Forbidden'
        : 'HTTP/1.1 424 Failed Dependency'
      : notFound(op)
        ? 'HTTP/1.1 404 Not Found'
        : 'HTTP/1.1 200 OK';
    groups.set(status, [...(groups.get(status) ?? []), op]);
  }
  for (const [status, group] of groups) {
    const propstat = response.ele(DAV_NS, 'D:propstat');
    const prop = propstat.ele(DAV_NS, 'D:prop');
    for (const op of group) writeElement(prop, op.property, ok && op.action === 'set');
    propstat.ele(DAV_NS, 'D:status').txt(status);
  }
  return { ok, body: doc.end() };
}

/**
 * A list-valued Personium property (`p:accountsnotrecordingauthhistory`: comma-separated text;
 * `p:ownerRepresentativeAccounts`: `p:account` children): its entries, trimmed.
 */
export function personiumPropertyList(props: DeadProperties | undefined, local: string): string[] {
  const el = props?.[`{${PERSONIUM_NS}}${local}`];
  if (!el) return [];
  const children = elements(el);
  const raw = children.length > 0 ? children.map(textOf) : textOf(el).split(',');
  return raw.map((s) => s.trim()).filter(Boolean);
}
