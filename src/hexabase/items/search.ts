import type { EntityStore, StoredEntity } from '../../store/entity-store.js';
import type { PropertyIndexes } from '../../store/property-indexes.js';
import { HexabaseError } from '../errors.js';
import type { Body } from '../validate.js';
import { compileConditions, compileSort } from './conditions.js';
import { ITEM_SET, type DatastoreContext, type DatastoreResolver } from './context.js';
import type { Histories } from './histories.js';
import type { ItemLinks } from './links.js';
import type { ItemRenderer } from './render.js';

/** The most items one ItemList answer carries (also when `per_page` is 0, "all"). */
export const ITEMS_PER_ANSWER_MAX = 10_000;

/**
 * ItemList (items-search/ItemList.md) and what shares its grammar: the conditions compile to one
 * parameterised WHERE over the datastore's scope (conditions.ts), so filtering, sorting, paging and
 * counting happen in SQL on the expression indexes of searchable fields.
 */
export class ItemSearch {
  constructor(
    private readonly store: EntityStore,
    private readonly resolver: DatastoreResolver,
    private readonly renderer: ItemRenderer,
    private readonly histories: Histories,
    private readonly links: ItemLinks,
    private readonly indexes: PropertyIndexes,
  ) {}

  async list(userId: string, appRef: string, datastoreRef: string, body: Body) {
    const ctx = await this.resolver.resolve(userId, appRef, datastoreRef);
    // Searchable fields get their expression index the first time anyone searches the datastore.
    await this.indexes.ensure(ctx.def.fields.filter((f) => f.search).map((f) => f.field_id));
    const perPage = wholeNumber(body.per_page, 'per_page', 0, ITEMS_PER_ANSWER_MAX) ?? 0;
    const page = wholeNumber(body.page, 'page', 0, 1_000_000) ?? 1;
    const flags = readFlags(body);
    if (body.format !== undefined && body.format !== 'csv') throw new HexabaseError('INVALID_PARAMS', 'format is "csv" or absent');
    let where = compileConditions(body, ctx.def, this.store.dialect);
    if (flags.unread_only) where = await this.histories.unreadFilter(ctx, where);
    const orderBy = compileSort(body, ctx.def, this.store.dialect);
    const top = flags.return_count_only ? 0 : perPage === 0 ? ITEMS_PER_ANSWER_MAX : perPage;
    const skip = perPage === 0 ? 0 : (Math.max(page, 1) - 1) * perPage;
    // One row more than the page: when the page is not full, the total follows without counting.
    const probe = top > 0 && !flags.omit_total_items;
    const found = await this.store.query(ctx.scope, ITEM_SET, { where, orderBy, top: probe ? top + 1 : top, skip, count: false });
    const entities = found.entities.slice(0, top);
    let total = 0;
    if (!flags.omit_total_items) {
      const short = probe && found.entities.length <= top && (entities.length > 0 || skip === 0);
      total = short ? skip + entities.length : ((await this.store.query(ctx.scope, ITEM_SET, { where, top: 0, skip: 0, count: true })).count ?? 0);
    }
    const items = await this.present(ctx, entities, flags);
    if (body.format === 'csv') return csvAnswer(ctx, items, flags.use_display_id);
    return { items, totalItems: total };
  }

  /** The flat item maps of a page, with `unread`, links and lookups as asked. */
  async present(ctx: DatastoreContext, entities: StoredEntity[], flags: Flags): Promise<Record<string, unknown>[]> {
    const items = await this.renderer.flat(ctx, entities, { displayIds: flags.use_display_id, numbers: flags.return_number_value, lookups: flags.include_lookups });
    const unread = await this.histories.unreadCounts(ctx, entities);
    const links = flags.include_links ? await this.links.summaries(entities) : undefined;
    entities.forEach((e, i) => {
      const item = items[i]!;
      const n = unread.get(e.key) ?? 0;
      item.unread = flags.return_number_value ? n : String(n);
      if (links) item.item_links = links.get(e.key);
    });
    return items;
  }

  /** DeleteItemByConditions: the same grammar selects what goes. */
  async selectForDelete(userId: string, appRef: string, datastoreRef: string, body: Body): Promise<{ ctx: DatastoreContext; select: (s: EntityStore) => Promise<StoredEntity[]> }> {
    const ctx = await this.resolver.resolve(userId, appRef, datastoreRef);
    if (!Array.isArray(body.conditions) || body.conditions.length === 0) {
      // An empty condition list would select every item: refused rather than emptying a datastore by accident.
      throw new HexabaseError('INVALID_PARAMS', 'conditions are required');
    }
    const where = compileConditions(body, ctx.def, this.store.dialect);
    return {
      ctx,
      select: async (s) => (await s.query(ctx.scope, ITEM_SET, { where, top: ITEMS_PER_ANSWER_MAX, skip: 0, count: false })).entities,
    };
  }

  /** ExecuteBulkAction's targets: the first `limit` items the conditions select, and how many match. */
  async selectForBulk(ctx: DatastoreContext, body: Body, limit: number): Promise<{ items: StoredEntity[]; matched: number }> {
    if (!Array.isArray(body.conditions) || body.conditions.length === 0) throw new HexabaseError('INVALID_PARAMS', 'conditions are required');
    const where = compileConditions(body, ctx.def, this.store.dialect);
    const found = await this.store.query(ctx.scope, ITEM_SET, { where, top: limit, skip: 0, count: true });
    return { items: found.entities, matched: found.count ?? found.entities.length };
  }

