import { sql, type SqlBool } from 'kysely';
import type { EntityStore, StoredEntity } from '../../store/entity-store.js';
import type { FieldDef } from '../applications/datastores.js';
import { HexabaseError } from '../errors.js';
import { newId, orderedId } from '../ids.js';
import { HISTORY_SET, ITEM_LINK, ITEM_SET, historyScope, type DatastoreContext } from '../items/context.js';
import { AUTONUM_SET, UNIQUE_SET, counterScope, titleOf } from '../items/items.js';
import { uniqueKey, type Canonical } from '../items/values.js';
import type { ImportOptions } from './columns.js';
import type { JobError } from './jobs.js';
import { requiredFields, type RowValues } from './rows.js';

/** `created_by` (and `updated_by`) of what an import writes: the ItemList page shows items imported so. */
export const IMPORT_USER = 'IMPORT';

/** The most histories one item's deletion removes (as DeleteItem does). */
const HISTORIES_MAX = 100_000;

/** An item a key value names, as the import sees it so far. */
interface Known {
  i_id: string;
  /** Unique field id → its value's reservation key. */
  uniques: Map<string, string>;
  /** The stored item (this batch only). */
  entity?: StoredEntity | undefined;
  /** What this batch does to it. */
  op?: Op | undefined;
}

type Op =
  | { kind: 'create'; i_id: string; props: Record<string, unknown>; dropped: boolean }
  | { kind: 'update'; entity: StoredEntity; props: Record<string, unknown>; changes: Array<{ field_id: string; old: unknown; new: unknown }> }
  | { kind: 'delete'; entity: StoredEntity };

export interface Counts {
  created: number;
  updated: number;
  deleted: number;
}

/** What one batch will write once its rows are checked. */
interface Plan {
  ops: Op[];
  errors: JobError[];
  counts: Counts;
  /** Reservation key → the item holding it before the batch (null: free), as read. */
  initialHolders: Map<string, string | null>;
  /** Reservation key → the item that gave it up in this batch. */
  releasedBy: Map<string, string>;
  touched: Set<string>;
}

/**
 * Checks a batch of rows against the store and what earlier rows did, and writes it.
 *
 * The same checks run in two modes. Writing (`check(rows, trx)` then `write(plan, trx)` in one
 * transaction per batch): what the batch sees starts from the store. Checking only (the first pass
 * of `all_or_nothing`): nothing is written, so what earlier batches would have done is kept here
 * between batches — for each key value the item it names and its unique values, for each unique
 * value who holds it; no item properties, so memory stays small.
 */
export class BatchWriter {
  private keyed = new Map<string, Known | null>();
  private unique = new Map<string, string | null>();
  private readonly uniqueFields: FieldDef[];
  private readonly required: FieldDef[];
  private readonly defaultStatus: string;

  constructor(
    private readonly ctx: DatastoreContext,
    private readonly options: ImportOptions,
    /** Checking only, with the datastore taken as empty (replace_all will have emptied it). */
    private readonly assumeEmpty = false,
  ) {
    this.uniqueFields = ctx.def.fields.filter((f) => f.unique && f.dataType !== 'status' && f.dataType !== 'autonum');
    this.required = requiredFields(ctx.def.fields);
    // CreateItem's status: the first create action's next status, else the first status.
    this.defaultStatus = ctx.def.actions.find((a) => a.crud_type === '1')?.next_status_id ?? ctx.def.statuses[0]?.s_id ?? '';
  }

  /** Forgets what the store told the last batch (writing mode: the next batch reads it afresh). */
  reset(): void {
    this.keyed.clear();
    this.unique.clear();
  }

  /** Checking mode: keeps what later batches need of this one and drops the rest. */
  compact(): void {
    for (const known of this.keyed.values()) {
      if (!known) continue;
      known.entity = undefined;
      known.op = undefined;
    }
  }

  async check(rows: RowValues[], store: EntityStore): Promise<Plan> {
    await this.loadKeys(rows, store);
    const initialHolders = await this.loadUniques(rows, store);
    const plan: Plan = { ops: [], errors: [], counts: { created: 0, updated: 0, deleted: 0 }, initialHolders, releasedBy: new Map(), touched: new Set() };
    for (const row of rows) {
      const error = this.row(row, plan);
      if (error) plan.errors.push({ line: row.line, description: error });
    }
    return plan;
  }

