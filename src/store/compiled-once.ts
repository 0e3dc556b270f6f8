import type { CompiledQuery, Kysely, Transaction } from 'kysely';

const texts = new WeakMap<object, Map<string, string>>();

/**
 * The SQL text of a statement run on every request, built with the query builder the first time
 * and kept per dialect adapter (SQLite writes `?`, PostgreSQL `$1`): building a statement cost more
 * than running a point lookup. Only for statements whose text never depends on the values — the
 * caller passes the parameters, in the order of the placeholders, to `CompiledQuery.raw`.
 */
export function compiledOnce(db: Kysely<any> | Transaction<any>, name: string, compile: () => CompiledQuery): string {
  const adapter = db.getExecutor().adapter;
  let byName = texts.get(adapter);
  if (!byName) texts.set(adapter, (byName = new Map()));
  let text = byName.get(name);
  if (text === undefined) byName.set(name, (text = compile().sql));
  return text;
}
