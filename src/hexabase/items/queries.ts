import type { EntityStore } from '../../store/entity-store.js';
import { HexabaseError } from '../errors.js';
import { newId } from '../ids.js';
import { HX_SCOPE } from '../model.js';
import { optionalText, requireText, type Body } from '../validate.js';
import { compileConditions } from './conditions.js';
import type { DatastoreResolver } from './context.js';
import { fieldByRef } from './values.js';

const QUERY_SET = 'hx.UserQuery';
const QUERIES_PER_USER_MAX = 200;

/**
 * Saved searches ("よく使う一覧", items-search/GetUserQueries). Hexabase saves them in its GUI; kura
 * adds `POST /api/v0/applications/:app-id/queries` and `DELETE …/queries/:q-id` to save and drop
 * them. A saved query belongs to the user who saved it; its conditions are checked with ItemList's
 * grammar when saved and kept with internal field ids, as the page's sample shows.
 */
export class UserQueries {
  constructor(
    private readonly store: EntityStore,
    private readonly resolver: DatastoreResolver,
  ) {}

  /** GetUserQueries: the caller's saved queries of the application. */
  async list(userId: string, appRef: string) {
    const ctx = await this.resolver.resolveApp(userId, appRef);
    const saved = await this.store.query(this.scope(ctx.user.key, ctx.app.key), QUERY_SET, { top: QUERIES_PER_USER_MAX, skip: 0, count: false });
    return saved.entities.map((q) => ({
      q_id: q.key,
      name: String(q.props.name),
      desc: String(q.props.desc ?? ''),
      display_order: Number(q.props.display_order ?? 0),
      conditions: q.props.conditions,
      projectId: ctx.app.key,
      datastoreId: String(q.props.d_id),
    }));
  }

  /** `POST …/queries {name, desc?, datastore_id, conditions}` → `{q_id}`. */
  async save(userId: string, appRef: string, body: Body) {
    const ctx = await this.resolver.resolve(userId, appRef, requireText(body.datastore_id, 'datastore_id'));
    const name = requireText(body.name, 'name');
    const desc = optionalText(body.desc, 'desc') ?? '';
    if (!Array.isArray(body.conditions)) throw new HexabaseError('INVALID_PARAMS', 'conditions is a list');
    compileConditions({ conditions: body.conditions }, ctx.def, this.store.dialect);
    const conditions = body.conditions.map((c) => normalise(ctx.def, c));
    const scope = this.scope(ctx.user.key, ctx.app.key);
    const count = (await this.store.query(scope, QUERY_SET, { top: 0, skip: 0, count: true })).count ?? 0;
    if (count >= QUERIES_PER_USER_MAX) throw new HexabaseError('INVALID_PARAMS', `at most ${QUERIES_PER_USER_MAX} saved queries per application`);
    const id = newId();
    await this.store.insert(scope, QUERY_SET, id, { name, desc, d_id: ctx.datastore.key, conditions, display_order: count });
    return { q_id: id };
  }

  async remove(userId: string, appRef: string, queryId: string): Promise<null> {
    const ctx = await this.resolver.resolveApp(userId, appRef);
    const saved = await this.store.get(this.scope(ctx.user.key, ctx.app.key), QUERY_SET, queryId);
    if (!saved) throw new HexabaseError('NOT_FOUND', `no saved query ${queryId}`);
    await this.store.delete(saved);
    return null;
  }

  private scope(userKey: string, appKey: string) {
    return { cellId: HX_SCOPE.cellId, boxId: appKey, nodeId: userKey };
  }
}

/** A leaf keeps its options and gains `data_type`; field references become internal ids. */
function normalise(def: Parameters<typeof fieldByRef>[0], condition: unknown): unknown {
  const c = condition as Record<string, unknown>;
  if (Array.isArray(c.conditions)) return { ...c, conditions: c.conditions.map((inner) => normalise(def, inner)) };
  const field = typeof c.id === 'string' ? fieldByRef(def, c.id) : undefined;
  return field ? { ...c, id: field.field_id, data_type: field.dataType } : c;
}
