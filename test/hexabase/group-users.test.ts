import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import { call, json } from '../support/http.js';
import { API, assertHxError, hx, mails, twoTenants } from '../support/hexabase.js';

/** The id in the newest mailed link to `to`. */
const lastLinkId = (t: TestApp, to: string) => /\?id=([0-9a-f]{24})/.exec(mails(t, to).pop() ?? '')?.[1] ?? '';

for (const backend of backends) {
  describe(`Hexabase group users (group-users/) on ${backend.name}`, { skip: backend.skip }, () => {
    let t: TestApp;
    let alice: string;
    let bob: string;
    let wsId: string;
    before(async () => {
      t = await startTestApp(backend);
      ({ alice, bob, aliceWorkspace: wsId } = await twoTenants(t));
      for (const [name, display_id, parent] of [['Sales', 'sales', undefined], ['East', 'east', 'sales']] as const) {
        const url = parent ? `/groups/${parent}` : `/workspaces/${wsId}/groups`;
        assert.equal((await hx(t, alice, 'POST', url, { name, display_id })).statusCode, 200);
      }
    });
    after(() => t.close());

    const inGroup = async (group: string, recursive = false) =>
      json(await hx(t, alice, 'GET', `/groups/${group}/users${recursive ? '?recursive=true' : ''}`));

    it('adds new and existing users to groups; invited users finish through RegisterUser and can log in', async () => {
      const added = await hx(t, alice, 'POST', '/users', { email: 'carol@example.com', g_id: 'east', username: 'Carol' });
      assert.equal(added.statusCode, 200, added.body);
      const a = json(added);
      assert.deepEqual([a.added, a.exists, a.user_profile.confirmed, a.user_profile.email_sent, a.user_profile.username], [true, false, false, false, 'Carol']);
      assert.match(a.user_profile.u_id, /^[0-9a-f]{24}$/);
      assert.equal(a.user_profile.profile_pics[0].mediaLink, 'https://storage.googleapis.com/linker/pub/default.png');
      const again = json(await hx(t, alice, 'POST', '/users', { email: 'carol@example.com', g_id: 'east' }));
      assert.deepEqual([again.added, again.exists], [false, true]);
      // Bob already has an account elsewhere: he joins as he is.
      const bobAdded = json(await hx(t, alice, 'POST', '/users', { email: 'bob@example.com', g_id: 'sales' }));
      assert.deepEqual([bobAdded.added, bobAdded.exists, bobAdded.user_profile.confirmed], [true, true, true]);

      assert.deepEqual((await inGroup('east')).members.map((m: { email: string }) => m.email), ['carol@example.com']);
      assert.deepEqual((await inGroup('sales')).members.map((m: { email: string }) => m.email), ['bob@example.com']);
      const deep = await inGroup('sales', true);
      assert.deepEqual([deep.count, deep.members.map((m: { email: string }) => m.email).sort()], [2, ['bob@example.com', 'carol@example.com']]);
      assert.deepEqual(Object.keys(deep.members[0]).sort(), ['confirmed', 'email', 'email_sent', 'is_sv', 'profile_pic', 'u_id', 'username']);
      const rootId = json(await hx(t, alice, 'GET', '/groups')).group.g_id;
      const all = json(await hx(t, alice, 'GET', `/users/all/g/${rootId}`));
      assert.deepEqual([all.totalMembers, all.members.map((m: { email: string }) => m.email).sort()], [3, ['alice@example.com', 'bob@example.com', 'carol@example.com']]);
      const byGroup = json(await hx(t, alice, 'GET', `/workspaces/${wsId}/users`));
      assert.equal(byGroup[rootId].length, 1);
      const admins = json(await hx(t, alice, 'GET', `/workspaces/${wsId}/users?admin_only=true`));
      assert.deepEqual(Object.values(admins).flat().map((u) => (u as { username: string }).username), ['alice']);

      // Carol can't log in before she registers through the invitation.
      assertHxError(await call(t, { method: 'POST', url: `${API}/login`, body: { email: 'carol@example.com', password: 'carol-pass-1' }, as: 'anonymous' }), 401, 'NO_PRIVILEGES');
      const invited = await hx(t, alice, 'POST', '/userinvite', {
        users: [{ email: 'carol@example.com' }, { email: 'bob@example.com' }, { email: 'stranger@example.com' }],
        domain: 'app.example.com',
      });
      assert.equal(invited.statusCode, 200, invited.body);
      assert.deepEqual(json(invited), [
        { email: 'carol@example.com', stats: 200 },
        { email: 'bob@example.com', stats: 409 },
        { email: 'stranger@example.com', stats: 404 },
      ]);
      const confirmation_id = lastLinkId(t, 'carol@example.com');
      const confirmed = json(await call(t, { url: `${API}/users/registration/confirm?id=${confirmation_id}`, as: 'anonymous' }));
      assert.equal(confirmed.user.id, a.user_profile.u_id);
      const registered = await call(t, {
        method: 'POST',
        url: `${API}/users/registration/confirm`,
        body: { confirmation_id, email: 'carol@example.com', password: 'carol-pass-1' },
        as: 'anonymous',
      });
      assert.equal(registered.statusCode, 200, registered.body);
      const carol = json(registered).token as string;
      const info = json(await hx(t, carol, 'GET', '/userinfo'));
      assert.deepEqual([info.u_id, info.current_workspace_id, info.is_ws_admin], [a.user_profile.u_id, wsId, false]);
      assert.deepEqual(info.user_groups.map((g: { group_id: string }) => g.group_id), ['east']);
      assert.deepEqual(json(await hx(t, carol, 'GET', '/workspaces')).workspaces.map((w: { workspace_name: string }) => w.workspace_name), ['Alice Inc']);

      // A member who is not an administrator reads, but does not change, groups and users.
      assert.equal((await hx(t, carol, 'GET', '/grouptree')).statusCode, 200);
      assertHxError(await hx(t, carol, 'POST', '/groups/east', { name: 'Mine', display_id: 'mine' }), 403, 'NO_PRIVILEGES');
      assertHxError(await hx(t, carol, 'POST', '/users', { email: 'dave@example.com', g_id: 'east' }), 403, 'NO_PRIVILEGES');
      assertHxError(await hx(t, carol, 'DELETE', '/users', { g_id: 'sales', u_id: bobAdded.user_profile.u_id }), 403, 'NO_PRIVILEGES');
    });

    it('removes a user from a group, and from the workspace with its last group there', async () => {
      const bobId = json(await hx(t, bob, 'GET', '/userinfo')).u_id;
      assert.deepEqual(json(await hx(t, bob, 'GET', '/workspaces')).workspaces.map((w: { workspace_name: string }) => w.workspace_name).sort(), ['Alice Inc', 'Bob Ltd']);
      assertHxError(await hx(t, alice, 'DELETE', '/users', { g_id: 'east', u_id: bobId }), 404, 'NOT_FOUND');
      const removed = await hx(t, alice, 'DELETE', '/users', { g_id: 'sales', u_id: bobId });
      assert.equal(removed.statusCode, 200, removed.body);
      assert.deepEqual(json(removed), { error: null });
      assert.deepEqual(json(await hx(t, bob, 'GET', '/workspaces')).workspaces.map((w: { workspace_name: string }) => w.workspace_name), ['Bob Ltd']);
      assertHxError(await hx(t, bob, 'POST', `/workspaces/${wsId}/select`), 404, 'NOT_FOUND');
    });

    it("refuses bad input and other tenants' groups, changing nothing", async () => {
      const before = (await inGroup('sales', true)).members.length;
      assertHxError(await hx(t, alice, 'POST', '/users', { email: 'x@example.com' }), 400, 'INVALID_PARAMS');
      assertHxError(await hx(t, alice, 'POST', '/users', { email: 'not-mail', g_id: 'east' }), 400, 'INVALID_VALUE');
      assertHxError(await hx(t, alice, 'POST', '/users', { email: 'x@example.com', g_id: 'nosuch' }), 404, 'NOT_FOUND');
      assertHxError(await hx(t, alice, 'POST', '/userinvite', { users: [{ email: 'carol@example.com' }], domain: 'evil.example.com/path?x=' }), 400, 'INVALID_VALUE');
      assertHxError(await hx(t, alice, 'POST', '/userinvite', { users: [], domain: 'app.example.com' }), 400, 'INVALID_PARAMS');
      assert.equal((await inGroup('sales', true)).members.length, before);
      // Bob's workspace and groups stay Bob's.
      const bobWs = json(await hx(t, bob, 'GET', '/userinfo')).current_workspace_id;
      const bobRoot = json(await hx(t, bob, 'GET', '/groups')).group.g_id;
      assertHxError(await hx(t, alice, 'GET', `/groups/${bobRoot}/users`), 404, 'NOT_FOUND');
      assertHxError(await hx(t, alice, 'GET', `/users/all/g/${bobRoot}`), 404, 'NOT_FOUND');
      assertHxError(await hx(t, alice, 'GET', `/workspaces/${bobWs}/users`), 404, 'NOT_FOUND');
      assertHxError(await hx(t, alice, 'POST', '/users', { email: 'spy@example.com', g_id: bobRoot, w_id: bobWs }), 404, 'NOT_FOUND');
      assert.equal(json(await hx(t, bob, 'GET', `/users/all/g/${bobRoot}`)).totalMembers, 1);
    });
  });
}
