import { randomBytes } from 'node:crypto';
import { CompiledQuery, sql, type Expression, type ExpressionBuilder, type Kysely, type Selectable, type SqlBool, type Transaction } from 'kysely';
import type { Dialect } from '../query/compile.js';
import { rowByKey } from './direct-read.js';
import type { Database, EntitiesTable } from './schema.js';
import { GroupCommit } from './group-commit.js';

/** Where an entity lives; '' means "not inside one". */
export interface Scope {
  cellId: string;
  boxId: string;
  nodeId: string;
}

export const UNIT_SCOPE: Scope = Object.freeze({ cellId: '', boxId: '', nodeId: '' });

export interface StoredEntity {
  id: string;
  scope: Scope;
  entitySet: string;
  key: string;
  version: number;
  published: number;
  updated: number;
  props: Record<string, unknown>;
}

export interface OrderTerm {
  expr: Expression<unknown>;
  direction: 'asc' | 'desc';
}

export interface QuerySpec {
  where?: Expression<SqlBool> | undefined;
  orderBy?: OrderTerm[] | undefined;
  top: number;
  skip: number;
  count: boolean;
  /** Restricts the query to entities linked to this one through `name` (navigation lists). */
  linkedTo?: { id: string; name: string; direction: 'from' | 'to' } | undefined;
  /** With `linkedTo`: the most recently linked first, before `orderBy` (apiref 405, *:* expansion). */
  newestLinkFirst?: boolean | undefined;
}

export interface QueryResult {
  entities: StoredEntity[];
  count?: number;
}

/**
 * What an entity write touched, for caches to drop what depends on it: the scope of the entities
 * written (undefined = possibly anything, for bulk deletes) or the name of the links written.
 */
export type EntityChange = { scope: Scope | undefined } | { link: string };

const ANYTHING: EntityChange = { scope: undefined };

/** Thrown when an insert or key change collides with an existing identity. */
export class DuplicateKeyError extends Error {
  readonly kind = 'duplicate-key';
}

/** Thrown when a conditional write finds another version than the caller expected. */
export class VersionMismatchError extends Error {
  readonly kind = 'version-mismatch';
}

type Db = Kysely<Database> | Transaction<Database>;

/**
 * What a query within one scope and set reads back. Leaving out the columns the caller already
 * knows matters: better-sqlite3 builds a JS string per column per row, and with a sort the rows
 * travel through SQLite's sorter whole (a 25-entity list spends a quarter less time in SQLite).
 */
const SCOPED_COLUMNS = ['id', 'entity_key', 'version', 'published', 'updated', 'props'] as const;
type ScopedRow = Pick<Selectable<EntitiesTable>, (typeof SCOPED_COLUMNS)[number]>;

/**
 * Rows per multi-row INSERT: 10 parameters each stays far below SQLite's 32,766 and PostgreSQL's
 * 65,535 bound parameters, and measured no slower than larger statements.
 */
const INSERT_MANY_ROWS = 500;
const INSERT_MANY_SQL = new Map<string, string>();

let lastMs = 0;
let counter = 0;
/** Random bytes drawn 4 KiB at a time (one system call per 512 ids). */
let entropy = Buffer.alloc(0);
let entropyAt = 0;

/**
 * A time-ordered UUID (RFC 9562 version 7: 48-bit milliseconds, a 12-bit counter, 62 random bits)
 * for every new entity. Random UUIDs land all over the primary-key index, and once it outgrows the page
 * cache each insert reads a page: inserting 50,000 item rows on SQLite ran at 9–16k rows/s with
 * random ids and 38–45k with ordered ones. Ordered ids append instead.
 */
