import { sql, type Expression, type Kysely, type SqlBool } from 'kysely';
import { jsonStringEquals } from '../../query/compile.js';
import type { EntityStore, StoredEntity } from '../../store/entity-store.js';
import type { Database } from '../../store/schema.js';
import { HexabaseError } from '../errors.js';
import { newId } from '../ids.js';
import { HX_LINKS, HX_SCOPE, HX_SETS } from '../model.js';
import type { Body } from '../validate.js';
import { HISTORY_SET, historyScope, type DatastoreContext, type DatastoreResolver } from './context.js';
import { parseInstant } from './values.js';

const READ_MARK_SET = 'hx.ReadMark';
const WINDOW_MAX = 100;
const COMMENT_MAX = 100_000;

/**
 * Item histories and comments (item-histories/). Every write of an item records a history in the
 * item's own scope (items.ts); comments are histories too. Unread state is one mark per user and
 * item — the time up to which the user has read — so nothing is written per reader on each post.
 */
export class Histories {
  constructor(
    private readonly store: EntityStore,
    private readonly resolver: DatastoreResolver,
  ) {}

  /** GetItemHistories; marks what it returns as read for the caller. */
  async list(userId: string, appRef: string | undefined, datastoreRef: string, itemId: string, query: Record<string, unknown>) {
    const ctx = await this.resolver.resolve(userId, appRef, datastoreRef);
    const item = await this.resolver.item(ctx, itemId);
    const from = index(query.from_index ?? query.from_item_index, 'from_index', 0);
    const to = index(query.to_index ?? query.to_item_index, 'to_index', 30);
    if (to < from || to - from > WINDOW_MAX) throw new HexabaseError('INVALID_PARAMS', `to_index - from_index is 0 to ${WINDOW_MAX}`);
    const since = instant(query.from_datetime, 'from_datetime');
    const until = instant(query.to_datetime, 'to_datetime');
    const noActions = query.exclude_action_history === 'true';
    const noComments = query.exclude_comment_history === 'true';
    const all = await this.all(ctx, item.key);
    const mark = await this.readMark(ctx, item.key);
    const unread = all.filter((h) => isUnread(h, ctx.user.key, mark)).length;
    const chosen = all
      .filter((h) => (h.props.kind === 'comment' ? !noComments : !noActions))
      .filter((h) => (since === undefined || h.published >= since) && (until === undefined || h.published <= until))
      .sort((a, b) => b.updated - a.updated || b.published - a.published)
      .slice(from, to);
    const users = new Map<string, StoredEntity | undefined>();
    const histories = [];
    for (const [i, h] of chosen.entries()) {
      const authorId = String(h.props.user_id);
      if (!users.has(authorId)) users.set(authorId, await this.store.get(HX_SCOPE, HX_SETS.user, authorId));
      const author = users.get(authorId);
      const entry: Record<string, unknown> = {
        history_id: h.key,
        display_order: i,
        is_unread: isUnread(h, ctx.user.key, mark),
        comment: String(h.props.comment ?? ''),
        created_at: new Date(h.published).toISOString(),
      };
      if (h.props.kind !== 'comment') {
        Object.assign(entry, {
          action_id: h.props.action_id,
          action_name: h.props.action_name,
          transaction_id: h.props.transaction_id,
          action_operation: h.props.action_operation,
          is_status_action: h.props.is_status_action === true,
        });
      }
      Object.assign(entry, {
        datastore_id: ctx.datastore.key,
        datastore_name: String(ctx.datastore.props.name),
        user_id: authorId,
        username: String(author?.props.username ?? ''),
        email: String(author?.props.email ?? ''),
      });
      if (h.props.updated_by) entry.updated_by = h.props.updated_by;
      Object.assign(entry, { updated_at: new Date(h.updated).toISOString(), is_updated: h.version > 1 });
      histories.push(entry);
    }
    const newest = Math.max(0, ...chosen.map((h) => h.published));
    if (newest > (mark ?? 0)) await this.setReadMark(ctx, item.key, newest);
    return { unread, histories };
  }

  /** PostItemComment `{comment}` → `null`. */
  async post(userId: string, appRef: string | undefined, datastoreRef: string, itemId: string, body: Body): Promise<null> {
    const ctx = await this.resolver.resolve(userId, appRef, datastoreRef);
    const item = await this.resolver.item(ctx, itemId);
    const comment = readComment(body.comment);
    await this.store.insert(historyScope(ctx.datastore.key, item.key), HISTORY_SET, newId(), { kind: 'comment', user_id: ctx.user.key, comment });
    return null;
  }

  /** UpdateItemComment (`comment` given) and DeleteItemComment: the author's, or an application administrator's. */
  async change(userId: string, appRef: string, datastoreRef: string, itemId: string, historyId: string, body: Body | undefined): Promise<null> {
    const ctx = await this.resolver.resolve(userId, appRef, datastoreRef);
    const item = await this.resolver.item(ctx, itemId);
    const what = body ? 'update' : 'delete';
    const comment = body ? readComment(body.comment) : undefined;
    const history = await this.store.get(historyScope(ctx.datastore.key, item.key), HISTORY_SET, historyId);
    if (!history) throw new HexabaseError('NOT_FOUND', `history ${historyId} not found`);
    const mayChange = history.props.kind === 'comment' && (history.props.user_id === ctx.user.key || (await this.administers(ctx)));
    if (!mayChange) throw new HexabaseError('NO_PRIVILEGES', `no privileges to ${what} history`, 403, { error: `no privileges to ${what} history` });
    if (comment === undefined) await this.store.delete(history);
    else await this.store.update(history, { key: history.key, props: { ...history.props, comment, updated_by: ctx.user.key } });
    return null;
  }

