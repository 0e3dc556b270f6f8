import fs from 'node:fs';
import path from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect, sql, type SqliteDatabase } from 'kysely';
import type { Dialect } from '../query/compile.js';
import type { Database } from './schema.js';
import { migrateToLatest } from './migrations/index.js';
import { WalSync } from './wal-sync.js';
import { Checkpointer } from './checkpointer.js';
import { NOT_NOW } from './direct-read.js';
import { registerSqliteParts } from './sqlite-parts.js';

export interface OpenDatabaseOptions {
  dataDir: string;
  /** postgres://… ; SQLite in `dataDir` when absent. */
  databaseUrl?: string | undefined;
  /** PostgreSQL schema to use (created when missing); tests give each run its own. */
  pgSchema?: string | undefined;
  /** SQLite: MiB of the file read through a memory map (default 1024; 0 = none). */
  sqliteMmapMiB?: number | undefined;
}

export interface OpenDatabase {
  db: Kysely<Database>;
  dialect: Dialect;
  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<OpenDatabase> {
  const opened = options.databaseUrl
    ? openPostgres(options.databaseUrl, options.pgSchema)
    : openSqlite(options.dataDir, options.sqliteMmapMiB ?? 1024);
  if (opened.dialect === 'postgres' && options.pgSchema) {
    await sql`create schema if not exists ${sql.id(options.pgSchema)}`.execute(opened.db);
  }
  await migrateToLatest(opened.db, opened.dialect, opened.dialect === 'postgres' ? (options.pgSchema ?? 'public') : undefined);
  return {
    ...opened,
    async ping() {
      try {
        await sql`select 1`.execute(opened.db);
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await opened.checkpointer?.stop();
      await opened.db.destroy();
    },
  };
}

function openSqlite(dataDir: string, mmapMiB: number): { db: Kysely<Database>; dialect: Dialect; checkpointer?: Checkpointer } {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = new SQLite(path.join(dataDir, 'kura.sqlite'));
  // ARCHITECTURE.md, Durability: WAL + synchronous=FULL, so an acknowledged write survives a crash.
  file.pragma('journal_mode = WAL');
  // Group commits switch to NORMAL for their COMMIT and sync the WAL off the event loop (wal-sync.ts).
  file.pragma('synchronous = FULL');
  file.pragma('foreign_keys = ON');
  file.pragma('busy_timeout = 5000');
  // 16 MiB of pages instead of SQLite's 2 MiB: indexes of a few hundred thousand entities stay in memory.
  file.pragma('cache_size = -16384');
  // Reads through a memory map: a page outside the cache costs a page fault the first time, not a
  // pread and a copy every time (measured: an indexed 20-row page of items 120 → 88 µs at 100k
  // items). Writes still go through the WAL as before, so durability is unchanged. Mapped pages
  // count in the process's RSS but belong to the page cache, which the kernel reclaims as it needs.
  file.pragma(`mmap_size = ${Math.floor(mmapMiB) * 1024 * 1024}`);
  const statements = withStatementCache(file);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: statements }) });
  const checkpointer = new Checkpointer(file);
  registerSqliteParts(db, {
    walSync: new WalSync(`${file.name}-wal`),
    checkpointer,
    // Autocommit mode: no transaction (a group commit's) is open on the connection, so a read sees only committed rows.
    readDirect: (text, params) => (file.inTransaction ? NOT_NOW : statements.prepare(text).get(params)),
  });
  return { db, dialect: 'sqlite', checkpointer };
}

/**
 * Kysely prepares every statement it runs; preparing costs more than running a point lookup.
 * Query shapes are few (values are always parameters), so a small cache of prepared statements
 * removes that cost. Safe because better-sqlite3 runs each statement synchronously to the end.
 */
function withStatementCache(file: SQLite.Database, capacity = 256): Omit<SqliteDatabase, 'prepare'> & { prepare(text: string): SQLite.Statement } {
  const cache = new Map<string, SQLite.Statement>();
  return {
    close: () => file.close(),
    prepare(text: string) {
      let statement = cache.get(text);
      if (statement) return statement;
      // First in, first out: reordering on every hit cost more than the rare re-prepare it saves.
      statement = file.prepare(text);
      if (cache.size >= capacity) cache.delete(cache.keys().next().value!);
      cache.set(text, statement);
      return statement;
    },
  };
}

function openPostgres(url: string, schema: string | undefined): { db: Kysely<Database>; dialect: Dialect; checkpointer?: Checkpointer } {
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name ${schema}`);
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  // bigint columns hold epoch milliseconds, well inside Number's exact range.
  pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
  return { db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), dialect: 'postgres' };
}
