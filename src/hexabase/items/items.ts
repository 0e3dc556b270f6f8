import { DuplicateKeyError, VersionMismatchError, type EntityStore, type StoredEntity } from '../../store/entity-store.js';
import type { ActionDef, FieldDef } from '../applications/datastores.js';
import { HexabaseError } from '../errors.js';
import { ID_PATTERN, newId, orderedId } from '../ids.js';
import { HX_LINKS, HX_SCOPE, HX_SETS } from '../model.js';
import { requireText, type Body } from '../validate.js';
import { HISTORY_SET, ITEM_LINK, ITEM_SET, historyScope, type DatastoreContext, type DatastoreResolver } from './context.js';
import type { ItemRenderer } from './render.js';
import { canonicalValue, optionLabels, readChanges, uniqueKey, type Canonical, type ValueChecks } from './values.js';

export const UNIQUE_SET = 'hx.UniqueValue';
export const AUTONUM_SET = 'hx.AutoNum';
export const FILE_SET = 'hx.File';
const COMMENT_MAX = 100_000;
const WRITE_ATTEMPTS = 8;

/** What a write records in the item's history (GetItemHistories). */
export interface HistoryEntry {
  action?: ActionDef | undefined;
  operation: '1' | '2' | '3';
  comment?: string | undefined;
  changes: Array<{ field_id: string; old: unknown; new: unknown }>;
}

/** Files whose item is deleted go with it (src/hexabase/files). */
export interface ItemFiles {
  removeForItem(itemId: string): Promise<void>;
}

/**
 * Item writes (item-actions/CreateItem, UpdateItem, DeleteItem, DeleteItemByConditions,
 * GetAutoNumber). Each write is one transaction: values checked against the definition, unique
 * values reserved, auto numbers drawn and the history written together, so a refused request
 * leaves nothing behind and a number is never handed out twice.
 */
export class Items {
  constructor(
    private readonly store: EntityStore,
    private readonly resolver: DatastoreResolver,
    private readonly renderer: ItemRenderer,
    private readonly files?: ItemFiles,
  ) {}

  /** CreateItem → `{error, history_id, item_id, item?}`. */
  async create(userId: string, appRef: string | undefined, datastoreRef: string, body: Body, itemId = orderedId()) {
    const ctx = await this.resolver.resolve(userId, appRef, datastoreRef);
    return this.createIn(ctx, body, itemId, this.action(ctx, body.action_id, '1'));
  }

  /** CreateItemWithItemID: the id from CreateNewItemID (files may already be uploaded for it). */
  async createWithId(userId: string, itemId: string, actionRef: string, body: Body): Promise<null> {
    if (!ID_PATTERN.test(itemId)) throw new HexabaseError('INVALID_PARAMS', 'item-id is an id from CreateNewItemID');
    const appRef = requireText(body.project_id, 'project_id');
    const ctx = await this.resolver.resolve(userId, appRef, requireText(body.datastore_id, 'datastore_id'));
    await this.createIn(ctx, body, itemId, this.action(ctx, actionRef, '1'));
    return null;
  }

