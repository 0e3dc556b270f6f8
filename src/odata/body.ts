import { PersoniumError } from '../core/errors/personium-error.js';
import type { EntitySetDescriptor } from './descriptor.js';
import { edmCodecs } from './edm.js';

/** Properties the server owns; Personium refuses a body that tries to set them (personium-core's tests). */
const SERVER_OWNED = new Set(['__metadata', '__published', '__updated']);

/** Parses a request body as JSON (apiref 100: the body is always JSON, whatever Content-Type says). */
export function parseJsonObject(body: Buffer | string | undefined): Record<string, unknown> {
  const text = body === undefined ? '' : typeof body === 'string' ? body : body.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new PersoniumError('PR400-OD-0001', [], { cause: err });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new PersoniumError('PR400-OD-0001');
  }
  return value as Record<string, unknown>;
}

export type WriteMode = 'create' | 'replace' | 'merge';

/**
 * Validates a JSON-verbose entity against the descriptor and returns stored properties.
 * `create` and `replace` apply defaults and require non-nullable properties; `merge` (MERGE)
 * only checks what was sent and leaves the rest to the caller to combine.
 */
export function readEntityBody(
  set: EntitySetDescriptor,
  body: Record<string, unknown>,
  mode: WriteMode,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(body)) {
    // personium-core's wording for management information a client may not send.
    if (SERVER_OWNED.has(name)) throw new PersoniumError('PR400-OD-0007', [`${name} is management information name. Cannot request.`]);
    const def = set.properties.find((p) => p.name === name);
    if (!def) {
      if (set.openType && /^[A-Za-z][A-Za-z0-9_-]{0,127}$/.test(name)) {
        out[name] = value;
        continue;
      }
      throw new PersoniumError('PR400-OD-0006', [name]);
    }
    if (value === null) {
      if (def.nullable === false) throw new PersoniumError('PR400-OD-0006', [name]);
      out[name] = null;
      continue;
    }
    const stored = (def.codec ?? edmCodecs[def.type]).read(value);
    if (stored === undefined) throw new PersoniumError('PR400-OD-0006', [name]);
    if (def.format && !def.format(stored)) throw new PersoniumError(def.formatError ?? 'PR400-OD-0006', [name]);
    out[name] = stored;
  }
  if (mode === 'merge') return out;
  for (const def of set.properties) {
    if (def.name in out) continue;
    if (def.defaultValue) out[def.name] = def.defaultValue();
    else if (def.nullable === false) throw new PersoniumError('PR400-OD-0009', [def.name]);
    else out[def.name] = null;
  }
  return out;
}
