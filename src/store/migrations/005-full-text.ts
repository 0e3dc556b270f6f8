import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../../query/compile.js';

/**
 * Full-text search over user data (apiref 408) in the database's own full-text index.
 *
 * SQLite: an FTS5 table holding, per entity of user data, every scalar value of its document
 * (nested ComplexType members and list items included), kept in step by triggers so no write path
 * can forget it. FTS5 rows are addressed by integer rowid while entities are keyed by text, and
 * an entity's own rowid is not stable across VACUUM: `entity_search` gives each entity a stable
 * integer. The FTS table is contentless (the documents are in `entities` already).
 *
 * PostgreSQL: a GIN index on `jsonb_to_tsvector('simple', props, …)`, the same expression the
 * query compiler writes (query/full-text.ts). Both tokenise into words, case-insensitively.
 */
const USER_DATA_ROW = (row: 'new' | 'old') => `${row}.node_id <> '' and ${row}.node_id not like '%/$metadata'`;
const DOCUMENT_TEXT = `(select group_concat(atom, ' ') from json_tree(new.props) where atom is not null and type <> 'null')`;

export function fullTextMigration(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      if (dialect === 'postgres') {
        await sql`create index if not exists entities_full_text on entities
          using gin (jsonb_to_tsvector('simple'::regconfig, props, '["string", "numeric", "boolean"]'::jsonb))`.execute(db);
        return;
      }
      await sql`create table if not exists entity_search (seq integer primary key autoincrement, entity_id text not null unique)`.execute(db);
      await sql`create virtual table if not exists entity_text using fts5(body, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2')`.execute(db);
      await sql.raw(`create trigger if not exists entity_text_insert after insert on entities when ${USER_DATA_ROW('new')} begin
          insert into entity_search (entity_id) values (new.id);
          insert into entity_text (rowid, body) values (last_insert_rowid(), ${DOCUMENT_TEXT});
        end`).execute(db);
      await sql.raw(`create trigger if not exists entity_text_update after update of props on entities when ${USER_DATA_ROW('new')} begin
          delete from entity_text where rowid = (select seq from entity_search where entity_id = old.id);
          insert into entity_text (rowid, body) values ((select seq from entity_search where entity_id = new.id), ${DOCUMENT_TEXT});
        end`).execute(db);
      await sql.raw(`create trigger if not exists entity_text_delete after delete on entities when ${USER_DATA_ROW('old')} begin
          delete from entity_text where rowid = (select seq from entity_search where entity_id = old.id);
          delete from entity_search where entity_id = old.id;
        end`).execute(db);
      // User data written before this migration.
      await sql.raw(`insert into entity_search (entity_id) select id from entities as new where ${USER_DATA_ROW('new')}`).execute(db);
      await sql.raw(`insert into entity_text (rowid, body)
          select s.seq, ${DOCUMENT_TEXT} from entities as new join entity_search s on s.entity_id = new.id`).execute(db);
    },
    async down(db: Kysely<any>) {
      if (dialect === 'postgres') {
        await sql`drop index if exists entities_full_text`.execute(db);
        return;
      }
      for (const trigger of ['entity_text_insert', 'entity_text_update', 'entity_text_delete']) {
        await sql.raw(`drop trigger if exists ${trigger}`).execute(db);
      }
      await sql`drop table if exists entity_text`.execute(db);
      await sql`drop table if exists entity_search`.execute(db);
    },
  };
}
