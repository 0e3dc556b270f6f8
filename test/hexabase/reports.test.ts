import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import { json } from '../support/http.js';
import { addMember, assertHxError, hx, twoTenants } from '../support/hexabase.js';
import { newId } from '../../src/hexabase/ids.js';
import { ITEM_SET, itemScope } from '../../src/hexabase/items/context.js';
import { CHART_SET, REPORT_DISPLAY_ID_SET, REPORT_SET, definitionScope } from '../../src/hexabase/reports/model.js';

/**
 * Reports and charts (spec/hexabase/v0/reports/, charts/; issue 7) and kura's definition API.
 * Each refused definition is checked to have stored nothing.
 */

const ORDERS = {
  name: 'Orders',
  display_id: 'orders',
  fields: [
    { display_id: 'title', name: 'Title', dataType: 'text', as_title: true, search: true },
    { display_id: 'region', name: 'Region', dataType: 'select', search: true, options: [{ display_id: 'north', value: 'North' }, { display_id: 'south', value: 'South' }, { display_id: 'east', value: 'East' }, { display_id: 'west', value: 'West' }] },
    { display_id: 'amount', name: 'Amount', dataType: 'number' },
    { display_id: 'qty', name: 'Qty', dataType: 'number' },
    { display_id: 'due', name: 'Due', dataType: 'date' },
    { display_id: 'when', name: 'When', dataType: 'datetime' },
    { display_id: 'owner', name: 'Owner', dataType: 'users' },
    { display_id: 'tags', name: 'Tags', dataType: 'checkbox', options: [{ display_id: 'a', value: 'Alpha' }, { display_id: 'b', value: 'Beta' }, { display_id: 'c', value: 'Gamma' }] },
    { display_id: 'customer', name: 'Customer', dataType: 'dslookup', dslookup_datastore_id: 'customers' },
    { display_id: 'state', name: 'State', dataType: 'status' },
  ],
  statuses: [{ display_id: 'open', name: 'Open' }, { display_id: 'closed', name: 'Closed' }],
  actions: [
    { display_id: 'new', name: 'New', crud_type: '1' },
    { display_id: 'close', name: 'Close', crud_type: '2', from_status_id: 'open', next_status_id: 'closed' },
  ],
};

const BY_REGION = {
  display_id: 'by_region',
  title: 'Sales by region',
  datastore_id: 'orders',
  fields: [
    { display_id: 'REGION', title: 'Region', field_id: 'region' },
    { display_id: 'TOTAL', title: 'Total', field_id: 'amount', aggregate: 'sum' },
    { display_id: 'N', title: 'Count', field_id: 'title', aggregate: 'count' },
    { display_id: 'AVG', title: 'Average', field_id: 'amount', aggregate: 'avg' },
    { display_id: 'MAXQ', title: 'Max qty', field_id: 'qty', aggregate: 'max' },
  ],
  group_by: ['REGION'],
};

const LIST = {
  display_id: 'list',
  title: 'Order list',
  datastore_id: 'orders',
  fields: [
    { display_id: 'TITLE', title: 'Title', field_id: 'title' },
    { display_id: 'REGION', title: 'Region', field_id: 'region' },
    { display_id: 'AMOUNT', title: 'Amount', field_id: 'amount' },
    { display_id: 'DUE', title: 'Due', field_id: 'due' },
    { display_id: 'WHEN', title: 'When', field_id: 'when' },
    { display_id: 'STATE', title: 'State', field_id: 'state' },
    { display_id: 'OWNER', title: 'Owner', field_id: 'owner' },
    { display_id: 'TAGS', title: 'Tags', field_id: 'tags' },
    { display_id: 'CUSTOMER', title: 'Customer', field_id: 'customer' },
  ],
};

const R = '/applications/sales/reports';
const C = '/applications/sales/charts';
const D = '/applications/sales/datastores/orders';

