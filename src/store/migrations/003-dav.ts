import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../../query/compile.js';

/**
 * The WebDAV tree of every box (ARCHITECTURE.md idea 3): one row per collection or file, the box
 * root included (parent '' and name ''). File bodies live in the blob store; a row points at its
 * blob. Dead properties and the ACL of a resource are JSON next to it.
 */
export function davMigration(dialect: Dialect): Migration {
  const json = dialect === 'postgres' ? 'jsonb' : 'text';
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('dav_nodes')
        .ifNotExists()
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('cell_id', 'text', (c) => c.notNull().references('entities.id').onDelete('cascade'))
        // The Box entity's id, or '__' for the cell's main box.
        .addColumn('box_id', 'text', (c) => c.notNull())
        .addColumn('parent_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        // root | col | file | odata | service | stream
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('content_type', 'text')
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('blob', 'text')
        .addColumn('sha256', 'text')
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .addColumn('updated', 'bigint', (c) => c.notNull())
        .addColumn('props', sql.raw(json), (c) => c.notNull())
        .addColumn('acl', sql.raw(json))
        .execute();
      await db.schema
        .createIndex('dav_nodes_path')
        .ifNotExists()
        .unique()
        .on('dav_nodes')
        .columns(['cell_id', 'box_id', 'parent_id', 'name'])
        .execute();
      await db.schema.createIndex('dav_nodes_parent').ifNotExists().on('dav_nodes').columns(['parent_id', 'name']).execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('dav_nodes').ifExists().execute();
    },
  };
}
