import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import { json } from '../support/http.js';
import { addMember, assertHxError, hx, twoTenants } from '../support/hexabase.js';

const REQUESTS = {
  name: 'Requests',
  display_id: 'requests',
  fields: [
    { display_id: 'title', name: 'Title', dataType: 'text', as_title: true, required: true, search: true },
    { display_id: 'amount', name: 'Amount', dataType: 'number' },
    { display_id: 'note', name: 'Note', dataType: 'text' },
    { display_id: 'state', name: 'State', dataType: 'status' },
  ],
  statuses: [{ display_id: 'draft', name: 'Draft' }, { display_id: 'review', name: 'In review' }, { display_id: 'approved', name: 'Approved' }],
  actions: [
    { display_id: 'create', name: 'Create', crud_type: '1', next_status_id: 'draft' },
    { display_id: 'edit', name: 'Edit', crud_type: '2', field_settings: [{ field_id: 'title', update: false }] },
    { display_id: 'submit', name: 'Submit', crud_type: '2', from_status_id: 'draft', next_status_id: 'review', roles: ['staff', 'manager'] },
    { display_id: 'approve', name: 'Approve', crud_type: '2', from_status_id: 'review', next_status_id: 'approved', roles: ['manager'], field_settings: [{ field_id: 'note', mandatory: true }] },
    { display_id: 'discard', name: 'Discard', crud_type: '3', from_status_id: 'draft' },
    { display_id: 'copy', name: 'Copy', crud_type: '4', next_status_id: 'draft' },
  ],
};
const R = '/applications/flow/datastores/requests';

