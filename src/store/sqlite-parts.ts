import type { Kysely, Transaction } from 'kysely';
import type { Checkpointer } from './checkpointer.js';
import type { DirectReader } from './direct-read.js';
import type { WalSync } from './wal-sync.js';

/**
 * What openDatabase sets up beside a SQLite database's Kysely instance, for the store modules that
 * need the connection's own machinery (group commit, point lookups). PostgreSQL has none of it.
 */
export interface SqliteParts {
  /** fsyncs the WAL off the event loop (group commits wait for it). */
  walSync: WalSync;
  /** Runs WAL checkpoints in a worker thread (told of every group commit). */
  checkpointer: Checkpointer;
  /** Runs a point lookup on the connection at once, when no transaction is open on it. */
  readDirect: DirectReader;
}

const parts = new WeakMap<object, SqliteParts>();

export function registerSqliteParts(db: Kysely<any>, of: SqliteParts): void {
  parts.set(db, of);
}

/** The parts of `db` (undefined for PostgreSQL, and for a transaction: only the database itself has them). */
export function sqlitePartsOf(db: Kysely<any> | Transaction<any>): SqliteParts | undefined {
  return parts.get(db);
}