  private async createIn(ctx: DatastoreContext, body: Body, itemId: string, action: ActionDef | undefined, copyOf?: Record<string, unknown>) {
    refuseUnsupported(body);
    const changes = readChanges(ctx.def, body);
    checkSettings(ctx, action, changes);
    const values = await this.canonical(ctx, itemId, changes);
    const comment = readComment(body.comment);
    const statusId = action?.next_status_id ?? ctx.def.statuses[0]?.s_id ?? '';
    const { item, historyId } = await this.retrying(() =>
      this.store.withTransaction(async (trx) => {
        const props: Record<string, unknown> = {};
        // A copy starts from the original's values (but draws its own numbers).
        for (const field of ctx.def.fields) {
          const v = copyOf?.[field.field_id];
          if (v !== undefined && field.dataType !== 'autonum' && field.dataType !== 'file') props[field.field_id] = v;
        }
        for (const [id, v] of values) {
          if (v === null) delete props[id];
          else props[id] = v;
        }
        checkFilled(ctx, action, props, true);
        for (const field of ctx.def.fields) {
          if (field.dataType === 'autonum') props[field.field_id] = `${field.prefix ?? ''}${await this.draw(trx, ctx, field, '')}`;
        }
        await this.reserveUnique(trx, ctx, itemId, ctx.def.fields, {}, props);
        Object.assign(props, { status_id: statusId, created_by: ctx.user.key, title: titleOf(ctx, props) });
        let item: StoredEntity;
        try {
          item = await trx.insert(ctx.scope, ITEM_SET, itemId, props);
        } catch (err) {
          if (err instanceof DuplicateKeyError) throw new HexabaseError('INVALID_PARAMS', `item ${itemId} exists already`);
          throw err;
        }
        const historyId = await this.writeHistory(trx, ctx, item, {
          action,
          operation: '1',
          comment,
          changes: Object.keys(props).filter((k) => ID_PATTERN.test(k)).map((k) => ({ field_id: k, old: null, new: props[k] })),
        });
        return { item, historyId };
      }),
    );
    const result: Record<string, unknown> = { error: null, history_id: historyId, item_id: item.key };
    if (body.return_item_result === true) result.item = (await this.renderer.flat(ctx, [item], { displayIds: body.use_display_id === true, numbers: false, lookups: false }))[0];
    return result;
  }

  /** UpdateItem: `rev_no` must match unless `is_force_update`; → `null` or `{item}`. */
  async update(userId: string, appRef: string | undefined, datastoreRef: string, itemId: string, body: Body) {
    const ctx = await this.resolver.resolve(userId, appRef, datastoreRef);
    const item = await this.modify(ctx, itemId, body.action_id, body, false);
    return this.answer(ctx, item, body);
  }

  /**
   * ExecuteAction / ExecuteActionByActionID: the named action on one item — an update (crud 2,
   * moving the status to `next_status_id`), a delete (3) or a copy (4).
   */
  async execute(userId: string, appRef: string | undefined, datastoreRef: string, itemId: string, actionRef: string, body: Body) {
    const ctx = await this.resolver.resolve(userId, appRef, datastoreRef);
    const action = this.namedAction(ctx, actionRef);
    switch (action.crud_type) {
      case '1':
        throw new HexabaseError('INVALID_PARAMS', `${action.display_id} creates items: run it with CreateItem or CreateItemWithItemID`);
      case '2':
        return this.answer(ctx, await this.modify(ctx, itemId, action.a_id, body, false), body);
      case '3': {
        await this.store.withTransaction(async (trx) => {
          const item = await this.resolver.item(ctx, itemId, trx);
          this.checkStatus(ctx, action, item);
          await this.deleteOne(trx, ctx, item);
        });
        if (this.files) await this.files.removeForItem(itemId);
        return null;
      }
      case '4': {
        const original = await this.resolver.item(ctx, itemId);
        this.checkStatus(ctx, action, original);
        return this.createIn(ctx, body, orderedId(), action, original.props);
      }
    }
  }

