import { sql, type Kysely, type SqlBool } from 'kysely';
import type { FilterExpr } from '../../query/ast.js';
import { compileFilter, jsonStringEquals } from '../../query/compile.js';
import type { EntityStore, StoredEntity } from '../../store/entity-store.js';
import type { Database } from '../../store/schema.js';
import type { Applications } from '../applications/applications.js';
import type { FieldDef } from '../applications/datastores.js';
import { HexabaseError } from '../errors.js';
import { HX_SCOPE } from '../model.js';
import { optionalText, type Body } from '../validate.js';
import { HISTORY_SET, ITEM_SET, type DatastoreContext, type DatastoreResolver } from './context.js';
import { FILE_SET } from './items.js';
import { itemsByKey } from './render.js';
import type { ItemSearch } from './search.js';

/** Hits one GlobalSearch answer carries. */
const HITS_MAX = 100;
const QUERY_MAX = 255;
const SEARCHABLE: ReadonlySet<string> = new Set(['text', 'textarea', 'autonum']);
const CATEGORIES = ['items', 'files', 'histories'] as const;

/**
 * GlobalSearch (items-search/GlobalSearch.md): the query as a substring of the values of fields
 * marked `full_text`, of history comments and of attachment names, across the applications of the
 * caller's current workspace it may see. kura matches case-sensitively and reads no text out of
 * attached files (their names are searched); hits come back newest item first, at most 100.
 */
export class GlobalSearch {
  constructor(
    private readonly store: EntityStore,
    private readonly applications: Applications,
    private readonly resolver: DatastoreResolver,
    private readonly search: ItemSearch,
  ) {}

  async run(userId: string, body: Body) {
    const query = body.query;
    if (typeof query !== 'string' || query.trim() === '') throw new HexabaseError('INVALID_PARAMS', 'query is required');
    if (query.length > QUERY_MAX) throw new HexabaseError('INVALID_PARAMS', `query has at most ${QUERY_MAX} characters`);
    const category = optionalText(body.category, 'category');
    if (category !== undefined && !(CATEGORIES as readonly string[]).includes(category)) throw new HexabaseError('INVALID_PARAMS', 'category is items, files or histories');
    const appRef = optionalText(body.app_id, 'app_id');
    const datastoreRef = optionalText(body.datastore_id, 'datastore_id');
    const fieldRef = optionalText(body.field_id, 'field_id');
    if (body.return_item_list !== undefined && typeof body.return_item_list !== 'boolean') throw new HexabaseError('INVALID_PARAMS', 'return_item_list is true or false');

    const contexts = await this.contexts(userId, appRef, datastoreRef);
    const hits: Record<string, unknown>[] = [];
    const hitItems = new Map<string, { ctx: DatastoreContext; keys: string[] }>();
    const note = (ctx: DatastoreContext, key: string) => {
      const entry = hitItems.get(ctx.datastore.key) ?? { ctx, keys: [] };
      if (!entry.keys.includes(key)) entry.keys.push(key);
      hitItems.set(ctx.datastore.key, entry);
    };
    for (const ctx of contexts) {
      if (hits.length >= HITS_MAX) break;
      const common = (i_id: string, title: string) => ({
        d_id: ctx.datastore.key,
        datastore_name: String(ctx.datastore.props.name),
        i_id,
        p_id: ctx.app.key,
        project_name: String(ctx.app.props.name),
        title,
        w_id: String(ctx.app.props.w_id),
      });
      if (category === undefined || category === 'items') {
        const fields = ctx.def.fields.filter((f) => f.full_text && SEARCHABLE.has(f.dataType) && (fieldRef === undefined || f.field_id === fieldRef || f.display_id === fieldRef));
        const found: StoredEntity[] = await this.matchingItems(ctx, fields, query, HITS_MAX - hits.length);
        for (const item of found) {
          for (const f of fields) {
            const value: unknown = item.props[f.field_id];
            if (typeof value !== 'string' || !value.includes(query)) continue;
            hits.push({ category: 'items', ...common(item.key, String(item.props.title ?? '')), f_id: f.field_id, highlight_value: { value: [highlight(value, query)] } });
          }
          note(ctx, item.key);
        }
      }
      if (category === undefined || category === 'histories') {
        for (const h of await this.matchingHistories(ctx, query, HITS_MAX - hits.length)) {
          const [item] = await itemsByKey(this.store, ctx.app.key, ctx.datastore.key, [h.node_id]);
          if (!item) continue;
          hits.push({ category: 'histories', ...common(item.key, String(item.props.title ?? '')), h_id: h.entity_key, highlight_value: { value: [highlight(h.comment, query)] } });
          note(ctx, item.key);
        }
      }
      if (category === undefined || category === 'files') {
        for (const f of await this.matchingFiles(ctx, query, HITS_MAX - hits.length)) {
          const [item] = await itemsByKey(this.store, ctx.app.key, ctx.datastore.key, [String(f.props.i_id)]);
          if (!item) continue;
          hits.push({ category: 'files', ...common(item.key, String(item.props.title ?? '')), f_id: String(f.props.field_id), file_id: f.key, highlight_value: { value: [highlight(String(f.props.filename), query)] } });
          note(ctx, item.key);
        }
      }
    }
    const out: Record<string, unknown> = { search_result: hits.slice(0, HITS_MAX) };
    if (body.return_item_list === true) {
      // The item list is ItemList over the hits of one datastore: the one named, else the first hit's.
      const first = datastoreRef !== undefined ? contexts[0] : [...hitItems.values()][0]?.ctx;
      const keys = first ? (hitItems.get(first.datastore.key)?.keys ?? []) : [];
      if (!first || keys.length === 0) out.item_list = { items: [], totalItems: 0 };
      else {
        const params = (typeof body.item_search_params === 'object' && body.item_search_params !== null ? body.item_search_params : {}) as Body;
        const own = Array.isArray(params.conditions) ? params.conditions : [];
        out.item_list = await this.search.list(userId, first.app.key, first.datastore.key, {
          ...params,
          conditions: [...own, { id: 'i_id', search_value: keys }],
          use_or_condition: false,
        });
      }
    }
    return out;
  }

