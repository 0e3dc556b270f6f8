import { sql, type SqlBool } from 'kysely';
import type { EntityStore, StoredEntity } from '../../store/entity-store.js';
import type { DatastoreDef, FieldDef } from '../applications/datastores.js';
import { HX_SCOPE, HX_SETS } from '../model.js';
import { ITEM_SET, itemScope, type DatastoreContext } from './context.js';
import { isoSeconds, optionDisplayIds, optionLabels } from './values.js';

/** The file objects of file fields (src/hexabase/files). */
export interface FileDescriber {
  describe(fileIds: string[]): Promise<Record<string, unknown>[]>;
}

export interface FlatOptions {
  /** Field keys are display ids (`use_display_id`) rather than internal field ids. */
  displayIds: boolean;
  /** Numbers (and rev_no, unread) as JSON numbers (`return_number_value`); strings otherwise. */
  numbers: boolean;
  /** Expand dslookup fields under `lookup_items` (`include_lookups`). */
  lookups: boolean;
}

/** How deep `include_lookups` expands: the ItemList page stops after two levels. */
const LOOKUP_DEPTH = 2;

/**
 * Items as the pages show them. Every read resolves what it references in batches — users, files,
 * looked-up items — so a page of items costs a fixed number of queries, not one per value.
 */
export class ItemRenderer {
  constructor(
    private readonly store: EntityStore,
    private readonly files: FileDescriber | undefined,
  ) {}

  /** ItemList's flat maps (also linked items and lookups, which always carry strings). */
  async flat(ctx: Pick<DatastoreContext, 'app' | 'datastore' | 'def'>, items: StoredEntity[], options: FlatOptions, depth = 0): Promise<Record<string, unknown>[]> {
    const { def } = ctx;
    const refs = await this.references(ctx, items, depth < LOOKUP_DEPTH);
    const statusField = def.fields.find((f) => f.dataType === 'status');
    const num = (n: number) => (options.numbers ? n : String(n));
    const seen = new Map<string, Promise<LookupContext | undefined>>();
    const out: Record<string, unknown>[] = [];
    for (const item of items) {
      const row: Record<string, unknown> = {};
      const lookups: Record<string, unknown> = {};
      for (const field of def.fields) {
        const key = options.displayIds ? field.display_id : field.field_id;
        if (field.dataType === 'status') continue;
        const value = item.props[field.field_id];
        if (value === undefined || value === null) continue;
        if (field.dataType === 'dslookup') {
          const target = refs.lookups.get(String(value));
          row[key] = depth >= LOOKUP_DEPTH || !target ? String(value) : String(target.props.title ?? '');
          if (options.lookups && target && depth < LOOKUP_DEPTH) {
            const targetCtx = await this.lookupContext(ctx, field, seen);
            if (targetCtx) [lookups[key]] = await this.flat(targetCtx, [target], { ...options, numbers: false }, depth + 1);
          }
          continue;
        }
        row[key] = flatValue(field, value, refs, num);
      }
      const status = def.statuses.find((s) => s.s_id === item.props.status_id);
      if (statusField && status) row[options.displayIds ? statusField.display_id : statusField.field_id] = status.name;
      Object.assign(row, systemKeys(ctx, item, num));
      if (options.lookups && Object.keys(lookups).length > 0) row.lookup_items = lookups;
      out.push(row);
    }
    return out;
  }

  /** GetItemDetails' `field_values` (map form keyed by display id, or the array form). */
  async fieldValues(ctx: DatastoreContext, item: StoredEntity, map: boolean, lookups: boolean): Promise<Record<string, unknown> | unknown[]> {
    const refs = await this.references(ctx, [item], true);
    const entries: Array<[string, Record<string, unknown>]> = [];
    let row = 0;
    for (const field of ctx.def.fields) {
      const isStatus = field.dataType === 'status';
      const stored = item.props[field.field_id];
      let value: unknown = null;
      if (isStatus) {
        const status = ctx.def.statuses.find((s) => s.s_id === item.props.status_id);
        value = status ? (map ? status.display_id : status.s_id) : null;
      } else if (stored !== undefined && stored !== null) {
        value = await this.detailValue(ctx, field, stored, refs, map, lookups);
      }
      const layout = map
        ? { sizeX: isStatus ? 0 : 12, sizeY: isStatus ? 0 : 1, col: 0, row: isStatus ? 0 : row++ }
        : { use_as_search: field.search, show_in_list: field.show_list };
      entries.push([field.display_id, { field_id: field.display_id, field_name: field.name, dataType: field.dataType, value, ...layout }]);
    }
    return map ? Object.fromEntries(entries) : entries.map(([, v]) => v);
  }

