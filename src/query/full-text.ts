import { sql, type Expression, type SqlBool } from 'kysely';
import type { Dialect } from './compile.js';
import { QueryError } from './errors.js';

/** apiref 408: `q` is 1–255 bytes. */
const MAX_Q_BYTES = 255;

/**
 * `q` (apiref 408) → a condition on the entity, answered by the full-text index of
 * migrations/005-full-text.ts. As in personium-core, the text is split at spaces and every
 * piece must occur as a phrase (its words in a row, case-insensitively) somewhere in the
 * entity's values; double quotes group nothing. The pieces travel as bound parameters: on SQLite
 * each is written as an FTS5 string (quotes doubled), so no FTS5 operator can come from a client.
 */
export function fullTextWhere(q: string, dialect: Dialect): Expression<SqlBool> {
  const bytes = Buffer.byteLength(q);
  if (bytes === 0 || bytes > MAX_Q_BYTES) throw new QueryError('PR400-OD-0029', ['q', q]);
  const pieces = q.split(' ').filter((p) => /[\p{L}\p{N}]/u.test(p));
  // Nothing searchable (only spaces or punctuation) can match nothing.
  if (pieces.length === 0) return sql<SqlBool>`1 = 0`;
  if (dialect === 'sqlite') {
    const match = pieces.map((p) => `"${p.replace(/"/g, '""')}"`).join(' ');
    return sql<SqlBool>`id in (select entity_id from entity_search where seq in (select rowid from entity_text where entity_text match ${match}))`;
  }
  // Words only: PostgreSQL's parser would also make `a-b` a compound lexeme no stored text of "a b" has.
  const words = (p: string) => p.replace(/[^\p{L}\p{N}]+/gu, ' ').trim();
  const query = sql.join(pieces.map((p) => sql`phraseto_tsquery('simple'::regconfig, ${words(p)})`), sql` && `);
  return sql<SqlBool>`jsonb_to_tsvector('simple'::regconfig, props, '["string", "numeric", "boolean"]'::jsonb) @@ (${query})`;
}