  /** One row against what is known; answers why it cannot be applied, or records what it does. */
  private row(row: RowValues, plan: Plan): string | undefined {
    const known = row.key ? this.keyed.get(row.key.text) : null;
    if (known === undefined) return `${this.keyName()} ${row.key!.text} names more than one item`;
    if (row.del) {
      if (!row.key) return `${this.keyName()} is empty: the row names no item to delete`;
      if (!known) return `no item has ${this.keyName()} ${row.key.text}`;
      for (const [, u] of known.uniques) this.release(u, known.i_id, plan);
      if (known.op?.kind === 'create') known.op.dropped = true;
      else if (known.entity) plan.ops.push({ kind: 'delete', entity: known.entity });
      this.keyed.set(row.key.text, null);
      plan.counts.deleted++;
      return undefined;
    }
    return known ? this.update(row, known, plan) : this.create(row, plan);
  }

  private create(row: RowValues, plan: Plan): string | undefined {
    for (const field of this.required) if ((row.values.get(field.field_id) ?? null) === null) return `${field.display_id} is required`;
    const i_id = this.options.keyField === 'i_id' && row.key ? String(row.key.value) : orderedId();
    const claims = new Map<string, string>();
    for (const field of this.uniqueFields) {
      const v = row.values.get(field.field_id);
      if (v === null || v === undefined) continue;
      const u = reservationKey(field, v);
      if (this.holder(u)) return taken(field, v);
      claims.set(field.field_id, u);
    }
    for (const [, u] of claims) this.claim(u, i_id, plan);
    const props: Record<string, unknown> = {};
    for (const [id, v] of row.values) if (v !== null) props[id] = v;
    if (!this.options.overwriteAutonumber) for (const [id, v] of row.autonums) props[id] = v;
    props.status_id = row.statusId ?? this.defaultStatus;
    props.created_by = IMPORT_USER;
    const op: Op = { kind: 'create', i_id, props, dropped: false };
    plan.ops.push(op);
    if (row.key) this.keyed.set(row.key.text, { i_id, uniques: claims, op });
    plan.counts.created++;
    return undefined;
  }

  private update(row: RowValues, known: Known, plan: Plan): string | undefined {
    // UpdateItem's rule: a required field the row names may not become empty.
    for (const field of this.required) if (row.values.has(field.field_id) && row.values.get(field.field_id) === null) return `${field.display_id} is required`;
    const swaps: Array<{ field: FieldDef; old: string | undefined; now: string | undefined }> = [];
    for (const field of this.uniqueFields) {
      if (!row.values.has(field.field_id)) continue;
      const v = row.values.get(field.field_id)!;
      const now = v === null ? undefined : reservationKey(field, v);
      const old = known.uniques.get(field.field_id);
      if (now === old) continue;
      if (now !== undefined) {
        const holder = this.holder(now);
        if (holder && holder !== known.i_id) return taken(field, v!);
      }
      swaps.push({ field, old, now });
    }
    for (const { field, old, now } of swaps) {
      if (old !== undefined) this.release(old, known.i_id, plan);
      if (now !== undefined) {
        this.claim(now, known.i_id, plan);
        known.uniques.set(field.field_id, now);
      } else known.uniques.delete(field.field_id);
    }
    plan.counts.updated++;
    const current = known.op && known.op.kind !== 'delete' ? known.op : undefined;
    if (!current && !known.entity) return undefined; // checking mode: nothing to write
    const props = current ? current.props : { ...known.entity!.props };
    const changes = current?.kind === 'update' ? current.changes : [];
    for (const [id, v] of row.values) {
      const old = props[id] ?? null;
      if (uniqueKey((old ?? '') as Canonical) === uniqueKey((v ?? '') as Canonical)) continue;
      changes.push({ field_id: id, old, new: v });
      if (v === null) delete props[id];
      else props[id] = v;
    }
    if (row.statusId !== undefined && row.statusId !== props.status_id) {
      changes.push({ field_id: 'status_id', old: props.status_id ?? null, new: row.statusId });
      props.status_id = row.statusId;
    }
    if (!current) {
      known.op = { kind: 'update', entity: known.entity!, props, changes };
      plan.ops.push(known.op);
    }
    return undefined;
  }

