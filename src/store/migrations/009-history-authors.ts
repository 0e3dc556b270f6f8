import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../../query/compile.js';

/**
 * ItemList answers every item with its count of unread histories: the histories of the page's
 * items written by someone other than the reader after the reader's mark. Without this index each
 * counted history row was read from the table for its author; with it the count is answered from
 * the index alone.
 *
 * Partial on "has an author", never on a constant such as `entity_set = 'hx.History'`: SQLite
 * decides whether `entity_set = ?` satisfies such a predicate by looking at the bound value, and
 * then marks every statement of that shape to be prepared again whenever the value is re-bound —
 * which made every query on `entities` pay a fresh prepare (measured: a lookup by key 8 → 25 µs).
 * `author <> ?` implies `author is not null` without looking at any value, on both databases.
 */
export function historyAuthorsMigration(dialect: Dialect): Migration {
  const author = dialect === 'sqlite' ? `json_extract(props, '$."user_id"')` : `(props #>> '{user_id}')`;
  return {
    async up(db: Kysely<any>) {
      await sql.raw(`create index if not exists entities_history_authors on entities (cell_id, box_id, node_id, entity_set, ${author}, published) where ${author} is not null`).execute(db);
    },
    async down(db: Kysely<any>) {
      await sql`drop index if exists entities_history_authors`.execute(db);
    },
  };
}
