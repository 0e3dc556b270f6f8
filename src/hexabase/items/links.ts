import type { Kysely } from 'kysely';
import type { EntityStore, StoredEntity } from '../../store/entity-store.js';
import type { Database } from '../../store/schema.js';
import type { DatastoreDef } from '../applications/datastores.js';
import { HexabaseError } from '../errors.js';
import { ID_PATTERN } from '../ids.js';
import { HX_SCOPE } from '../model.js';
import type { Body } from '../validate.js';
import { ITEM_LINK, ITEM_SET, type DatastoreContext, type DatastoreResolver } from './context.js';
import type { FlatOptions, ItemRenderer } from './render.js';

/** Links one item holds at most (a link list must stay readable in one answer). */
const LINKS_PER_ITEM_MAX = 1000;

/**
 * Links between items (item-links/). A link is one undirected pair in the shared links table —
 * whichever item it was added from, both items list it — and it joins items of the same
 * application only, so a link can never reveal another tenant's item.
 */
export class ItemLinks {
  constructor(
    private readonly store: EntityStore,
    private readonly resolver: DatastoreResolver,
    private readonly renderer: ItemRenderer,
  ) {}

  /** AddItemLink `{link_datastore_id, link_item_id}` → `null`. */
  async add(userId: string, appRef: string, datastoreRef: string, itemId: string, body: Body): Promise<null> {
    const ctx = await this.resolver.resolve(userId, appRef, datastoreRef);
    const item = await this.resolver.item(ctx, itemId);
    const other = await this.target(ctx, body.link_datastore_id, body.link_item_id, 'link_');
    await this.store.withTransaction(async (trx) => this.connect(trx, item, other));
    return null;
  }

  /** UpdateItemLink: the link to the old item is replaced by one to the new item, together. */
  async replace(userId: string, appRef: string, datastoreRef: string, itemId: string, body: Body): Promise<null> {
    const ctx = await this.resolver.resolve(userId, appRef, datastoreRef);
    const item = await this.resolver.item(ctx, itemId);
    const old = await this.target(ctx, body.old_link_datastore_id, body.old_link_item_id, 'old_link_');
    const next = await this.target(ctx, body.new_link_datastore_id, body.new_link_item_id, 'new_link_');
    await this.store.withTransaction(async (trx) => {
      if (!(await this.disconnect(trx, item, old))) throw linksNotFound(ctx, item, String(body.old_link_datastore_id), old.key);
      await this.connect(trx, item, next);
    });
    return null;
  }

  /** DeleteItemLink `{link_datastore_id, link_item_id?}`: without an item, every link to that datastore goes. */
  async remove(userId: string, appRef: string, datastoreRef: string, itemId: string, body: Body): Promise<null> {
    const ctx = await this.resolver.resolve(userId, appRef, datastoreRef);
    const item = await this.resolver.item(ctx, itemId);
    const dsRef = body.link_datastore_id;
    const other = typeof dsRef === 'string' ? await this.resolver.sibling(ctx, dsRef) : undefined;
    if (!other) throw new HexabaseError('INVALID_PARAMS', 'link_datastore_id names no datastore of this application');
    await this.store.withTransaction(async (trx) => {
      let removed = 0;
      if (body.link_item_id !== undefined && body.link_item_id !== null && body.link_item_id !== '') {
        const target = await this.target(ctx, dsRef, body.link_item_id, 'link_', trx);
        if (await this.disconnect(trx, item, target)) removed++;
      } else {
        for (const linked of await this.linkedEntities(trx, item)) {
          if (linked.scope.nodeId === other.datastore.key && (await this.disconnect(trx, item, linked))) removed++;
        }
      }
      if (removed === 0) throw linksNotFound(ctx, item, String(dsRef), String(body.link_item_id ?? ''));
    });
    return null;
  }

  /** GetLinkedItems, both routes: the linked items grouped by datastore. */
  async list(userId: string, appRef: string | undefined, datastoreRef: string, itemId: string, query: Record<string, unknown>, onlyDatastore?: string) {
    const ctx = await this.resolver.resolve(userId, appRef, datastoreRef);
    const item = await this.resolver.item(ctx, itemId);
    // Route (1) is keyed by display ids in the page's sample; route (2) by internal ids.
    const displayIds = appRef !== undefined ? query.use_display_id !== 'false' : query.use_display_id === 'true';
    let only = onlyDatastore;
    if (typeof query.linked_d_id === 'string' && query.linked_d_id !== '') {
      const sibling = await this.resolver.sibling(ctx, query.linked_d_id);
      if (!sibling) throw new HexabaseError('NOT_FOUND', `no datastore ${query.linked_d_id} in this application`);
      only = sibling.datastore.key;
    }
    const result = await this.linkedItems(ctx, item, { displayIds, numbers: query.return_number_value === 'true', lookups: query.include_lookups === 'true' }, only);
    return { has_error: false, result };
  }

  /** The `linked_items` / `result` object: per linked datastore its fields and items. */
  async linkedItems(ctx: DatastoreContext, item: StoredEntity, options: FlatOptions, onlyDatastore?: string): Promise<Record<string, unknown>> {
    const byDatastore = new Map<string, StoredEntity[]>();
    for (const linked of await this.linkedEntities(this.store, item)) {
      if (onlyDatastore !== undefined && linked.scope.nodeId !== onlyDatastore) continue;
      byDatastore.set(linked.scope.nodeId, [...(byDatastore.get(linked.scope.nodeId) ?? []), linked]);
    }
    const out: Record<string, unknown> = {};
    for (const [datastoreKey, entities] of byDatastore) {
      const sibling = await this.resolver.sibling(ctx, datastoreKey);
      if (!sibling) continue;
      const def = sibling.datastore.props as unknown as DatastoreDef;
      const key = options.displayIds ? String(sibling.datastore.props.display_id) : datastoreKey;
      out[key] = {
        d_id: datastoreKey,
        ds_name: String(sibling.datastore.props.name),
        display_id: String(sibling.datastore.props.display_id),
        fields: linkedFields(def, options.displayIds),
        items: await this.renderer.flat(sibling, entities.sort((a, b) => a.published - b.published), options),
      };
    }
    return out;
  }

