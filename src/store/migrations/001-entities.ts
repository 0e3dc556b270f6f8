import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../../query/compile.js';

/** Entities and links; every later entity set (control objects, user data, Hexabase items) reuses them. */
export function entitiesMigration(dialect: Dialect): Migration {
  const json = dialect === 'postgres' ? 'jsonb' : 'text';
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('entities')
        .ifNotExists()
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('cell_id', 'text', (c) => c.notNull())
        .addColumn('box_id', 'text', (c) => c.notNull())
        .addColumn('node_id', 'text', (c) => c.notNull())
        .addColumn('entity_set', 'text', (c) => c.notNull())
        .addColumn('entity_key', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('published', 'bigint', (c) => c.notNull())
        .addColumn('updated', 'bigint', (c) => c.notNull())
        .addColumn('props', sql.raw(json), (c) => c.notNull())
        .execute();
      // The identity of an entity: also the index every by-key lookup and key-property $filter uses.
      await db.schema
        .createIndex('entities_identity')
        .ifNotExists()
        .unique()
        .on('entities')
        .columns(['cell_id', 'box_id', 'node_id', 'entity_set', 'entity_key'])
        .execute();
      await db.schema
        .createIndex('entities_by_published')
        .ifNotExists()
        .on('entities')
        .columns(['cell_id', 'box_id', 'node_id', 'entity_set', 'published'])
        .execute();

      await db.schema
        .createTable('links')
        .ifNotExists()
        .addColumn('seq', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
          dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('cell_id', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('from_id', 'text', (c) => c.notNull().references('entities.id').onDelete('cascade'))
        .addColumn('to_id', 'text', (c) => c.notNull().references('entities.id').onDelete('cascade'))
        .addColumn('created', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('links_pair')
        .ifNotExists()
        .unique()
        .on('links')
        .columns(['name', 'from_id', 'to_id'])
        .execute();
      await db.schema.createIndex('links_to').ifNotExists().on('links').columns(['to_id', 'name']).execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('links').ifExists().execute();
      await db.schema.dropTable('entities').ifExists().execute();
    },
  };
}
