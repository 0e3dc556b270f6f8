import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../query/compile.js';
import type { Database } from './schema.js';

/** What a property name may be for its name to go into DDL text (apiref 355's name rule is stricter). */
const INDEXABLE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/**
 * Indexes on declared properties of user data (ARCHITECTURE.md, idea 2: properties live in one JSON
 * document; typed access comes from expression indexes rather than a column per property).
 *
 * One index per property *name*, shared by every collection and EntityType that declares it:
 * `(cell_id, box_id, node_id, entity_set, <the property's JSON value>)`, partial on the value
 * being present, so entities without the property cost no index entry. The expression is written
 * exactly as the query compiler writes a declared property (compile.ts), which is what lets the
 * planners match it; leading with the scope columns makes it the better choice than the scope
 * indexes even on a SQLite database without ANALYZE statistics. On PostgreSQL the index holds the
 * text form (`#>>`), which serves equality, ranges and prefixes on strings; numeric comparisons
 * there go through a type check that no index can hold, because the same name may hold a string
 * in another collection.
 *
 * Indexes are created when a collection's schema is first used after a change, outside any
 * transaction (PostgreSQL builds them CONCURRENTLY, so writers are not blocked); they are never
 * dropped, since other collections may share them. DDL cannot take bound parameters: the property
 * name is written into the statement only after matching INDEXABLE_NAME.
 */
export class PropertyIndexes {
  private known: Promise<Set<string>> | undefined;
  /** Property names whose index is known to exist (or that get none). */
  private readonly ready = new Set<string>();
  private readonly building = new Map<string, Promise<void>>();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  /** Makes sure every name in `names` has its index; resolves once they exist. */
  async ensure(names: Iterable<string>): Promise<void> {
    const list = [...names];
    // The common case, every index built already, costs no hashing and no waiting.
    if (list.every((n) => this.ready.has(n))) return;
    const known = await (this.known ??= this.loadKnown());
    const work: Promise<void>[] = [];
    for (const name of list) {
      if (!INDEXABLE_NAME.test(name)) {
        this.ready.add(name);
        continue;
      }
      const index = indexName(name);
      if (known.has(index)) {
        this.ready.add(name);
        continue;
      }
      let pending = this.building.get(index);
      if (!pending) {
        // One build at a time: concurrent CONCURRENTLY builds on one table deadlock each other.
        pending = this.queue
          .then(() => this.createWithRetry(index, name))
          .then(() => void known.add(index))
          .finally(() => this.building.delete(index));
        this.queue = pending.catch(() => undefined);
        this.building.set(index, pending);
      }
      work.push(pending);
    }
    await Promise.all(work);
  }

  private async loadKnown(): Promise<Set<string>> {
    const rows =
      this.dialect === 'sqlite'
        ? await sql<{ name: string }>`select name from sqlite_master where type = 'index' and name like 'entities\\_p\\_%' escape '\\'`.execute(this.db)
        : await sql<{ name: string }>`select c.relname as name from pg_index i join pg_class c on c.oid = i.indexrelid
            where c.relname like 'entities\\_p\\_%' escape '\\' and i.indisvalid and c.relnamespace = current_schema()::regnamespace`.execute(this.db);
    return new Set(rows.rows.map((r) => r.name));
  }

  /**
   * A CONCURRENTLY build waits for older transactions anywhere in the database, so builds by other
   * kura nodes can still deadlock with this one; PostgreSQL then fails one of them, which tries again.
   */
  private async createWithRetry(index: string, name: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.create(index, name);
      } catch (err) {
        if ((err as { code?: string }).code !== '40P01' || attempt === 5) throw err;
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt * Math.random()));
      }
    }
  }

  private async create(index: string, name: string): Promise<void> {
    if (this.dialect === 'sqlite') {
      const value = `json_extract(props, '$."${name}"')`;
      await sql
        .raw(`create index if not exists ${index} on entities (cell_id, box_id, node_id, entity_set, ${value}) where ${value} is not null`)
        .execute(this.db);
      return;
    }
    const value = `(props #>> '{"${name}"}')`;
    // An interrupted CONCURRENTLY build leaves an invalid index that IF NOT EXISTS would keep: drop it first.
    const invalid = await sql<{ n: number }>`select 1 as n from pg_index i join pg_class c on c.oid = i.indexrelid
      where c.relname = ${index} and not i.indisvalid and c.relnamespace = current_schema()::regnamespace`.execute(this.db);
    if (invalid.rows.length > 0) await sql.raw(`drop index concurrently if exists ${index}`).execute(this.db);
    try {
      await sql
        .raw(`create index concurrently if not exists ${index} on entities (cell_id, box_id, node_id, entity_set, ${value}) where ${value} is not null`)
        .execute(this.db);
    } catch (err) {
      // Another node built it meanwhile: fine if it now exists.
      const exists = await sql<{ n: number }>`select 1 as n from pg_class c where c.relname = ${index}
        and c.relnamespace = current_schema()::regnamespace`.execute(this.db);
      if (exists.rows.length === 0) throw err;
    }
  }
}

/** Index names are case-insensitive in SQL while property names are not: name them by a digest. */
function indexName(property: string): string {
  return `entities_p_${createHash('sha256').update(property).digest('hex').slice(0, 24)}`;
}
