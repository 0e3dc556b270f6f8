import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import { json } from '../support/http.js';
import { addMember, assertHxError, hx, twoTenants } from '../support/hexabase.js';

const CUSTOMERS = {
  name: 'Customers',
  display_id: 'customers',
  fields: [
    { display_id: 'name', name: 'Name', dataType: 'text', as_title: true, required: true },
    { display_id: 'rank', name: 'Rank', dataType: 'select', options: [{ display_id: 'A', value: 'Gold' }, { display_id: 'B', value: 'Silver' }] },
  ],
};

const ORDERS = {
  name: 'Orders',
  display_id: 'orders',
  fields: [
    { display_id: 'no', name: 'No.', dataType: 'autonum', prefix: 'ORD-', as_title: true },
    { display_id: 'amount', name: 'Amount', dataType: 'number', search: true, show_list: true },
    { display_id: 'customer', name: 'Customer', dataType: 'dslookup', dslookup_datastore_id: 'customers' },
    { display_id: 'state', name: 'State', dataType: 'status' },
  ],
  statuses: [{ display_id: 'new', name: 'New' }, { display_id: 'done', name: 'Done' }],
  actions: [
    { display_id: 'create', name: 'Create', crud_type: '1' },
    { display_id: 'finish', name: 'Finish', crud_type: '2', from_status_id: 'new', next_status_id: 'done' },
  ],
};

