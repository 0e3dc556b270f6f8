import type { ReadCache } from '../../personium/read-cache.js';
import type { EntityStore, Scope, StoredEntity } from '../../store/entity-store.js';
import type { Applications } from '../applications/applications.js';
import type { DatastoreDef } from '../applications/datastores.js';
import { HexabaseError } from '../errors.js';
import { ID_PATTERN } from '../ids.js';
import { HX_SCOPE, HX_SETS, requireUser } from '../model.js';

export const ITEM_SET = 'hx.Item';
export const HISTORY_SET = 'hx.History';
export const ITEM_LINK = 'hx.item-link';

/** Where the items of a datastore live: one scope per datastore, so its items are one index range. */
export function itemScope(appKey: string, datastoreKey: string): Scope {
  return { cellId: HX_SCOPE.cellId, boxId: appKey, nodeId: datastoreKey };
}

/** Where the histories of an item live (listed newest first by the scope index alone). */
export function historyScope(datastoreKey: string, itemKey: string): Scope {
  return { cellId: HX_SCOPE.cellId, boxId: datastoreKey, nodeId: itemKey };
}

/** A datastore as an item request sees it: its application, definition and the caller. */
export interface DatastoreContext {
  user: StoredEntity;
  app: StoredEntity;
  /** Workspace administrator or the application's creator: may run every action. */
  privileged: boolean;
  /** The caller's roles in the application (internal ids), for actions restricted to roles. */
  roleKeys: string[];
  datastore: StoredEntity;
  def: DatastoreDef;
  scope: Scope;
}

/**
 * Resolves `:app-id` / `:datastore-id` (internal or display ids) for a caller who may see the
 * application — NOT_FOUND otherwise, as the pages answer for wrong, deleted and forbidden ids alike.
 */
export class DatastoreResolver {
  constructor(
    private readonly store: EntityStore,
    private readonly applications: Applications,
    private readonly cache?: ReadCache,
  ) {}

  /**
   * Every item request starts here; the answer (a handful of queries: the caller, its workspace
   * membership and rights, the application, its datastores) is kept in the read cache's `hexabase`
   * domain, which any change to those objects drops.
   */
  async resolve(userId: string, appRef: string | undefined, datastoreRef: string): Promise<DatastoreContext> {
    if (!this.cache) return this.lookup(userId, appRef, datastoreRef);
    return this.cache.through('hexabase', `ds|${userId}|${appRef ?? ''}|${datastoreRef}`, () => this.lookup(userId, appRef, datastoreRef));
  }

  private async lookup(userId: string, appRef: string | undefined, datastoreRef: string): Promise<DatastoreContext> {
    let ref = appRef;
    if (ref === undefined) {
      // `/datastores/:d_id/…` routes name the datastore by internal id only.
      const ds = ID_PATTERN.test(datastoreRef) ? await this.store.get(HX_SCOPE, HX_SETS.datastore, datastoreRef) : undefined;
      if (!ds) throw new HexabaseError('NOT_FOUND', `no datastore ${datastoreRef}`);
      ref = String(ds.props.p_id);
    }
    const { app, privileged, roleKeys } = await this.applications.access(userId, ref);
    const datastores = await this.applications.datastoresOf(app.key);
    const datastore = datastores.find((d) => d.key === datastoreRef) ?? datastores.find((d) => d.props.display_id === datastoreRef);
    if (!datastore) throw new HexabaseError('NOT_FOUND', `no datastore ${datastoreRef} in this application`);
    const user = await requireUser(this.store, userId);
    return { user, app, privileged, roleKeys, datastore, def: datastore.props as unknown as DatastoreDef, scope: itemScope(app.key, datastore.key) };
  }

  /** An application the caller may see, and the caller (routes without a datastore). */
  async resolveApp(userId: string, appRef: string): Promise<{ user: StoredEntity; app: StoredEntity }> {
    const { app } = await this.applications.access(userId, appRef);
    return { user: await requireUser(this.store, userId), app };
  }

  /** A sibling datastore of `ctx` (links, lookups) by internal or display id. */
  async sibling(ctx: DatastoreContext, ref: string): Promise<DatastoreContext | undefined> {
    const datastores = await this.applications.datastoresOf(ctx.app.key);
    const datastore = datastores.find((d) => d.key === ref) ?? datastores.find((d) => d.props.display_id === ref);
    if (!datastore) return undefined;
    return { ...ctx, datastore, def: datastore.props as unknown as DatastoreDef, scope: itemScope(ctx.app.key, datastore.key) };
  }

  /** The item `itemId` of the datastore, or NOT_FOUND in the documented shape. */
  async item(ctx: DatastoreContext, itemId: string, store: EntityStore = this.store): Promise<StoredEntity> {
    const item = ID_PATTERN.test(itemId) ? await store.get(ctx.scope, ITEM_SET, itemId) : undefined;
    if (!item) throw itemNotFound(itemId);
    return item;
  }
}

/** GetItemDetails' 404 body. */
export function itemNotFound(itemId: string): HexabaseError {
  return new HexabaseError('NOT_FOUND', `item not found for i_id:${itemId}`, 404, {
    error: 'NOT_FOUND',
    errors: [{ description: `item not found for i_id:${itemId}`, error: 'not found', error_code: 'NOT_FOUND', error_level: 'ERROR', reference_id: itemId }],
  });
}