  /**
   * ExecuteBulkAction: an update action on every item the conditions select (at most `max_items`),
   * each item in its own transaction, each outcome reported; `item_revisions` makes the named items
   * revision-checked, the others are forced (the page's rule).
   */
  async bulk(userId: string, appRef: string, datastoreRef: string, actionRef: string, body: Body, select: (ctx: DatastoreContext, limit: number) => Promise<{ items: StoredEntity[]; matched: number }>) {
    const ctx = await this.resolver.resolve(userId, appRef, datastoreRef);
    const action = this.namedAction(ctx, actionRef);
    if (action.crud_type !== '2' && action.crud_type !== '3') throw new HexabaseError('INVALID_PARAMS', 'a bulk action updates or deletes items');
    const max = body.max_items === undefined ? 100 : body.max_items;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 10 || max > 300 || max % 10 !== 0) throw new HexabaseError('INVALID_PARAMS', 'max_items is 10, 20, … 300');
    const revisions = body.item_revisions ?? {};
    if (typeof revisions !== 'object' || revisions === null || Array.isArray(revisions)) throw new HexabaseError('INVALID_PARAMS', 'item_revisions maps item ids to rev_no');
    // Values are checked once, before any item changes: a bad value fails the whole call.
    refuseUnsupported(body);
    checkSettings(ctx, action, readChanges(ctx.def, body));
    const { items, matched } = await select(ctx, max);
    if (matched === 0) return { errors: [{ description: 'target was not found.', error: '', error_level: 'WARN' }], has_error: false, result: { matched: 0, processed: 0 } };
    if (matched > max && body.continue_proc !== true) {
      return { errors: [{ description: `the number of items has reached max_items ${max}`, error_level: 'WARN' }], has_error: true, result: { matched, processed: 0 } };
    }
    const errors: Record<string, unknown>[] = [];
    if (matched > max) errors.push({ description: `the number of items has reached max_items ${max}`, error_level: 'WARN' });
    let processed = 0;
    for (const item of items.slice(0, max)) {
      const rev = (revisions as Record<string, unknown>)[item.key];
      try {
        if (action.crud_type === '3') {
          await this.store.withTransaction(async (trx) => {
            const current = await this.resolver.item(ctx, item.key, trx);
            if (rev !== undefined && readRevision(rev) !== current.version) throw await this.revConflict(ctx, current, readRevision(rev));
            this.checkStatus(ctx, action, current);
            await this.deleteOne(trx, ctx, current);
          });
          if (this.files) await this.files.removeForItem(item.key);
        } else {
          await this.modify(ctx, item.key, action.a_id, { ...body, rev_no: rev, is_force_update: rev === undefined }, true);
        }
        processed++;
      } catch (err) {
        if (!(err instanceof HexabaseError)) throw err;
        const conflict = err.code === 'ITEM_REV_CONFLICT';
        errors.push({
          description: err.message,
          error: conflict ? 'Revision number mismatch' : err.code === 'NO_PRIVILEGES' ? 'action not allowed in the current status' : 'Error',
          error_code: err.code,
          error_level: 'ERROR',
          reference_id: item.key,
        });
      }
    }
    const out: Record<string, unknown> = { has_error: errors.length > 0, result: { matched, processed } };
    return errors.length > 0 ? { errors, ...out } : out;
  }

  /** GetNewActions: the create actions the caller may run. */
  newActions(ctx: DatastoreContext) {
    const actions = (ctx.def.actions ?? []).filter((a) => a.crud_type === '1' && mayRun(ctx, a));
    if (actions.length === 0) {
      throw new HexabaseError('INVALID_PARAMS', `new action is not found for ${ctx.datastore.key}`, 404, {
        code: 101,
        error_code: 'INVALID_PARAMS',
        message: `new action is not found for ${ctx.datastore.key}`,
      });
    }
    return { actions: actions.map((a) => ({ action_id: a.a_id, display_order: a.display_order, crud_type: '1', next_status_id: a.next_status_id ?? '' })) };
  }

  private async answer(ctx: DatastoreContext, item: StoredEntity, body: Body) {
    if (body.return_item_result !== true) return null;
    return { item: (await this.renderer.flat(ctx, [item], { displayIds: body.use_display_id === true, numbers: false, lookups: false }))[0] };
  }

  /**
   * One item's update as `actionRef` (or the default update action): revision, status and role
   * checks, the changed values, unique reservations, the new status and the history, together.
   */
  private async modify(ctx: DatastoreContext, itemId: string, actionRef: unknown, body: Body, bulk: boolean): Promise<StoredEntity> {
    refuseUnsupported(body);
    const forced = body.is_force_update === true;
    const expected = forced ? undefined : readRevision(body.rev_no);
    const changes = readChanges(ctx.def, body);
    const values = await this.canonical(ctx, itemId, changes);
    const comment = readComment(body.comment);
    return this.retrying(() =>
      this.store.withTransaction(async (trx) => {
        const current = await this.resolver.item(ctx, itemId, trx);
        if (expected !== undefined && expected !== current.version) throw await this.revConflict(ctx, current, expected);
        const action = this.updateAction(ctx, actionRef, current);
        if (!bulk) checkSettings(ctx, action, changes);
        const props: Record<string, unknown> = { ...current.props };
        const diff: HistoryEntry['changes'] = [];
        for (const [id, v] of values) {
          const old = props[id] ?? null;
          if (uniqueKey((old ?? '') as Canonical) === uniqueKey((v ?? '') as Canonical)) continue;
          diff.push({ field_id: id, old, new: v });
          if (v === null) delete props[id];
          else props[id] = v;
        }
        for (const field of ctx.def.fields) {
          if (field.required && values.has(field.field_id) && props[field.field_id] === undefined) throw new HexabaseError('INVALID_VALUE', `${field.display_id} is required`);
        }
        checkFilled(ctx, action, props, false);
        await this.reserveUnique(trx, ctx, itemId, ctx.def.fields.filter((f) => diff.some((d) => d.field_id === f.field_id)), current.props, props);
        if (action?.next_status_id) props.status_id = action.next_status_id;
        Object.assign(props, { updated_by: ctx.user.key, title: titleOf(ctx, props) });
        const next = await trx.update(current, { key: current.key, props }, current.version);
        await this.writeHistory(trx, ctx, next, { action, operation: '2', comment, changes: diff });
        return next;
      }),
    );
  }

  /** The update action for `item`: the named one (allowed in its status), else the first plain update action the caller may run. */
  private updateAction(ctx: DatastoreContext, ref: unknown, item: StoredEntity): ActionDef | undefined {
    if (ref !== undefined && ref !== null && ref !== '') {
      const action = this.action(ctx, ref, '2');
      this.checkStatus(ctx, action!, item);
      return action;
    }
    const plain = (ctx.def.actions ?? []).filter((a) => a.crud_type === '2' && !a.next_status_id);
    if (plain.length === 0) return undefined;
    const usable = plain.find((a) => mayRun(ctx, a) && (!a.from_status_id || a.from_status_id === item.props.status_id));
    if (!usable) throw noPrivileges(ctx, plain[0]!.display_id);
    return usable;
  }

  /** An action may start only from its `from_status_id`. */
  private checkStatus(ctx: DatastoreContext, action: ActionDef, item: StoredEntity): void {
    if (action.from_status_id && item.props.status_id !== action.from_status_id) throw noPrivileges(ctx, `${action.display_id}(${action.a_id})`);
  }

  /** An action by internal or display id, which the caller's roles must allow. */
  private namedAction(ctx: DatastoreContext, ref: string): ActionDef {
    const found = (ctx.def.actions ?? []).find((a) => a.a_id === ref) ?? (ctx.def.actions ?? []).find((a) => a.display_id === ref);
    if (!found || !mayRun(ctx, found)) throw noPrivileges(ctx, ref);
    return found;
  }

  /** DeleteItem `{delete_linked_items?, target_datastores?}` → `{error: null}`. */
  async remove(userId: string, appRef: string | undefined, datastoreRef: string, itemId: string, body: Body) {
    const ctx = await this.resolver.resolve(userId, appRef, datastoreRef);
    const targets = new Set<string>();
    if (body.delete_linked_items === true) {
      if (!Array.isArray(body.target_datastores)) throw new HexabaseError('INVALID_PARAMS', 'target_datastores names the datastores whose linked items go too');
      for (const ref of body.target_datastores) {
        const sibling = typeof ref === 'string' ? await this.resolver.sibling(ctx, ref) : undefined;
        if (!sibling) throw new HexabaseError('INVALID_PARAMS', `no datastore ${String(ref)} in this application`);
        targets.add(sibling.datastore.key);
      }
    }
    const removed = await this.store.withTransaction(async (trx) => {
      const item = await this.resolver.item(ctx, itemId, trx);
      const gone = [item.key];
      if (targets.size > 0) {
        // The page caps what one call deletes along links at 100 items.
        const linked = (await trx.linkedEitherWay(ITEM_LINK, item.id)).slice(0, 1000);
        let count = 0;
        for (const id of linked) {
          const other = await trx.getById(id);
          if (!other || !targets.has(other.scope.nodeId) || count >= 100) continue;
          const otherCtx = await this.resolver.sibling(ctx, other.scope.nodeId);
          if (!otherCtx) continue;
          await this.deleteOne(trx, otherCtx, other);
          gone.push(other.key);
          count++;
        }
      }
      await this.deleteOne(trx, ctx, item);
      return gone;
    });
    if (this.files) for (const key of removed) await this.files.removeForItem(key);
    return { error: null };
  }

  /** DeleteItemByConditions: every item the conditions select (ItemList's grammar) goes, in one transaction. */
  async removeWhere(ctx: DatastoreContext, select: (store: EntityStore) => Promise<StoredEntity[]>) {
    const removed = await this.store.withTransaction(async (trx) => {
      const items = await select(trx);
      for (const item of items) await this.deleteOne(trx, ctx, item);
      return items.map((i) => i.key);
    });
    if (this.files) for (const key of removed) await this.files.removeForItem(key);
    return { error: null };
  }

  /** GetAutoNumber: draws the next number of the field (per `branch_key`), formatted as asked. */
  async autoNumber(userId: string, appRef: string, datastoreRef: string, fieldRef: string, query: Record<string, unknown>) {
    const ctx = await this.resolver.resolve(userId, appRef, datastoreRef);
    const field = ctx.def.fields.find((f) => f.field_id === fieldRef) ?? ctx.def.fields.find((f) => f.display_id === fieldRef);
    const refuse = (error: string) =>
      new HexabaseError('INVALID_PARAMS', error, 400, {
        errors: [{ description: 'invalid fieldID in the datastore', error, error_code: 'INVALID_PARAMS', error_level: 'ERROR', reference_id: `f_id:${fieldRef}` }],
        has_error: true,
        result: null,
      });
    if (!field) throw refuse(`could not find field for ${fieldRef}`);
    if (field.dataType !== 'autonum') throw refuse(`specified field[${field.field_id}] is not the auto number type`);
    const branch = typeof query.branch_key === 'string' ? query.branch_key : '';
    if (branch.length > 64) throw new HexabaseError('INVALID_PARAMS', 'branch_key has at most 64 characters');
    const pad = query.zero_padding === 'true';
    const digits = query.digit === undefined ? 0 : Number(query.digit);
    if (!Number.isInteger(digits) || digits < 0 || digits > 20) throw new HexabaseError('INVALID_PARAMS', 'digit is a whole number up to 20');
    const number = await this.retrying(() => this.store.withTransaction((trx) => this.draw(trx, ctx, field, branch)));
    const text = pad && digits > 0 ? String(number).padStart(digits, '0') : String(number);
    return { has_error: false, result: { number, value: `${field.prefix ?? ''}${branch}${text}` } };
  }

  /** The action a write runs as: the named one, else the datastore's first of that kind the caller may run. */
  action(ctx: DatastoreContext, ref: unknown, crud: '1' | '2' | '3'): ActionDef | undefined {
    const actions = ctx.def.actions ?? [];
    if (ref !== undefined && ref !== null && ref !== '') {
      const found = actions.find((a) => a.a_id === ref) ?? actions.find((a) => a.display_id === ref);
      if (!found || found.crud_type !== crud || !mayRun(ctx, found)) throw noPrivileges(ctx, String(ref));
      return found;
    }
    const ofKind = actions.filter((a) => a.crud_type === crud);
    if (ofKind.length === 0) return undefined;
    const usable = ofKind.find((a) => mayRun(ctx, a));
    if (!usable) {
      if (crud === '1') throw new HexabaseError('NO_PRIVILEGES', `no available actions to create new item in the database. you should check settings or check if you are in your current workspace[ ${String(ctx.app.props.w_id)} ]`);
      throw noPrivileges(ctx, ofKind[0]!.display_id);
    }
    return usable;
  }

  private async deleteOne(trx: EntityStore, ctx: DatastoreContext, item: StoredEntity): Promise<void> {
    await this.reserveUnique(trx, ctx, item.key, ctx.def.fields, item.props, {});
    await trx.unlinkAll(ITEM_LINK, item.id);
    for (const h of (await trx.query(historyScope(ctx.datastore.key, item.key), HISTORY_SET, { top: 100_000, skip: 0, count: false })).entities) await trx.delete(h);
    await trx.delete(item);
  }

  /** Canonical values of a write; checks that read the store run here, before the transaction. */
  private async canonical(ctx: DatastoreContext, itemId: string, changes: Map<FieldDef, unknown>): Promise<Map<string, Canonical | null>> {
    const checks: ValueChecks = {
      members: async (ids) => {
        const workspace = await this.store.get(HX_SCOPE, HX_SETS.workspace, String(ctx.app.props.w_id));
        const found = new Set<string>();
        for (const id of ids) {
          const u = await this.store.get(HX_SCOPE, HX_SETS.user, id);
          if (u && workspace && (await this.store.hasLink(HX_LINKS.workspaceUser, workspace.id, u.id))) found.add(id);
        }
        return found;
      },
      lookupExists: async (datastoreKey, id) => (await this.store.get({ ...ctx.scope, nodeId: datastoreKey }, ITEM_SET, id)) !== undefined,
      files: async (ids, fieldId) => {
        const found = new Set<string>();
        for (const id of ids) {
          const f = await this.store.get(HX_SCOPE, FILE_SET, id);
          if (f && f.props.i_id === itemId && f.props.field_id === fieldId) found.add(id);
        }
        return found;
      },
    };
    const out = new Map<string, Canonical | null>();
    for (const [field, value] of changes) out.set(field.field_id, await canonicalValue(field, value, checks));
    return out;
  }

  /** Swaps the unique-value reservations of `fields` from `before` to `after` (either may be empty). */
  private async reserveUnique(trx: EntityStore, ctx: DatastoreContext, itemId: string, fields: FieldDef[], before: Record<string, unknown>, after: Record<string, unknown>) {
    for (const field of fields) {
      if (!field.unique) continue;
      const scope = counterScope(ctx, 'unique');
      const key = (v: unknown) => `${field.field_id}/${uniqueKey(v as Canonical)}`;
      const old = before[field.field_id];
      const now = after[field.field_id];
      if (old !== undefined && old !== null) {
        const reserved = await trx.get(scope, UNIQUE_SET, key(old));
        if (reserved && reserved.props.i_id === itemId) await trx.delete(reserved);
      }
      if (now !== undefined && now !== null) {
        try {
          await trx.insert(scope, UNIQUE_SET, key(now), { i_id: itemId });
        } catch (err) {
          if (err instanceof DuplicateKeyError) throw new HexabaseError('INVALID_VALUE', `${field.display_id}: the value ${String(now)} is taken by another item`);
          throw err;
        }
      }
    }
  }

  /** The next number of an auto-number field (per branch); conflicts between writers retry. */
  private async draw(trx: EntityStore, ctx: DatastoreContext, field: FieldDef, branch: string): Promise<number> {
    const key = `${field.field_id}/${branch}`;
    const scope = counterScope(ctx, 'autonum');
    const counter = await trx.get(scope, AUTONUM_SET, key);
    if (!counter) {
      await trx.insert(scope, AUTONUM_SET, key, { n: 1 });
      return 1;
    }
    const n = Number(counter.props.n) + 1;
    await trx.update(counter, { key, props: { n } }, counter.version);
    return n;
  }

  private retrying<T>(write: () => Promise<T>): Promise<T> {
    return retryRaces(write);
  }

  async writeHistory(trx: EntityStore, ctx: DatastoreContext, item: StoredEntity, entry: HistoryEntry): Promise<string> {
    const id = newId();
    await trx.insert(historyScope(ctx.datastore.key, item.key), HISTORY_SET, id, {
      kind: 'action',
      user_id: ctx.user.key,
      comment: entry.comment ?? '',
      action_id: entry.action?.a_id ?? '',
      action_name: entry.action?.name ?? (entry.operation === '1' ? 'CreateItem' : 'UpdateItem'),
      action_operation: entry.operation,
      is_status_action: entry.action?.next_status_id ? true : false,
      transaction_id: newId(),
      changes: entry.changes,
    });
    return id;
  }

  private async revConflict(ctx: DatastoreContext, current: StoredEntity, expected: number): Promise<HexabaseError> {
    const description = `item:${current.key}(d_id:${ctx.datastore.key}) has rev_no:${current.version} but specified rev_no:${expected}`;
    const [item] = await this.renderer.flat(ctx, [current], { displayIds: false, numbers: false, lookups: false });
    return new HexabaseError('ITEM_REV_CONFLICT', description, 409, {
      error: [{ description, error: 'Revision number mismatch', error_code: 'ITEM_REV_CONFLICT', error_level: 'ERROR', reference_id: current.key }],
      history_id: null,
      item,
      item_id: current.key,
    });
  }
}

