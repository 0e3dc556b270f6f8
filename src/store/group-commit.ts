import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.js';

interface Pending {
  work: (trx: Transaction<Database>) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

/** Most transactions one commit may carry, so a burst never holds the database for long. */
const MAX_BATCH = 64;

/**
 * Group commit for SQLite (ARCHITECTURE.md, Durability): with `synchronous=FULL` every COMMIT is
 * an fsync, and concurrent writers queue behind the disk. Transactions that arrive in the same
 * turn of the event loop run one after another inside one database transaction, each in its own
 * SAVEPOINT (so one failing rolls back only itself), and all are answered after the single
 * COMMIT — still acknowledged only once durable, for a fraction of the fsyncs.
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
    try {
      await this.db.transaction().execute(async (trx) => {
        for (const item of batch) {
          await sql`savepoint kura_unit`.execute(trx);
          try {
            const value = await item.work(trx);
            await sql`release kura_unit`.execute(trx);
            outcomes.push({ ok: true, value });
          } catch (error) {
            await sql`rollback to kura_unit`.execute(trx);
            await sql`release kura_unit`.execute(trx);
            outcomes.push({ ok: false, error });
          }
        }
      });
      batch.forEach((item, i) => {
        const outcome = outcomes[i]!;
        if (outcome.ok) item.resolve(outcome.value);
        else item.reject(outcome.error);
      });
    } catch (error) {
      // The COMMIT itself failed (disk full, I/O error): nothing in the batch is durable.
      for (const item of batch) item.reject(error);
    }
    if (this.queue.length > 0) setImmediate(() => void this.flush());
    else this.flushing = false;
  }
}
