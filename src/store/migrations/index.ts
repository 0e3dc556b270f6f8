import { Migrator, sql, type DatabaseIntrospector, type Kysely, type Migration, type MigrationProvider, type TableMetadata } from 'kysely';
import type { Dialect } from '../../query/compile.js';
import { entitiesMigration } from './001-entities.js';
import { authMigration } from './002-auth.js';
import { davMigration } from './003-dav.js';
import { inlineContentMigration } from './004-inline-content.js';
import { fullTextMigration } from './005-full-text.js';
import { hexabaseSessionsMigration } from './006-hexabase-sessions.js';
import { jobsMigration } from './007-jobs.js';
import { fullTextScopeMigration } from './008-full-text-scope.js';
import { historyAuthorsMigration } from './009-history-authors.js';

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
    '009-history-authors': historyAuthorsMigration(dialect),
  };
}

/**
 * `schema` pins Kysely's bookkeeping tables on PostgreSQL: without it the Migrator looks them up
 * across every schema and can see another kura's (e.g. a parallel test run's) tables as its own.
 */
export async function migrateToLatest(db: Kysely<any>, dialect: Dialect, schema?: string): Promise<void> {
  const provider: MigrationProvider = { getMigrations: async () => migrations(dialect) };
  const migratorDb = schema ? withSchemaIntrospection(db, schema) : db;
  const migrator = new Migrator({ db: migratorDb, provider, ...(schema ? { migrationTableSchema: schema } : {}) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'bookkeeping';
    throw new Error(`migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/**
 * The Migrator only asks whether its schema and two tables exist, but Kysely's PostgreSQL
 * introspector answers by describing every column of every table in the database, calling
 * `pg_get_serial_sequence` on each by name. A schema dropped meanwhile by someone else (another
 * kura, a parallel test) makes that call fail with "schema … does not exist" and the start-up with
 * it. This introspector looks at our schema only, by catalog lookups that cannot race a drop.
 */
function withSchemaIntrospection(db: Kysely<any>, schema: string): Kysely<any> {
  const introspection: DatabaseIntrospector = {
    async getSchemas() {
      const { rows } = await sql<{ name: string }>`select nspname as name from pg_catalog.pg_namespace where nspname = ${schema}`.execute(db);
      return rows.map((r) => ({ name: r.name }));
    },
    async getTables(): Promise<TableMetadata[]> {
      const { rows } = await sql<{ name: string }>`
        select c.relname as name from pg_catalog.pg_class c
        join pg_catalog.pg_namespace ns on ns.oid = c.relnamespace
        where ns.nspname = ${schema} and c.relkind in ('r', 'p')`.execute(db);
      return rows.map((r) => ({ name: r.name, schema, isView: false, columns: [] }));
    },
    async getMetadata() {
      return { tables: await this.getTables() };
    },
  };
  // A Proxy rather than a subclass: Kysely's private fields need `this` to be the real instance.
  return new Proxy(db, {
    get(target, property) {
      if (property === 'introspection') return introspection;
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