/**
 * Where a datastore keeps its unique-value reservations and number counters: beside its items, not
 * in the Hexabase scope whose writes drop the resolved-datastore cache (read-cache.ts).
 */
export function counterScope(ctx: Pick<DatastoreContext, 'datastore'>, kind: 'unique' | 'autonum') {
  return { cellId: HX_SCOPE.cellId, boxId: ctx.datastore.key, nodeId: kind };
}

/** Writers that raced for a counter or a new reservation row try again from the start. */
export async function retryRaces<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      const raced = err instanceof VersionMismatchError || err instanceof DuplicateKeyError;
      if (!raced || attempt >= WRITE_ATTEMPTS) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
    }
  }
}

/** Workspace administrators and the application's creator run every action; others those their roles are granted. */
export function mayRun(ctx: DatastoreContext, action: ActionDef): boolean {
  return ctx.privileged || !action.roles || action.roles.length === 0 || action.roles.some((r) => ctx.roleKeys.includes(r));
}

function noPrivileges(ctx: DatastoreContext, actionRef: string): HexabaseError {
  return new HexabaseError(
    'NO_PRIVILEGES',
    `invalid action_id or has no privileges to the user or current item status. a_id:${actionRef} d_id:${String(ctx.datastore.props.display_id)}(${ctx.datastore.key})`,
  );
}

