import type { Kysely, Migration } from 'kysely';

/**
 * Persisted jobs (ARCHITECTURE.md, "Long work is a job"): work that outlives its request — CSV
 * item imports first — with the progress and outcome the status endpoints read. `detail` and
 * `errors` are JSON text on both dialects: they are read whole, never searched inside.
 * `runner` names the process working on the job and `updated` is its heartbeat, so a job whose
 * process died can be told from one still running (src/hexabase/import/jobs.ts).
 */
export function jobsMigration(): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('jobs')
        .ifNotExists()
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('owner_id', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('runner', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('total', 'bigint')
        .addColumn('processed', 'bigint', (c) => c.notNull())
        .addColumn('error_count', 'bigint', (c) => c.notNull())
        .addColumn('errors', 'text', (c) => c.notNull())
        .addColumn('detail', 'text', (c) => c.notNull())
        .addColumn('created', 'bigint', (c) => c.notNull())
        .addColumn('updated', 'bigint', (c) => c.notNull())
        .execute();
      // The start-up sweep looks for unfinished jobs; finished ones are purged by age.
      await db.schema.createIndex('jobs_by_status').ifNotExists().on('jobs').columns(['status', 'updated']).execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('jobs').ifExists().execute();
    },
  };
}
