import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import { json } from '../support/http.js';
import { assertHxError, hx, twoTenants } from '../support/hexabase.js';

for (const backend of backends) {
  describe(`Hexabase workspaces (workspaces/) on ${backend.name}`, { skip: backend.skip }, () => {
    let t: TestApp;
    let alice: string;
    let bob: string;
    before(async () => {
      t = await startTestApp(backend);
      ({ alice, bob } = await twoTenants(t));
    });
    after(() => t.close());

    const list = async (token: string) => json(await hx(t, token, 'GET', '/workspaces')).workspaces as Array<{ workspace_id: string; workspace_name: string }>;
    const info = async (token: string) => json(await hx(t, token, 'GET', '/userinfo'));

    it('lists, creates and selects workspaces; the current one decides the user groups shown', async () => {
      const first = await list(alice);
      assert.deepEqual(first.map((w) => w.workspace_name), ['Alice Inc']);
      assert.equal((await info(alice)).current_workspace_id, first[0]!.workspace_id);

      const created = await hx(t, alice, 'POST', '/workspaces', { name: 'Side Project' });
      assert.equal(created.statusCode, 200, created.body);
      const { w_id } = json(created);
      assert.match(w_id, /^[0-9a-f]{24}$/);
      assert.deepEqual((await list(alice)).map((w) => w.workspace_name).sort(), ['Alice Inc', 'Side Project']);
      assert.equal((await info(alice)).current_workspace_id, first[0]!.workspace_id, 'creating does not switch');

      const selected = await hx(t, alice, 'POST', `/workspaces/${w_id}/select`);
      assert.equal(selected.statusCode, 200);
      assert.equal(selected.body, 'null');
      const now = await info(alice);
      assert.equal(now.current_workspace_id, w_id);
      assert.deepEqual(now.user_groups.map((g: { group_name: string }) => g.group_name), ['Side Project']);
      assert.equal(now.is_ws_admin, true);
    });

    it('answers policy, usage and functionality of a workspace the user belongs to', async () => {
      const [ws] = await list(bob);
      const policy = json(await hx(t, bob, 'GET', `/workspaces/${ws!.workspace_id}/password-policy`));
      assert.deepEqual(Object.keys(policy).sort(), [
        'expired_day', 'lockout_count', 'lockout_time', 'min_length', 'pattern_check_type', 'same_limit',
        'use_expired_day', 'use_lockout_count', 'use_lockout_time', 'use_min_length', 'use_pattern_check', 'use_same_limit',
      ]);
      const usage = json(await hx(t, bob, 'GET', `/workspaces/${ws!.workspace_id}/usages`));
      assert.equal(usage.w_id, ws!.workspace_id);
      assert.equal(usage.usage.users, 1);
      for (const path of ['functionality', 'functionalities']) {
        const f = json(await hx(t, bob, 'GET', `/workspaces/${ws!.workspace_id}/${path}`));
        assert.equal(f.w_id, ws!.workspace_id);
        assert.equal(f.ws_functions.use_create_workspace, 2);
        assert.equal(typeof f.app_functions.use_create_application, 'boolean');
      }
    });

    it("never shows or selects another tenant's workspace, and refuses bad input changing nothing", async () => {
      const [bobs] = await list(bob);
      const before = await info(alice);
      for (const path of [`/workspaces/${bobs!.workspace_id}/select`]) assertHxError(await hx(t, alice, 'POST', path), 404, 'NOT_FOUND');
      for (const path of ['password-policy', 'usages', 'functionality']) {
        assertHxError(await hx(t, alice, 'GET', `/workspaces/${bobs!.workspace_id}/${path}`), 404, 'NOT_FOUND');
      }
      assertHxError(await hx(t, alice, 'POST', '/workspaces/not-an-id/select'), 404, 'NOT_FOUND');
      assert.deepEqual(await info(alice), before);
      const count = (await list(alice)).length;
      assertHxError(await hx(t, alice, 'POST', '/workspaces', {}), 400, 'INVALID_PARAMS');
      assertHxError(await hx(t, alice, 'POST', '/workspaces', { name: 'x'.repeat(256) }), 400, 'INVALID_VALUE');
      assertHxError(await hx(t, alice, 'POST', '/workspaces', '[]'), 400, 'INVALID_PARAMS');
      assert.equal((await list(alice)).length, count);
      assert.deepEqual((await list(bob)).map((w) => w.workspace_name), ['Bob Ltd']);
    });
  });
}