/** Fields an action does not let its user change are refused, naming the field. */
function checkSettings(ctx: DatastoreContext, action: ActionDef | undefined, changes: Map<FieldDef, unknown>): void {
  const settings = action?.field_settings;
  if (!settings) return;
  for (const field of changes.keys()) {
    if (settings[field.field_id]?.update === false) throw new HexabaseError('INVALID_PARAMS', `${field.display_id} cannot be changed by the action ${action.display_id}`);
  }
}

/** Fields the action marks mandatory, and required fields, must hold a value once it has run. */
function checkFilled(ctx: DatastoreContext, action: ActionDef | undefined, props: Record<string, unknown>, creating: boolean): void {
  for (const field of ctx.def.fields) {
    if (field.dataType === 'status' || field.dataType === 'autonum') continue;
    const mandatory = action?.field_settings?.[field.field_id]?.mandatory === true;
    if ((mandatory || (field.required && creating)) && (props[field.field_id] === undefined || props[field.field_id] === null)) {
      throw new HexabaseError('INVALID_VALUE', `${field.display_id} is required`);
    }
  }
}

/** `rev_no` as sent; the page's sample shows an omitted one counting as 0 (and so conflicting). */
function readRevision(value: unknown): number {
  if (value === undefined || value === null) return 0;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new HexabaseError('INVALID_PARAMS', 'rev_no is the item revision, a whole number');
  return n;
}

