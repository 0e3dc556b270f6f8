import type { EntitySetDescriptor } from './descriptor.js';
import { PersoniumError } from '../core/errors/personium-error.js';

export type KeyValue = string | number | null;

/**
 * Parses a decoded key predicate body (between the parentheses): `'cell1'`, `Name='cell1'`,
 * `Name='r1',_Box.Name='b1'`, `Name='r1',_Box.Name=null`. Returns values in the descriptor's key order.
 * Omitted compound members are null (a Role without box is `Role('r1')`).
 */
export function parseKeyPredicate(text: string, set: EntitySetDescriptor): KeyValue[] {
  const fail = (): never => {
    throw new PersoniumError('PR400-OD-0004');
  };
  const values = new Map<string, KeyValue>();
  let pos = 0;
  const skipSpaces = () => {
    while (text[pos] === ' ') pos++;
  };

  const readLiteral = (): KeyValue => {
    skipSpaces();
    if (text[pos] === "'") {
      let out = '';
      pos++;
      for (;;) {
        if (pos >= text.length) fail();
        const ch = text[pos]!;
        if (ch === "'") {
          if (text[pos + 1] === "'") {
            out += "'";
            pos += 2;
            continue;
          }
          pos++;
          return out;
        }
        out += ch;
        pos++;
      }
    }
    const m = /^(null|-?\d+)/.exec(text.slice(pos));
    if (!m) return fail();
    pos += m[0].length;
    return m[0] === 'null' ? null : Number(m[0]);
  };

  skipSpaces();
  if (!/^[A-Za-z_]/.test(text.slice(pos))) {
    // Positional form `('value')` is only meaningful for the first key member.
    values.set(set.keys[0]!, readLiteral());
  } else {
    for (;;) {
      skipSpaces();
      const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(text.slice(pos));
      if (!m) fail();
      const name = m![0];
      pos += name.length;
      skipSpaces();
      if (text[pos] !== '=') fail();
      pos++;
      if (!set.keys.includes(name) || values.has(name)) fail();
      values.set(name, readLiteral());
      skipSpaces();
      if (text[pos] === ',') {
        pos++;
        continue;
      }
      break;
    }
  }
  skipSpaces();
  if (pos !== text.length) fail();
  const first = values.get(set.keys[0]!);
  // apiref 004 PR400-OD-0016: the identifying member of a key can't be null.
  if (first === null || first === undefined) throw new PersoniumError('PR400-OD-0016');
  return set.keys.map((k) => values.get(k) ?? null);
}

/** The stored identity for key values: the plain value for single keys, a JSON array for compound ones. */
export function canonicalKey(values: KeyValue[]): string {
  return values.length === 1 ? String(values[0]) : JSON.stringify(values);
}

/** Key values of an entity, read from its properties in key order. */
export function keyValuesOf(set: EntitySetDescriptor, props: Record<string, unknown>): KeyValue[] {
  return set.keys.map((k) => (props[k] ?? null) as KeyValue);
}

/** The URL form of a key: `('cell1')` for single keys, `(Name='r1',_Box.Name=null)` for compound ones. */
export function formatKeyPredicate(set: EntitySetDescriptor, values: KeyValue[]): string {
  const lit = (v: KeyValue) =>
    v === null ? 'null' : typeof v === 'number' ? String(v) : `'${encodeURIComponent(v.replace(/'/g, "''"))}'`;
  if (values.length === 1) return `(${lit(values[0]!)})`;
  return `(${set.keys.map((k, i) => `${k}=${lit(values[i]!)}`).join(',')})`;
}