function orderedUuid(): string {
  let ms = Date.now();
  if (ms <= lastMs) {
    if (++counter > 0xfff) {
      counter = 0;
      lastMs++;
    }
    ms = lastMs;
  } else {
    lastMs = ms;
    counter = 0;
  }
  if (entropyAt + 8 > entropy.length) {
    entropy = randomBytes(4096);
    entropyAt = 0;
  }
  const rand = entropy.subarray(entropyAt, (entropyAt += 8));
  rand[0] = (rand[0]! & 0x3f) | 0x80;
  const hex = ms.toString(16).padStart(12, '0');
  const tail = rand.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${counter.toString(16).padStart(3, '0')}-${tail.slice(0, 4)}-${tail.slice(4, 16)}`;
}

/** `insert into entities (…) values (?,…), (?,…)…` for `rows` rows, in the dialect's placeholders. */
function insertManySql(dialect: Dialect, rows: number): string {
  const cacheKey = `${dialect}/${rows}`;
  let text = INSERT_MANY_SQL.get(cacheKey);
  if (text === undefined) {
    const tuples: string[] = [];
    for (let r = 0; r < rows; r++) {
      const ps = Array.from({ length: 10 }, (_, c) => (dialect === 'postgres' ? `$${r * 10 + c + 1}` : '?'));
      tuples.push(`(${ps.join(', ')})`);
    }
    text = `insert into "entities" ("id", "cell_id", "box_id", "node_id", "entity_set", "entity_key", "version", "published", "updated", "props") values ${tuples.join(', ')}`;
    if (INSERT_MANY_SQL.size < 64) INSERT_MANY_SQL.set(cacheKey, text);
  }
  return text;
}

/** What a write transaction may do to the WebDAV tree: only add nodes, or anything. */
export type TreeChange = 'insert' | 'any';

/**
 * The storage port the OData engine and services use (STYLE.md item 5): plain values in and out,
 * nothing of HTTP. One instance per database; `withTransaction` hands out a bound copy.
 */
export class EntityStore {
  private readonly groupCommit: GroupCommit | undefined;
  /** Told when a transaction starts and when it has ended (read caches drop what they hold). */
  private readonly writeListeners: ((change: TreeChange) => void)[] = [];
  /** In a transaction begun as `insert`: turns it into `any` (see treeChanging). */
  private escalate: (() => void) | undefined;
  /** Told when an entity is about to change and when that change is committed (see entityWrite). */
  private entityListeners: ((change: EntityChange) => void)[] = [];
  /** What a transaction's store changed, told to the listeners once it has ended. */
  private changes: EntityChange[] = [];

  constructor(
    private readonly db: Db,
    readonly dialect: Dialect,
    private readonly now: () => number = Date.now,
  ) {
    // SQLite has one writer and an fsync per commit: batch concurrent transactions (group-commit.ts).
    // PostgreSQL commits concurrently on its own connections and groups WAL flushes itself.
    this.groupCommit = dialect === 'sqlite' && !db.isTransaction ? new GroupCommit(db as Kysely<Database>) : undefined;
  }

  /** Any write transaction, when it starts and when it has ended, with what it may do to the WebDAV tree. */
  onWrite(listener: (change: TreeChange) => void): void {
    this.writeListeners.push(listener);
  }

  /**
   * Entity changes only, before each and once committed: caches of entities (cells, boxes) need not
   * be dropped by the many transactions that write files and nothing else.
   */
  onEntityWrite(listener: (change: EntityChange) => void): void {
    this.entityListeners.push(listener);
  }

  /** `changes`: one change, or several (a bulk write across scopes). */
  private async entityWrite<T>(changes: EntityChange | EntityChange[], write: () => Promise<T>): Promise<T> {
    const list = Array.isArray(changes) ? changes : [changes];
    for (const change of list) for (const l of this.entityListeners) l(change);
    try {
      return await write();
    } finally {
      if (this.db.isTransaction) this.changes.push(...list);
      else for (const change of list) for (const l of this.entityListeners) l(change);
    }
  }

  /**
   * Runs `fn` atomically; resolves only once its writes are durable. `treeChange: 'insert'` promises
   * that `fn` changes no WebDAV node already there, only adds new ones (caches of nodes found by
   * path may stay); should it find it must change one after all, it calls treeChanging() first.
   */
  async withTransaction<T>(fn: (store: EntityStore) => Promise<T>, options: { treeChange?: TreeChange } = {}): Promise<T> {
    if (this.db.isTransaction) {
      if (options.treeChange !== 'insert') this.treeChanging();
      return fn(this);
    }
    let change: TreeChange = options.treeChange ?? 'any';
    let inner: EntityStore | undefined;
    const bound = (trx: Transaction<Database>) => {
      inner = new EntityStore(trx, this.dialect, this.now);
      inner.entityListeners = this.entityListeners;
      inner.escalate = () => {
        if (change === 'any') return;
        change = 'any';
        for (const l of this.writeListeners) l(change);
      };
      return fn(inner);
    };
    for (const l of this.writeListeners) l(change);
    try {
      if (this.groupCommit) return await this.groupCommit.run(bound);
      return await (this.db as Kysely<Database>).transaction().execute(bound);
    } finally {
      for (const l of this.writeListeners) l(change);
      for (const change of inner?.changes ?? []) for (const l of this.entityListeners) l(change);
    }
  }

  /**
   * Inside a transaction begun with `treeChange: 'insert'`: it is about to change an existing
   * WebDAV node after all. Called before that write, so caches of nodes drop them in time.
   */
  treeChanging(): void {
    this.escalate?.();
  }

  /** Sibling stores (auth state) share this store's connection or transaction through it. */
  get executor(): Db {
    return this.db;
  }

  async get(scope: Scope, entitySet: string, key: string): Promise<StoredEntity | undefined> {
    // The hottest query kura runs.
    const row = await rowByKey<ScopedRow>(this.db, 'entity by key', 'entities', SCOPED_COLUMNS, {
      cell_id: scope.cellId,
      box_id: scope.boxId,
      node_id: scope.nodeId,
      entity_set: entitySet,
      entity_key: key,
    });
    return row && this.toScopedEntity(row, scope, entitySet);
  }

  async getById(id: string): Promise<StoredEntity | undefined> {
    const row = await this.db.selectFrom('entities').selectAll().where('id', '=', id).executeTakeFirst();
    return row && this.toEntity(row);
  }

  /**
   * A page of one scope's entities (and its total when asked). Written as SQL templates rather than
   * with the query builder: every list request runs it, and the builder's immutable node copies
   * cost about 30 µs per statement, a template 5 µs — the SQL is the same.
   */
  async query(scope: Scope, entitySet: string, spec: QuerySpec): Promise<QueryResult> {
    const link = spec.linkedTo;
    const [near, far] = link?.direction === 'to' ? (['to_id', 'from_id'] as const) : (['from_id', 'to_id'] as const);
    const filters = [
      sql`"cell_id" = ${scope.cellId} and "box_id" = ${scope.boxId} and "node_id" = ${scope.nodeId} and "entity_set" = ${entitySet}`,
    ];
    if (spec.where) filters.push(sql`${spec.where}`);
    if (link) filters.push(sql`"id" in (select ${sql.ref(far)} from "links" where "name" = ${link.name} and ${sql.ref(near)} = ${link.id})`);
    const where = sql.join(filters, sql` and `);

    const order = [];
    if (link && spec.newestLinkFirst) {
      order.push(sql`(select max("created") from "links" where "name" = ${link.name} and ${sql.ref(near)} = ${link.id} and ${sql.ref(`links.${far}`)} = "entities"."id") desc`);
    }
    for (const term of spec.orderBy ?? []) order.push(sql`${term.expr} ${sql.raw(term.direction === 'desc' ? 'desc' : 'asc')}`);
    // A stable tiebreak so $skip paging never repeats or drops rows.
    order.push(sql`"published" asc`, sql`"id" asc`);

    const page = sql<ScopedRow>`select "id", "entity_key", "version", "published", "updated", "props" from "entities" where ${where} order by ${sql.join(order)} limit ${spec.top} offset ${spec.skip}`;
    const [rows, count] = await Promise.all([
      spec.top === 0 ? Promise.resolve([]) : page.execute(this.db).then((r) => r.rows),
      spec.count
        ? sql<{ n: number | string }>`select count(*) as "n" from "entities" where ${where}`.execute(this.db).then((r) => Number(r.rows[0]!.n))
        : Promise.resolve(undefined),
    ]);
    const result: QueryResult = { entities: rows.map((r) => this.toScopedEntity(r, scope, entitySet)) };
    if (count !== undefined) result.count = count;
    return result;
  }

  async insert(scope: Scope, entitySet: string, key: string, props: Record<string, unknown>): Promise<StoredEntity> {
    const now = this.now();
    const entity: StoredEntity = {
      id: orderedUuid(),
      scope,
      entitySet,
      key,
      version: 1,
      published: now,
      updated: now,
      props,
    };
    // A template, not the builder (see query()): every write runs it.
    await this.entityWrite({ scope }, () => this.guardDuplicate(() =>
      sql`insert into "entities" ("id", "cell_id", "box_id", "node_id", "entity_set", "entity_key", "version", "published", "updated", "props")
        values (${entity.id}, ${scope.cellId}, ${scope.boxId}, ${scope.nodeId}, ${entitySet}, ${key}, ${1}, ${now}, ${now}, ${JSON.stringify(props)})`.execute(this.db),
    ));
    return entity;
  }

  /**
   * Inserts many entities of one set, INSERT_MANY_ROWS to a statement (bulk imports). A row may
   * name a scope of its own (one node per row, as item histories have); the others go in `scope`.
   * All or none: a key that is taken fails the whole call with DuplicateKeyError, so callers run it
   * inside a transaction. A statement's text depends only on its row count, so full chunks reuse
   * one prepared statement.
   */
  async insertMany(scope: Scope, entitySet: string, rows: Array<{ key: string; props: Record<string, unknown>; scope?: Scope }>): Promise<StoredEntity[]> {
    const now = this.now();
    const entities = rows.map((row): StoredEntity => ({ id: orderedUuid(), scope: row.scope ?? scope, entitySet, key: row.key, version: 1, published: now, updated: now, props: row.props }));
    if (entities.length === 0) return entities;
    const scopes = new Map<string, Scope>();
    for (const e of entities) scopes.set(`${e.scope.cellId}\u0000${e.scope.boxId}\u0000${e.scope.nodeId}`, e.scope);
    const changes = [...scopes.values()].map((s): EntityChange => ({ scope: s }));
    await this.entityWrite(changes, () =>
      this.guardDuplicate(async () => {
        for (let at = 0; at < entities.length; at += INSERT_MANY_ROWS) {
          const chunk = entities.slice(at, at + INSERT_MANY_ROWS);
          const params: unknown[] = [];
          for (const e of chunk) params.push(e.id, e.scope.cellId, e.scope.boxId, e.scope.nodeId, entitySet, e.key, 1, now, now, JSON.stringify(e.props));
          await this.db.executeQuery(CompiledQuery.raw(insertManySql(this.dialect, chunk.length), params));
        }
      }),
    );
    return entities;
  }

  /**
   * Deletes up to `limit` entities of `entitySet` in a scope — any node of the box when `nodeId` is
   * left out — and answers how many went. Bulk removals call it in a loop of short transactions
   * rather than holding the database in one long one.
   */
  async deleteSet(where: { cellId: string; boxId: string; nodeId?: string }, entitySet: string, limit: number): Promise<number> {
    const change: EntityChange = where.nodeId === undefined ? ANYTHING : { scope: { cellId: where.cellId, boxId: where.boxId, nodeId: where.nodeId } };
    const result = await this.entityWrite(change, () =>
      this.db
        .deleteFrom('entities')
        .where('id', 'in', (qb) => {
          let ids = qb.selectFrom('entities').select('id').where('cell_id', '=', where.cellId).where('box_id', '=', where.boxId);
          if (where.nodeId !== undefined) ids = ids.where('node_id', '=', where.nodeId);
          return ids.where('entity_set', '=', entitySet).limit(limit);
        })
        .executeTakeFirst(),
    );
    return Number(result.numDeletedRows);
  }

  /**
   * Replaces key and properties of an entity, bumping its version. With `expectedVersion` the
   * write only happens if nobody changed the entity meanwhile (the ETag check is atomic).
   */
  async update(
    current: StoredEntity,
    next: { key: string; props: Record<string, unknown> },
    expectedVersion?: number,
  ): Promise<StoredEntity> {
    const now = Math.max(this.now(), current.updated);
    const version = current.version + 1;
    const guard = expectedVersion === undefined ? sql`` : sql` and "version" = ${expectedVersion}`;
    const result = await this.entityWrite({ scope: current.scope }, () => this.guardDuplicate(() =>
      sql`update "entities" set "entity_key" = ${next.key}, "props" = ${JSON.stringify(next.props)}, "version" = ${version}, "updated" = ${now}
        where "id" = ${current.id}${guard}`.execute(this.db),
    ));
    if (Number(result.numAffectedRows ?? 0) === 0) throw new VersionMismatchError('entity changed meanwhile');
    return { ...current, key: next.key, props: next.props, version, updated: now };
  }

  async delete(entity: Pick<StoredEntity, 'id' | 'scope'>, expectedVersion?: number): Promise<boolean> {
    let q = this.db.deleteFrom('entities').where('id', '=', entity.id);
    if (expectedVersion !== undefined) q = q.where('version', '=', expectedVersion);
    const result = await this.entityWrite({ scope: entity.scope }, () => q.executeTakeFirst());
    return Number(result.numDeletedRows) > 0;
  }

  /** Moves every entity of one set to another set name in the same scope (a renamed user EntityType keeps its data). */
  async renameEntitySet(scope: Scope, from: string, to: string): Promise<void> {
    await this.entityWrite({ scope }, () =>
      this.db
        .updateTable('entities')
        .set({ entity_set: to })
        .where('cell_id', '=', scope.cellId)
        .where('box_id', '=', scope.boxId)
        .where('node_id', '=', scope.nodeId)
        .where('entity_set', '=', from)
        .execute(),
    );
  }

  /**
   * The entities a WebDAV node holds (an OData collection's data, and its schema in the
   * `{node}/$metadata` scope): their scope's node id is the node's id or starts with it and `/`.
   */
  private nodeEntities(cellId: string, boxId: string, nodeId: string) {
    return (eb: ExpressionBuilder<Database, 'entities'>) =>
      eb.and([
        eb('cell_id', '=', cellId),
        eb('box_id', '=', boxId),
        // Node ids are UUIDs: nothing in them is a LIKE wildcard.
        eb.or([eb('node_id', '=', nodeId), eb('node_id', 'like', `${nodeId}/%`)]),
      ]);
  }

  /** Removes the entities that live in a box (OData collections' data and schemas), for a box deleted recursively. */
  async deleteBoxEntities(cellId: string, boxId: string): Promise<void> {
    await this.entityWrite(ANYTHING, () => this.db.deleteFrom('entities').where('cell_id', '=', cellId).where('box_id', '=', boxId).execute());
  }

  async nodeHasEntities(cellId: string, boxId: string, nodeId: string): Promise<boolean> {
    const row = await this.db.selectFrom('entities').select('id').where(this.nodeEntities(cellId, boxId, nodeId)).limit(1).executeTakeFirst();
    return row !== undefined;
  }

  /** Removes what a deleted WebDAV node held; links go with the entities. */
  async deleteNodeEntities(cellId: string, boxId: string, nodeId: string): Promise<void> {
    await this.entityWrite(ANYTHING, () => this.db.deleteFrom('entities').where(this.nodeEntities(cellId, boxId, nodeId)).execute());
  }

  /** True when anything at all lives in the cell (control objects, links, data, files of the main box). */
  async cellHasContent(cellId: string): Promise<boolean> {
    const row = await this.db.selectFrom('entities').select('id').where('cell_id', '=', cellId).limit(1).executeTakeFirst();
    if (row) return true;
    const node = await this.db
      .selectFrom('dav_nodes')
      .select('id')
      .where('cell_id', '=', cellId)
      .where('kind', '!=', 'root')
      .limit(1)
      .executeTakeFirst();
    return node !== undefined;
  }

  /** Removes everything a cell holds (apiref 105); the cell entity itself stays for the caller. */
  async deleteCellContent(cellId: string): Promise<void> {
    await this.db.deleteFrom('dav_nodes').where('cell_id', '=', cellId).execute();
    await this.db.deleteFrom('links').where('cell_id', '=', cellId).execute();
    await this.entityWrite(ANYTHING, () => this.db.deleteFrom('entities').where('cell_id', '=', cellId).execute());
  }

  async link(cellId: string, name: string, fromId: string, toId: string): Promise<void> {
    await this.entityWrite({ link: name }, () =>
      this.guardDuplicate(() =>
        this.db
          .insertInto('links')
          .values({ cell_id: cellId, name, from_id: fromId, to_id: toId, created: this.now() })
          .execute(),
      ),
    );
  }

  async unlink(name: string, fromId: string, toId: string): Promise<boolean> {
    const result = await this.entityWrite({ link: name }, () =>
      this.db
        .deleteFrom('links')
        .where('name', '=', name)
        .where('from_id', '=', fromId)
        .where('to_id', '=', toId)
        .executeTakeFirst(),
    );
    return Number(result.numDeletedRows) > 0;
  }

  async hasLink(name: string, fromId: string, toId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('links')
      .select('seq')
      .where('name', '=', name)
      .where('from_id', '=', fromId)
      .where('to_id', '=', toId)
      .executeTakeFirst();
    return row !== undefined;
  }

  async countLinks(name: string, id: string, direction: 'from' | 'to'): Promise<number> {
    const column = direction === 'from' ? 'from_id' : 'to_id';
    const row = await this.db
      .selectFrom('links')
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('name', '=', name)
      .where(column, '=', id)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** The links named `name` that start at one of `fromIds` (as from → to pairs). */
  async linksFrom(name: string, fromIds: string[]): Promise<Array<{ from: string; to: string }>> {
    if (fromIds.length === 0) return [];
    const rows = await this.db.selectFrom('links').select(['from_id', 'to_id']).where('name', '=', name).where('from_id', 'in', fromIds).execute();
    return rows.map((r) => ({ from: r.from_id, to: r.to_id }));
  }

  /** The links named `name` touching `id` in either direction, oldest first, as the other end's id. */
  async linkedEitherWay(name: string, id: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('links')
      .select(['from_id', 'to_id'])
      .where('name', '=', name)
      .where((eb) => eb.or([eb('from_id', '=', id), eb('to_id', '=', id)]))
      .orderBy('seq')
      .execute();
    return [...new Set(rows.map((r) => (r.from_id === id ? r.to_id : r.from_id)))];
  }

  /** Drops every link named `name` touching `id` (the entity is going away). */
  async unlinkAll(name: string, id: string): Promise<number> {
    const result = await this.entityWrite({ link: name }, () =>
      this.db
        .deleteFrom('links')
        .where('name', '=', name)
        .where((eb) => eb.or([eb('from_id', '=', id), eb('to_id', '=', id)]))
        .executeTakeFirst(),
    );
    return Number(result.numDeletedRows);
  }

  async hasAnyLink(id: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('links')
      .select('seq')
      .where((eb) => eb.or([eb('from_id', '=', id), eb('to_id', '=', id)]))
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  private async guardDuplicate<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (err) {
      if (isUniqueViolation(err)) throw new DuplicateKeyError('duplicate key', { cause: err });
      throw err;
    }
  }

  private toEntity(row: Selectable<EntitiesTable>): StoredEntity {
    return this.toScopedEntity(row, { cellId: row.cell_id, boxId: row.box_id, nodeId: row.node_id }, row.entity_set);
  }

  /** For queries that already fixed scope and set: they select only SCOPED_COLUMNS. */
  private toScopedEntity(row: ScopedRow, scope: Scope, entitySet: string): StoredEntity {
    return {
      id: row.id,
      scope,
      entitySet,
      key: row.entity_key,
      version: Number(row.version),
      published: Number(row.published),
      updated: Number(row.updated),
      // SQLite hands back JSON text, PostgreSQL an already-parsed jsonb value.
      props: (typeof row.props === 'string' ? JSON.parse(row.props) : row.props) as Record<string, unknown>,
    };
  }
}

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

export const sqlTrue = sql<SqlBool>`1 = 1`;
