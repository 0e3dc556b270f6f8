import { Migrator, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import type { Dialect } from '../../query/compile.js';
import { entitiesMigration } from './001-entities.js';

/** Versioned migrations, one set for both dialects; names sort in the order they apply. */
function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    '001-entities': entitiesMigration(dialect),
  };
}

export async function migrateToLatest(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  const migrator = new Migrator({ db, provider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new Error(`migration ${failed} failed`, { cause: error });
  }
}
