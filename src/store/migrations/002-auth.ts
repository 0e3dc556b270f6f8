import type { Kysely, Migration } from 'kysely';

/**
 * State the token endpoint keeps besides the control objects: password hashes, authentication
 * history, refresh-token rotation and single-use authorization codes. Account rows cascade away
 * with their account entity.
 */
export function authMigration(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('account_secrets')
        .ifNotExists()
        .addColumn('account_id', 'text', (c) => c.primaryKey().references('entities.id').onDelete('cascade'))
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('changed', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('auth_history')
        .ifNotExists()
        .addColumn('account_id', 'text', (c) => c.primaryKey().references('entities.id').onDelete('cascade'))
        .addColumn('last_authenticated', 'bigint')
        .addColumn('failed_count', 'integer', (c) => c.notNull())
        // Consecutive failures towards the account lock; counted even where history is not recorded.
        .addColumn('lock_failures', 'integer', (c) => c.notNull())
        .addColumn('last_failure', 'bigint')
        .addColumn('locked_until', 'bigint')
        .execute();
      // One row per issued refresh token: rotation marks it used; a second use revokes its family.
      await db.schema
        .createTable('refresh_tokens')
        .ifNotExists()
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('cell_id', 'text', (c) => c.notNull().references('entities.id').onDelete('cascade'))
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('family', 'text', (c) => c.notNull())
        .addColumn('used', 'integer', (c) => c.notNull())
        .addColumn('expires', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('refresh_tokens_family').ifNotExists().on('refresh_tokens').column('family').execute();
      await db.schema
        .createIndex('refresh_tokens_subject')
        .ifNotExists()
        .on('refresh_tokens')
        .columns(['cell_id', 'subject'])
        .execute();
      await db.schema
        .createTable('auth_codes')
        .ifNotExists()
        .addColumn('code', 'text', (c) => c.primaryKey())
        .addColumn('cell_id', 'text', (c) => c.notNull().references('entities.id').onDelete('cascade'))
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('expires', 'bigint', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<any>) {
      for (const t of ['auth_codes', 'refresh_tokens', 'auth_history', 'account_secrets']) {
        await db.schema.dropTable(t).ifExists().execute();
      }
    },
  };
}
