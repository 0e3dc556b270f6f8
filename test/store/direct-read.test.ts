import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startTestApp } from '../support/backends.js';

const SCOPE = { cellId: 'c-direct', boxId: '', nodeId: '' };

/**
 * Point lookups on SQLite skip Kysely's connection hand-off (store/direct-read.ts) only while no
 * transaction is open on the connection: a read issued while a group commit holds one open must
 * never see that transaction's uncommitted rows.
 */
for (const backend of backends) {
  describe(`point lookups and open transactions, on ${backend.name}`, { skip: backend.skip }, () => {
    it('a lookup during an open transaction never sees its uncommitted row, and sees a committed one', async () => {
      const t = await startTestApp(backend);
      try {
        const store = t.app.store;
        let inserted!: () => void;
        const insertedNow = new Promise<void>((resolve) => (inserted = resolve));
        let release!: () => void;
        const held = new Promise<void>((resolve) => (release = resolve));

        // Rolled back: the row must never be seen.
        const doomed = store.withTransaction(async (trx) => {
          await trx.insert(SCOPE, 'Thing', 'doomed', { n: 1 });
          inserted();
          await held;
          throw new Error('abandoned');
        });
        await insertedNow;
        const during = store.get(SCOPE, 'Thing', 'doomed');
        release();
        await assert.rejects(doomed, /abandoned/);
        assert.equal(await during, undefined);
        assert.equal(await store.get(SCOPE, 'Thing', 'doomed'), undefined);

        // Committed: the row is there for every later lookup.
        await store.withTransaction((trx) => trx.insert(SCOPE, 'Thing', 'kept', { n: 2 }));
        assert.equal((await store.get(SCOPE, 'Thing', 'kept'))?.props.n, 2);
      } finally {
        await t.close();
      }
    });
  });
}
