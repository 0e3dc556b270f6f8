import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { Dialect } from '../../query/compile.js';
import type { Scope } from '../../store/entity-store.js';
import type { Database } from '../../store/schema.js';
import { ITEM_SET } from '../items/context.js';
import { ID_PATTERN } from '../ids.js';
import { HX_SCOPE } from '../model.js';

/** What a covering index holds besides the item key: a stored property, or a time column. */
export type IndexColumn = { prop: string } | { column: 'published' | 'updated' };

/** SQLite reads at most this many expressions per index row cheaply; wider reports go without. */
const COLUMNS_MAX = 64;
const PROP_NAME = /^([0-9a-f]{24}|status_id|created_by|updated_by)$/;

export interface IndexPlan {
  name: string;
  ddl: string;
}

/**
 * Covering indexes for grouped reports on SQLite. A GROUP BY over `json_extract` reads and parses
 * every item's JSON document (≈360 ms for 100,000 items here); an index holding the group keys and
 * the aggregated values, in the very expressions the report query writes (reports/query.ts, the form
 * of src/query/compile.ts and store/property-indexes.ts), lets SQLite answer from the index alone
 * (≈20 ms). Each index is partial on one datastore's items — `cell_id`, `box_id`, `node_id` and
 * `entity_set` as literals, which the report query repeats as literals so the planner can prove the
 * index applies — so it costs nothing for any other entity. Its name is a digest of its definition:
 * reports with the same columns share one; a report's write drops the old one when no other report
 * names it (report-definitions.ts).
 *
 * PostgreSQL gets none: it cannot answer expressions from an index alone (no index-only scan on
 * expression indexes), so such an index would only cost writes there.
 */
export class ReportIndexes {
  private known: Promise<Set<string>> | undefined;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  /** The index a grouped report over `scope` reading `columns` would use; undefined when none is kept. */
  plan(scope: Scope, columns: IndexColumn[]): IndexPlan | undefined {
    if (this.dialect !== 'sqlite' || columns.length === 0 || columns.length > COLUMNS_MAX) return undefined;
    if (scope.cellId !== HX_SCOPE.cellId || !ID_PATTERN.test(scope.boxId) || !ID_PATTERN.test(scope.nodeId)) return undefined;
    const parts: string[] = ['cell_id', 'box_id', 'node_id', 'entity_set'];
    for (const c of columns) {
      if ('column' in c) parts.push(c.column);
      else if (PROP_NAME.test(c.prop)) parts.push(`json_extract(props, '$."${c.prop}"')`);
      else throw new Error(`unsafe property name ${c.prop}`);
    }
    parts.push('entity_key');
    const where = `cell_id = '${scope.cellId}' and box_id = '${scope.boxId}' and node_id = '${scope.nodeId}' and entity_set = '${ITEM_SET}'`;
    const body = `on entities (${[...new Set(parts)].join(', ')}) where ${where}`;
    const name = `entities_r_${createHash('sha256').update(body).digest('hex').slice(0, 24)}`;
    return { name, ddl: `create index if not exists ${name} ${body}` };
  }

  /** Creates the planned index unless it exists; one build at a time. */
  async ensure(plan: IndexPlan | undefined): Promise<void> {
    if (!plan) return;
    const known = await (this.known ??= this.loadKnown());
    if (known.has(plan.name)) return;
    const build = this.queue.then(async () => {
      if (known.has(plan.name)) return;
      await sql.raw(plan.ddl).execute(this.db);
      known.add(plan.name);
    });
    this.queue = build.catch(() => undefined);
    await build;
  }

  /** Drops an index no report uses any more. */
  async drop(name: string | undefined): Promise<void> {
    if (!name || this.dialect !== 'sqlite' || !/^entities_r_[0-9a-f]{24}$/.test(name)) return;
    const known = await (this.known ??= this.loadKnown());
    const work = this.queue.then(async () => {
      await sql.raw(`drop index if exists ${name}`).execute(this.db);
      known.delete(name);
    });
    this.queue = work.catch(() => undefined);
    await work;
  }

  private async loadKnown(): Promise<Set<string>> {
    if (this.dialect !== 'sqlite') return new Set();
    const rows = await sql<{ name: string }>`select name from sqlite_master where type = 'index' and name like 'entities\\_r\\_%' escape '\\'`.execute(this.db);
    return new Set(rows.rows.map((r) => r.name));
  }
}