function readComment(value: unknown): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || value.length > COMMENT_MAX) throw new HexabaseError('INVALID_PARAMS', 'comment is text');
  return value;
}

/**
 * Writes kura does not carry out yet are refused rather than dropped: a client that sends related
 * items or access keys must not believe they were applied.
 */
function refuseUnsupported(body: Body): void {
  for (const name of ['related_ds_items', 'access_key_updates'] as const) {
    const v = body[name];
    if (v !== undefined && v !== null && !(typeof v === 'object' && Object.keys(v).length === 0)) {
      throw new HexabaseError('INVALID_PARAMS', `${name} is not supported by this server`);
    }
  }
}

/** The item title: its `as_title` fields' values in order (the first text field if none is marked). */
export function titleOf(ctx: Pick<DatastoreContext, 'def'>, props: Record<string, unknown>): string {
  let fields = ctx.def.fields.filter((f) => f.as_title);
  if (fields.length === 0) fields = ctx.def.fields.filter((f) => f.dataType === 'text').slice(0, 1);
  return fields
    .map((f) => {
      const v = props[f.field_id];
      if (v === undefined || v === null) return '';
      if (f.dataType === 'select' || f.dataType === 'radio' || f.dataType === 'checkbox') return optionLabels(f, Array.isArray(v) ? v : [String(v)]).join(',');
      if (f.dataType === 'date' || f.dataType === 'datetime') return new Date(Number(v)).toISOString();
      return Array.isArray(v) ? v.join(',') : String(v);
    })
    .filter((s) => s !== '')
    .join(' ');
}
