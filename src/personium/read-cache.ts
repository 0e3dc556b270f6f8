import type { EntityChange } from '../store/entity-store.js';
import { END_LINK, isSchemaScope } from './odata-col/schema-model.js';

/**
 * Short-lived answers to the lookups every request in a cell repeats (the cell by name, a box, a
 * WebDAV path), so a hot read costs no query at all.
 *
 * Correct on one node by construction: a domain's generation is bumped before a change to what it
 * holds and again once that change is committed or abandoned, and a read stores what it found
 * only if its domain's generation did not move while it looked — so nothing read before or during
 * a write outlives it. Several domains, so a stream of file uploads or user-data writes does not keep
 * dropping lookups they cannot change: `entity` (cells, boxes; bumped by writes of control
 * objects, see EntityStore.onEntityWrite), `schema` (OData collections' schemas; bumped by writes
 * in a `$metadata` scope), `hexabase` (what a Hexabase request resolves before touching items:
 * bumped by writes of its users, workspaces, groups, applications and datastores and of the links
 * between them), `tree` (WebDAV nodes found by path; bumped by every write transaction except
 * those that only add nodes, see EntityStore.withTransaction's `treeChange`) and `listing` (the
 * children of a collection; bumped by every write transaction). Adding a resource changes no node
 * already there, so a stream of uploads keeps the paths they go through cached; lookups that found
 * nothing are not kept.
 * Other nodes of a scaled-out unit see a change within TTL_MS.
 */
const TTL_MS = 1000;
const HEXABASE_CELL = 'hx';

/** Memberships, admin rights and role grants of the Hexabase dialect; links between items change none of them. */
function isHexabaseLink(name: string): boolean {
  return name.startsWith('hx.') && name !== 'hx.item-link';
}
const MAX_ENTRIES = 10_000;

export type CacheDomain = 'entity' | 'tree' | 'listing' | 'schema' | 'hexabase';

interface Entry {
  value: unknown;
  generation: number;
  until: number;
}

class Generation {
  value = 0;
  readonly entries = new Map<string, Entry>();
}

export class ReadCache {
  private readonly domains: Record<CacheDomain, Generation> = {
    entity: new Generation(),
    tree: new Generation(),
    listing: new Generation(),
    schema: new Generation(),
    hexabase: new Generation(),
  };

  /** Called before a change to what `domain` caches, and again once it has ended. */
  bump(domain: CacheDomain): void {
    const d = this.domains[domain];
    d.value++;
    d.entries.clear();
  }

  /** Drops what an entity write may have changed (see CacheDomain): user data changes nothing cached. */
  entityChanged(change: EntityChange): void {
    if ('link' in change) {
      if (change.link === END_LINK) this.bump('schema');
      if (isHexabaseLink(change.link)) this.bump('hexabase');
      return;
    }
    const scope = change.scope;
    if (!scope || isSchemaScope(scope)) this.bump('schema');
    if (!scope || scope.nodeId === '') this.bump('entity');
    // Hexabase's users, workspaces, groups, applications, roles and datastores (not items and their histories).
    if (!scope || (scope.cellId === HEXABASE_CELL && scope.boxId === '')) this.bump('hexabase');
  }

  get<T>(domain: CacheDomain, key: string): T | undefined {
    const d = this.domains[domain];
    const hit = d.entries.get(key);
    if (!hit || hit.generation !== d.value || hit.until < Date.now()) return undefined;
    return hit.value as T;
  }

  /**
   * Looks `key` up, or computes and (if nothing in its domain was written meanwhile, and `keep`
   * agrees) keeps it. A hit is returned as it is, not as a promise: the hot path of a request
   * walks through several of these, and each needless promise is another turn of the microtask queue.
   */
  through<T>(domain: CacheDomain, key: string, compute: () => Promise<T>, keep?: (value: T) => boolean): T | Promise<T> {
    const hit = this.get<T>(domain, key);
    return hit !== undefined ? hit : this.load(domain, key, compute, keep);
  }

  /** The domain's generation now: take it before reading what will be passed to keep(). */
  mark(domain: CacheDomain): number {
    return this.domains[domain].value;
  }

  /** Keeps `value` under `key` if nothing in its domain was written since `mark` was taken. */
  keep(domain: CacheDomain, key: string, value: unknown, mark: number): void {
    const d = this.domains[domain];
    if (mark !== d.value) return;
    if (d.entries.size >= MAX_ENTRIES) d.entries.delete(d.entries.keys().next().value!);
    d.entries.set(key, { value, generation: mark, until: Date.now() + TTL_MS });
  }

  private async load<T>(domain: CacheDomain, key: string, compute: () => Promise<T>, keep?: (value: T) => boolean): Promise<T> {
    const mark = this.mark(domain);
    const value = await compute();
    if (value !== undefined && (!keep || keep(value))) this.keep(domain, key, value, mark);
    return value;
  }
}
