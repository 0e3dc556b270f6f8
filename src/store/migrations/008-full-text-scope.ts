import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../../query/compile.js';

/**
 * The full-text index of 005 is for Personium user data, but its triggers picked every entity with a
 * node id — Hexabase items, histories and counters too (their cell id is `hx`), which made each
 * item write also tokenise its document. The triggers now skip them, and what was indexed of them
 * is dropped. (On PostgreSQL the GIN index stays as it is: the query for `q` names the cell by a
 * parameter, which a partial index's predicate could not be matched against.)
 */
const USER_DATA_ROW = (row: 'new' | 'old') => `${row}.node_id <> '' and ${row}.node_id not like '%/$metadata' and ${row}.cell_id <> 'hx'`;
const DOCUMENT_TEXT = `(select group_concat(atom, ' ') from json_tree(new.props) where atom is not null and type <> 'null')`;

export function fullTextScopeMigration(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      if (dialect === 'postgres') return;
      for (const trigger of ['entity_text_insert', 'entity_text_update', 'entity_text_delete']) await sql.raw(`drop trigger if exists ${trigger}`).execute(db);
      await sql.raw(`create trigger entity_text_insert after insert on entities when ${USER_DATA_ROW('new')} begin
          insert into entity_search (entity_id) values (new.id);
          insert into entity_text (rowid, body) values (last_insert_rowid(), ${DOCUMENT_TEXT});
        end`).execute(db);
      await sql.raw(`create trigger entity_text_update after update of props on entities when ${USER_DATA_ROW('new')} begin
          delete from entity_text where rowid = (select seq from entity_search where entity_id = old.id);
          insert into entity_text (rowid, body) values ((select seq from entity_search where entity_id = new.id), ${DOCUMENT_TEXT});
        end`).execute(db);
      await sql.raw(`create trigger entity_text_delete after delete on entities when ${USER_DATA_ROW('old')} begin
          delete from entity_text where rowid = (select seq from entity_search where entity_id = old.id);
          delete from entity_search where entity_id = old.id;
        end`).execute(db);
      await sql`delete from entity_text where rowid in (select s.seq from entity_search s join entities e on e.id = s.entity_id where e.cell_id = 'hx')`.execute(db);
      await sql`delete from entity_search where entity_id in (select id from entities where cell_id = 'hx')`.execute(db);
    },
    async down() {
      // Indexing Hexabase rows again would gain nothing: kept as is.
    },
  };
}
