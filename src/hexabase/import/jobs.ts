import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { EntityStore } from '../../store/entity-store.js';

/**
 * Persisted jobs (ARCHITECTURE.md idea 7, "Long work is a job"): one row of the `jobs` table
 * (migration 007) per job, written by the process that runs it and read by any request.
 *
 * Restarts: a job is not resumed. Its runner updates the row at least every HEARTBEAT_MS; a
 * queued or running job whose runner is another process and whose row has not moved for STALE_MS
 * is failed ("the server stopped while …") when it is read or when a server starts. On SQLite only
 * one process serves the database, so a starting server fails every unfinished job at once.
 * Finished jobs are purged after KEEP_MS.
 */
export type JobStatus = 'queued' | 'running' | 'done' | 'failed';

export interface JobError {
  /** Line of the input the error is about (1 = the header); 0 for the job as a whole. */
  line: number;
  description: string;
}

export interface Job {
  id: string;
  kind: string;
  ownerId: string;
  /** What the job works on (an import: the datastore's internal id). */
  target: string;
  status: JobStatus;
  /** Units of work in all, once known. */
  total: number | null;
  processed: number;
  errorCount: number;
  /** The first MAX_ERRORS errors. */
  errors: JobError[];
  detail: Record<string, unknown>;
  created: number;
  updated: number;
}

export type JobPatch = Partial<Pick<Job, 'status' | 'total' | 'processed' | 'errorCount' | 'errors' | 'detail'>>;

/** How many errors a job keeps (and a status answer shows); the count goes on past it. */
export const MAX_ERRORS = 1000;
export const HEARTBEAT_MS = 5_000;
const STALE_MS = 30_000;
const KEEP_MS = 7 * 24 * 3600 * 1000;

interface JobsTable {
  id: string;
  kind: string;
  owner_id: string;
  target: string;
  runner: string;
  status: string;
  total: number | null;
  processed: number;
  error_count: number;
  errors: string;
  detail: string;
  created: number;
  updated: number;
}

/** The `jobs` table only; kept apart from store/schema.ts's entity tables. */
interface JobsDb {
  jobs: JobsTable;
}

export class JobStore {
  /** This process, as the runner of the jobs it starts. */
  readonly runner = randomUUID();

  constructor(
    private readonly store: EntityStore,
    private readonly now: () => number = Date.now,
  ) {}

  /** The table through `store`'s connection or transaction (a job's progress can commit with its work). */
  private db(store: EntityStore = this.store): Kysely<JobsDb> {
    return store.executor as unknown as Kysely<JobsDb>;
  }

  async create(job: Pick<Job, 'id' | 'kind' | 'ownerId' | 'target' | 'detail'>): Promise<void> {
    const now = this.now();
    await this.db()
      .insertInto('jobs')
      .values({
        id: job.id,
        kind: job.kind,
        owner_id: job.ownerId,
        target: job.target,
        runner: this.runner,
        status: 'queued',
        total: null,
        processed: 0,
        error_count: 0,
        errors: '[]',
        detail: JSON.stringify(job.detail),
        created: now,
        updated: now,
      })
      .execute();
  }

  /** Records progress or an outcome; through `store` to commit it with a transaction's work. */
  async update(id: string, patch: JobPatch, store?: EntityStore): Promise<void> {
    const set: Partial<JobsTable> = { updated: this.now() };
    if (patch.status !== undefined) set.status = patch.status;
    if (patch.total !== undefined) set.total = patch.total;
    if (patch.processed !== undefined) set.processed = patch.processed;
    if (patch.errorCount !== undefined) set.error_count = patch.errorCount;
    if (patch.errors !== undefined) set.errors = JSON.stringify(patch.errors.slice(0, MAX_ERRORS));
    if (patch.detail !== undefined) set.detail = JSON.stringify(patch.detail);
    await this.db(store).updateTable('jobs').set(set).where('id', '=', id).execute();
  }

  /** The job, with one whose runner is gone reported (and recorded) as failed. */
  async get(id: string): Promise<Job | undefined> {
    const row = await this.db().selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    if (this.abandoned(row)) {
      await this.failAbandoned([row]);
      return this.get(id);
    }
    return toJob(row);
  }

  /**
   * At start-up: fails the unfinished jobs no process runs any more (all of them on SQLite) and
   * purges finished ones past KEEP_MS. Answers the ids still running elsewhere.
   */
  async sweep(): Promise<Set<string>> {
    const rows = await this.db().selectFrom('jobs').selectAll().where('status', 'in', ['queued', 'running']).execute();
    const soleServer = this.store.dialect === 'sqlite';
    await this.failAbandoned(rows.filter((r) => soleServer || this.abandoned(r)));
    await this.db().deleteFrom('jobs').where('status', 'in', ['done', 'failed']).where('updated', '<', this.now() - KEEP_MS).execute();
    return new Set(rows.filter((r) => !soleServer && !this.abandoned(r)).map((r) => r.id));
  }

  private abandoned(row: JobsTable): boolean {
    return (row.status === 'queued' || row.status === 'running') && row.runner !== this.runner && Number(row.updated) < this.now() - STALE_MS;
  }

  private async failAbandoned(rows: JobsTable[]): Promise<void> {
    for (const row of rows) {
      const errors = [...(JSON.parse(row.errors) as JobError[]), { line: 0, description: `the server stopped while the job was ${row.status}; it was not resumed` }];
      await this.db()
        .updateTable('jobs')
        .set({ status: 'failed', errors: JSON.stringify(errors.slice(-MAX_ERRORS)), error_count: Number(row.error_count) + 1, updated: this.now() })
        .where('id', '=', row.id)
        .where('runner', '=', row.runner)
        .where('status', '=', row.status)
        .execute();
    }
  }
}

function toJob(row: JobsTable): Job {
  return {
    id: row.id,
    kind: row.kind,
    ownerId: row.owner_id,
    target: row.target,
    status: row.status as JobStatus,
    total: row.total === null ? null : Number(row.total),
    processed: Number(row.processed),
    errorCount: Number(row.error_count),
    errors: JSON.parse(row.errors) as JobError[],
    detail: JSON.parse(row.detail) as Record<string, unknown>,
    created: Number(row.created),
    updated: Number(row.updated),
  };
}