  /** Writes a checked batch (in the caller's transaction); answers the items deleted (their files go after the commit). */
  async write(plan: Plan, trx: EntityStore, history: { userId: string; jobId: string }): Promise<string[]> {
    await this.writeReservations(plan, trx);
    const deleted: string[] = [];
    for (const op of plan.ops) {
      if (op.kind !== 'delete') continue;
      await trx.unlinkAll(ITEM_LINK, op.entity.id);
      await trx.deleteSet(historyScope(this.ctx.datastore.key, op.entity.key), HISTORY_SET, HISTORIES_MAX);
      await trx.delete(op.entity);
      deleted.push(op.entity.key);
    }
    const creates = plan.ops.filter((op): op is Extract<Op, { kind: 'create' }> => op.kind === 'create' && !op.dropped);
    await this.drawNumbers(creates, trx);
    for (const op of creates) op.props.title = titleOf(this.ctx, op.props);
    await trx.insertMany(this.ctx.scope, ITEM_SET, creates.map((op) => ({ key: op.i_id, props: op.props })));
    const histories: Array<{ itemKey: string; changes: unknown[] }> = [];
    for (const op of plan.ops) {
      if (op.kind !== 'update' || op.changes.length === 0) continue;
      Object.assign(op.props, { updated_by: IMPORT_USER, title: titleOf(this.ctx, op.props) });
      await trx.update(op.entity, { key: op.entity.key, props: op.props }, op.entity.version);
      histories.push({ itemKey: op.entity.key, changes: op.changes });
    }
    await this.writeHistories(histories, trx, history);
    return deleted;
  }

  /**
   * A history for each item the import changed (GetItemHistories): action `ImportItems`, the
   * importing user, the job id as transaction id, the changed values. Items the import creates get
   * none: a history each doubles the rows written, and 100,000 rows went in at 16k rows/s with them
   * against 22–26k without; such an item shows its origin as `created_by` "IMPORT" and its
   * `created_at`, and the job (GetImportResults) names the file.
   */
  private async writeHistories(entries: Array<{ itemKey: string; changes: unknown[] }>, trx: EntityStore, who: { userId: string; jobId: string }) {
    const rows = entries.map((entry) => ({
      key: newId(),
      scope: historyScope(this.ctx.datastore.key, entry.itemKey),
      props: {
        kind: 'action',
        user_id: who.userId,
        comment: '',
        action_id: '',
        action_name: 'ImportItems',
        action_operation: '2',
        is_status_action: false,
        transaction_id: who.jobId,
        changes: entry.changes,
      },
    }));
    await trx.insertMany(historyScope(this.ctx.datastore.key, ''), HISTORY_SET, rows);
  }

  /** Net reservation changes of the batch: gone, then new (a value may pass from one item to another). */
  private async writeReservations(plan: Plan, trx: EntityStore): Promise<void> {
    const scope = counterScope(this.ctx, 'unique');
    const added: Array<{ key: string; props: Record<string, unknown> }> = [];
    for (const u of plan.touched) {
      const before = plan.initialHolders.get(u);
      const after = this.unique.get(u) ?? null;
      if (before === after) continue;
      const gone = before ?? plan.releasedBy.get(u);
      if (gone) {
        const reserved = await trx.get(scope, UNIQUE_SET, u);
        if (reserved && reserved.props.i_id === gone) await trx.delete(reserved);
      }
      if (after) added.push({ key: u, props: { i_id: after } });
    }
    await trx.insertMany(scope, UNIQUE_SET, added);
  }

  /** Auto numbers for created items that bring none: one counter move per field and batch. */
  private async drawNumbers(creates: Array<{ props: Record<string, unknown> }>, trx: EntityStore): Promise<void> {
    for (const field of this.ctx.def.fields) {
      if (field.dataType !== 'autonum') continue;
      const needing = creates.filter((op) => op.props[field.field_id] === undefined);
      if (needing.length === 0) continue;
      const scope = counterScope(this.ctx, 'autonum');
      const key = `${field.field_id}/`;
      const counter = await trx.get(scope, AUTONUM_SET, key);
      const first = Number(counter?.props.n ?? 0) + 1;
      const last = first + needing.length - 1;
      if (counter) await trx.update(counter, { key, props: { n: last } }, counter.version);
      else await trx.insert(scope, AUTONUM_SET, key, { n: last });
      needing.forEach((op, i) => (op.props[field.field_id] = `${field.prefix ?? ''}${first + i}`));
    }
  }

  private keyName(): string {
    const key = this.options.keyField;
    return key === 'i_id' ? 'i_id' : key!.display_id;
  }

  private holder(u: string): string | null {
    return this.unique.get(u) ?? null;
  }