for (const backend of backends) {
  describe(`Hexabase statuses and actions on ${backend.name}`, { skip: backend.skip }, () => {
    let t: TestApp;
    let alice: string;
    let bob: string;
    let carol: string;
    let dave: string;
    let dsId: string;
    const details = async (id: string) => json(await hx(t, alice, 'GET', `${R}/items/details/${id}?format=map`));
    const create = async (token: string, title: string) => {
      const res = await hx(t, token, 'POST', `${R}/items/new`, { item: { title, amount: 10 } });
      assert.equal(res.statusCode, 200, res.body);
      return json(res).item_id as string;
    };
    before(async () => {
      t = await startTestApp(backend);
      ({ alice, bob } = await twoTenants(t));
      const root = json(await hx(t, alice, 'GET', '/groups')).group.g_id;
      carol = await addMember(t, alice, 'carol@example.com', 'carol', root);
      dave = await addMember(t, alice, 'dave@example.com', 'dave', root);
      assert.equal((await hx(t, alice, 'POST', '/applications', { name: 'Flow', display_id: 'flow', roles: [{ display_id: 'staff', name: 'Staff' }, { display_id: 'manager', name: 'Manager' }] })).statusCode, 200);
      for (const [token, role] of [[carol, 'staff'], [dave, 'manager']] as const) {
        const id = json(await hx(t, token, 'GET', '/userinfo')).u_id;
        assert.equal((await hx(t, alice, 'POST', '/applications/flow/userroles', { role_id: role, user_id: id })).statusCode, 200);
      }
      const ds = await hx(t, alice, 'POST', '/applications/flow/datastores', REQUESTS);
      assert.equal(ds.statusCode, 200, ds.body);
      dsId = json(ds).datastore_id;
    });
    after(() => t.close());

    it('lists the create actions a user may run and creates an item under a pre-issued id', async () => {
      const actions = json(await hx(t, carol, 'GET', `/datastores/${dsId}/new-action`)).actions;
      assert.equal(actions.length, 1);
      assert.equal(actions[0].crud_type, '1');
      const { item_id } = json(await hx(t, carol, 'POST', `/datastores/${dsId}/items/create-id`));
      assert.match(item_id, /^[0-9a-f]{24}$/);
      const made = await hx(t, carol, 'POST', `/items/${item_id}/new-actions/create`, { item: { title: 'Laptop' }, project_id: 'flow', datastore_id: 'requests', use_display_id: true });
      assert.equal(made.statusCode, 200, made.body);
      assert.equal(made.body, 'null');
      const item = await details(item_id);
      assert.equal(item.title, 'Laptop');
      assert.equal(item.field_values.state.value, 'draft');
      assertHxError(await hx(t, bob, 'GET', `/datastores/${dsId}/new-action`), 404, 'NOT_FOUND');
    });

    it('runs an action only from its status, only for roles granted it, and moves the status', async () => {
      const id = await create(carol, 'Chair');
      // carol (staff) may submit a draft
      const submitted = await hx(t, carol, 'POST', `${R}/items/action/${id}/submit`, { rev_no: 1, comment: 'please' });
      assert.equal(submitted.statusCode, 200, submitted.body);
      let item = await details(id);
      assert.equal(item.field_values.state.value, 'review');
      assert.equal(item.rev_no, 2);
      // not again: the item is no longer a draft
      assertHxError(await hx(t, carol, 'POST', `${R}/items/action/${id}/submit`, { rev_no: 2 }), 403, 'NO_PRIVILEGES');
      // carol holds no manager role
      assertHxError(await hx(t, carol, 'POST', `${R}/items/action/${id}/approve`, { rev_no: 2, item: { note: 'ok' } }), 403, 'NO_PRIVILEGES');
      // the approve action makes the note mandatory
      assertHxError(await hx(t, dave, 'POST', `${R}/items/action/${id}/approve`, { rev_no: 2 }), 400, 'INVALID_VALUE');
      // a stale revision
      const stale = await hx(t, dave, 'POST', `${R}/items/action/${id}/approve`, { rev_no: 1, item: { note: 'ok' } });
      assert.equal(stale.statusCode, 409);
      assert.equal(json(stale).error[0].error_code, 'ITEM_REV_CONFLICT');
      item = await details(id);
      assert.equal(item.field_values.state.value, 'review');
      assert.equal(item.rev_no, 2);
      const approved = await hx(t, dave, 'POST', `/items/${id}/actions/approve`, { rev_no: 2, item: { note: 'fine' }, datastore_id: dsId, return_item_result: true });
      assert.equal(approved.statusCode, 200, approved.body);
      assert.equal(json(approved).item.rev_no, '3');
      item = await details(id);
      assert.equal(item.field_values.state.value, 'approved');
      const histories = json(await hx(t, alice, 'GET', `${R}/items/histories/${id}`)).histories;
      assert.deepEqual(histories.map((h: { action_name: string }) => h.action_name), ['Approve', 'Submit', 'Create']);
      assert.equal(histories[0].is_status_action, true);
      assert.equal(histories[1].comment, 'please');
    });

    it('honours field settings and describes them in GetInputFields', async () => {
      const id = await create(carol, 'Desk');
      assertHxError(await hx(t, carol, 'POST', `${R}/items/action/${id}/edit`, { rev_no: 1, item: { title: 'Table' } }), 400, 'INVALID_PARAMS');
      assert.equal((await hx(t, carol, 'POST', `${R}/items/action/${id}/edit`, { rev_no: 1, item: { amount: 99 } })).statusCode, 200);
      // An action the caller's roles do not allow is not there for it.
      assert.equal((await hx(t, carol, 'GET', `/datastores/${dsId}/actions/approve/fields`)).statusCode, 404);
      const fields = json(await hx(t, dave, 'GET', `/datastores/${dsId}/actions/approve/fields`));
      assert.equal(fields.action.crud_type, '2');
      const note = Object.values(fields.action_fields).find((f) => (f as { display_id: string }).display_id === 'note') as { field_id: string };
      assert.equal(fields.action_field_settings[note.field_id].mandatory, true);
      const notFound = await hx(t, carol, 'GET', `/datastores/${dsId}/actions/nosuch/fields`);
      assert.equal(notFound.statusCode, 404);
      assert.deepEqual(json(notFound), { description: 'action_id not found. nosuch', error: 'NOT_FOUND' });
    });

    it('deletes with a delete action and copies with a copy action', async () => {
      const id = await create(carol, 'Lamp');
      const copy = await hx(t, carol, 'POST', `${R}/items/action/${id}/copy`, { item: { amount: 5 } });
      assert.equal(copy.statusCode, 200, copy.body);
      const copied = await details(json(copy).item_id);
      assert.equal(copied.title, 'Lamp');
      assert.equal(copied.field_values.amount.value, 5);
      assert.equal((await hx(t, carol, 'POST', `${R}/items/action/${id}/discard`, {})).statusCode, 200);
      assert.equal((await hx(t, alice, 'GET', `${R}/items/details/${id}`)).statusCode, 404);
    });

    it('runs a bulk action over the items conditions select, reporting each outcome', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 15; i++) ids.push(await create(alice, `bulk-${i}`));
      const draftBulk = { conditions: [{ id: 'title', search_value: ['bulk-'] }, { id: 'state', search_value: ['draft'] }] };
      const refused = json(await hx(t, dave, 'POST', `${R}/items/bulkaction/submit`, { ...draftBulk, max_items: 10 }));
      assert.deepEqual(refused.result, { matched: 15, processed: 0 });
      assert.equal(refused.errors[0].error_level, 'WARN');
      assert.equal((await details(ids[0]!)).field_values.state.value, 'draft');
      const partial = json(await hx(t, dave, 'POST', `${R}/items/bulkaction/submit`, { ...draftBulk, max_items: 10, continue_proc: true, comment: 'bulk' }));
      assert.deepEqual(partial.result, { matched: 15, processed: 10 });
      const rest = await hx(t, dave, 'POST', `${R}/items/bulkaction/submit`, { ...draftBulk, item_revisions: { [ids[14]!]: 7 } });
      const body = json(rest);
      assert.equal(body.has_error, true);
      assert.deepEqual(body.result, { matched: 5, processed: 4 });
      assert.equal(body.errors[0].error_code, 'ITEM_REV_CONFLICT');
      assert.equal(body.errors[0].reference_id, ids[14]);
      const none = json(await hx(t, dave, 'POST', `${R}/items/bulkaction/submit`, { conditions: [{ id: 'title', search_value: ['zzz'] }] }));
      assert.deepEqual(none.result, { matched: 0, processed: 0 });
      assertHxError(await hx(t, carol, 'POST', `${R}/items/bulkaction/approve`, { conditions: [{ id: 'title', search_value: ['bulk-'] }] }), 403, 'NO_PRIVILEGES');
      assertHxError(await hx(t, dave, 'POST', `${R}/items/bulkaction/submit`, { ...draftBulk, max_items: 1000 }), 400, 'INVALID_PARAMS');
    });
  });
}
