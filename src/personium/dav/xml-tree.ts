import { SaxesParser, type SaxesTagNS } from 'saxes';
import { PersoniumError } from '../../core/errors/personium-error.js';

/** A namespace-aware XML element, as kura keeps dead properties and reads request bodies. */
export interface XmlElement {
  ns: string;
  local: string;
  /** The prefix the client used, kept so a property reads back the way it was written. */
  prefix?: string;
  attrs: { ns: string; local: string; value: string }[];
  children: XmlNode[];
}
export type XmlNode = XmlElement | string;

export const DAV_NS = 'DAV:';
export const PERSONIUM_NS = 'urn:x-personium:xmlns';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

/** Deep enough for any property a client means; deeper is a body built to exhaust the server. */
const MAX_DEPTH = 64;

/**
 * Parses a request body into a tree. A DOCTYPE is refused outright (no entity is ever defined,
 * so none can be expanded or fetched: no XXE, no billion laughs); saxes never reads a DTD.
 */
export function parseXml(text: string): XmlElement {
  const parser = new SaxesParser({ xmlns: true });
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let refused: PersoniumError | undefined;
  parser.on('doctype', () => {
    refused ??= new PersoniumError('PR400-DV-0006', [], { cause: new Error('DOCTYPE is not accepted') });
    throw refused;
  });
  parser.on('opentag', (tag: SaxesTagNS) => {
    if (stack.length >= MAX_DEPTH) {
      refused ??= new PersoniumError('PR400-DV-0006', [], { cause: new Error('XML nested too deeply') });
      throw refused;
    }
    const el: XmlElement = {
      ns: tag.uri,
      local: tag.local,
      ...(tag.prefix ? { prefix: tag.prefix } : {}),
      attrs: Object.values(tag.attributes)
        .filter((a) => a.uri !== XMLNS_NS && a.prefix !== 'xmlns' && a.name !== 'xmlns')
        .map((a) => ({ ns: a.uri, local: a.local, value: a.value })),
      children: [],
    };
    if (stack.length > 0) stack[stack.length - 1]!.children.push(el);
    else root = el;
    stack.push(el);
  });
  parser.on('text', (t) => {
    if (stack.length > 0) stack[stack.length - 1]!.children.push(t);
  });
  parser.on('cdata', (t) => {
    if (stack.length > 0) stack[stack.length - 1]!.children.push(t);
  });
  parser.on('closetag', () => {
    stack.pop();
  });
  try {
    parser.write(text).close();
  } catch (err) {
    throw refused ?? new PersoniumError('PR400-DV-0001', [], { cause: err });
  }
  if (!root) throw new PersoniumError('PR400-DV-0001');
  return root;
}

export function isElement(node: XmlNode): node is XmlElement {
  return typeof node !== 'string';
}

export function elements(el: XmlElement): XmlElement[] {
  return el.children.filter(isElement);
}

/** Text content of an element and its descendants. */
export function textOf(node: XmlNode): string {
  return typeof node === 'string' ? node : node.children.map(textOf).join('');
}

/** True when the element holds only whitespace between its child elements. */
export function onlyElements(el: XmlElement): boolean {
  return el.children.every((c) => isElement(c) || c.trim() === '');
}

export function propertyKey(el: { ns: string; local: string }): string {
  return `{${el.ns}}${el.local}`;
}
