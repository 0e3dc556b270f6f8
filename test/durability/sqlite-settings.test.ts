import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { MASTER_TOKEN, backends, startTestApp } from '../support/backends.js';
import { sqlitePartsOf } from '../../src/store/sqlite-parts.js';
import { createCell } from '../support/auth.js';

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

  it('reads through a memory map of KURA_SQLITE_MMAP_MIB (1 GiB by default; 0 turns it off)', async () => {
    for (const [env, expected] of [[{}, 1024 * 1024 * 1024], [{ KURA_SQLITE_MMAP_MIB: '0' }, 0]] as const) {
      const t = await startTestApp(backends[0]!, env);
      try {
        const mmap = await sql<{ mmap_size: number }>`pragma mmap_size`.execute(t.app.database.db);
        assert.equal(mmap.rows[0]?.mmap_size, expected);
      } finally {
        await t.close();
      }
    }
  });

  it('acknowledges a write only after an fsync of the WAL that began after its commit, and leaves synchronous=FULL', async () => {
    const t = await startTestApp(backends[0]!);
    try {
      const db = t.app.database.db;
      const wal = sqlitePartsOf(db)?.walSync!;
      assert.ok(wal, 'the SQLite database has a WAL sync');
      const before = wal.completed;
      const res = await t.app.http.inject({
        method: 'POST',
        url: '/__ctl/Cell',
        headers: { authorization: `Bearer ${MASTER_TOKEN}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ Name: 'durable' }),
      });
      assert.equal(res.statusCode, 201);
      assert.ok(wal.completed > before, 'an fsync completed before the 201');
      const sync = await sql<{ synchronous: number }>`pragma synchronous`.execute(db);
      assert.equal(sync.rows[0]?.synchronous, 2, 'writes outside group commits still fsync in COMMIT');
    } finally {
      await t.close();
    }
  });
  it('checkpoints the WAL from a worker thread, so a stream of writes keeps it bounded and the data stays readable', async () => {
    const t = await startTestApp(backends[0]!);
    try {
      const db = t.app.database.db;
      const checkpointer = sqlitePartsOf(db)?.checkpointer!;
      assert.ok(checkpointer, 'the SQLite database has a checkpointer');
      const auto = await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db);
      assert.equal(auto.rows[0]?.wal_autocheckpoint, 10000, 'the main connection checkpoints only as a fallback');
      await createCell(t, 'walcell');
      const auth = { authorization: `Bearer ${MASTER_TOKEN}` };
      await t.app.http.inject({ method: 'POST', url: '/walcell/__ctl/Box', headers: { ...auth, 'content-type': 'application/json' }, payload: '{"Name":"box"}' });
      // 16 KiB bodies are kept in their rows: 200 sequential PUTs (200 group commits) write ~1,000 pages.
      const body = 'w'.repeat(16 * 1024);
      for (let i = 0; i < 200; i++) {
        const res = await t.app.http.inject({ method: 'PUT', url: `/walcell/box/f${i}`, headers: auth, payload: body });
        assert.equal(res.statusCode, 201);
      }
      const deadline = Date.now() + 10_000;
      while (checkpointer.checkpoints === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.ok(checkpointer.checkpoints > 0, 'the worker ran a checkpoint');
      const walPages = (await sql<{ log: number; checkpointed: number }>`pragma wal_checkpoint(PASSIVE)`.execute(db)).rows[0]!;
      assert.ok(walPages.log < 10000, `the WAL stayed below the fallback threshold (${walPages.log} frames)`);
      const last = await t.app.http.inject({ method: 'GET', url: '/walcell/box/f199', headers: auth });
      assert.equal(last.statusCode, 200);
      assert.equal(last.body, body);
    } finally {
      await t.close();
    }
  });
});
