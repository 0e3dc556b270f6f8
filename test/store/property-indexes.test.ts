import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type CompiledQuery, type Kysely } from 'kysely';
import type { Database } from '../../src/store/schema.js';
import type { Dialect } from '../../src/query/compile.js';
import { backends, openTestDatabase } from '../support/backends.js';
import { EntityStore, type Scope } from '../../src/store/entity-store.js';
import { PropertyIndexes } from '../../src/store/property-indexes.js';
import { parseListOptions } from '../../src/odata/query-options.js';
import type { EntitySetDescriptor } from '../../src/odata/descriptor.js';

const SALES: EntitySetDescriptor = {
  name: 'Sales',
  typeName: 'UserData.Sales',
  keys: ['__id'],
  properties: [
    { name: '__id', type: 'Edm.String', nullable: false },
    { name: 'title', type: 'Edm.String' },
    { name: 'amount', type: 'Edm.Int32' },
  ],
  navigations: [],
  openType: true,
};

/** The database's plan for a compiled query, as text. */
async function planOf(db: Kysely<Database>, dialect: Dialect, compiled: CompiledQuery): Promise<string> {
  if (dialect === 'sqlite') {
    return (await db.executeQuery<{ detail: string }>({ ...compiled, sql: `explain query plan ${compiled.sql}` })).rows.map((r) => r.detail).join('\n');
  }
  return (await db.executeQuery<{ 'QUERY PLAN': string }>({ ...compiled, sql: `explain ${compiled.sql}` })).rows.map((r) => r['QUERY PLAN']).join('\n');
}

/**
 * Queries over declared properties of user data must be served by an index, not a scan of every
 * entity (issue 5): the expression the filter compiler writes has to match the expression index.
 */
for (const backend of backends) {
  describe(`query indexes (declared properties, full text) on ${backend.name}`, { skip: backend.skip }, () => {
    it('creates one index per property name, idempotently, and the $filter compiler hits it', async () => {
      const { database, release } = await openTestDatabase(backend);
      try {
        const { db, dialect } = database;
        const store = new EntityStore(db, dialect);
        const scope: Scope = { cellId: 'cell', boxId: 'box', nodeId: 'col' };
        const other: Scope = { cellId: 'cell', boxId: 'box', nodeId: 'other' };
        await store.withTransaction(async (trx) => {
          for (let i = 0; i < 3000; i++) await trx.insert(scope, 'Sales', `s${i}`, { __id: `s${i}`, title: `t-${i % 150}`, amount: i });
          for (let i = 0; i < 500; i++) await trx.insert(other, 'Sales', `o${i}`, { __id: `o${i}`, title: 't-5' });
        });

        const indexes = new PropertyIndexes(db, dialect);
        // Names that differ only in case are different properties; a name unfit for DDL is skipped.
        await indexes.ensure(['title', 'Title', 'amount', "x'); drop table entities; --"]);
        await new PropertyIndexes(db, dialect).ensure(['title', 'amount']);
        const names = dialect === 'sqlite'
          ? (await sql<{ name: string }>`select name from sqlite_master where type = 'index' and name like 'entities\\_p\\_%' escape '\\'`.execute(db)).rows
          : (await sql<{ name: string }>`select indexname as name from pg_indexes where indexname like 'entities\\_p\\_%' escape '\\' and schemaname = current_schema()`.execute(db)).rows;
        assert.equal(names.length, 3, JSON.stringify(names));
        if (dialect === 'postgres') await sql`analyze entities`.execute(db);

        const opts = parseListOptions({ $filter: "title eq 't-5'", $orderby: 'amount desc', $top: '20' }, SALES, dialect);
        let query = db
          .selectFrom('entities')
          .select(['id', 'props'])
          .where('cell_id', '=', scope.cellId)
          .where('box_id', '=', scope.boxId)
          .where('node_id', '=', scope.nodeId)
          .where('entity_set', '=', 'Sales')
          .where(opts.where!);
        for (const term of opts.orderBy) query = query.orderBy(term.expr, term.direction);
        const compiled = query.limit(20).compile();
        const plan = await planOf(db, dialect, compiled);
        assert.match(plan, /entities_p_[0-9a-f]{24}/, plan);

        // And the indexed query answers what the store answers: the 20 of this scope, highest amount first.
        const result = await store.query(scope, 'Sales', { where: opts.where, orderBy: opts.orderBy, top: 20, skip: 0, count: true });
        assert.equal(result.count, 20);
        assert.deepEqual(
          result.entities.map((e) => e.props.amount),
          Array.from({ length: 20 }, (_, i) => 2855 - 150 * i),
        );
      } finally {
        await release();
      }
    });

    it('answers q from the full-text index, not by reading every document', async () => {
      const { database, release } = await openTestDatabase(backend);
      try {
        const { db, dialect } = database;
        const store = new EntityStore(db, dialect);
        const scope: Scope = { cellId: 'cell', boxId: 'box', nodeId: 'col' };
        await store.withTransaction(async (trx) => {
          for (let i = 0; i < 3000; i++) await trx.insert(scope, 'Sales', `s${i}`, { title: `word${i} common`, nested: { deep: i === 7 ? 'Needle' : 'hay' } });
        });
        if (dialect === 'postgres') await sql`analyze entities`.execute(db);
        const opts = parseListOptions({ q: 'needle' }, { ...SALES, fullText: true }, dialect);
        const compiled = db.selectFrom('entities').select('id').where('node_id', '=', 'col').where(opts.where!).compile();
        const plan = await planOf(db, dialect, compiled);
        assert.match(plan, dialect === 'sqlite' ? /entity_text VIRTUAL TABLE/ : /entities_full_text/, plan);
        const result = await store.query(scope, 'Sales', { where: opts.where, top: 10, skip: 0, count: false });
        assert.deepEqual(result.entities.map((e) => e.key), ['s7']);
      } finally {
        await release();
      }
    });
  });
}
