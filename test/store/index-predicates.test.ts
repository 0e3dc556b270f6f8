import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { MASTER_TOKEN, backends, startTestApp } from '../support/backends.js';
import { call } from '../support/http.js';

/**
 * SQLite checks whether `column = ?` satisfies a partial index's `column = 'constant'` by looking at
 * the bound value, and then has every statement of that shape prepared again each time a new value
 * is bound — a fresh prepare on every query of the `entities` table (seen: a lookup by key 8 → 25 µs).
 * Predicates of the form `expr is not null` are implied by `expr = ?` without looking at values, so
 * those are the only partial indexes kura creates.
 */
describe('partial indexes never compare with a constant (SQLite re-prepares statements otherwise)', () => {
  it('has only "is not null" predicates, after migrations and after schema-declared property indexes', async () => {
    const t = await startTestApp(backends[0]!);
    try {
      // A declared property gets its expression index (store/property-indexes.ts).
      for (const [method, url, body] of [
        ['POST', '/__ctl/Cell', { Name: 'c' }],
        ['POST', '/c/__ctl/Box', { Name: 'b' }],
      ] as const) assert.ok((await call(t, { method, url, body })).statusCode < 300, url);
      const mkcol = await t.app.http.inject({
        method: 'MKCOL',
        url: '/c/b/odata',
        headers: { authorization: `Bearer ${MASTER_TOKEN}`, 'content-type': 'application/xml' },
        payload: '<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><D:resourcetype><D:collection/><p:odata/></D:resourcetype></D:prop></D:set></D:mkcol>',
      });
      assert.equal(mkcol.statusCode, 201);
      assert.equal((await call(t, { method: 'POST', url: '/c/b/odata/$metadata/EntityType', body: { Name: 'Sales' } })).statusCode, 201);
      assert.equal((await call(t, { method: 'POST', url: '/c/b/odata/$metadata/Property', body: { Name: 'title', '_EntityType.Name': 'Sales', Type: 'Edm.String' } })).statusCode, 201);
      assert.equal((await call(t, { method: 'GET', url: "/c/b/odata/Sales?$filter=title eq 'x'" })).statusCode, 200);

      const { rows } = await sql<{ name: string; sql: string }>`select name, sql from sqlite_master where type = 'index' and sql is not null`.execute(t.app.database.db);
      const partial = rows.filter((r) => /\swhere\s/i.test(r.sql));
      assert.ok(partial.some((r) => r.name === 'entities_history_authors'), 'the history index is among them');
      assert.ok(partial.some((r) => r.sql.includes('"title"')), 'the declared property got its index');
      for (const index of partial) assert.match(index.sql.split(/\swhere\s/i).pop()!, /^\s*[^=<>]+ is not null\s*$/i, index.name);
    } finally {
      await t.close();
    }
  });
});
