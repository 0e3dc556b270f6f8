import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import { compiledOnce } from './compiled-once.js';
import { sqlitePartsOf } from './sqlite-parts.js';

/** Runs one statement synchronously and gives its first row, or NOT_NOW when it must not run now. */
export type DirectReader = (text: string, params: readonly unknown[]) => unknown;
export const NOT_NOW = Symbol('not now');

/**
 * The first row of a point lookup (`text` as compiled for this database, e.g. by compiledOnce).
 *
 * On SQLite outside a transaction the statement runs at once on the connection, where Kysely
 * would first hand the connection over through its lock and a chain of promises — a few µs, the
 * size of the lookup itself on the hottest reads (an entity, a WebDAV node). It only does so while
 * the connection is in autocommit mode: during a group commit's open transaction the read waits
 * its turn through Kysely, as before, so it never sees uncommitted writes. PostgreSQL, and any
 * read inside a transaction, always go through Kysely.
 */
export async function firstRow<T>(db: Kysely<any> | Transaction<any>, text: string, params: unknown[]): Promise<T | undefined> {
  const direct = sqlitePartsOf(db)?.readDirect;
  if (direct) {
    const row = direct(text, params);
    if (row !== NOT_NOW) return row as T | undefined;
  }
  return (await db.executeQuery<T>(CompiledQuery.raw(text, params))).rows[0];
}

/**
 * The row of `table` whose `key` columns equal the given values (at most one: the columns of a
 * unique index), read through firstRow; the statement is built once per dialect under `name`
 * (compiledOnce). The order of `key`'s entries is the order of the placeholders.
 */
export function rowByKey<T>(
  db: Kysely<any> | Transaction<any>,
  name: string,
  table: string,
  columns: readonly string[],
  key: Record<string, unknown>,
): Promise<T | undefined> {
  const text = compiledOnce(db, name, () => {
    let query = (db as Kysely<any>).selectFrom(table).select(columns as string[]);
    for (const column in key) query = query.where(column, '=', '');
    return query.compile();
  });
  return firstRow<T>(db, text, Object.values(key));
}
