import { randomUUID } from 'node:crypto';
import { CompiledQuery, sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { compiledOnce } from './compiled-once.js';
import { rowByKey } from './direct-read.js';
import type { Database, DavNodesTable } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

/** Every column but a small file's body: lookups and listings never need the bytes. */
const NODE_COLUMNS = [
  'id', 'cell_id', 'box_id', 'parent_id', 'name', 'kind', 'content_type', 'size', 'blob', 'sha256', 'version', 'created', 'updated', 'props', 'acl',
] as const;
type NodeRow = Omit<Selectable<DavNodesTable>, 'content'>;

export type DavKind = 'root' | 'col' | 'file' | 'odata' | 'service' | 'stream';

/** A resource of a box's WebDAV tree. */
export interface DavNode {
  id: string;
  cellId: string;
  boxId: string;
  parentId: string;
  name: string;
  kind: DavKind;
  contentType: string | null;
  size: number;
  blob: string | null;
  sha256: string | null;
  version: number;
  created: number;
  updated: number;
  /** Dead properties (see personium/dav/properties.ts). */
  props: Record<string, unknown>;
  /** The resource's own ACL (inherited ones are resolved by walking up). */
  acl: unknown;
}

export function isCollectionKind(kind: DavKind): boolean {
  return kind !== 'file';
}

/** Thrown when a name is already taken in the parent collection. */
export class DavConflictError extends Error {}

/** The WebDAV tree port (metadata only; bodies are in the BlobStore). */
export class DavStore {
  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  /** The root of a box's tree, created the first time it is needed. */
  async root(cellId: string, boxId: string): Promise<DavNode> {
    const found = await this.find(cellId, boxId, '', '');
    if (found) return found;
    const now = this.now();
    await this.db
      .insertInto('dav_nodes')
      .values(row({ id: randomUUID(), cellId, boxId, parentId: '', name: '', kind: 'root', contentType: null, size: 0, blob: null, sha256: null, version: 1, created: now, updated: now, props: {}, acl: null }))
      .onConflict((oc) => oc.columns(['cell_id', 'box_id', 'parent_id', 'name']).doNothing())
      .execute();
    return (await this.find(cellId, boxId, '', ''))!;
  }

  async get(id: string): Promise<DavNode | undefined> {
    const r = await rowByKey<NodeRow>(this.db, 'dav node by id', 'dav_nodes', NODE_COLUMNS, { id });
    return r && toNode(r);
  }

  /** A small file's body kept in its row, if the row still holds that blob. */
  async content(id: string, blob: string): Promise<Buffer | undefined> {
    const r = await this.db.selectFrom('dav_nodes').select('content').where('id', '=', id).where('blob', '=', blob).executeTakeFirst();
    return r?.content ?? undefined;
  }

  async child(parent: DavNode, name: string): Promise<DavNode | undefined> {
    return this.find(parent.cellId, parent.boxId, parent.id, name);
  }

  /**
   * The children of a collection, by name. Only the columns a listing needs are read: the ones
   * the parent already tells (cell, box, parent) are filled in (better-sqlite3 builds a string per
   * column per row; a 1,000-entry PROPFIND reads 3,000 strings fewer).
   */
  async children(parent: DavNode): Promise<DavNode[]> {
    const rows = await this.db
      .selectFrom('dav_nodes')
      .select(['id', 'name', 'kind', 'content_type', 'size', 'blob', 'sha256', 'version', 'created', 'updated', 'props', 'acl'])
      .where('cell_id', '=', parent.cellId)
      .where('box_id', '=', parent.boxId)
      .where('parent_id', '=', parent.id)
      .orderBy('name')
      .execute();
    return rows.map((r) => toNode({ ...r, cell_id: parent.cellId, box_id: parent.boxId, parent_id: parent.id }));
  }

  async countChildren(parent: DavNode): Promise<number> {
    const text = compiledOnce(this.db, 'dav child count', () =>
      this.db
        .selectFrom('dav_nodes')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('parent_id', '=', '')
        .compile(),
    );
    const r = (await this.db.executeQuery<{ n: number | string }>(CompiledQuery.raw(text, [parent.id]))).rows[0]!;
    return Number(r.n);
  }

  async hasChildren(parent: DavNode): Promise<boolean> {
    const r = await this.db.selectFrom('dav_nodes').select('id').where('parent_id', '=', parent.id).limit(1).executeTakeFirst();
    return r !== undefined;
  }

  /** Walks `segments` down from `root`: the nodes found, in order, stopping at the first missing one. */
  async walk(root: DavNode, segments: string[]): Promise<DavNode[]> {
    const path = [root];
    for (const name of segments) {
      const next = await this.child(path[path.length - 1]!, name);
      if (!next) break;
      path.push(next);
    }
    return path;
  }

  /** `content`: a small file's body, when its blob id says it is kept in the row. */
  async insert(node: Omit<DavNode, 'id' | 'version' | 'created' | 'updated'>, content: Buffer | null = null): Promise<DavNode> {
    const { full, values } = this.newRow(node, content);
    const text = compiledOnce(this.db, 'dav node insert', () => this.db.insertInto('dav_nodes').values(values as ReturnType<typeof row>).compile());
    try {
      await this.db.executeQuery(CompiledQuery.raw(text, Object.values(values)));
    } catch (err) {
      if (isUniqueViolation(err)) throw new DavConflictError('name taken', { cause: err });
      throw err;
    }
    return full;
  }

  /**
   * Adds a node unless its name is taken (undefined then): one statement, where insert() would
   * need the name looked up first to stay clear of a unique violation (which on PostgreSQL would
   * abort the whole transaction).
   */
  async insertIfNameFree(node: Omit<DavNode, 'id' | 'version' | 'created' | 'updated'>, content: Buffer | null = null): Promise<DavNode | undefined> {
    const { full, values } = this.newRow(node, content);
    const text = compiledOnce(this.db, 'dav node insert if name free', () =>
      this.db
        .insertInto('dav_nodes')
        .values(values as ReturnType<typeof row>)
        .onConflict((oc) => oc.columns(['cell_id', 'box_id', 'parent_id', 'name']).doNothing())
        .compile(),
    );
    const r = await this.db.executeQuery(CompiledQuery.raw(text, Object.values(values)));
    return Number(r.numAffectedRows ?? 0) === 1 ? full : undefined;
  }

  /** A collection's kind (undefined once it is gone) and how many children it has, in one statement. */
  async room(parentId: string): Promise<{ kind: DavKind | undefined; children: number }> {
    const text = compiledOnce(this.db, 'dav room', () =>
      sql`select (select kind from dav_nodes where id = ${''}) as kind, (select count(*) from dav_nodes where parent_id = ${''}) as n`.compile(this.db),
    );
    const r = (await this.db.executeQuery<{ kind: DavKind | null; n: number | string }>(CompiledQuery.raw(text, [parentId, parentId]))).rows[0]!;
    return { kind: r.kind ?? undefined, children: Number(r.n) };
  }

  /**
   * A new node and its column values. Every column present (null, never undefined), so the
   * statement compiled from the first row fits every later one and its parameters follow the same
   * key order.
   */
  private newRow(node: Omit<DavNode, 'id' | 'version' | 'created' | 'updated'>, content: Buffer | null) {
    const now = this.now();
    const full: DavNode = { ...node, id: randomUUID(), version: 1, created: now, updated: now };
    const values: Record<string, unknown> = { ...row(full), content };
    for (const key in values) values[key] ??= null;
    return { full, values };
  }

  /** Replaces a file's body (and type); fails with a version mismatch when the node changed meanwhile. */
  async replaceContent(
    node: DavNode,
    content: { blob: string; size: number; sha256: string; contentType: string },
    body: Buffer | null = null,
  ): Promise<DavNode | undefined> {
    const updated = Math.max(this.now(), node.updated + 1);
    const r = await this.db
      .updateTable('dav_nodes')
      .set({ blob: content.blob, size: content.size, sha256: content.sha256, content_type: content.contentType, content: body, version: node.version + 1, updated })
      .where('id', '=', node.id)
      .where('version', '=', node.version)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) return undefined;
    return { ...node, ...content, version: node.version + 1, updated };
  }

  /**
   * Takes the row's write lock until the transaction ends (on PostgreSQL: waits for whoever holds it),
   * so that what is read of it next stays true until this transaction writes. SQLite transactions
   * already run one at a time.
   */
  async holdRow(id: string): Promise<void> {
    await this.db.updateTable('dav_nodes').set((eb) => ({ version: eb.ref('version') })).where('id', '=', id).execute();
  }

  async setProps(node: DavNode, props: Record<string, unknown>): Promise<DavNode> {
    const updated = Math.max(this.now(), node.updated);
    await this.db
      .updateTable('dav_nodes')
      .set({ props: JSON.stringify(props), version: node.version + 1, updated })
      .where('id', '=', node.id)
      .execute();
    return { ...node, props, version: node.version + 1, updated };
  }

  async setAcl(node: DavNode, acl: unknown): Promise<void> {
    await this.db
      .updateTable('dav_nodes')
      .set({ acl: acl === null ? null : JSON.stringify(acl), version: node.version + 1 })
      .where('id', '=', node.id)
      .execute();
  }

  /** Moves/renames a node within its box. */
  async move(node: DavNode, parent: DavNode, name: string): Promise<void> {
    try {
      await this.db
        .updateTable('dav_nodes')
        // A move is a rename: the resource keeps its version and ETag (personium-core).
        .set({ parent_id: parent.id, name })
        .where('id', '=', node.id)
        .execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new DavConflictError('name taken', { cause: err });
      throw err;
    }
  }

  /** The node and everything below it (recursive query; one round trip). */
  async subtree(node: DavNode): Promise<DavNode[]> {
    const columns = sql.join(NODE_COLUMNS.map((c) => sql.ref(`dav_nodes.${c}`)));
    const result = await sql<NodeRow>`
      with recursive tree(id) as (
        select id from dav_nodes where id = ${node.id}
        union all
        select d.id from dav_nodes d join tree t on d.parent_id = t.id
      )
      select ${columns} from dav_nodes join tree on dav_nodes.id = tree.id`.execute(this.db);
    return result.rows.map(toNode);
  }

  async deleteNodes(ids: string[]): Promise<void> {
    for (let i = 0; i < ids.length; i += 500) {
      await this.db.deleteFrom('dav_nodes').where('id', 'in', ids.slice(i, i + 500)).execute();
    }
  }

  /** Removes a box's whole tree (its root included). */
  async deleteBox(cellId: string, boxId: string): Promise<void> {
    await this.db.deleteFrom('dav_nodes').where('cell_id', '=', cellId).where('box_id', '=', boxId).execute();
  }

  /** Whether a box holds anything besides its root. */
  async boxHasContent(cellId: string, boxId: string): Promise<boolean> {
    const r = await this.db
      .selectFrom('dav_nodes')
      .select('id')
      .where('cell_id', '=', cellId)
      .where('box_id', '=', boxId)
      .where('kind', '!=', 'root')
      .limit(1)
      .executeTakeFirst();
    return r !== undefined;
  }

  /** Blob files of every file of a cell (or of one box), for removal after the rows are gone. */
  async blobsOf(cellId: string, boxId?: string): Promise<string[]> {
    let q = this.db.selectFrom('dav_nodes').select('blob').where('cell_id', '=', cellId).where('blob', 'is not', null).where('content', 'is', null);
    if (boxId !== undefined) q = q.where('box_id', '=', boxId);
    return (await q.execute()).map((r) => r.blob!);
  }

  /** The lookup every path segment costs. */
  private async find(cellId: string, boxId: string, parentId: string, name: string): Promise<DavNode | undefined> {
    const r = await rowByKey<NodeRow>(this.db, 'dav child by name', 'dav_nodes', NODE_COLUMNS, { cell_id: cellId, box_id: boxId, parent_id: parentId, name });
    return r && toNode(r);
  }
}

function row(n: DavNode) {
  return {
    id: n.id,
    cell_id: n.cellId,
    box_id: n.boxId,
    parent_id: n.parentId,
    name: n.name,
    kind: n.kind,
    content_type: n.contentType,
    size: n.size,
    blob: n.blob,
    sha256: n.sha256,
    version: n.version,
    created: n.created,
    updated: n.updated,
    props: JSON.stringify(n.props),
    acl: n.acl === null || n.acl === undefined ? null : JSON.stringify(n.acl),
  };
}

function parseJson(v: unknown): unknown {
  if (v === '{}') return {};
  return typeof v === 'string' ? JSON.parse(v) : v;
}

function toNode(r: NodeRow): DavNode {
  return {
    id: r.id,
    cellId: r.cell_id,
    boxId: r.box_id,
    parentId: r.parent_id,
    name: r.name,
    kind: r.kind as DavKind,
    contentType: r.content_type,
    size: Number(r.size),
    blob: r.blob,
    sha256: r.sha256,
    version: Number(r.version),
    created: Number(r.created),
    updated: Number(r.updated),
    props: (parseJson(r.props) ?? {}) as Record<string, unknown>,
    acl: r.acl === null ? null : parseJson(r.acl),
  };
}

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}
