import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Dialect } from '../../query/compile.js';
import { entitiesMigration } from './001-entities.js';
import { authMigration } from './002-auth.js';
import { davMigration } from './003-dav.js';
import { inlineContentMigration } from './004-inline-content.js';
import { fullTextMigration } from './005-full-text.js';
import { hexabaseSessionsMigration } from './006-hexabase-sessions.js';
import { jobsMigration } from './007-jobs.js';
import { fullTextScopeMigration } from './008-full-text-scope.js';

/** Versioned migrations, one set for both dialects; names sort in the order they apply. */
function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    '001-entities': entitiesMigration(dialect),
    '002-auth': authMigration(),
    '003-dav': davMigration(dialect),
    '004-inline-content': inlineContentMigration(dialect),
    '005-full-text': fullTextMigration(dialect),
    '006-hexabase-sessions': hexabaseSessionsMigration(),
    '007-jobs': jobsMigration(),
    '008-full-text-scope': fullTextScopeMigration(dialect),
  };
}

/**
 * `schema` pins Kysely's bookkeeping tables on PostgreSQL: without it the Migrator looks them up
 * across every schema and can see another kura's (e.g. a parallel test run's) tables as its own.
 */
export async function migrateToLatest(db: Kysely<any>, dialect: Dialect, schema?: string): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  const migrator = new Migrator({ db, provider, ...(schema ? { migrationTableSchema: schema } : {}) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
