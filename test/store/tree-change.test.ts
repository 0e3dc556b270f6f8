import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startTestApp } from '../support/backends.js';
import type { TreeChange } from '../../src/store/entity-store.js';

/**
 * The contract the read cache relies on (ReadCache, `tree` and `listing`): write listeners hear a
 * transaction's start and end with what it may do to the WebDAV tree, and an `insert` transaction
 * that turns out to change an existing node says so before that change and again at its end.
 */
for (const backend of backends) {
  describe(`write transactions tell what they do to the WebDAV tree, on ${backend.name}`, { skip: backend.skip }, () => {
    it('insert-only stays insert; escalation is heard before the change and at the end; the default is any', async () => {
      const t = await startTestApp(backend);
      try {
        const heard: TreeChange[] = [];
        t.app.store.onWrite((change) => heard.push(change));
        await t.app.store.withTransaction(async () => undefined, { treeChange: 'insert' });
        assert.deepEqual(heard.splice(0), ['insert', 'insert']);

        let duringWork: TreeChange[] = [];
        await t.app.store.withTransaction(async (trx) => {
          trx.treeChanging();
          duringWork = [...heard];
          trx.treeChanging(); // told once only
        }, { treeChange: 'insert' });
        assert.deepEqual(duringWork, ['insert', 'any'], 'heard before the write that follows treeChanging()');
        assert.deepEqual(heard.splice(0), ['insert', 'any', 'any']);

        await t.app.store.withTransaction(async () => undefined);
        assert.deepEqual(heard.splice(0), ['any', 'any']);

        await assert.rejects(t.app.store.withTransaction(async () => { throw new Error('abandoned'); }, { treeChange: 'insert' }));
        assert.deepEqual(heard.splice(0), ['insert', 'insert'], 'an abandoned transaction is heard ending too');
      } finally {
        await t.close();
      }
    });
  });
}
