import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import { json } from '../support/http.js';
import { addMember, assertHxError, hx, twoTenants } from '../support/hexabase.js';

const CUSTOMERS = {
  name: 'Customers',
  display_id: 'customers',
  fields: [
    { display_id: 'name', name: 'Name', dataType: 'text', as_title: true, required: true, search: true },
    { display_id: 'code', name: 'Code', dataType: 'text', unique: true },
  ],
};

const TASKS = {
  name: 'Tasks',
  display_id: 'tasks',
  fields: [
    { display_id: 'no', name: 'No.', dataType: 'autonum', prefix: 'T-' },
    { display_id: 'title', name: 'Title', dataType: 'text', as_title: true, required: true, search: true },
    { display_id: 'notes', name: 'Notes', dataType: 'textarea' },
    { display_id: 'points', name: 'Points', dataType: 'number', search: true },
    { display_id: 'due', name: 'Due', dataType: 'date' },
    { display_id: 'prio', name: 'Priority', dataType: 'select', options: [{ display_id: 'hi', value: 'High' }, { display_id: 'lo', value: 'Low' }] },
    { display_id: 'tags', name: 'Tags', dataType: 'checkbox', options: [{ display_id: 'a', value: 'Alpha' }, { display_id: 'b', value: 'Beta' }, { display_id: 'c', value: 'Gamma' }] },
    { display_id: 'owner', name: 'Owner', dataType: 'users' },
    { display_id: 'customer', name: 'Customer', dataType: 'dslookup', dslookup_datastore_id: 'customers' },
    { display_id: 'state', name: 'State', dataType: 'status' },
  ],
  statuses: [{ display_id: 'open', name: 'Open' }, { display_id: 'closed', name: 'Closed' }],
  actions: [
    { display_id: 'new', name: 'New', crud_type: '1' },
    { display_id: 'edit', name: 'Edit', crud_type: '2' },
    { display_id: 'close', name: 'Close', crud_type: '2', from_status_id: 'open', next_status_id: 'closed' },
  ],
};

const T = '/applications/work/datastores/tasks';

