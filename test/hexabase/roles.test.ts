import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import { json } from '../support/http.js';
import { addMember, assertHxError, hx, twoTenants } from '../support/hexabase.js';

for (const backend of backends) {
  describe(`Hexabase applications and roles (roles/, kura's application definitions) on ${backend.name}`, { skip: backend.skip }, () => {
    let t: TestApp;
    let alice: string;
    let bob: string;
    let carol: string;
    let carolId: string;
    let wsId: string;
    before(async () => {
      t = await startTestApp(backend);
      ({ alice, bob, aliceWorkspace: wsId } = await twoTenants(t));
      assert.equal((await hx(t, alice, 'POST', `/workspaces/${wsId}/groups`, { name: 'Sales', display_id: 'sales' })).statusCode, 200);
      assert.equal((await hx(t, alice, 'POST', '/groups/sales', { name: 'East', display_id: 'east' })).statusCode, 200);
      carol = await addMember(t, alice, 'carol@example.com', 'carol', 'east');
      carolId = json(await hx(t, carol, 'GET', '/userinfo')).u_id;
    });
    after(() => t.close());

    const rolesOf = async (token: string) =>
      json(await hx(t, token, 'GET', '/userinfo')).user_roles.map((r: { application_id: string; role_id: string }) => `${r.application_id}/${r.role_id}`).sort();
    const holders = async (role: string) =>
      json(await hx(t, alice, 'GET', `/applications/crm/roleusers/${role}`)).role_users.map((u: { email: string }) => u.email);

    it('defines an application with roles; members see only applications they hold a role in', async () => {
      const created = await hx(t, alice, 'POST', '/applications', {
        name: 'CRM',
        display_id: 'crm',
        roles: [{ display_id: 'managers', name: 'Managers' }, { display_id: 'staff', name: 'Staff' }],
      });
      assert.equal(created.statusCode, 200, created.body);
      const { project_id } = json(created);
      assert.match(project_id, /^[0-9a-f]{24}$/);
      assertHxError(await hx(t, alice, 'POST', '/applications', { name: 'CRM 2', display_id: 'crm' }), 400, 'INVALID_VALUE');
      assertHxError(await hx(t, alice, 'POST', '/applications', { name: 'Bad', display_id: 'bad', roles: [{ display_id: 'x y', name: 'X' }] }), 400, 'INVALID_VALUE');
      assertHxError(await hx(t, alice, 'POST', '/applications', { display_id: 'noname' }), 400, 'INVALID_PARAMS');

      assert.deepEqual(json(await hx(t, alice, 'GET', `/workspaces/${wsId}/applications`)), [
        { application_id: project_id, name: 'CRM', display_id: 'crm', datastores: [] },
      ]);
      assert.deepEqual(json(await hx(t, carol, 'GET', `/workspaces/${wsId}/applications`)), []);
      assert.deepEqual(await rolesOf(carol), []);
    });

    it('grants roles to groups (inherited below them) and to users; effective roles are their union', async () => {
      assert.deepEqual(json(await hx(t, alice, 'PUT', '/grouproles/sales', { group_roles: [{ app_id: 'crm', role_id: 'staff' }] })), {});
      assert.deepEqual(await rolesOf(carol), ['crm/staff'], 'east is below sales');
      const role = json(await hx(t, carol, 'GET', '/userinfo')).user_roles[0];
      assert.deepEqual(Object.keys(role).sort(), ['application_display_order', 'application_id', 'application_name', 'p_id', 'r_id', 'role_id', 'role_name']);
      assert.deepEqual([role.application_name, role.role_name], ['CRM', 'Staff']);
      assert.deepEqual(json(await hx(t, carol, 'GET', `/workspaces/${wsId}/applications`)).map((a: { display_id: string }) => a.display_id), ['crm']);

      assert.deepEqual(json(await hx(t, alice, 'POST', '/applications/crm/userroles', { user_id: carolId, role_id: 'managers' })), { error: null });
      assert.deepEqual(await rolesOf(carol), ['crm/managers', 'crm/staff']);
      assert.deepEqual(await holders('staff'), ['carol@example.com']);
      assert.deepEqual(await holders('managers'), ['carol@example.com']);

      // UpdateGroupRoles replaces the group's roles.
      assert.deepEqual(json(await hx(t, alice, 'POST', '/grouproles/sales', { group_roles: [{ app_id: 'crm', role_id: 'managers' }] })), {});
      assert.deepEqual(await rolesOf(carol), ['crm/managers']);
      assert.deepEqual(await holders('staff'), []);

      assert.deepEqual(json(await hx(t, alice, 'DELETE', '/applications/crm/userroles', { user_id: carolId, role_id: 'managers' })), { error: null });
      assert.deepEqual(await rolesOf(carol), ['crm/managers'], 'still held through the group');
      assertHxError(await hx(t, alice, 'DELETE', '/applications/crm/userroles', { user_id: carolId, role_id: 'managers' }), 404, 'NOT_FOUND');
    });

    it('refuses role changes by members, unknown roles and other tenants, changing nothing', async () => {
      const refused = await hx(t, carol, 'POST', '/applications/crm/userroles', { user_id: carolId, role_id: 'staff' });
      assert.equal(refused.statusCode, 403);
      assert.deepEqual(json(refused), { code: 999, message: 'No privileges to the Application' });
      assertHxError(await hx(t, carol, 'PUT', '/grouproles/east', { group_roles: [{ app_id: 'crm', role_id: 'staff' }] }), 403, 'NO_PRIVILEGES');
      assertHxError(await hx(t, alice, 'PUT', '/grouproles/sales', { group_roles: [{ app_id: 'crm', role_id: 'nosuch' }] }), 404, 'NOT_FOUND');
      assertHxError(await hx(t, alice, 'POST', '/grouproles/sales', { group_roles: [{ app_id: 'nosuch', role_id: 'staff' }] }), 404, 'NOT_FOUND');
      assert.deepEqual(await rolesOf(carol), ['crm/managers'], 'a refused replace removed nothing');
      const bobId = json(await hx(t, bob, 'GET', '/userinfo')).u_id;
      assertHxError(await hx(t, alice, 'POST', '/applications/crm/userroles', { user_id: bobId, role_id: 'staff' }), 404, 'NOT_FOUND');
      assertHxError(await hx(t, bob, 'GET', '/applications/crm/roleusers/staff'), 404, 'NOT_FOUND');
      assertHxError(await hx(t, bob, 'GET', `/workspaces/${wsId}/applications`), 404, 'NOT_FOUND');
      assert.deepEqual(await rolesOf(bob), []);
    });
  });
}
