import type { StoredEntity } from '../store/entity-store.js';
import type { EntitySetDescriptor } from './descriptor.js';
import { edmCodecs, formatDate } from './edm.js';
import { formatEtag } from './etag.js';
import { formatKeyPredicate, keyValuesOf } from './key.js';

/** Absolute URL of an entity: `{serviceRoot}{Set}('key')`. */
export function entityUri(serviceRoot: string, set: EntitySetDescriptor, entity: StoredEntity): string {
  return `${serviceRoot}${set.name}${formatKeyPredicate(set, keyValuesOf(set, entity.props))}`;
}

/**
 * One entity in OData V2 JSON-verbose form (apiref 100–104 samples): `__metadata`, the properties
 * (all, or those named by `$select` — apiref 406), `__published`/`__updated` as `/Date(ms)/`, and a
 * `__deferred` link per navigation property.
 */
export function entityToJson(
  serviceRoot: string,
  set: EntitySetDescriptor,
  entity: StoredEntity,
  select?: ReadonlySet<string>,
): Record<string, unknown> {
  const uri = entityUri(serviceRoot, set, entity);
  const out: Record<string, unknown> = {
    __metadata: { uri, etag: formatEtag(entity.version, entity.updated), type: set.typeName },
  };
  const wanted = (name: string) => !select || select.has(name);
  for (const def of set.properties) {
    if (wanted(def.name)) out[def.name] = (def.codec ?? edmCodecs[def.type]).write(entity.props[def.name] ?? null);
  }
  if (set.openType) {
    for (const [name, value] of Object.entries(entity.props)) {
      if (!(name in out) && wanted(name) && !set.properties.some((p) => p.name === name)) out[name] = value;
    }
  }
  out.__published = formatDate(entity.published);
  out.__updated = formatDate(entity.updated);
  for (const nav of set.navigations) {
    if (wanted(nav.name)) out[nav.name] = { __deferred: { uri: `${uri}/${nav.name}` } };
  }
  return out;
}

export function singleEntityBody(entityJson: Record<string, unknown>): string {
  return JSON.stringify({ d: { results: entityJson } });
}

export function feedBody(entities: Record<string, unknown>[], count?: number): string {
  const d: Record<string, unknown> = { results: entities };
  // apiref 101: `__count` is a string.
  if (count !== undefined) d.__count = String(count);
  return JSON.stringify({ d });
}

/** `$links` responses: `{"d":{"results":[{"uri":…}]}}` (apiref 207). */
export function linksBody(uris: string[], count?: number): string {
  const d: Record<string, unknown> = { results: uris.map((uri) => ({ uri })) };
  if (count !== undefined) d.__count = String(count);
  return JSON.stringify({ d });
}
