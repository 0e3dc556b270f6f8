import { CompiledQuery, sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.js';
import { sqlitePartsOf } from './sqlite-parts.js';

interface Pending {
  work: (trx: Transaction<Database>) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

// Run around every unit of work: compiled once rather than built from a template each time.
const SAVEPOINT = CompiledQuery.raw('savepoint kura_unit');
const RELEASE = CompiledQuery.raw('release kura_unit');
const ROLLBACK_TO = CompiledQuery.raw('rollback to kura_unit');

/** Most transactions one commit may carry, so a burst never holds the database for long. */
const MAX_BATCH = 64;

/**
 * Group commit for SQLite (ARCHITECTURE.md, Durability): every durable COMMIT costs an fsync, and
 * concurrent writers would queue behind the disk. Transactions that arrive in the same
 * turn of the event loop run one after another inside one database transaction, each in its own
 * SAVEPOINT (so one failing rolls back only itself), and all are answered after the single
 * COMMIT — still acknowledged only once durable, for a fraction of the fsyncs. The fsync itself
 * runs off the event loop (wal-sync.ts).
 * A unit of work must do database work only, through the transaction it is handed: anything slow it
 * awaits would hold the batch, and a query on the outer database would wait for the batch forever.
 */
export class GroupCommit {
  private queue: Pending[] = [];
  private flushing = false;

  constructor(private readonly db: Kysely<Database>) {}

  run<T>(work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0, MAX_BATCH);
    const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
    const runBatch = (db: Kysely<Database>) =>
      db.transaction().execute(async (trx) => {
        for (const item of batch) {
          await trx.executeQuery(SAVEPOINT);
          try {
            const value = await item.work(trx);
            await trx.executeQuery(RELEASE);
            outcomes.push({ ok: true, value });
          } catch (error) {
            await trx.executeQuery(ROLLBACK_TO);
            await trx.executeQuery(RELEASE);
            outcomes.push({ ok: false, error });
          }
        }
      });
    const sqlite = sqlitePartsOf(this.db);
    const wal = sqlite?.walSync;
    let failure: { error: unknown } | undefined;
    try {
      if (wal) {
        // One connection throughout, so no other statement runs while synchronous is NORMAL.
        await this.db.connection().execute(async (conn) => {
          await sql`pragma synchronous = NORMAL`.execute(conn);
          try {
            await runBatch(conn);
          } finally {
            await sql`pragma synchronous = FULL`.execute(conn);
          }
        });
      } else {
        await runBatch(this.db);
      }
    } catch (error) {
      // The COMMIT itself failed (disk full, I/O error): nothing in the batch is durable.
      failure = { error };
    }
    if (!failure) sqlite?.checkpointer.committed();
    // The next batch runs while this one's frames reach the disk.
    if (this.queue.length > 0) setImmediate(() => void this.flush());
    else this.flushing = false;
    if (!failure && wal) {
      try {
        await wal.flushed();
      } catch (error) {
        failure = { error };
      }
    }
    batch.forEach((item, i) => {
      const outcome = outcomes[i]!;
      if (failure) item.reject(failure.error);
      else if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
  }
}
