import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../../query/compile.js';

/**
 * Small file bodies in the row of their file (see BlobStore.put): they commit with the metadata in
 * one transaction, and a PUT of a small file costs no file-system round trips at all.
 */
export function inlineContentMigration(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .alterTable('dav_nodes')
        .addColumn('content', sql.raw(dialect === 'postgres' ? 'bytea' : 'blob'))
        .execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.alterTable('dav_nodes').dropColumn('content').execute();
    },
  };
}