  private claim(u: string, i_id: string, plan: Plan): void {
    this.unique.set(u, i_id);
    plan.touched.add(u);
  }

  private release(u: string, i_id: string, plan: Plan): void {
    if (this.unique.get(u) === i_id || !this.unique.has(u)) this.unique.set(u, null);
    if (!plan.releasedBy.has(u)) plan.releasedBy.set(u, i_id);
    plan.touched.add(u);
  }

  /** The items the rows' key values name that this import has not seen yet, in one query. */
  private async loadKeys(rows: RowValues[], store: EntityStore): Promise<void> {
    const wanted = new Map<string, Canonical>();
    for (const row of rows) if (row.key && !this.keyed.has(row.key.text)) wanted.set(row.key.text, row.key.value);
    if (wanted.size === 0) return;
    for (const text of wanted.keys()) this.keyed.set(text, null);
    if (this.assumeEmpty) return;
    const found = await this.itemsByKey([...wanted.values()], store);
    const counts = new Map<string, number>();
    for (const entity of found) {
      const text = uniqueKey(this.keyOf(entity) as Canonical);
      if (!wanted.has(text)) continue;
      counts.set(text, (counts.get(text) ?? 0) + 1);
      const uniques = new Map<string, string>();
      for (const field of this.uniqueFields) {
        const v = entity.props[field.field_id];
        if (v !== undefined && v !== null) uniques.set(field.field_id, reservationKey(field, v as Canonical));
      }
      this.keyed.set(text, { i_id: entity.key, uniques, entity });
    }
    // Two stored items with the row's key value: which one it means is unknown (refused per row).
    for (const [text, n] of counts) if (n > 1) this.keyed.delete(text);
  }

  private keyOf(entity: StoredEntity): unknown {
    const key = this.options.keyField!;
    return key === 'i_id' ? entity.key : entity.props[key.field_id];
  }

  private async itemsByKey(values: Canonical[], store: EntityStore): Promise<StoredEntity[]> {
    const key = this.options.keyField!;
    let where;
    if (key === 'i_id') where = sql<SqlBool>`entity_key in (${sql.join(values.map(String))})`;
    else {
      // The expression of the field's property index (store/property-indexes.ts), so the lookup is an index probe.
      const path = store.dialect === 'sqlite' ? sql`json_extract(props, ${sql.lit(`$."${key.field_id}"`)})` : sql`(props #>> ${sql.lit(`{"${key.field_id}"}`)})`;
      const params = store.dialect === 'sqlite' ? values : values.map((v) => (typeof v === 'number' ? JSON.stringify(v) : String(v)));
      where = sql<SqlBool>`${path} in (${sql.join(params)})`;
    }
    const top = values.length * 10 + 100;
    const found = (await store.query(this.ctx.scope, ITEM_SET, { where, top, skip: 0, count: false })).entities;
    // Some key values name so many items that the rest might not have been read: not a key.
    if (found.length === top) throw new HexabaseError('INVALID_PARAMS', `${this.keyName()} is no key: many items share its values`);
    return found;
  }

  /** Who holds each unique value the rows give, for values this import has not seen yet. */
  private async loadUniques(rows: RowValues[], store: EntityStore): Promise<Map<string, string | null>> {
    const initial = new Map<string, string | null>();
    if (this.uniqueFields.length === 0) return initial;
    for (const row of rows) {
      for (const field of this.uniqueFields) {
        const v = row.values.get(field.field_id);
        if (v === null || v === undefined) continue;
        const u = reservationKey(field, v);
        if (!this.unique.has(u)) initial.set(u, null);
      }
    }
    if (initial.size > 0 && !this.assumeEmpty) {
      const where = sql<SqlBool>`entity_key in (${sql.join([...initial.keys()])})`;
      const found = await store.query(counterScope(this.ctx, 'unique'), UNIQUE_SET, { where, top: initial.size, skip: 0, count: false });
      for (const r of found.entities) initial.set(r.key, String(r.props.i_id));
    }
    for (const [u, holder] of initial) this.unique.set(u, holder);
    return initial;
  }
}

/** The key of a unique value's reservation entity (items.ts reserveUnique). */
function reservationKey(field: FieldDef, value: Canonical): string {
  return `${field.field_id}/${uniqueKey(value)}`;
}

function taken(field: FieldDef, value: Canonical): string {
  return `${field.display_id}: the value ${String(value)} is taken by another item`;
}
