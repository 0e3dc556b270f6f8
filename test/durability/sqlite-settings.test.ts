import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { backends, startTestApp } from '../support/backends.js';

/**
 * kill -9 alone cannot show power-loss safety (the OS page cache survives a killed process), so
 * the settings that give it are asserted directly: WAL with synchronous=FULL fsyncs each commit.
 */
describe('SQLite is opened durable by default (ARCHITECTURE.md, Durability)', () => {
  it('uses WAL, synchronous=FULL and enforced foreign keys', async () => {
    const t = await startTestApp(backends[0]!);
    try {
      const db = t.app.database.db;
      const journal = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(db);
      const sync = await sql<{ synchronous: number }>`pragma synchronous`.execute(db);
      const fk = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(db);
      assert.equal(journal.rows[0]?.journal_mode, 'wal');
      assert.equal(sync.rows[0]?.synchronous, 2, 'synchronous=FULL is 2');
      assert.equal(fk.rows[0]?.foreign_keys, 1);
    } finally {
      await t.close();
    }
  });
});
