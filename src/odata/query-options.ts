import { sql, type Expression, type SqlBool } from 'kysely';
import { fullTextWhere } from '../query/full-text.js';
import { PersoniumError } from '../core/errors/personium-error.js';
import { compileFilter, compileOrderBy, type Dialect, type Resolver } from '../query/compile.js';
import { parseFilter, parseInlineCount, parseOrderBy, parseSelect, parseSkip, parseTop } from '../query/parse.js';
import type { OrderTerm } from '../store/entity-store.js';
import type { EntitySetDescriptor, NavigationDef } from './descriptor.js';
import { findNavigation } from './descriptor.js';

/** Parsed list options (apiref 400–407), ready for the store. */
export interface ListOptions {
  where?: Expression<SqlBool>;
  orderBy: OrderTerm[];
  top: number;
  skip: number;
  count: boolean;
  select?: ReadonlySet<string>;
  expand: NavigationDef[];
}


/**
 * Maps OData property paths to storage: server columns for `__published`/`__updated`, the
 * identity column for a single string key (so key filters use the identity index), and the JSON
 * document for everything else.
 */
export function resolverFor(set: EntitySetDescriptor): Resolver {
  const singleKey = set.keys.length === 1 ? set.keys[0] : undefined;
  return (path) => {
    const [name, ...rest] = path;
    if (name === undefined) return undefined;
    if (rest.length === 0) {
      if (name === '__published') return { kind: 'column', column: 'published', type: 'Edm.DateTime' };
      if (name === '__updated') return { kind: 'column', column: 'updated', type: 'Edm.DateTime' };
    }
    const def = set.properties.find((p) => p.name === name);
    if (def && rest.length === 0) {
      if (name === singleKey && def.type === 'Edm.String') return { kind: 'column', column: 'entity_key', type: def.type };
      return { kind: 'json', column: 'props', path, type: def.type };
    }
    if (def) {
      const type = def.memberType?.(rest);
      return type ? { kind: 'json', column: 'props', path, type } : undefined;
    }
    if (!set.openType) return undefined;
    if (!set.dynamicTypes) return { kind: 'json', column: 'props', path };
    const type = rest.length === 0 ? set.dynamicTypes.get(name) : undefined;
    return type ? { kind: 'json', column: 'props', path, type } : undefined;
  };
}

export function parseListOptions(
  query: Record<string, string | undefined>,
  set: EntitySetDescriptor,
  dialect: Dialect,
): ListOptions {
  const resolver = resolverFor(set);
  const options: ListOptions = {
    orderBy: [],
    top: parseTop(query.$top),
    skip: parseSkip(query.$skip),
    count: parseInlineCount(query.$inlinecount),
    expand: parseExpand(query.$expand, set),
  };
  if (query.$filter !== undefined) {
    options.where = compileFilter(parseFilter(query.$filter), resolver, dialect, { unknownProperty: 'error' });
  }
  if (query.q !== undefined && set.fullText) {
    const text = fullTextWhere(query.q, dialect);
    options.where = options.where ? sql<SqlBool>`(${options.where}) and ${text}` : text;
  }
  if (query.$orderby !== undefined) {
    options.orderBy = compileOrderBy(parseOrderBy(query.$orderby), resolver, dialect);
  }
  if (query.$select !== undefined) {
    const selected = parseSelect(query.$select);
    if (selected !== '*') options.select = new Set(selected);
  }
  return options;
}

/** `$expand=_Box,_Role` (apiref 405): navigation property names of this set. */
export function parseExpand(text: string | undefined, set: EntitySetDescriptor): NavigationDef[] {
  if (text === undefined || text.trim() === '') return [];
  return text.split(',').map((raw) => {
    const nav = findNavigation(set, raw.trim());
    if (!nav) throw new PersoniumError('PR400-OD-0026');
    return nav;
  });
}
