import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { backends, openTestDatabase } from '../support/backends.js';

const postgres = backends.find((b) => b.name === 'postgres')!;

/**
 * Several kura instances (or test runs) share one PostgreSQL database, each in its own schema.
 * Starting one must not depend on what the others do meanwhile: here other schemas with tables
 * are created and dropped in a tight loop while kura instances migrate theirs from scratch.
 */
describe('PostgreSQL start-up beside schemas created and dropped by others', { skip: postgres.skip }, () => {
  it('migrates every instance while other schemas come and go', async () => {
    const churn = new pg.Client({ connectionString: process.env.KURA_TEST_DATABASE_URL });
    await churn.connect();
    let stop = false;
    let churned = 0;
    const churning = (async () => {
      while (!stop) {
        const name = `kura_churn_${randomBytes(6).toString('hex')}`;
        await churn.query(`create schema "${name}"`);
        await churn.query(`create table "${name}".t (id serial primary key, a text, b text, c text)`);
        await churn.query(`drop schema "${name}" cascade`);
        churned++;
      }
    })();
    try {
      for (let round = 0; round < 4; round++) {
        const opened = await Promise.all([1, 2, 3].map(() => openTestDatabase(postgres)));
        for (const { database } of opened) assert.equal(await database.ping(), true);
        await Promise.all(opened.map((o) => o.release()));
      }
    } finally {
      stop = true;
      await churning;
      await churn.end();
    }
    assert.ok(churned > 0, 'the other schemas really came and went during the start-ups');
  });
});