  /** GetItemSearchConditions: the fields a search can name, with what their values may be. */
  async conditions(userId: string, appRef: string, datastoreRef: string) {
    const ctx = await this.resolver.resolve(userId, appRef, datastoreRef);
    const result = ctx.def.fields.map((f, order) => {
      const entry: Record<string, unknown> = { f_id: f.field_id, name: f.name, display_id: f.display_id, data_type: f.dataType, order };
      if (f.options) entry.options = f.options.map((o) => ({ option_id: o.option_id, sort_id: o.sort_id, value: o.value, enabled: o.enabled, color: '' }));
      if (f.dataType === 'status') entry.statuses = ctx.def.statuses.map((s) => ({ status_id: s.s_id, status_name: s.name }));
      if (f.dataType === 'dslookup') entry.ds_lookup_info = { dslookup_project_id: ctx.app.key, dslookup_datastore_id: f.dslookup_datastore_id, dslookup_field_id: '' };
      if (f.dataType === 'users') entry.users_info = { single_select: false };
      return entry;
    });
    return { has_error: false, result };
  }

  /** GetItemDetails, both routes and both forms. */
  async details(userId: string, appRef: string | undefined, datastoreRef: string, itemId: string, query: Record<string, unknown>) {
    const ctx = await this.resolver.resolve(userId, appRef, datastoreRef);
    const item = await this.resolver.item(ctx, itemId);
    const displayIds = query.use_display_id === 'true';
    const map = displayIds || query.format === 'map';
    const numbers = query.return_number_value === 'true';
    const field_values = await this.renderer.fieldValues(ctx, item, map, query.include_lookups === 'true');
    const statuses = ctx.def.statuses;
    const current = item.props.status_id;
    const statusActions = ctx.def.actions.filter((a) => a.crud_type === '2' && a.next_status_id && (!a.from_status_id || a.from_status_id === current));
    const itemActions = ctx.def.actions.filter((a) => !a.next_status_id && (!a.from_status_id || a.from_status_id === current));
    const statusKey = (sId: string | null) => (map ? (statuses.find((s) => s.s_id === sId)?.display_id ?? sId) : sId);
    const out: Record<string, unknown> = { title: String(item.props.title ?? ''), rev_no: item.version, field_values };
    if (map) {
      out.status_list = Object.fromEntries(statuses.map((s) => [s.display_id, { status_id: s.display_id, s_id: s.s_id, status_name: s.name }]));
      out.status_actions = Object.fromEntries(statusActions.map((a) => [a.display_id, { action_id: a.display_id, a_id: a.a_id, action_name: a.name, display_order: a.display_order, crud_type: a.crud_type, next_status_id: statusKey(a.next_status_id) }]));
      out.item_actions = Object.fromEntries(itemActions.map((a) => [a.display_id, { action_id: a.display_id, a_id: a.a_id, action_name: a.name, display_order: a.display_order, crud_type: a.crud_type }]));
      out.status_order = statuses.map((s) => s.display_id);
      out.status_action_order = statusActions.map((a) => a.display_id);
      out.item_action_order = itemActions.map((a) => a.display_id);
    } else {
      out.status_list = statuses.map((s) => ({ status_id: s.s_id, status_name: s.name, sort_id: s.sort_id }));
      out.status_actions = statusActions.map((a) => ({ action_id: a.a_id, action_name: a.name, display_order: a.display_order, crud_type: a.crud_type, next_status_id: a.next_status_id }));
      out.item_actions = itemActions.map((a) => ({ action_id: a.a_id, action_name: a.name, display_order: a.display_order, crud_type: a.crud_type }));
    }
    if (query.include_linked_items === 'true') out.linked_items = await this.links.linkedItems(ctx, item, { displayIds: map, numbers, lookups: query.include_lookups === 'true' });
    return out;
  }
}

export interface Flags {
  use_display_id: boolean;
  return_number_value: boolean;
  include_links: boolean;
  include_lookups: boolean;
  return_count_only: boolean;
  omit_total_items: boolean;
  unread_only: boolean;
}

const FLAG_NAMES = ['use_display_id', 'return_number_value', 'include_links', 'include_lookups', 'return_count_only', 'omit_total_items', 'unread_only', 'omit_fields_data', 'use_default_search'] as const;

export function readFlags(body: Body): Flags {
  const flags: Record<string, boolean> = {};
  for (const name of FLAG_NAMES) {
    const v = body[name];
    if (v !== undefined && v !== null && typeof v !== 'boolean') throw new HexabaseError('INVALID_PARAMS', `${name} is true or false`);
    flags[name] = v === true;
  }
  return flags as unknown as Flags;
}

function wholeNumber(value: unknown, name: string, min: number, max: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) throw new HexabaseError('INVALID_PARAMS', `${name} is a whole number from ${min} to ${max}`);
  return n;
}

/** `format: "csv"` (the page leaves the layout open): a header of field names, then one row per item. */
function csvAnswer(ctx: DatastoreContext, items: Record<string, unknown>[], displayIds: boolean) {
  const fields = ctx.def.fields;
  const keys = ['i_id', ...fields.map((f) => (displayIds ? f.display_id : f.field_id))];
  const header = ['i_id', ...fields.map((f) => f.name)];
  const lines = [header, ...items.map((item) => keys.map((k) => item[k] ?? ''))].map((row) => row.map(csvCell).join(','));
  return new CsvText(`${lines.join('\r\n')}\r\n`);
}

/** A CSV answer; the route sends it as text/csv instead of JSON. */
export class CsvText {
  constructor(readonly text: string) {}
}

/** Quoted as RFC 4180 asks; a cell a spreadsheet would run as a formula gets a leading `'`. */
function csvCell(value: unknown): string {
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
