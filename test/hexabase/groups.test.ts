import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import { json } from '../support/http.js';
import { assertHxError, hx, twoTenants } from '../support/hexabase.js';

interface TreeNode {
  childGroups: TreeNode[];
  display_id: string;
  id: string;
  name: string;
  show_child: boolean;
}

for (const backend of backends) {
  describe(`Hexabase groups (groups/) on ${backend.name}`, { skip: backend.skip }, () => {
    let t: TestApp;
    let alice: string;
    let bob: string;
    before(async () => {
      t = await startTestApp(backend);
      ({ alice, bob } = await twoTenants(t));
    });
    after(() => t.close());

    const tree = async (token: string) => json(await hx(t, token, 'GET', '/grouptree'));
    const names = (node: TreeNode): unknown => [node.name, node.childGroups.map(names)];

    it('builds the tree: top groups, groups below any group, by internal or display id', async () => {
      const start = await tree(alice);
      assert.equal(start.error, null);
      assert.equal(start.result.length, 1);
      const root = start.result[0] as TreeNode;
      assert.deepEqual([root.name, root.childGroups, root.show_child], ['Alice Inc', [], true]);
      const wsId = json(await hx(t, alice, 'GET', '/userinfo')).current_workspace_id;

      const sales = await hx(t, alice, 'POST', `/workspaces/${wsId}/groups`, { name: 'Sales', display_id: 'sales' });
      assert.equal(sales.statusCode, 200, sales.body);
      const top = json(sales).group;
      assert.deepEqual(Object.keys(top).sort(), ['access_key', 'created_at', 'display_id', 'g_id', 'id', 'name']);
      assert.equal(top.id, top.g_id);

      const east = json(await hx(t, alice, 'POST', '/groups/sales', { name: 'East', display_id: 'east' }));
      assert.deepEqual(Object.keys(east.group).sort(), ['access_key', 'created_at', 'display_id', 'g_id', 'id', 'index', 'is_root', 'name']);
      assert.deepEqual([east.group.index, east.group.is_root, east.groupTree_datastores_res], [0, false, null]);
      const west = json(await hx(t, alice, 'POST', `/workspaces/${wsId}/groups/${top.g_id}`, { name: 'West', display_id: 'west' }));
      assert.equal(west.group.index, 1);

      assert.deepEqual(names((await tree(alice)).result[0]), ['Alice Inc', [['Sales', [['East', []], ['West', []]]]]]);
      const got = json(await hx(t, alice, 'GET', '/groups/sales'));
      assert.deepEqual(got, {
        error: '',
        group: { g_id: top.g_id, group_id: 'sales', name: 'Sales', index: 0 },
        children: [
          { g_id: east.group.g_id, group_id: 'east', name: 'East', index: 0 },
          { g_id: west.group.g_id, group_id: 'west', name: 'West', index: 1 },
        ],
        count: 2,
      });
      const topOfAll = json(await hx(t, alice, 'GET', '/groups'));
      assert.deepEqual([topOfAll.group.name, topOfAll.count], ['Alice Inc', 1]);
    });

    it('renames and deletes, refusing the top group, groups with children or members, and taken display ids', async () => {
      const wsId = json(await hx(t, alice, 'GET', '/userinfo')).current_workspace_id;
      assert.equal((await hx(t, alice, 'PUT', `/workspaces/${wsId}/groups/west`, { name: 'West Coast', display_id: 'westcoast' })).body, 'null');
      assert.equal(json(await hx(t, alice, 'GET', '/groups/westcoast')).group.name, 'West Coast');
      assertHxError(await hx(t, alice, 'GET', '/groups/west'), 404, 'NOT_FOUND');
      // The old display id is free again; a taken one is refused.
      assert.equal((await hx(t, alice, 'POST', '/groups/sales', { name: 'West again', display_id: 'west' })).statusCode, 200);
      const before = names((await tree(alice)).result[0]);
      assertHxError(await hx(t, alice, 'PUT', '/groups/west', { display_id: 'east' }), 400, 'INVALID_VALUE');
      assertHxError(await hx(t, alice, 'POST', '/groups/sales', { name: 'Dup', display_id: 'east' }), 400, 'INVALID_VALUE');
      assertHxError(await hx(t, alice, 'POST', '/groups/sales', { name: 'Bad', display_id: 'has space' }), 400, 'INVALID_VALUE');
      assertHxError(await hx(t, alice, 'POST', '/groups/sales', { display_id: 'noname' }), 400, 'INVALID_PARAMS');
      assertHxError(await hx(t, alice, 'POST', '/groups/nosuch', { name: 'Orphan', display_id: 'orphan' }), 404, 'NOT_FOUND');
      assertHxError(await hx(t, alice, 'DELETE', '/groups/sales'), 400, 'INVALID_PARAMS');
      const rootId = (await tree(alice)).result[0].id;
      assertHxError(await hx(t, alice, 'DELETE', `/groups/${rootId}`), 400, 'INVALID_PARAMS');
      assert.deepEqual(names((await tree(alice)).result[0]), before);

      assert.equal((await hx(t, alice, 'DELETE', '/groups/west')).body, 'null');
      assert.equal((await hx(t, alice, 'DELETE', '/groups/westcoast')).body, 'null');
      assert.deepEqual(names((await tree(alice)).result[0]), ['Alice Inc', [['Sales', [['East', []]]]]]);
      // A group with a member (the top group holds its creator) is refused too.
      assertHxError(await hx(t, alice, 'DELETE', `/groups/${rootId}`), 400, 'INVALID_PARAMS');
    });

    it("keeps tenants apart: another workspace's groups are neither found nor changed", async () => {
      const aliceWs = json(await hx(t, alice, 'GET', '/userinfo')).current_workspace_id;
      const bobTree = await tree(bob);
      assert.deepEqual(names(bobTree.result[0]), ['Bob Ltd', []]);
      assertHxError(await hx(t, bob, 'GET', '/groups/sales'), 404, 'NOT_FOUND');
      assertHxError(await hx(t, bob, 'POST', `/workspaces/${aliceWs}/groups`, { name: 'Intruder', display_id: 'intruder' }), 404, 'NOT_FOUND');
      assertHxError(await hx(t, bob, 'PUT', `/workspaces/${aliceWs}/groups/sales`, { name: 'Hijacked' }), 404, 'NOT_FOUND');
      assertHxError(await hx(t, bob, 'DELETE', '/groups/east'), 404, 'NOT_FOUND');
      assert.equal(json(await hx(t, alice, 'GET', '/groups/sales')).group.name, 'Sales');
    });
  });
}