  /** ItemList's `item_links` for a page of items, from two queries. */
  async summaries(items: StoredEntity[]): Promise<Map<string, unknown>> {
    const db = this.store.executor as Kysely<Database>;
    const byId = new Map(items.map((i) => [i.id, i]));
    const pairs: Array<{ item: string; d_id: string; i_id: string }> = [];
    for (let i = 0; i < items.length; i += 500) {
      const ids = items.slice(i, i + 500).map((e) => e.id);
      for (const [near, far] of [['from_id', 'to_id'], ['to_id', 'from_id']] as const) {
        const rows = await db
          .selectFrom('links')
          .innerJoin('entities', 'entities.id', `links.${far}`)
          .select([`links.${near} as near`, 'entities.node_id as d_id', 'entities.entity_key as i_id'])
          .where('links.name', '=', ITEM_LINK)
          .where(`links.${near}`, 'in', ids)
          .orderBy('links.seq')
          .execute();
        for (const r of rows) pairs.push({ item: byId.get(r.near)!.key, d_id: r.d_id, i_id: r.i_id });
      }
    }
    const out = new Map<string, unknown>();
    for (const item of items) {
      const mine = pairs.filter((p) => p.item === item.key);
      const groups = new Map<string, Array<{ i_id: string; type: string }>>();
      for (const p of mine) groups.set(p.d_id, [...(groups.get(p.d_id) ?? []), { i_id: p.i_id, type: 'link' }]);
      out.set(item.key, {
        db_count: groups.size,
        item_count: mine.length,
        links: [...groups].map(([d_id, list]) => ({ d_id, item_count: list.length, items: list })),
      });
    }
    return out;
  }

  private async linkedEntities(store: EntityStore, item: StoredEntity): Promise<StoredEntity[]> {
    const out: StoredEntity[] = [];
    for (const id of await store.linkedEitherWay(ITEM_LINK, item.id)) {
      const linked = await store.getById(id);
      if (linked && linked.entitySet === ITEM_SET && linked.scope.boxId === item.scope.boxId) out.push(linked);
    }
    return out;
  }

  private async target(ctx: DatastoreContext, dsRef: unknown, itemRef: unknown, prefix: string, store: EntityStore = this.store): Promise<StoredEntity> {
    const sibling = typeof dsRef === 'string' ? await this.resolver.sibling(ctx, dsRef) : undefined;
    if (!sibling) throw new HexabaseError('INVALID_PARAMS', `${prefix}datastore_id names no datastore of this application`);
    if (typeof itemRef !== 'string' || !ID_PATTERN.test(itemRef)) throw new HexabaseError('INVALID_PARAMS', `${prefix}item_id is an item id`);
    const found = await store.get(sibling.scope, ITEM_SET, itemRef);
    if (!found) throw new HexabaseError('NOT_FOUND', `item not found for i_id:${itemRef}`);
    return found;
  }

  private async connect(trx: EntityStore, a: StoredEntity, b: StoredEntity): Promise<void> {
    if (a.id === b.id) throw new HexabaseError('INVALID_PARAMS', 'an item cannot link to itself');
    if ((await trx.hasLink(ITEM_LINK, a.id, b.id)) || (await trx.hasLink(ITEM_LINK, b.id, a.id))) return;
    if ((await trx.linkedEitherWay(ITEM_LINK, a.id)).length >= LINKS_PER_ITEM_MAX) throw new HexabaseError('INVALID_PARAMS', `an item holds at most ${LINKS_PER_ITEM_MAX} links`);
    await trx.link(HX_SCOPE.cellId, ITEM_LINK, a.id, b.id);
  }

  private async disconnect(trx: EntityStore, a: StoredEntity, b: StoredEntity): Promise<boolean> {
    const one = await trx.unlink(ITEM_LINK, a.id, b.id);
    const other = await trx.unlink(ITEM_LINK, b.id, a.id);
    return one || other;
  }
}

function linksNotFound(ctx: DatastoreContext, item: StoredEntity, dsRef: string, otherKey: string): HexabaseError {
  return new HexabaseError('NOT_FOUND', `item links not found for {${String(ctx.datastore.props.display_id)} ${item.key} ${dsRef} ${otherKey}  }`);
}

/** The field descriptions GetLinkedItems and GetItemDetails' `linked_items` carry. */
function linkedFields(def: DatastoreDef, displayIds: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let titleOrder = 0;
  def.fields.forEach((f, i) => {
    out[displayIds ? f.display_id : f.field_id] = {
      as_title: f.as_title,
      dataType: f.dataType,
      display_id: f.display_id,
      f_id: f.field_id,
      fieldIndex: i,
      full_text: f.full_text === true,
      hideOnInput: false,
      id: f.field_id,
      name: f.name,
      search: f.search,
      show_list: f.show_list,
      status: f.dataType === 'status',
      title_order: f.as_title ? ++titleOrder : 0,
      unique: f.unique,
      ...(f.dslookup_datastore_id ? { dslookup_info: { dslookup_datastore_id: f.dslookup_datastore_id, dslookup_field_id: '', dslookup_project_id: '' } } : {}),
    };
  });
  return out;
}