  private async contexts(userId: string, appRef: string | undefined, datastoreRef: string | undefined): Promise<DatastoreContext[]> {
    const user = await this.store.get(HX_SCOPE, 'hx.User', userId);
    const workspaceKey = String(user?.props.current_workspace_id ?? '');
    const apps = appRef !== undefined ? [{ application_id: (await this.applications.visible(userId, appRef)).key }] : await this.applications.list(userId, workspaceKey);
    const out: DatastoreContext[] = [];
    for (const a of apps) {
      for (const ds of await this.applications.datastoresOf(a.application_id)) {
        if (datastoreRef !== undefined && ds.key !== datastoreRef && ds.props.display_id !== datastoreRef) continue;
        out.push(await this.resolver.resolve(userId, a.application_id, ds.key));
      }
    }
    if (datastoreRef !== undefined && out.length === 0) throw new HexabaseError('NOT_FOUND', `no datastore ${datastoreRef}`);
    return out;
  }

  private async matchingItems(ctx: DatastoreContext, fields: FieldDef[], query: string, limit: number): Promise<StoredEntity[]> {
    if (fields.length === 0 || limit <= 0) return [];
    const calls: FilterExpr[] = fields.map((f) => ({
      type: 'call',
      name: 'substringof',
      args: [{ type: 'literal', value: { kind: 'string', value: query } }, { type: 'property', path: [f.field_id] }],
    }));
    const ast = calls.reduce((left, right) => ({ type: 'or', left, right }));
    const where = compileFilter(ast, (path) => ({ kind: 'json', column: 'props', path, type: 'Edm.String' }), this.store.dialect);
    const found = await this.store.query(ctx.scope, ITEM_SET, { where, orderBy: [{ expr: sql`published`, direction: 'desc' }], top: limit, skip: 0, count: false });
    return found.entities;
  }

  private async matchingHistories(ctx: DatastoreContext, query: string, limit: number) {
    if (limit <= 0) return [];
    const db = this.store.executor as Kysely<Database>;
    const comment = this.store.dialect === 'sqlite' ? sql<string>`json_extract(props, '$."comment"')` : sql<string>`(props #>> '{comment}')`;
    const contains = this.store.dialect === 'sqlite' ? sql<SqlBool>`instr(${comment}, ${query}) > 0` : sql<SqlBool>`strpos(${comment}, ${query}) > 0`;
    return db
      .selectFrom('entities')
      .select(['node_id', 'entity_key', comment.as('comment')])
      .where('cell_id', '=', HX_SCOPE.cellId)
      .where('box_id', '=', ctx.datastore.key)
      .where('entity_set', '=', HISTORY_SET)
      .where(contains)
      .orderBy('published', 'desc')
      .limit(limit)
      .execute();
  }

  private async matchingFiles(ctx: DatastoreContext, query: string, limit: number): Promise<StoredEntity[]> {
    if (limit <= 0) return [];
    const filename = this.store.dialect === 'sqlite' ? sql<string>`json_extract(props, '$."filename"')` : sql<string>`(props #>> '{filename}')`;
    const contains = this.store.dialect === 'sqlite' ? sql<SqlBool>`instr(${filename}, ${query}) > 0` : sql<SqlBool>`strpos(${filename}, ${query}) > 0`;
    const where = sql<SqlBool>`(${jsonStringEquals('props', 'd_id', ctx.datastore.key, this.store.dialect)} and ${contains})`;
    return (await this.store.query(HX_SCOPE, FILE_SET, { where, top: limit, skip: 0, count: false })).entities;
  }
}

/** The hit with up to 30 characters either side, HTML-escaped, the match wrapped as the page shows. */
function highlight(text: string, query: string): string {
  const at = text.indexOf(query);
  if (at < 0) return escapeHtml(text.slice(0, 60));
  const start = Math.max(0, at - 30);
  const end = Math.min(text.length, at + query.length + 30);
  return `${escapeHtml(text.slice(start, at))}<em class='searched_em'>${escapeHtml(query)}</em>${escapeHtml(text.slice(at + query.length, end))}`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