for (const backend of backends) {
  describe(`Hexabase reports and charts (definitions, GetReportData, conditions, charts, CSV) on ${backend.name}`, { skip: backend.skip }, () => {
    let t: TestApp;
    let alice: string;
    let bob: string;
    let carol: string;
    let dave: string;
    let aliceId: string;
    let appKey: string;
    const items: string[] = [];
    const countDefinitions = async () => {
      const scope = definitionScope(appKey);
      let n = 0;
      for (const set of [REPORT_SET, REPORT_DISPLAY_ID_SET, CHART_SET]) n += (await t.app.store.query(scope, set, { top: 0, skip: 0, count: true })).count ?? 0;
      return n;
    };

    before(async () => {
      t = await startTestApp(backend);
      ({ alice, bob } = await twoTenants(t));
      const root = json(await hx(t, alice, 'GET', '/groups')).group.g_id;
      carol = await addMember(t, alice, 'carol@example.com', 'carol', root);
      dave = await addMember(t, alice, 'dave@example.com', 'dave', root);
      aliceId = json(await hx(t, alice, 'GET', '/userinfo')).u_id;
      appKey = json(await hx(t, alice, 'POST', '/applications', { name: 'Sales', display_id: 'sales', roles: [{ display_id: 'member', name: 'Member' }] })).project_id;
      const carolId = json(await hx(t, carol, 'GET', '/userinfo')).u_id;
      assert.equal((await hx(t, alice, 'POST', '/applications/sales/userroles', { role_id: 'member', user_id: carolId })).statusCode, 200);
      const customers = { name: 'Customers', display_id: 'customers', fields: [{ display_id: 'name', name: 'Name', dataType: 'text', as_title: true }] };
      assert.equal((await hx(t, alice, 'POST', '/applications/sales/datastores', customers)).statusCode, 200);
      const acme = json(await hx(t, alice, 'POST', '/applications/sales/datastores/customers/items/new', { item: { name: 'ACME' } })).item_id;
      const ds = await hx(t, alice, 'POST', '/applications/sales/datastores', ORDERS);
      assert.equal(ds.statusCode, 200, ds.body);
      for (const item of [
        { title: 'A1', region: 'north', amount: 100, qty: 1, due: '2024-03-01', when: '2024-03-01T10:42:07Z', tags: ['a', 'c'], owner: [aliceId], customer: acme },
        { title: 'A2', region: 'north', amount: 250, qty: 2, due: '2024-03-02' },
        { title: 'B1', region: 'south', amount: 40, qty: 5 },
        { title: 'B2', region: 'south', amount: 60, qty: 1 },
        { title: 'C1', region: 'east', amount: 7.5, qty: 3 },
        { title: '=SUM(A1)', amount: 1 },
      ]) {
        const res = await hx(t, alice, 'POST', `${D}/items/new`, { item });
        assert.equal(res.statusCode, 200, res.body);
        items.push(json(res).item_id);
      }
      const closed = await hx(t, alice, 'POST', `${D}/items/edit/${items[3]}`, { action_id: 'close', is_force_update: true });
      assert.equal(closed.statusCode, 200, closed.body);
    });
    after(() => t.close());

    it('defines reports and charts (kura API) and refuses hostile definitions, storing nothing', async () => {
      const grouped = await hx(t, alice, 'POST', R, BY_REGION);
      assert.equal(grouped.statusCode, 200, grouped.body);
      assert.match(json(grouped).report_id, /^[0-9a-f]{24}$/);
      assert.equal((await hx(t, alice, 'POST', R, LIST)).statusCode, 200);
      const big = await hx(t, alice, 'POST', R, { ...LIST, display_id: 'big', title: 'Big orders', conditions: [{ id: 'amount', search_value: [50, null] }] });
      assert.equal(big.statusCode, 200, big.body);
      const chart = await hx(t, alice, 'POST', C, { display_id: 'region_chart', title: 'Regions', type: 'bar', report_id: 'by_region', label_field: 'REGION', value_fields: ['TOTAL', 'N'] });
      assert.equal(chart.statusCode, 200, chart.body);
      assert.match(json(chart).chart_id, /^[0-9a-f]{24}$/);

      const before = await countDefinitions();
      const field = (over: Record<string, unknown>) => ({ display_id: 'X', title: 'X', field_id: 'title', ...over });
      const rows: Array<[string, Record<string, unknown>, string]> = [
        ['unknown field', { fields: [field({ field_id: 'nosuch' })] }, 'INVALID_VALUE'],
        ['sum of a text field', { fields: [field({ aggregate: 'sum' })] }, 'INVALID_VALUE'],
        ['avg of a date field', { fields: [field({ field_id: 'due', aggregate: 'avg' })] }, 'INVALID_VALUE'],
        ['unknown aggregate', { fields: [field({ field_id: 'amount', aggregate: 'median' })] }, 'INVALID_VALUE'],
        ['group_by names no output field', { fields: [field({ field_id: 'amount', aggregate: 'sum' })], group_by: ['region'] }, 'INVALID_VALUE'],
        ['group_by names an aggregate', { fields: [field({ field_id: 'amount', aggregate: 'sum' })], group_by: ['X'] }, 'INVALID_VALUE'],
        ['group_by twice', { fields: [field({})], group_by: ['X', 'X'] }, 'INVALID_VALUE'],
        ['a column neither grouped nor aggregated', { fields: [field({}), field({ display_id: 'S', field_id: 'amount', aggregate: 'sum' })] }, 'INVALID_VALUE'],
        ['duplicate display ids', { fields: [field({}), field({ field_id: 'amount' })] }, 'INVALID_VALUE'],
        ['a display id every row has', { fields: [field({ display_id: 'items' })] }, 'INVALID_VALUE'],
        ['a prototype-polluting display id', { fields: [field({ display_id: '__proto__' })] }, 'INVALID_VALUE'],
        ['a display id with spaces', { fields: [field({ display_id: 'a b' })] }, 'INVALID_VALUE'],
        ['a field that is no object', { fields: ['title'] }, 'INVALID_VALUE'],
        ['fields not a list', { fields: 'title' }, 'INVALID_VALUE'],
        ['too many fields', { fields: Array.from({ length: 101 }, (_, i) => field({ display_id: `F${i}` })) }, 'INVALID_VALUE'],
        ['no fields', { fields: [] }, 'INVALID_PARAMS'],
        ['no title', { title: undefined }, 'INVALID_PARAMS'],
        ['unknown datastore', { datastore_id: 'nosuch' }, 'INVALID_VALUE'],
        ['conditions on an unknown field', { conditions: [{ id: 'nosuch', search_value: ['x'] }] }, 'INVALID_PARAMS'],
        ['conditions not a list', { conditions: 'amount > 1' }, 'INVALID_PARAMS'],
        ['a taken display id', { display_id: 'by_region' }, 'INVALID_VALUE'],
      ];
      for (const [name, over, code] of rows) {
        const res = await hx(t, alice, 'POST', R, { display_id: 'hostile', title: 'Hostile', datastore_id: 'orders', fields: [field({})], ...over });
        assert.equal(res.statusCode, 400, `${name}: ${res.body}`);
        assert.equal(json(res).error_code, code, `${name}: ${res.body}`);
      }
      const charts: Array<[string, Record<string, unknown>]> = [
        ['unknown type', { type: 'pie3d' }],
        ['unknown report', { report_id: 'nosuch' }],
        ['unknown label field', { label_field: 'NOPE' }],
        ['no value fields', { value_fields: [] }],
        ['a value field that is no number', { value_fields: ['REGION'] }],
        ['a value field twice', { value_fields: ['TOTAL', 'TOTAL'] }],
        ['a taken display id', { display_id: 'region_chart' }],
      ];
      for (const [name, over] of charts) {
        const res = await hx(t, alice, 'POST', C, { display_id: 'hostile', title: 'Hostile', type: 'line', report_id: 'by_region', label_field: 'REGION', value_fields: ['TOTAL'], ...over });
        assert.equal(res.statusCode, 400, `${name}: ${res.body}`);
        assert.equal(json(res).error_code, 'INVALID_VALUE', `${name}: ${res.body}`);
      }
      assert.equal(await countDefinitions(), before);
      assertHxError(await hx(t, alice, 'GET', `${R}/hostile`), 404, 'NOT_FOUND');
    });

    it('answers a grouped report with exact sums, counts, averages and maxima (GetReportData)', async () => {
      const res = await hx(t, alice, 'GET', `${R}/by_region`);
      assert.equal(res.statusCode, 200, res.body);
      const body = json(res);
      assert.deepEqual(Object.keys(body), ['error', 'report_title', 'totalItems', 'item_index_from', 'item_index_to', 'report_results', 'report_fields']);
      assert.equal(body.error, '');
      assert.equal(body.report_title, 'Sales by region');
      assert.equal(body.totalItems, 4);
      assert.equal(body.item_index_from, 0);
      assert.equal(body.item_index_to, 3);
      const rows = body.report_results.map(({ items: list, ...rest }: Record<string, unknown>) => ({ ...rest, n: (list as unknown[]).length }));
      // Option order (north, south, east, west), blanks last; a blank group key is left out of its row.
      assert.deepEqual(rows, [
        { REGION: 'North', TOTAL: 350, N: 2, AVG: 175, MAXQ: 2, n: 2 },
        { REGION: 'South', TOTAL: 100, N: 2, AVG: 50, MAXQ: 5, n: 2 },
        { REGION: 'East', TOTAL: 7.5, N: 1, AVG: 7.5, MAXQ: 3, n: 1 },
        { TOTAL: 1, N: 1, AVG: 1, n: 1 },
      ]);
      const north = body.report_results[0].items.map((i: { i_id: string }) => i.i_id).sort();
      assert.deepEqual(north, [items[0], items[1]].sort());
      assert.ok(body.report_results[0].items.every((i: { d_id: string }) => /^[0-9a-f]{24}$/.test(i.d_id)));
      const fields = body.report_fields;
      assert.deepEqual(fields.map((f: { display_id: string }) => f.display_id), ['REGION', 'TOTAL', 'N', 'AVG', 'MAXQ']);
      assert.deepEqual(Object.keys(fields[0]), ['title', 'rpf_id', 'display_id', 'data_type', 'display_type', 'align', 'width', 'negative_sign_type', 'num_format', 'num_info', 'conditions', 'f_id', 'd_id', 'merge_cells', 'hide', 'disable_search', 'use_integrated_report', 'is_cross_key']);
      assert.equal(fields[0].data_type, 'select');
      assert.equal(fields[1].data_type, 'number');
      assert.equal(fields[2].data_type, 'number');

      const paged = json(await hx(t, alice, 'GET', `${R}/by_region?per_page=2&page=2&omit_fields_data=true`));
      assert.deepEqual(paged.report_results.map((r: { REGION?: string }) => r.REGION ?? null), ['East', null]);
      assert.equal(paged.totalItems, 4);
      assert.equal(paged.item_index_from, 2);
      assert.equal(paged.item_index_to, 3);
      assert.equal(paged.report_fields, undefined);
      const past = json(await hx(t, alice, 'GET', `${R}/by_region?per_page=2&page=9`));
      assert.deepEqual(past.report_results, []);
      assert.equal(past.totalItems, 4);
      const counted = json(await hx(t, alice, 'GET', `${R}/by_region?return_count_only=true`));
      assert.equal(counted.report_results, null);
      assert.equal(counted.totalItems, 4);
      assert.equal(json(await hx(t, alice, 'GET', `${R}/by_region?omit_total_items=true`)).totalItems, 0);
      assertHxError(await hx(t, alice, 'GET', `${R}/by_region?per_page=lots`), 400, 'INVALID_PARAMS');
      assertHxError(await hx(t, alice, 'GET', `${R}/by_region?include_date_at=maybe`), 400, 'INVALID_PARAMS');
      assertHxError(await hx(t, alice, 'GET', `${R}/by_region?format=xml`), 400, 'INVALID_PARAMS');
    });

    it('pages a report that does not group, rendering values as the pages show them', async () => {
      const page = json(await hx(t, alice, 'GET', `${R}/list?per_page=2&page=1&include_date_at=true&return_id_value_results=true`));
      assert.equal(page.totalItems, 6);
      assert.equal(page.item_index_from, 0);
      assert.equal(page.item_index_to, 1);
      const [first, second] = page.report_results;
      assert.equal(first.TITLE, 'A1');
      assert.equal(first.REGION, 'North');
      assert.equal(first.AMOUNT, 100);
      assert.equal(first.DUE, '2024/03/01');
      assert.equal(first.WHEN, '2024-03-01T10:42:07Z');
      assert.equal(first.STATE, 'Open');
      assert.equal(first.OWNER, 'alice');
      assert.equal(first.TAGS, 'Alpha,Gamma');
      assert.equal(first.i_id, items[0]);
      assert.equal(first.rev_no, 1);
      assert.deepEqual(first.items, [{ d_id: first.items[0].d_id, i_id: items[0] }]);
      assert.match(first.created_at, /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}$/);
      assert.match(first.updated_at, /^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}$/);
      assert.deepEqual(first.id_value_results, {
        REGION: { id: 'north', value: 'North' },
        STATE: { id: 'open', value: 'Open' },
        OWNER: [{ id: aliceId, value: 'alice' }],
        TAGS: [{ id: 'a', value: 'Alpha' }, { id: 'c', value: 'Gamma' }],
      });
      assert.equal(first.CUSTOMER, 'ACME');
      assert.equal(first.lookup_items, undefined);
      assert.equal(second.TITLE, 'A2');
      const lookups = json(await hx(t, alice, 'GET', `${R}/list?per_page=1&include_lookups=true`)).report_results[0];
      assert.equal(lookups.lookup_items.CUSTOMER.name, 'ACME');
      assert.equal(lookups.lookup_items.CUSTOMER.title, 'ACME');
      assert.equal(second.WHEN, undefined);
      assert.equal(json(await hx(t, alice, 'GET', `${R}/list?return_utc_datetime=true`)).report_results[0].DUE, '2024-03-01T00:00:00Z');
      const third = json(await hx(t, alice, 'GET', `${R}/list?per_page=2&page=2`));
      assert.deepEqual(third.report_results.map((r: { TITLE: string }) => r.TITLE), ['B1', 'B2']);
      assert.equal(third.report_results[1].STATE, 'Closed');
      assert.equal(third.report_results[1].rev_no, 2);
      const all = json(await hx(t, alice, 'GET', `${R}/list`));
      assert.equal(all.report_results.length, 6);
      assert.equal(all.totalItems, 6);
    });

    it('filters and sorts by report columns (GetReportDataByConditions) on top of the stored conditions', async () => {
      const filter = (ref: string, body: Record<string, unknown>) => hx(t, alice, 'POST', `${R}/${ref}/filter`, body);
      const south = json(await filter('by_region', { conditions: [{ id: 'REGION', search_value: ['south'] }] }));
      assert.deepEqual(south.report_results.map(({ items: _, ...r }: Record<string, unknown>) => r), [{ REGION: 'South', TOTAL: 100, N: 2, AVG: 50, MAXQ: 5 }]);
      assert.equal(south.totalItems, 1);
      const rpf = json(await hx(t, alice, 'GET', `${R}/by_region/conditions`));
      assert.deepEqual(Object.keys(rpf[0]), ['rpf_id', 'display_id', 'f_id', 'name', 'dataType', 'order', 'options']);
      assert.deepEqual(rpf.map((c: { display_id: string }) => c.display_id), ['REGION', 'TOTAL', 'N', 'AVG', 'MAXQ']);
      assert.deepEqual(rpf[0].options.map((o: { value: string }) => o.value), ['North', 'South', 'East', 'West']);
      assert.deepEqual(Object.keys(rpf[0].options[0]), ['o_id', 'value', 'color', 'enabled', 'sort_id']);
      const byRpf = json(await filter('by_region', { conditions: [{ rpf_id: rpf[0].rpf_id, search_value: ['East'] }] }));
      assert.deepEqual(byRpf.report_results.map((r: { REGION: string }) => r.REGION), ['East']);
      // A condition on an aggregated column filters the items by its source field before grouping.
      const large = json(await filter('by_region', { conditions: [{ id: 'TOTAL', search_value: [100, null] }] }));
      assert.deepEqual(large.report_results.map(({ items: _, ...r }: Record<string, unknown>) => r), [{ REGION: 'North', TOTAL: 350, N: 2, AVG: 175, MAXQ: 2 }]);
      const sorted = json(await filter('by_region', { sort_fields: [{ id: 'TOTAL', order: 'asc' }] }));
      assert.deepEqual(sorted.report_results.map((r: { TOTAL: number }) => r.TOTAL), [1, 7.5, 100, 350]);
      const bySortId = json(await filter('by_region', { sort_field_id: 'REGION', sort_order: 'desc', per_page: 1, page: 1 }));
      assert.equal(bySortId.report_results[0].REGION, 'East');
      assert.equal(bySortId.totalItems, 4);
      // The sample's URL (`/conditions`) serves the same call.
      assert.equal(json(await hx(t, alice, 'POST', `${R}/by_region/conditions`, { conditions: [{ id: 'REGION', search_value: ['north'] }] })).totalItems, 1);

      const big = json(await filter('big', {}));
      assert.deepEqual(big.report_results.map((r: { TITLE: string }) => r.TITLE), ['A1', 'A2', 'B2']);
      const bigSouth = json(await filter('big', { conditions: [{ id: 'REGION', search_value: ['South'] }], sort_fields: [{ id: 'AMOUNT', order: 'desc' }] }));
      assert.deepEqual(bigSouth.report_results.map((r: { TITLE: string }) => r.TITLE), ['B2']);
      const sortedList = json(await filter('list', { sort_fields: [{ id: 'AMOUNT', order: 'desc' }], per_page: 3 }));
      assert.deepEqual(sortedList.report_results.map((r: { AMOUNT: number }) => r.AMOUNT), [250, 100, 60]);
      assert.equal(sortedList.totalItems, 6);

      assertHxError(await filter('by_region', { conditions: [{ id: 'nosuch', search_value: ['x'] }] }), 400, 'INVALID_PARAMS');
      assertHxError(await filter('by_region', { conditions: [{ id: 'TOTAL', search_value: ['lots', null] }] }), 400, 'INVALID_PARAMS');
      assertHxError(await filter('by_region', { sort_fields: [{ id: 'NOPE' }] }), 400, 'INVALID_PARAMS');
      assertHxError(await filter('by_region', { per_page: -1 }), 400, 'INVALID_PARAMS');
      let deep: Record<string, unknown> = { id: 'REGION', search_value: ['north'] };
      for (let i = 0; i < 50; i++) deep = { conditions: [deep] };
      assertHxError(await filter('by_region', { conditions: [deep] }), 400, 'INVALID_PARAMS');
    });

    it('draws charts from their report (GetChartData, GetChartDataByConditions, GetChartSearchConditions)', async () => {
      const chart = json(await hx(t, alice, 'GET', `${C}/region_chart`));
      assert.deepEqual(chart, {
        chart: { type: 'bar' },
        color: 'DEFAULT',
        datasets: [
          { data: [350, 100, 7.5, 1], label: 'Total' },
          { data: [2, 2, 1, 1], label: 'Count' },
        ],
        labels: ['North', 'South', 'East', ''],
        title: { text: 'Regions' },
        zero: true,
      });
      const filtered = json(await hx(t, alice, 'POST', `${C}/region_chart/filter`, { conditions: [{ id: 'REGION', search_value: ['north'] }] }));
      assert.deepEqual(filtered.labels, ['North']);
      assert.deepEqual(filtered.datasets, [{ data: [350], label: 'Total' }, { data: [2], label: 'Count' }]);
      const conditions = json(await hx(t, alice, 'GET', `${C}/region_chart/conditions`));
      assert.deepEqual(conditions.map((c: { name: string }) => c.name), ['Region', 'Total', 'Count', 'Average', 'Max qty']);
      assert.deepEqual(Object.keys(conditions[1]), ['rpf_id', 'name', 'dataType', 'order']);
      const chartId = json(await hx(t, alice, 'POST', C, { display_id: 'list_chart', title: 'Amounts', type: 'pie', report_id: 'list', label_field: 'TITLE', value_fields: ['AMOUNT'] })).chart_id;
      const pie = json(await hx(t, alice, 'GET', `${C}/${chartId}`));
      assert.deepEqual(pie.labels, ['A1', 'A2', 'B1', 'B2', 'C1', '=SUM(A1)']);
      assert.deepEqual(pie.datasets, [{ data: [100, 250, 40, 60, 7.5, 1], label: 'Amount' }]);
      assert.equal((await hx(t, alice, 'DELETE', `${C}/list_chart`)).statusCode, 200);
      assertHxError(await hx(t, alice, 'GET', `${C}/${chartId}`), 404, 'NOT_FOUND');
    });

    it('answers CSV with a header of column display ids', async () => {
      const res = await hx(t, alice, 'GET', `${R}/by_region?format=csv`);
      assert.equal(res.statusCode, 200, res.body);
      assert.match(String(res.headers['content-type']), /^text\/csv/);
      assert.equal(res.body, 'REGION,TOTAL,N,AVG,MAXQ\r\nNorth,350,2,175,2\r\nSouth,100,2,50,5\r\nEast,7.5,1,7.5,3\r\n,1,1,1,\r\n');
      const list = await hx(t, alice, 'POST', `${R}/list/filter`, { format: 'csv', sort_field_id: 'AMOUNT', per_page: 2 });
      assert.equal(list.body, "TITLE,REGION,AMOUNT,DUE,WHEN,STATE,OWNER,TAGS,CUSTOMER\r\n'=SUM(A1),,1,,,Open,,,\r\nC1,East,7.5,,,Open,,,\r\n");
    });

    it('lets members with a role read but not define; strangers and other tenants get 404', async () => {
      assert.equal(json(await hx(t, carol, 'GET', `${R}/by_region`)).totalItems, 4);
      assert.equal((await hx(t, carol, 'GET', `${C}/region_chart`)).statusCode, 200);
      assertHxError(await hx(t, carol, 'POST', R, { ...BY_REGION, display_id: 'carols' }), 403, 'NO_PRIVILEGES');
      assertHxError(await hx(t, carol, 'DELETE', `${R}/by_region`), 403, 'NO_PRIVILEGES');
      for (const token of [dave, bob]) {
        assertHxError(await hx(t, token, 'GET', `${R}/by_region`), 404, 'NOT_FOUND');
        assertHxError(await hx(t, token, 'GET', `/applications/${appKey}/reports/by_region`), 404, 'NOT_FOUND');
        assertHxError(await hx(t, token, 'POST', `${R}/by_region/filter`, {}), 404, 'NOT_FOUND');
        assertHxError(await hx(t, token, 'GET', `${R}/by_region/conditions`), 404, 'NOT_FOUND');
        assertHxError(await hx(t, token, 'GET', `${C}/region_chart`), 404, 'NOT_FOUND');
        assertHxError(await hx(t, token, 'PUT', `${R}/by_region`, { title: 'mine' }), 404, 'NOT_FOUND');
      }
      // Bob's own application of the same display id does not reach Alice's reports.
      assert.equal((await hx(t, bob, 'POST', '/applications', { name: 'Sales', display_id: 'sales' })).statusCode, 200);
      assertHxError(await hx(t, bob, 'GET', `${R}/by_region`), 404, 'NOT_FOUND');
      assertHxError(await hx(t, bob, 'POST', R, BY_REGION), 400, 'INVALID_VALUE');
    });

    it('redefines and deletes reports and charts, keeping charts consistent', async () => {
      const reportId = json(await hx(t, alice, 'GET', `${R}/by_region/conditions`))[0].rpf_id as string;
      const renamed = await hx(t, alice, 'PUT', `${R}/by_region`, { display_id: 'region_totals', title: 'Totals by region' });
      assert.equal(renamed.statusCode, 200, renamed.body);
      assertHxError(await hx(t, alice, 'GET', `${R}/by_region`), 404, 'NOT_FOUND');
      const again = json(await hx(t, alice, 'GET', `${R}/region_totals`));
      assert.equal(again.report_title, 'Totals by region');
      assert.equal(again.report_fields[0].rpf_id, reportId, 'rpf ids stay with their display ids');
      assert.equal(json(await hx(t, alice, 'GET', `${C}/region_chart`)).datasets[0].data[0], 350);
      // The chart draws TOTAL: a redefinition without it is refused, and so is deleting the report.
      const without = BY_REGION.fields.filter((f) => f.display_id !== 'TOTAL');
      assertHxError(await hx(t, alice, 'PUT', `${R}/region_totals`, { fields: without }), 400, 'INVALID_VALUE');
      assertHxError(await hx(t, alice, 'DELETE', `${R}/region_totals`), 400, 'INVALID_PARAMS');
      assertHxError(await hx(t, alice, 'PUT', `${C}/region_chart`, { value_fields: ['REGION'] }), 400, 'INVALID_VALUE');
      assert.equal((await hx(t, alice, 'PUT', `${C}/region_chart`, { type: 'line', value_fields: ['AVG'] })).statusCode, 200);
      const line = json(await hx(t, alice, 'GET', `${C}/region_chart`));
      assert.equal(line.chart.type, 'line');
      assert.deepEqual(line.datasets, [{ data: [175, 50, 7.5, 1], label: 'Average' }]);
      // Regrouping by state.
      const byState = await hx(t, alice, 'PUT', `${R}/region_totals`, {
        fields: [{ display_id: 'REGION', title: 'State', field_id: 'state' }, ...BY_REGION.fields.slice(1)],
      });
      assert.equal(byState.statusCode, 200, byState.body);
      const states = json(await hx(t, alice, 'GET', `${R}/region_totals`)).report_results.map(({ items: _, ...r }: Record<string, unknown>) => r);
      assert.deepEqual(states, [
        { REGION: 'Open', TOTAL: 398.5, N: 5, AVG: 79.7, MAXQ: 5 },
        { REGION: 'Closed', TOTAL: 60, N: 1, AVG: 60, MAXQ: 1 },
      ]);
      assert.equal((await hx(t, alice, 'DELETE', `${C}/region_chart`)).statusCode, 200);
      assert.equal((await hx(t, alice, 'DELETE', `${R}/region_totals`)).statusCode, 200);
      assertHxError(await hx(t, alice, 'GET', `${R}/region_totals`), 404, 'NOT_FOUND');
      // The display id is free again.
      assert.equal((await hx(t, alice, 'POST', R, BY_REGION)).statusCode, 200);
    });

    it('groups 100,000 items in SQL with exact totals', async () => {
      const made = await hx(t, alice, 'POST', '/applications/sales/datastores', {
        name: 'Bulk',
        display_id: 'bulk',
        fields: [
          { display_id: 'region', name: 'Region', dataType: 'select', options: Array.from({ length: 10 }, (_, i) => ({ display_id: `r${i}`, value: `Region ${i}` })) },
          { display_id: 'amount', name: 'Amount', dataType: 'number' },
          { display_id: 'state', name: 'State', dataType: 'status' },
        ],
        statuses: [{ display_id: 's0', name: 'S0' }, { display_id: 's1', name: 'S1' }, { display_id: 's2', name: 'S2' }],
      });
      assert.equal(made.statusCode, 200, made.body);
      const dsKey = json(made).datastore_id as string;
      const fields = json(await hx(t, alice, 'GET', '/applications/sales/datastores/bulk/fields')).fields as Record<string, { display_id: string; options?: { option_id: string }[] }>;
      const region = Object.values(fields).find((f) => f.display_id === 'region')!;
      const regionId = Object.keys(fields).find((k) => fields[k] === region)!;
      const amountId = Object.keys(fields).find((k) => fields[k]!.display_id === 'amount')!;
      const options = region.options!.map((o) => o.option_id);
      const state = json(await hx(t, alice, 'GET', '/applications/sales/datastores/bulk/items/conditions')).result.find((c: { data_type: string }) => c.data_type === 'status');
      const statusIds: string[] = state.statuses.map((s: { status_id: string }) => s.status_id);
      assert.equal(statusIds.length, 3);

      const N = 100_000;
      const expected = new Map<string, { sum: number; count: number; items: number }>();
      const scope = itemScope(appKey, dsKey);
      for (let from = 0; from < N; from += 25_000) {
        await t.app.store.withTransaction(async (trx) => {
          for (let i = from; i < from + 25_000; i++) {
            const props: Record<string, unknown> = { status_id: statusIds[i % 3], created_by: aliceId, title: '' };
            const r = i % 97 === 0 ? undefined : options[i % 10];
            if (r) props[regionId] = r;
            if (i % 11 !== 0) props[amountId] = i % 1000;
            const key = `${r ?? '-'}|${i % 3}`;
            const e = expected.get(key) ?? { sum: 0, count: 0, items: 0 };
            e.items++;
            if (i % 11 !== 0) {
              e.sum += i % 1000;
              e.count++;
            }
            expected.set(key, e);
            await trx.insert(scope, ITEM_SET, newId(), props);
          }
        });
      }

      const report = await hx(t, alice, 'POST', R, {
        display_id: 'bulk_totals',
        title: 'Bulk',
        datastore_id: 'bulk',
        fields: [
          { display_id: 'REGION', title: 'Region', field_id: 'region' },
          { display_id: 'STATE', title: 'State', field_id: 'state' },
          { display_id: 'TOTAL', title: 'Total', field_id: 'amount', aggregate: 'sum' },
          { display_id: 'N', title: 'Count', field_id: 'amount', aggregate: 'count' },
          { display_id: 'AVG', title: 'Average', field_id: 'amount', aggregate: 'avg' },
        ],
        group_by: ['REGION', 'STATE'],
      });
      assert.equal(report.statusCode, 200, report.body);
      const body = json(await hx(t, alice, 'GET', `${R}/bulk_totals?omit_fields_data=true`));
      assert.equal(body.totalItems, expected.size);
      assert.equal(body.report_results.length, expected.size);
      let sum = 0;
      let count = 0;
      for (const row of body.report_results) {
        const option = row.REGION === undefined ? '-' : options[Number(String(row.REGION).replace('Region ', ''))];
        const e = expected.get(`${option}|${Number(String(row.STATE).slice(1))}`)!;
        assert.ok(e, JSON.stringify(row));
        assert.equal(row.TOTAL, e.sum);
        assert.equal(row.N, e.count);
        assert.ok(Math.abs(row.AVG - e.sum / e.count) < 1e-9, `${row.AVG} vs ${e.sum / e.count}`);
        assert.equal(row.items.length, Math.min(100, e.items));
        sum += row.TOTAL;
        count += row.N;
      }
      assert.equal(count, N - Math.ceil(N / 11));
      assert.equal(sum, [...expected.values()].reduce((s, e) => s + e.sum, 0));
      // Conditions and paging still run in SQL over the same statement.
      const one = json(await hx(t, alice, 'POST', `${R}/bulk_totals/filter`, { conditions: [{ id: 'REGION', search_value: ['r3'] }], per_page: 2, page: 1 }));
      assert.equal(one.totalItems, 3);
      assert.equal(one.report_results.length, 2);
      assert.deepEqual(one.report_results.map((r: { REGION: string; STATE: string }) => `${r.REGION}/${r.STATE}`), ['Region 3/S0', 'Region 3/S1']);
      assert.equal(one.report_results[0].TOTAL, expected.get(`${options[3]}|0`)!.sum);
    });
  });
}

