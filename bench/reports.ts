/**
 * Issue 7: a grouped report over 100,000 items. Self-contained and in process: a fresh data dir
 * (SQLite; PostgreSQL when KURA_DATABASE_URL and KURA_DATABASE_SCHEMA are set), a user, an
 * application and a datastore through the API, 100,000 items written straight into the store in the
 * item layout, one report grouping them by two fields with SUM/COUNT/AVG; then sequential
 * GetReportData and GetReportDataByConditions requests through fastify.inject (no sockets, so the
 * figures are kura's own time). Prints p50/p99; checks nothing. Run alone with `tsx bench/reports.ts`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createApp, type KuraApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { newId } from '../src/hexabase/ids.js';
import { ITEM_SET, itemScope } from '../src/hexabase/items/context.js';

const ITEMS = Number(process.env.BENCH_REPORT_ITEMS ?? 100_000);
const REQUESTS = Number(process.env.BENCH_REPORT_REQUESTS ?? 200);
const WARMUP = 10;

async function call(app: KuraApp, method: string, url: string, token: string | undefined, body?: unknown) {
  const res = await app.http.inject({
    method: method as 'GET',
    url: `/api/v0${url}`,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });
  if (res.statusCode !== 200) throw new Error(`${method} ${url} answered ${res.statusCode}: ${res.body}`);
  return JSON.parse(res.body) as Record<string, any>;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function runReports(): Promise<Array<{ scenario: string; p50: number; p99: number }>> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-bench-reports-'));
  const config = loadConfig({ ...process.env, KURA_DATA_DIR: dataDir, KURA_UNIT_URL: 'http://127.0.0.1/', KURA_MASTER_TOKEN: 'bench-master', KURA_LOG_LEVEL: 'silent' });
  const app = await createApp({ config });
  try {
    const started = await call(app, 'POST', '/users/registration', undefined, { email: 'reports@example.com', username: 'reports', registration_domain: 'example.com', hostname: 'app.example.com' });
    const { token } = await call(app, 'POST', '/users/registration/confirm', undefined, { confirmation_id: started.confirmation_id, email: 'reports@example.com', password: 'reports-password', workspace: 'Bench' });
    const userId = (await call(app, 'GET', '/userinfo', token)).u_id as string;
    const appKey = (await call(app, 'POST', '/applications', token, { name: 'Bench', display_id: 'bench' })).project_id as string;
    const dsKey = (await call(app, 'POST', '/applications/bench/datastores', token, {
      name: 'Orders',
      display_id: 'orders',
      fields: [
        { display_id: 'title', name: 'Title', dataType: 'text', as_title: true },
        { display_id: 'region', name: 'Region', dataType: 'select', options: Array.from({ length: 10 }, (_, i) => ({ display_id: `r${i}`, value: `Region ${i}` })) },
        { display_id: 'amount', name: 'Amount', dataType: 'number' },
        { display_id: 'state', name: 'State', dataType: 'status' },
      ],
      statuses: [{ display_id: 'open', name: 'Open' }, { display_id: 'done', name: 'Done' }, { display_id: 'void', name: 'Void' }],
    })).datastore_id as string;
    const fields = (await call(app, 'GET', '/applications/bench/datastores/orders/fields', token)).fields as Record<string, { display_id: string; options?: { option_id: string }[] }>;
    const idOf = (displayId: string) => Object.keys(fields).find((k) => fields[k]!.display_id === displayId)!;
    const options = fields[idOf('region')]!.options!.map((o) => o.option_id);
    const conditions = (await call(app, 'GET', '/applications/bench/datastores/orders/items/conditions', token)).result as Array<{ data_type: string; statuses?: { status_id: string }[] }>;
    const statuses = conditions.find((c) => c.data_type === 'status')!.statuses!.map((s) => s.status_id);

    const loadStart = performance.now();
    const scope = itemScope(appKey, dsKey);
    for (let from = 0; from < ITEMS; from += 25_000) {
      await app.store.withTransaction(async (trx) => {
        for (let i = from; i < Math.min(from + 25_000, ITEMS); i++) {
          const title = `order ${i}`;
          await trx.insert(scope, ITEM_SET, newId(), { [idOf('title')]: title, [idOf('region')]: options[i % 10], [idOf('amount')]: i % 1000, status_id: statuses[i % 3], created_by: userId, title });
        }
      });
    }
    const loaded = performance.now() - loadStart;
    const defineStart = performance.now();
    await call(app, 'POST', '/applications/bench/reports', token, {
      display_id: 'totals',
      title: 'Totals',
      datastore_id: 'orders',
      fields: [
        { display_id: 'REGION', title: 'Region', field_id: 'region' },
        { display_id: 'STATE', title: 'State', field_id: 'state' },
        { display_id: 'TOTAL', title: 'Total', field_id: 'amount', aggregate: 'sum' },
        { display_id: 'N', title: 'Count', field_id: 'amount', aggregate: 'count' },
        { display_id: 'AVG', title: 'Average', field_id: 'amount', aggregate: 'avg' },
      ],
      group_by: ['REGION', 'STATE'],
    });
    const defined = performance.now() - defineStart;

    const scenarios: Array<[string, () => Promise<unknown>]> = [
      ['GetReportData grouped (30 rows)', () => call(app, 'GET', '/applications/bench/reports/totals', token)],
      ['…ByConditions, one region (1/10)', () => call(app, 'POST', '/applications/bench/reports/totals/filter', token, { conditions: [{ id: 'REGION', search_value: ['r3'] }] })],
      ['…ByConditions, one status (1/3)', () => call(app, 'POST', '/applications/bench/reports/totals/filter', token, { conditions: [{ id: 'STATE', search_value: ['open'] }] })],
    ];
    const rows = [];
    console.log(`\nreports (${ITEMS} items, ${app.store.dialect}; load ${(loaded / 1000).toFixed(1)} s, report definition with its index ${defined.toFixed(0)} ms)`);
    console.log(`${'report scenario'.padEnd(34)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}`);
    for (const [scenario, run] of scenarios) {
      for (let i = 0; i < WARMUP; i++) await run();
      const times: number[] = [];
      for (let i = 0; i < REQUESTS; i++) {
        const start = performance.now();
        await run();
        times.push(performance.now() - start);
      }
      times.sort((a, b) => a - b);
      const p50 = percentile(times, 50);
      const p99 = percentile(times, 99);
      console.log(`${scenario.padEnd(34)}${p50.toFixed(1).padStart(9)}${p99.toFixed(1).padStart(9)}`);
      rows.push({ scenario, p50, p99 });
    }
    return rows;
  } finally {
    await app.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  runReports().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