for (const backend of backends) {
  describe(`Hexabase items (create, details, update, delete, search, links, histories) on ${backend.name}`, { skip: backend.skip }, () => {
    let t: TestApp;
    let alice: string;
    let bob: string;
    let carol: string;
    let aliceId: string;
    let acme: string;
    const created: string[] = [];
    before(async () => {
      t = await startTestApp(backend);
      ({ alice, bob } = await twoTenants(t));
      const root = json(await hx(t, alice, 'GET', '/groups')).group.g_id;
      carol = await addMember(t, alice, 'carol@example.com', 'carol', root);
      aliceId = json(await hx(t, alice, 'GET', '/userinfo')).u_id;
      assert.equal((await hx(t, alice, 'POST', '/applications', { name: 'Work', display_id: 'work', roles: [{ display_id: 'member', name: 'Member' }] })).statusCode, 200);
      const carolId = json(await hx(t, carol, 'GET', '/userinfo')).u_id;
      assert.equal((await hx(t, alice, 'POST', '/applications/work/userroles', { role_id: 'member', user_id: carolId })).statusCode, 200);
      assert.equal((await hx(t, alice, 'POST', '/applications/work/datastores', CUSTOMERS)).statusCode, 200);
      const tasks = await hx(t, alice, 'POST', '/applications/work/datastores', TASKS);
      assert.equal(tasks.statusCode, 200, tasks.body);
      const customer = await hx(t, alice, 'POST', '/applications/work/datastores/customers/items/new', { item: { name: 'ACME', code: 'C1' } });
      assert.equal(customer.statusCode, 200, customer.body);
      acme = json(customer).item_id;
    });
    after(() => t.close());

    it('creates an item with typed values, an auto number, the default status and a history', async () => {
      const res = await hx(t, alice, 'POST', `${T}/items/new`, {
        item: { title: 'Write docs', notes: 'long\ntext', points: '5', due: '2024-03-01T00:00:00.000Z', prio: 'hi', tags: ['a', 'c'], owner: [aliceId], customer: acme },
        return_item_result: true,
        use_display_id: true,
      });
      assert.equal(res.statusCode, 200, res.body);
      const body = json(res);
      assert.equal(body.error, null);
      assert.match(body.item_id, /^[0-9a-f]{24}$/);
      assert.match(body.history_id, /^[0-9a-f]{24}$/);
      created.push(body.item_id);
      const item = body.item;
      assert.equal(item.no, 'T-1');
      assert.equal(item.title, 'Write docs');
      assert.equal(item.points, '5');
      assert.equal(item.due, '2024-03-01T00:00:00Z');
      assert.equal(item.prio, 'High');
      assert.equal(item.tags, 'Alpha,Gamma');
      assert.equal(item.owner, 'alice');
      assert.equal(item.customer, 'ACME');
      assert.equal(item.state, 'Open');
      assert.equal(item.rev_no, '1');
      assert.equal(item.created_by, aliceId);
      assert.equal(item.updated_at, undefined);

      const second = json(await hx(t, alice, 'POST', `${T}/items/new`, { item: { title: 'Fix bug', points: 8, prio: 'lo', tags: ['b'] } }));
      created.push(second.item_id);
      const third = json(await hx(t, carol, 'POST', `${T}/items/new`, { item: { title: 'Review docs', points: 13 } }));
      assert.ok(third.item_id);
      // A member without a role in the application does not see it at all.
      const dave = await addMember(t, alice, 'dave@example.com', 'dave', json(await hx(t, alice, 'GET', '/groups')).group.g_id);
      assertHxError(await hx(t, dave, 'POST', `${T}/items/new`, { item: { title: 'x' } }), 404, 'NOT_FOUND');
      created.push(third.item_id);
    });

    it('shows item details in map and array form', async () => {
      const map = json(await hx(t, alice, 'GET', `${T}/items/details/${created[0]}?use_display_id=true`));
      assert.equal(map.title, 'Write docs');
      assert.equal(map.rev_no, 1);
      assert.equal(map.field_values.prio.value, 'hi');
      assert.deepEqual(map.field_values.tags.value, ['Alpha', 'Gamma']);
      assert.equal(map.field_values.state.value, 'open');
      assert.equal(map.field_values.points.value, 5);
      assert.equal(map.field_values.owner.value[0].user_name, 'alice');
      assert.equal(map.field_values.customer.value.item_id, acme);
      assert.equal(map.field_values.customer.value.title, 'ACME');
      assert.deepEqual(map.status_order, ['open', 'closed']);
      assert.deepEqual(Object.keys(map.status_actions), ['close']);
      assert.equal(map.status_actions.close.next_status_id, 'closed');

      const ds = json(await hx(t, alice, 'GET', `/workspaces/${json(await hx(t, alice, 'GET', '/userinfo')).current_workspace_id}/applications`))[0].datastores[1].datastore_id;
      const arr = json(await hx(t, alice, 'GET', `/datastores/${ds}/items/${created[0]}`));
      assert.ok(Array.isArray(arr.field_values));
      assert.equal(arr.field_values.find((f: { field_id: string }) => f.field_id === 'title').value, 'Write docs');
      assert.equal(arr.status_list.length, 2);
    });

    it('refuses bad values, unknown fields, missing required fields and duplicate unique values, changing nothing', async () => {
      const before = json(await hx(t, alice, 'POST', `${T}/items/search`, {})).totalItems;
      for (const item of [
        { title: 'x', points: 'many' },
        { title: 'x', due: 'yesterday' },
        { title: 'x', prio: 'medium' },
        { title: 'x', tags: 'zzz' },
        { title: 'x', owner: ['0123456789abcdef01234567'] },
        { title: 'x', customer: created[0] },
        { title: 'x', nosuchfield: 1 },
        { title: 'x', no: 'T-99' },
        { points: 1 },
        { title: { nested: true } },
      ]) {
        const res = await hx(t, alice, 'POST', `${T}/items/new`, { item });
        assert.equal(res.statusCode, 400, `${JSON.stringify(item)} → ${res.body}`);
        assert.match(json(res).error_code, /^INVALID_(VALUE|PARAMS)$/);
      }
      assertHxError(await hx(t, alice, 'POST', '/applications/work/datastores/customers/items/new', { item: { name: 'Other', code: 'C1' } }), 400, 'INVALID_VALUE');
      assert.equal(json(await hx(t, alice, 'POST', `${T}/items/search`, {})).totalItems, before);
      // The auto number did not advance for refused items.
      const next = json(await hx(t, alice, 'POST', `${T}/items/new`, { item: { title: 'Numbered' }, return_item_result: true, use_display_id: true }));
      assert.equal(next.item.no, 'T-4');
      created.push(next.item_id);
    });

    it('updates with rev_no, refuses a stale one with ITEM_REV_CONFLICT, forces with is_force_update', async () => {
      const ok = await hx(t, alice, 'POST', `${T}/items/edit/${created[1]}`, { item: { points: 21 }, rev_no: 1, comment: 'bigger' });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.body, 'null');
      const stale = await hx(t, alice, 'POST', `${T}/items/edit/${created[1]}`, { item: { points: 1 }, rev_no: 1 });
      assert.equal(stale.statusCode, 409, stale.body);
      const conflict = json(stale);
      assert.equal(conflict.error[0].error_code, 'ITEM_REV_CONFLICT');
      assert.match(conflict.error[0].description, /has rev_no:2 but specified rev_no:1/);
      assert.equal(conflict.item_id, created[1]);
      assert.equal(json(await hx(t, alice, 'GET', `${T}/items/details/${created[1]}?format=map`)).field_values.points.value, 21);
      const forced = await hx(t, alice, 'POST', `${T}/items/edit/${created[1]}`, { changes: [{ id: 'points', value: '34' }], is_force_update: true, return_item_result: true });
      assert.equal(forced.statusCode, 200, forced.body);
      assert.equal(json(forced).item.rev_no, '3');
      assert.ok(json(forced).item.updated_at);
      assertHxError(await hx(t, alice, 'POST', `${T}/items/edit/${created[1]}`, { item: { title: '' }, is_force_update: true }), 400, 'INVALID_VALUE');
      assert.equal((await hx(t, alice, 'POST', `${T}/items/edit/0123456789abcdef01234567`, { item: {}, is_force_update: true })).statusCode, 404);
    });

    it('searches with conditions, sorting and paging', async () => {
      const search = (body: Record<string, unknown>) => hx(t, alice, 'POST', `${T}/items/search`, { use_display_id: true, ...body });
      const all = json(await search({ sort_fields: [{ id: 'points', order: 'desc' }] }));
      assert.equal(all.totalItems, 4);
      assert.deepEqual(all.items.map((i: { title: string }) => i.title), ['Fix bug', 'Review docs', 'Write docs', 'Numbered']);
      const docs = json(await search({ conditions: [{ id: 'title', search_value: ['docs'] }] }));
      assert.deepEqual(docs.items.map((i: { title: string }) => i.title).sort(), ['Review docs', 'Write docs']);
      const range = json(await search({ conditions: [{ id: 'points', search_value: ['6', null] }], return_number_value: true }));
      assert.deepEqual(range.items.map((i: { points: number }) => i.points).sort(), [13, 34]);
      assert.equal(typeof range.items[0].rev_no, 'number');
      const page = json(await search({ per_page: 1, page: 2, sort_field_id: 'points', sort_order: 'asc' }));
      assert.equal(page.items.length, 1);
      assert.equal(page.items[0].title, 'Review docs');
      assert.equal(page.totalItems, 4);
      // The last, short page and a page past the end still carry the total.
      const last = json(await search({ per_page: 3, page: 2 }));
      assert.deepEqual([last.items.length, last.totalItems], [1, 4]);
      const past = json(await search({ per_page: 10, page: 5 }));
      assert.deepEqual([past.items.length, past.totalItems], [0, 4]);
      const count = json(await search({ return_count_only: true }));
      assert.deepEqual(count, { items: [], totalItems: 4 });
      assertHxError(await search({ conditions: [{ id: 'nosuch', search_value: ['x'] }] }), 400, 'INVALID_PARAMS');
      assertHxError(await search({ conditions: 'title = 1' }), 400, 'INVALID_PARAMS');
      assertHxError(await search({ per_page: 1_000_000 }), 400, 'INVALID_PARAMS');
      const conditions = json(await hx(t, alice, 'GET', `${T}/items/conditions`));
      assert.equal(conditions.has_error, false);
      assert.equal(conditions.result.find((c: { display_id: string }) => c.display_id === 'state').statuses.length, 2);
    });

    it('links items both ways and lists them', async () => {
      assert.equal((await hx(t, alice, 'POST', `${T}/items/addlink/${created[0]}`, { link_datastore_id: 'customers', link_item_id: acme })).body, 'null');
      const linked = json(await hx(t, alice, 'GET', `${T}/items/links/${created[0]}`));
      assert.equal(linked.result.customers.items[0].i_id, acme);
      const back = json(await hx(t, alice, 'GET', `/applications/work/datastores/customers/items/links/${acme}`));
      assert.equal(back.result.tasks.items[0].i_id, created[0]);
      const list = json(await hx(t, alice, 'POST', `${T}/items/search`, { include_links: true, conditions: [{ id: 'i_id', search_value: [created[0]] }] }));
      assert.equal(list.items[0].item_links.item_count, 1);
      assert.equal((await hx(t, alice, 'DELETE', `${T}/items/dellink/${created[0]}`, { link_datastore_id: 'customers' })).statusCode, 200);
      assertHxError(await hx(t, alice, 'DELETE', `${T}/items/dellink/${created[0]}`, { link_datastore_id: 'customers' }), 404, 'NOT_FOUND');
    });

    it('keeps histories with comments, unread state and author-only edits', async () => {
      assert.equal((await hx(t, carol, 'POST', `${T}/items/histories/${created[1]}`, { comment: 'looks good' })).body, 'null');
      const forAlice = json(await hx(t, alice, 'GET', `${T}/items/histories/${created[1]}`));
      assert.equal(forAlice.unread, 1);
      assert.equal(forAlice.histories[0].comment, 'looks good');
      assert.equal(forAlice.histories[0].is_unread, true);
      assert.ok(forAlice.histories.some((h: { comment: string; action_operation?: string }) => h.comment === 'bigger' && h.action_operation === '2'));
      assert.equal(json(await hx(t, alice, 'GET', `${T}/items/histories/${created[1]}`)).unread, 0);
      const commentId = forAlice.histories[0].history_id;
      const refused = await hx(t, bob, 'PUT', `${T}/items/histories/${created[1]}/${commentId}`, { comment: 'x' });
      assert.equal(refused.statusCode, 404);
      assert.equal((await hx(t, carol, 'PUT', `${T}/items/histories/${created[1]}/${commentId}`, { comment: 'great' })).statusCode, 200);
      const edited = json(await hx(t, alice, 'GET', `${T}/items/histories/${created[1]}?exclude_action_history=true`)).histories;
      assert.equal(edited.length, 1);
      assert.equal(edited[0].is_updated, true);
      assert.equal(edited[0].comment, 'great');
    });

    it('hands out auto numbers per branch', async () => {
      const first = json(await hx(t, alice, 'GET', `${T}/fields/no/autonum?branch_key=SUB_&zero_padding=true&digit=3`));
      assert.deepEqual(first, { has_error: false, result: { number: 1, value: 'T-SUB_001' } });
      const second = json(await hx(t, alice, 'GET', `${T}/fields/no/autonum?branch_key=SUB_&zero_padding=true&digit=3`));
      assert.equal(second.result.value, 'T-SUB_002');
      const wrong = await hx(t, alice, 'GET', `${T}/fields/title/autonum`);
      assert.equal(wrong.statusCode, 400);
      assert.equal(json(wrong).errors[0].error_code, 'INVALID_PARAMS');
    });

    it('keeps other tenants out: 404 for everything in alice\'s application', async () => {
      for (const [method, path, body] of [
        ['POST', `${T}/items/new`, { item: { title: 'x' } }],
        ['GET', `${T}/items/details/${created[0]}`, undefined],
        ['POST', `${T}/items/search`, {}],
        ['POST', `${T}/items/edit/${created[0]}`, { item: { title: 'x' }, is_force_update: true }],
        ['DELETE', `${T}/items/delete/${created[0]}`, {}],
        ['GET', `${T}/items/histories/${created[0]}`, undefined],
        ['GET', `${T}/items/links/${created[0]}`, undefined],
      ] as const) {
        const res = await hx(t, bob, method, path, body);
        assert.equal(res.statusCode, 404, `${method} ${path}: ${res.body}`);
      }
      assert.equal(json(await hx(t, alice, 'GET', `${T}/items/details/${created[0]}`)).title, 'Write docs');
    });

    it('deletes one item, and items by conditions', async () => {
      assert.deepEqual(json(await hx(t, alice, 'DELETE', `${T}/items/delete/${created[3]}`, {})), { error: null });
      assert.equal((await hx(t, alice, 'GET', `${T}/items/details/${created[3]}`)).statusCode, 404);
      assertHxError(await hx(t, alice, 'DELETE', `${T}/items/delete`, { conditions: [] }), 400, 'INVALID_PARAMS');
      assert.deepEqual(json(await hx(t, alice, 'DELETE', `${T}/items/delete`, { conditions: [{ id: 'title', search_value: ['docs'] }] })), { error: null });
      const left = json(await hx(t, alice, 'POST', `${T}/items/search`, { use_display_id: true }));
      assert.deepEqual(left.items.map((i: { title: string }) => i.title), ['Fix bug']);
      // The unique value of a deleted customer is free again.
      assert.equal((await hx(t, alice, 'DELETE', `/applications/work/datastores/customers/items/delete/${acme}`)).statusCode, 200);
      assert.equal((await hx(t, alice, 'POST', '/applications/work/datastores/customers/items/new', { item: { name: 'New ACME', code: 'C1' } })).statusCode, 200);
    });
  });
}
