import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import { json } from '../support/http.js';
import { assertHxError, hx, twoTenants } from '../support/hexabase.js';

const NOTES = {
  name: 'Notes',
  display_id: 'notes',
  fields: [
    { display_id: 'title', name: 'Title', dataType: 'text', as_title: true, full_text: true },
    { display_id: 'body', name: 'Body', dataType: 'textarea', full_text: true },
    { display_id: 'secret', name: 'Secret', dataType: 'text' },
    { display_id: 'kind', name: 'Kind', dataType: 'select', options: [{ display_id: 'memo', value: 'Memo' }, { display_id: 'todo', value: 'To do' }] },
  ],
};
const N = '/applications/desk/datastores/notes';

for (const backend of backends) {
  describe(`Hexabase GlobalSearch and saved queries (GetUserQueries) on ${backend.name}`, { skip: backend.skip }, () => {
    let t: TestApp;
    let alice: string;
    let bob: string;
    before(async () => {
      t = await startTestApp(backend);
      ({ alice, bob } = await twoTenants(t));
      assert.equal((await hx(t, alice, 'POST', '/applications', { name: 'Desk', display_id: 'desk' })).statusCode, 200);
      assert.equal((await hx(t, alice, 'POST', '/applications/desk/datastores', NOTES)).statusCode, 200);
      for (const item of [
        { title: 'Quarterly plan', body: 'budget <b>review</b> for Q3', secret: 'budget', kind: 'memo' },
        { title: 'Groceries', body: 'milk, eggs', secret: 'nothing', kind: 'todo' },
        { title: 'Budget talk', body: 'with finance', kind: 'todo' },
      ]) {
        assert.equal((await hx(t, alice, 'POST', `${N}/items/new`, { item })).statusCode, 200);
      }
      // Bob's own workspace holds a note that must never show up for Alice.
      assert.equal((await hx(t, bob, 'POST', '/applications', { name: 'Desk', display_id: 'desk' })).statusCode, 200);
      assert.equal((await hx(t, bob, 'POST', '/applications/desk/datastores', NOTES)).statusCode, 200);
      assert.equal((await hx(t, bob, 'POST', `${N}/items/new`, { item: { title: 'bob budget', body: 'budget' } })).statusCode, 200);
    });
    after(() => t.close());

    it('finds the query in full-text fields only, with highlights, within the caller\'s workspace', async () => {
      const res = json(await hx(t, alice, 'POST', '/globalsearch', { query: 'budget', category: 'items' }));
      assert.equal(res.search_result.length, 1);
      const [hit] = res.search_result;
      assert.equal(hit.category, 'items');
      assert.equal(hit.title, 'Quarterly plan');
      assert.equal(hit.project_name, 'Desk');
      assert.equal(hit.datastore_name, 'Notes');
      assert.equal(hit.highlight_value.value[0], "<em class='searched_em'>budget</em> &#60;b&#62;review&#60;/b&#62; for Q3");
      assert.equal(res.item_list, undefined);
      const withList = json(await hx(t, alice, 'POST', '/globalsearch', { query: 'e', datastore_id: 'notes', return_item_list: true, item_search_params: { use_display_id: true, sort_fields: [{ id: 'title' }] } }));
      assert.deepEqual(withList.item_list.items.map((i: { title: string }) => i.title), ['Budget talk', 'Groceries', 'Quarterly plan']);
      const none = json(await hx(t, alice, 'POST', '/globalsearch', { query: 'zzz', return_item_list: true }));
      assert.deepEqual(none, { search_result: [], item_list: { items: [], totalItems: 0 } });
      assertHxError(await hx(t, alice, 'POST', '/globalsearch', {}), 400, 'INVALID_PARAMS');
      assertHxError(await hx(t, alice, 'POST', '/globalsearch', { query: 'x', category: 'everything' }), 400, 'INVALID_PARAMS');
    });

    it('searches history comments', async () => {
      const list = json(await hx(t, alice, 'POST', `${N}/items/search`, { use_display_id: true, conditions: [{ id: 'title', search_value: ['Groceries'], exact_match: true }] }));
      const id = list.items[0].i_id;
      assert.equal((await hx(t, alice, 'POST', `${N}/items/histories/${id}`, { comment: 'remember oat milk' })).statusCode, 200);
      const res = json(await hx(t, alice, 'POST', '/globalsearch', { query: 'oat', category: 'histories' }));
      assert.equal(res.search_result.length, 1);
      assert.equal(res.search_result[0].i_id, id);
    });

    it('saves queries per user and lists them with internal ids', async () => {
      const saved = await hx(t, alice, 'POST', '/applications/desk/queries', { name: 'To do', desc: 'open ones', datastore_id: 'notes', conditions: [{ id: 'kind', search_value: ['todo'] }] });
      assert.equal(saved.statusCode, 200, saved.body);
      const fields = json(await hx(t, alice, 'GET', `${N}/fields`)).fields;
      const kind = Object.values(fields).find((f) => (f as { display_id: string }).display_id === 'kind') as { field_id: string };
      const queries = json(await hx(t, alice, 'GET', '/applications/desk/queries'));
      assert.equal(queries.length, 1);
      assert.equal(queries[0].q_id, json(saved).q_id);
      assert.equal(queries[0].name, 'To do');
      assert.deepEqual(queries[0].conditions, [{ id: kind.field_id, search_value: ['todo'], data_type: 'select' }]);
      assert.match(queries[0].projectId, /^[0-9a-f]{24}$/);
      // A saved query is run as ItemList conditions.
      const run = json(await hx(t, alice, 'POST', `${N}/items/search`, { conditions: queries[0].conditions }));
      assert.equal(run.totalItems, 2);
      assertHxError(await hx(t, alice, 'POST', '/applications/desk/queries', { name: 'bad', datastore_id: 'notes', conditions: [{ id: 'nope', search_value: ['x'] }] }), 400, 'INVALID_PARAMS');
      assert.deepEqual(json(await hx(t, bob, 'GET', '/applications/desk/queries')), []);
      assert.equal((await hx(t, alice, 'DELETE', `/applications/desk/queries/${json(saved).q_id}`)).statusCode, 200);
      assert.deepEqual(json(await hx(t, alice, 'GET', '/applications/desk/queries')), []);
    });
  });
}
