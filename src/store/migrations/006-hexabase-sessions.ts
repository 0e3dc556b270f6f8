import type { Kysely, Migration } from 'kysely';

/** Hexabase login sessions (issue 6): bearer tokens that expire and are revoked at logout. */
export function hexabaseSessionsMigration(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('hx_sessions')
        .ifNotExists()
        .addColumn('token_digest', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .addColumn('expires', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('hx_sessions_user').ifNotExists().on('hx_sessions').columns(['user_id']).execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('hx_sessions').ifExists().execute();
    },
  };
}