  private async detailValue(ctx: DatastoreContext, field: FieldDef, stored: unknown, refs: References, map: boolean, lookups: boolean): Promise<unknown> {
    switch (field.dataType) {
      case 'number':
        return stored;
      case 'date':
      case 'datetime':
        return isoSeconds(Number(stored));
      case 'select':
      case 'radio':
        return (map ? optionDisplayIds(field, [String(stored)]) : [String(stored)])[0];
      case 'checkbox':
        return optionLabels(field, stored as string[]);
      case 'users':
        return (stored as string[]).map((id) => {
          const u = refs.users.get(id);
          return { access_key: id, email: String(u?.props.email ?? ''), media_link: String(u?.props.profile_pic ?? ''), user_id: id, user_name: String(u?.props.username ?? '') };
        });
      case 'file':
        return refs.files.filter((f) => (stored as string[]).includes(String(f.file_id)));
      case 'dslookup': {
        const target = refs.lookups.get(String(stored));
        if (!target) return null;
        const value: Record<string, unknown> = { d_id: field.dslookup_datastore_id, item_id: target.key, title: String(target.props.title ?? '') };
        const targetCtx = lookups ? await this.lookupContext(ctx, field, new Map()) : undefined;
        if (targetCtx) [value.lookup_item] = await this.flat(targetCtx, [target], { displayIds: map, numbers: false, lookups: false }, 1);
        return value;
      }
      default:
        return stored;
    }
  }

  /** The looked-up datastore of a dslookup field, read once per answer however many items name it. */
  private async lookupContext(ctx: Pick<DatastoreContext, 'app'>, field: FieldDef, seen: Map<string, Promise<LookupContext | undefined>>) {
    const key = field.dslookup_datastore_id!;
    let found = seen.get(key);
    if (!found) {
      found = this.store.get(HX_SCOPE, HX_SETS.datastore, key).then((datastore) => (datastore ? { app: ctx.app, datastore, def: datastore.props as unknown as DatastoreDef } : undefined));
      seen.set(key, found);
    }
    return found;
  }

  /** Users, files and looked-up items the values of `items` name, each loaded once. */
  private async references(ctx: Pick<DatastoreContext, 'app' | 'def'>, items: StoredEntity[], withLookups: boolean): Promise<References> {
    const userIds = new Set<string>();
    const fileIds = new Set<string>();
    const lookupIds = new Map<string, Set<string>>();
    for (const field of ctx.def.fields) {
      for (const item of items) {
        const value = item.props[field.field_id];
        if (value === undefined || value === null) continue;
        if (field.dataType === 'users') for (const id of value as string[]) userIds.add(id);
        if (field.dataType === 'file') for (const id of value as string[]) fileIds.add(id);
        if (field.dataType === 'dslookup') {
          const set = lookupIds.get(field.dslookup_datastore_id!) ?? new Set<string>();
          set.add(String(value));
          lookupIds.set(field.dslookup_datastore_id!, set);
        }
      }
    }
    const users = new Map<string, StoredEntity>();
    for (const id of userIds) {
      const u = await this.store.get(HX_SCOPE, HX_SETS.user, id);
      if (u) users.set(id, u);
    }
    const lookups = new Map<string, StoredEntity>();
    if (withLookups) {
      for (const [datastoreKey, ids] of lookupIds) {
        for (const found of await itemsByKey(this.store, ctx.app.key, datastoreKey, [...ids])) lookups.set(found.key, found);
      }
    }
    const files = fileIds.size > 0 && this.files ? await this.files.describe([...fileIds]) : [];
    return { users, lookups, files };
  }
}

type LookupContext = Pick<DatastoreContext, 'app' | 'datastore' | 'def'>;

interface References {
  users: Map<string, StoredEntity>;
  lookups: Map<string, StoredEntity>;
  files: Record<string, unknown>[];
}

/** The items of a datastore among `keys`, in one query. */
export async function itemsByKey(store: EntityStore, appKey: string, datastoreKey: string, keys: string[]): Promise<StoredEntity[]> {
  if (keys.length === 0) return [];
  const where = sql<SqlBool>`entity_key in (${sql.join(keys)})`;
  return (await store.query(itemScope(appKey, datastoreKey), ITEM_SET, { where, top: keys.length, skip: 0, count: false })).entities;
}

function flatValue(field: FieldDef, value: unknown, refs: References, num: (n: number) => unknown): unknown {
  switch (field.dataType) {
    case 'number':
      return num(Number(value));
    case 'date':
    case 'datetime':
      return isoSeconds(Number(value));
    case 'select':
    case 'radio':
      return optionLabels(field, [String(value)])[0];
    case 'checkbox':
      return optionLabels(field, value as string[]).join(',');
    case 'users':
      return (value as string[]).map((id) => String(refs.users.get(id)?.props.username ?? id)).join(',');
    case 'file':
      return (value as string[]).map((id) => String(refs.files.find((f) => f.file_id === id)?.filename ?? id)).join(',');
    default:
      return String(value);
  }
}

/** The keys every item map carries; `updated_*` only once the item has been updated. */
export function systemKeys(ctx: Pick<DatastoreContext, 'app' | 'datastore'>, item: StoredEntity, num: (n: number) => unknown): Record<string, unknown> {
  const keys: Record<string, unknown> = {
    created_at: isoSeconds(item.published),
    created_by: String(item.props.created_by ?? ''),
    d_id: ctx.datastore.key,
    i_id: item.key,
    p_id: ctx.app.key,
    rev_no: num(item.version),
    status_id: String(item.props.status_id ?? ''),
    title: String(item.props.title ?? ''),
  };
  if (item.version > 1) {
    keys.updated_at = isoSeconds(item.updated);
    keys.updated_by = String(item.props.updated_by ?? '');
  }
  return keys;
}
