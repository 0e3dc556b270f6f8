import { PersoniumError } from '../core/errors/personium-error.js';
import type { EntitySetDescriptor, NavigationDef } from './descriptor.js';
import { findNavigation } from './descriptor.js';
import { parseKeyPredicate, type KeyValue } from './key.js';

/** What an OData URL below a service root addresses. */
export type ODataTarget =
  | { kind: 'collection'; set: EntitySetDescriptor }
  | { kind: 'entity'; set: EntitySetDescriptor; key: KeyValue[] }
  | { kind: 'navigation'; set: EntitySetDescriptor; key: KeyValue[]; nav: NavigationDef; target: EntitySetDescriptor }
  | {
      kind: 'links';
      set: EntitySetDescriptor;
      key: KeyValue[];
      nav: NavigationDef;
      target: EntitySetDescriptor;
      /** Present for `…/$links/_Nav('k')` (one link), absent for the link collection. */
      targetKey?: KeyValue[];
    };

const SEGMENT = /^([A-Za-z_][A-Za-z0-9_]*)(?:\((.*)\))?$/s;

/**
 * Parses the path after a service root (still percent-encoded, as received) into a target.
 * Segments are split before decoding so an encoded `/` inside a key stays part of the key.
 */
export function parseResourcePath(rawPath: string, sets: ReadonlyMap<string, EntitySetDescriptor>): ODataTarget {
  const segments = rawPath.split('/').map(decodeSegment);
  if (segments.length > 1 && segments[segments.length - 1] === '') segments.pop();
  const [first, second, third, fourth, ...rest] = segments;
  if (first === undefined || rest.length > 0) throw new PersoniumError('PR404-OD-0000');

  const head = SEGMENT.exec(first);
  const set = head && sets.get(head[1]!);
  if (!head || !set) throw new PersoniumError('PR404-OD-0001');
  if (head[2] === undefined) {
    if (second !== undefined) throw new PersoniumError('PR404-OD-0000');
    return { kind: 'collection', set };
  }
  const key = parseKeyPredicate(head[2], set);
  if (second === undefined) return { kind: 'entity', set, key };

  if (second === '$links') {
    if (third === undefined) throw new PersoniumError('PR400-OD-0011');
    const m = SEGMENT.exec(third);
    const nav = m && findNavigation(set, m[1]!);
    if (!m || !nav) throw new PersoniumError('PR400-OD-0008');
    const target = sets.get(nav.target)!;
    if (fourth !== undefined) throw new PersoniumError('PR404-OD-0000');
    if (m[2] === undefined) return { kind: 'links', set, key, nav, target };
    return { kind: 'links', set, key, nav, target, targetKey: parseLinkKey(m[2], target) };
  }

  if (third !== undefined) throw new PersoniumError('PR404-OD-0000');
  const nav = findNavigation(set, second);
  if (!nav) throw new PersoniumError('PR404-OD-0003');
  return { kind: 'navigation', set, key, nav, target: sets.get(nav.target)! };
}

function parseLinkKey(text: string, target: EntitySetDescriptor): KeyValue[] {
  try {
    return parseKeyPredicate(text, target);
  } catch {
    throw new PersoniumError('PR400-OD-0028');
  }
}

/** One percent-encoded path segment, decoded; a malformed escape is PR400-OD-0004. */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new PersoniumError('PR400-OD-0004');
  }
}

/**
 * Resolves a link body's `uri` (apiref 206: `{"uri": "{CellURL}__ctl/Account('a')"}`) to a key of
 * the expected target set; the URI must point into the same service.
 */
export function parseLinkUri(uri: unknown, serviceRoot: string, target: EntitySetDescriptor): KeyValue[] {
  if (typeof uri !== 'string') throw new PersoniumError('PR400-OD-0009', ['uri']);
  if (!uri.startsWith(serviceRoot)) throw new PersoniumError('PR400-OD-0028');
  const m = SEGMENT.exec(safeDecode(uri.slice(serviceRoot.length)));
  if (!m || m[1] !== target.name || m[2] === undefined) throw new PersoniumError('PR400-OD-0028');
  return parseLinkKey(m[2], target);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new PersoniumError('PR400-OD-0028');
  }
}
