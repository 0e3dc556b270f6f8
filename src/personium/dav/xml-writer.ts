import { escapeAttr, escapeText } from '../../core/xml-escape.js';
import type { XmlElement } from './xml-tree.js';

/**
 * A small XML writer for the hot paths (PROPFIND over a thousand resources): string building with
 * escaping, namespaces declared where an element first needs them. xmlbuilder2 builds a DOM per
 * document, which cost more than the rest of the request together.
 */

/** Serialises a stored element; `scope` maps prefixes already declared by ancestors to their namespaces. */
export function serializeElement(el: XmlElement, scope: ReadonlyMap<string, string> = new Map(), withChildren = true): string {
  const declared = new Map(scope);
  const decls: string[] = [];
  let name: string;
  if (!el.ns) {
    name = el.local;
    if (declared.get('') !== undefined && declared.get('') !== '') {
      decls.push(' xmlns=""');
      declared.set('', '');
    }
  } else if (el.prefix) {
    name = `${el.prefix}:${el.local}`;
    if (declared.get(el.prefix) !== el.ns) {
      decls.push(` xmlns:${el.prefix}="${escapeAttr(el.ns)}"`);
      declared.set(el.prefix, el.ns);
    }
  } else {
    name = el.local;
    if (declared.get('') !== el.ns) {
      decls.push(` xmlns="${escapeAttr(el.ns)}"`);
      declared.set('', el.ns);
    }
  }
  const attrs: string[] = [];
  let n = 0;
  for (const a of el.attrs) {
    if (!a.ns) {
      attrs.push(` ${a.local}="${escapeAttr(a.value)}"`);
      continue;
    }
    let prefix = [...declared].find(([p, ns]) => p !== '' && ns === a.ns)?.[0];
    if (!prefix) {
      prefix = `a${n++}`;
      decls.push(` xmlns:${prefix}="${escapeAttr(a.ns)}"`);
      declared.set(prefix, a.ns);
    }
    attrs.push(` ${prefix}:${a.local}="${escapeAttr(a.value)}"`);
  }
  const open = `<${name}${decls.join('')}${attrs.join('')}`;
  if (!withChildren || el.children.length === 0) return `${open}/>`;
  const inner = el.children.map((c) => (typeof c === 'string' ? escapeText(c) : serializeElement(c, declared))).join('');
  return `${open}>${inner}</${name}>`;
}