for (const backend of backends) {
  describe(`Hexabase datastores (kura's definitions, GetDatastoreFields) on ${backend.name}`, { skip: backend.skip }, () => {
    let t: TestApp;
    let alice: string;
    let carol: string;
    let bob: string;
    let wsId: string;
    before(async () => {
      t = await startTestApp(backend);
      ({ alice, bob, aliceWorkspace: wsId } = await twoTenants(t));
      const root = json(await hx(t, alice, 'GET', '/groups')).group.g_id;
      carol = await addMember(t, alice, 'carol@example.com', 'carol', root);
      assert.equal((await hx(t, alice, 'POST', '/applications', { name: 'Shop', display_id: 'shop', roles: [{ display_id: 'staff', name: 'Staff' }] })).statusCode, 200);
    });
    after(() => t.close());

    it('defines datastores with typed fields, options, statuses and actions, listed with their application', async () => {
      const customers = await hx(t, alice, 'POST', '/applications/shop/datastores', CUSTOMERS);
      assert.equal(customers.statusCode, 200, customers.body);
      const orders = await hx(t, alice, 'POST', '/applications/shop/datastores', ORDERS);
      assert.equal(orders.statusCode, 200, orders.body);
      const { datastore_id } = json(orders);
      assert.match(datastore_id, /^[0-9a-f]{24}$/);

      const apps = json(await hx(t, alice, 'GET', `/workspaces/${wsId}/applications`));
      assert.deepEqual(apps[0].datastores, [
        { datastore_id: json(customers).datastore_id, name: 'Customers' },
        { datastore_id, name: 'Orders' },
      ]);
      const { fields, field_layout } = json(await hx(t, alice, 'GET', '/applications/shop/datastores/orders/fields'));
      const byDisplay = Object.fromEntries(Object.values(fields).map((f: any) => [f.display_id, f]));
      assert.deepEqual(Object.keys(byDisplay).sort(), ['amount', 'customer', 'no', 'state']);
      for (const [id, f] of Object.entries(fields) as [string, any][]) {
        assert.equal(f.field_id, id);
        assert.equal(field_layout[id].field_id, id);
      }
      assert.deepEqual([byDisplay.no.as_title, byDisplay.no.title_order, byDisplay.amount.search, byDisplay.state.status], [true, 1, true, true]);
      assert.equal(byDisplay.customer.dslookup_info.dslookup_datastore_id, json(customers).datastore_id);
      const rank = Object.values(json(await hx(t, alice, 'GET', '/applications/shop/datastores/customers/fields')).fields).find((f: any) => f.display_id === 'rank') as any;
      assert.deepEqual(rank.options.map((o: any) => [o.display_id, o.value, o.sort_id, o.enabled]), [['A', 'Gold', 0, true], ['B', 'Silver', 1, true]]);
      assert.match(rank.options[0].option_id, /^[0-9a-f-]{36}$/);
    });

    it('redefines keeping the ids of what stays, and refuses what cannot be', async () => {
      const before = json(await hx(t, alice, 'GET', '/applications/shop/datastores/customers/fields')).fields;
      const idOf = (fields: Record<string, any>, display: string) => Object.values(fields).find((f: any) => f.display_id === display)?.field_id;
      const redefined = await hx(t, alice, 'PUT', '/applications/shop/datastores/customers', {
        fields: [
          CUSTOMERS.fields[0],
          { display_id: 'rank', name: 'Rank', dataType: 'select', options: [{ display_id: 'A', value: 'Gold' }, { display_id: 'C', value: 'Bronze' }] },
          { display_id: 'since', name: 'Since', dataType: 'date' },
        ],
      });
      assert.equal(redefined.statusCode, 200, redefined.body);
      const after = json(await hx(t, alice, 'GET', '/applications/shop/datastores/customers/fields')).fields;
      assert.equal(idOf(after, 'name'), idOf(before, 'name'));
      assert.equal(idOf(after, 'rank'), idOf(before, 'rank'));
      const optionId = (fields: Record<string, any>, display: string) => Object.values(fields).find((f: any) => f.display_id === 'rank').options.find((o: any) => o.display_id === display)?.option_id;
      assert.equal(optionId(after, 'A'), optionId(before, 'A'));

      const refused: [unknown, string][] = [
        [{ ...CUSTOMERS, display_id: 'orders' }, 'INVALID_VALUE'],
        [{ name: 'X', display_id: 'x', fields: [] }, 'INVALID_PARAMS'],
        [{ name: 'X', display_id: 'x', fields: [{ display_id: 'f', name: 'F', dataType: 'blob' }] }, 'INVALID_VALUE'],
        [{ name: 'X', display_id: 'x', fields: [{ display_id: 'f', name: 'F', dataType: 'select' }] }, 'INVALID_PARAMS'],
        [{ name: 'X', display_id: 'x', fields: [{ display_id: 'f', name: 'F', dataType: 'text' }, { display_id: 'f', name: 'G', dataType: 'text' }] }, 'INVALID_VALUE'],
        [{ name: 'X', display_id: 'x', fields: [{ display_id: 'l', name: 'L', dataType: 'dslookup', dslookup_datastore_id: 'nosuch' }] }, 'INVALID_VALUE'],
        [{ ...ORDERS, display_id: 'x', actions: [{ display_id: 'a', name: 'A', crud_type: '9' }] }, 'INVALID_VALUE'],
        [{ ...ORDERS, display_id: 'x', actions: [{ display_id: 'a', name: 'A', crud_type: '2', next_status_id: 'nosuch' }] }, 'INVALID_VALUE'],
        [{ name: 'X', display_id: 'x', fields: [{ display_id: 's1', name: 'S', dataType: 'status' }, { display_id: 's2', name: 'T', dataType: 'status' }] }, 'INVALID_VALUE'],
      ];
      for (const [body, code] of refused) assertHxError(await hx(t, alice, 'POST', '/applications/shop/datastores', body), 400, code);
      assert.deepEqual(json(await hx(t, alice, 'GET', `/workspaces/${wsId}/applications`))[0].datastores.map((d: any) => d.name), ['Customers', 'Orders']);
      assertHxError(await hx(t, alice, 'DELETE', '/applications/shop/datastores/customers'), 400, 'INVALID_PARAMS');
      assertHxError(await hx(t, alice, 'DELETE', '/applications/shop'), 400, 'INVALID_PARAMS');
    });

    it('lets members read the fields of applications they hold a role in; only administrators and creators define', async () => {
      assertHxError(await hx(t, carol, 'GET', '/applications/shop/datastores/orders/fields'), 404, 'NOT_FOUND');
      const carolId = json(await hx(t, carol, 'GET', '/userinfo')).u_id;
      assert.deepEqual(json(await hx(t, alice, 'POST', '/applications/shop/userroles', { user_id: carolId, role_id: 'staff' })), { error: null });
      assert.equal((await hx(t, carol, 'GET', '/applications/shop/datastores/orders/fields')).statusCode, 200);
      assertHxError(await hx(t, carol, 'POST', '/applications/shop/datastores', { ...CUSTOMERS, display_id: 'mine' }), 403, 'NO_PRIVILEGES');
      assertHxError(await hx(t, carol, 'DELETE', '/applications/shop/datastores/orders'), 403, 'NO_PRIVILEGES');
      assertHxError(await hx(t, bob, 'GET', '/applications/shop/datastores/orders/fields'), 404, 'NOT_FOUND');
      assertHxError(await hx(t, bob, 'PUT', '/applications/shop', { name: 'Hijacked' }), 404, 'NOT_FOUND');

      // Deleting in order: the lookup first, then what it looked up, then the application.
      assert.equal((await hx(t, alice, 'DELETE', '/applications/shop/datastores/orders')).body, 'null');
      assert.equal((await hx(t, alice, 'DELETE', '/applications/shop/datastores/customers')).body, 'null');
      assert.equal((await hx(t, alice, 'PUT', '/applications/shop', { name: 'Shop 2', display_id: 'shop2' })).body, 'null');
      assert.deepEqual(json(await hx(t, alice, 'GET', `/workspaces/${wsId}/applications`)).map((a: any) => [a.display_id, a.name, a.datastores]), [['shop2', 'Shop 2', []]]);
      assert.equal((await hx(t, alice, 'DELETE', '/applications/shop2')).body, 'null');
      assert.deepEqual(json(await hx(t, alice, 'GET', `/workspaces/${wsId}/applications`)), []);
      assert.deepEqual(json(await hx(t, carol, 'GET', '/userinfo')).user_roles, [], 'its roles went with it');
    });
  });
}