  /**
   * Unread histories per item of a page: written by others after the caller's read mark — one
   * query joining each history to the caller's mark on its item.
   */
  async unreadCounts(ctx: DatastoreContext, items: StoredEntity[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    if (items.length === 0) return counts;
    const markAt = this.store.dialect === 'sqlite' ? sql`json_extract(m.props, '$."at"')` : sql`(m.props #>> '{at}')::bigint`;
    const author = this.store.dialect === 'sqlite' ? sql`json_extract(h.props, '$."user_id"')` : sql`(h.props #>> '{user_id}')`;
    for (let i = 0; i < items.length; i += 500) {
      const keys = items.slice(i, i + 500).map((e) => e.key);
      const rows = await sql<{ node_id: string; n: number | string }>`select h.node_id as node_id, count(*) as n from entities h
        left join entities m on m.cell_id = ${HX_SCOPE.cellId} and m.box_id = ${ctx.datastore.key} and m.node_id = ${ctx.user.key}
          and m.entity_set = ${READ_MARK_SET} and m.entity_key = h.node_id
        where h.cell_id = ${HX_SCOPE.cellId} and h.box_id = ${ctx.datastore.key} and h.node_id in (${sql.join(keys)}) and h.entity_set = ${HISTORY_SET}
          and ${author} <> ${ctx.user.key} and h.published > coalesce(${markAt}, 0)
        group by h.node_id`.execute(this.store.executor);
      for (const r of rows.rows) counts.set(r.node_id, Number(r.n));
    }
    return counts;
  }

  /** ItemList's `unread_only`: `where` narrowed to items with unread histories. */
  async unreadFilter(ctx: DatastoreContext, where: Expression<SqlBool> | undefined): Promise<Expression<SqlBool>> {
    const db = this.store.executor as Kysely<Database>;
    const rows = await db
      .selectFrom('entities')
      .select(['node_id', (eb) => eb.fn.max('published').as('last')])
      .where('cell_id', '=', HX_SCOPE.cellId)
      .where('box_id', '=', ctx.datastore.key)
      .where('entity_set', '=', HISTORY_SET)
      .where(this.notBy(ctx.user.key))
      .groupBy('node_id')
      .execute();
    const marks = await this.readMarks(ctx);
    const keys = rows.filter((r) => Number(r.last) > (marks.get(r.node_id) ?? 0)).map((r) => r.node_id);
    const unread = keys.length === 0 ? sql<SqlBool>`1 = 0` : sql<SqlBool>`entity_key in (${sql.join(keys)})`;
    return where ? sql<SqlBool>`(${where} and ${unread})` : unread;
  }

  private notBy(userKey: string): Expression<SqlBool> {
    return sql<SqlBool>`not (${jsonStringEquals('props', 'user_id', userKey, this.store.dialect)})`;
  }

  private async all(ctx: DatastoreContext, itemKey: string): Promise<StoredEntity[]> {
    return (await this.store.query(historyScope(ctx.datastore.key, itemKey), HISTORY_SET, { top: 100_000, skip: 0, count: false })).entities;
  }

  private markScope(ctx: DatastoreContext) {
    return { cellId: HX_SCOPE.cellId, boxId: ctx.datastore.key, nodeId: ctx.user.key };
  }

  private async readMark(ctx: DatastoreContext, itemKey: string): Promise<number | undefined> {
    const mark = await this.store.get(this.markScope(ctx), READ_MARK_SET, itemKey);
    return mark ? Number(mark.props.at) : undefined;
  }

  private async readMarks(ctx: DatastoreContext): Promise<Map<string, number>> {
    const marks = await this.store.query(this.markScope(ctx), READ_MARK_SET, { top: 1_000_000, skip: 0, count: false });
    return new Map(marks.entities.map((m) => [m.key, Number(m.props.at)]));
  }

  private async setReadMark(ctx: DatastoreContext, itemKey: string, at: number): Promise<void> {
    const scope = this.markScope(ctx);
    const current = await this.store.get(scope, READ_MARK_SET, itemKey);
    if (current) await this.store.update(current, { key: itemKey, props: { at } });
    else await this.store.insert(scope, READ_MARK_SET, itemKey, { at }).catch(() => undefined); // a concurrent reader set it
  }

  /** Workspace administrators and the application's creator administer its histories. */
  private async administers(ctx: DatastoreContext): Promise<boolean> {
    if (ctx.app.props.created_by === ctx.user.key) return true;
    const workspace = await this.store.get(HX_SCOPE, HX_SETS.workspace, String(ctx.app.props.w_id));
    return workspace !== undefined && (await this.store.hasLink(HX_LINKS.workspaceAdmin, workspace.id, ctx.user.id));
  }
}

function isUnread(h: StoredEntity, userKey: string, mark: number | undefined): boolean {
  return h.props.user_id !== userKey && h.published > (mark ?? 0);
}

function index(value: unknown, name: string, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n)) throw new HexabaseError('INVALID_PARAMS', `${name} is a whole number`);
  return n;
}

function instant(value: unknown, name: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  const ms = typeof value === 'string' ? parseInstant(value) : NaN;
  if (!Number.isFinite(ms)) throw new HexabaseError('INVALID_PARAMS', `${name} is an ISO-8601 UTC date-time`);
  return ms;
}

function readComment(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new HexabaseError('INVALID_PARAMS', 'comment is required');
  if (value.length > COMMENT_MAX) throw new HexabaseError('INVALID_VALUE', 'comment is too long');
  return value;
}
