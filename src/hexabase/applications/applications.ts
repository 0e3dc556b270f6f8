import type { EntityStore, StoredEntity } from '../../store/entity-store.js';
import { HexabaseError } from '../errors.js';
import { newId } from '../ids.js';
import { HX_LINKS, HX_SCOPE, HX_SETS, entitiesWhere, findUser, linkedFrom, reserve } from '../model.js';
import { subtree, type Groups } from '../groups/groups.js';
import { type Body, optionalText, requireDisplayId, requireText } from '../validate.js';


const ROLES_MAX = 100;

/** The 403 body AddRoleToUser and RemoveRoleFromUser document. */
const NO_APP_PRIVILEGES = () =>
  new HexabaseError('NO_PRIVILEGES', 'No privileges to the Application', 403, { code: 999, message: 'No privileges to the Application' });

/**
 * Applications and their roles (spec: applications/, roles/; the definition endpoint is kura's
 * own, as issue 6 describes — Hexabase defines applications in its GUI). A user's roles in an
 * application are the ones granted to it directly and those of its groups and of their ancestors.
 */
export class Applications {
  constructor(
    private readonly store: EntityStore,
    private readonly groups: Groups,
  ) {}

  /**
   * `POST /api/v0/applications {name, display_id, workspace_id?, roles?}` → `{project_id}`. Any member
   * may create one where the workspace's `use_create_application` allows it, administrators always.
   */
  async create(userId: string, body: Body): Promise<{ project_id: string }> {
    const name = requireText(body.name, 'name');
    const displayId = requireDisplayId(body.display_id, 'display_id');
    const roles = body.roles === undefined ? [] : body.roles;
    if (!Array.isArray(roles) || roles.length > ROLES_MAX) throw new HexabaseError('INVALID_VALUE', `roles is a list of at most ${ROLES_MAX}`);
    const roleDefs = roles.map((r, i) => {
      if (typeof r !== 'object' || r === null) throw new HexabaseError('INVALID_VALUE', `roles[${i}] is an object`);
      const role = r as Body;
      return {
        display_id: requireDisplayId(role.display_id, `roles[${i}].display_id`),
        name: requireText(role.name, `roles[${i}].name`),
        type: optionalText(role.type, `roles[${i}].type`) ?? 'general',
      };
    });
    if (new Set(roleDefs.map((r) => r.display_id)).size !== roleDefs.length) throw new HexabaseError('INVALID_VALUE', 'role display ids repeat');
    const { user, workspace, admin } = await this.groups.caller(userId, optionalText(body.workspace_id, 'workspace_id'));
    const functions = workspace.props.functions as { app_functions?: { use_create_application?: boolean } } | undefined;
    if (!admin && functions?.app_functions?.use_create_application === false) {
      throw new HexabaseError('NO_PRIVILEGES', 'creating applications is not permitted in this workspace');
    }
    const id = newId();
    await this.store.withTransaction(async (trx) => {
      await reserve(trx, HX_SETS.applicationDisplayId, `${workspace.key}/${displayId}`, { p_id: id }, `display_id ${displayId} is taken in this workspace`);
      const order = (await this.appsOf(workspace.key, trx)).length;
      await trx.insert(HX_SCOPE, HX_SETS.application, id, { w_id: workspace.key, name, display_id: displayId, created_by: user.key, display_order: order });
      for (const role of roleDefs) await trx.insert(HX_SCOPE, HX_SETS.role, newId(), { p_id: id, w_id: workspace.key, ...role });
    });
    return { project_id: id };
  }

  /** GetApplicationsAndDatastores: what the caller may see — everything for administrators. */
  async list(userId: string, workspaceId: string) {
    const { user, workspace, admin } = await this.groups.caller(userId, workspaceId);
    const apps = await this.appsOf(workspace.key);
    const roles = admin ? [] : await this.effectiveRoles(user, workspace.key);
    const out = [];
    for (const a of apps) {
      if (!admin && a.props.created_by !== user.key && !roles.some((r) => r.props.p_id === a.key)) continue;
      const datastores = (await this.datastoresOf(a.key)).map((d) => ({ datastore_id: d.key, name: String(d.props.name) }));
      out.push({ application_id: a.key, name: String(a.props.name), display_id: String(a.props.display_id), datastores });
    }
    return out;
  }

  /** `PUT /api/v0/applications/:app-id {name?, display_id?}` */
  async update(userId: string, appRef: string, body: Body): Promise<null> {
    const app = await this.editable(userId, appRef);
    const name = body.name === undefined ? String(app.props.name) : requireText(body.name, 'name');
    const displayId = body.display_id === undefined ? String(app.props.display_id) : requireDisplayId(body.display_id, 'display_id');
    await this.store.withTransaction(async (trx) => {
      const current = (await trx.get(HX_SCOPE, HX_SETS.application, app.key)) ?? app;
      const workspaceKey = String(current.props.w_id);
      if (displayId !== current.props.display_id) {
        const old = await trx.get(HX_SCOPE, HX_SETS.applicationDisplayId, `${workspaceKey}/${String(current.props.display_id)}`);
        if (old) await trx.delete(old);
        await reserve(trx, HX_SETS.applicationDisplayId, `${workspaceKey}/${displayId}`, { p_id: current.key }, `display_id ${displayId} is taken in this workspace`);
      }
      await trx.update(current, { key: current.key, props: { ...current.props, name, display_id: displayId } });
    });
    return null;
  }

  /** `DELETE /api/v0/applications/:app-id`: an application without datastores, with its roles. */
  async remove(userId: string, appRef: string): Promise<null> {
    const app = await this.editable(userId, appRef);
    await this.store.withTransaction(async (trx) => {
      if ((await this.datastoresOf(app.key, trx)).length > 0) throw new HexabaseError('INVALID_PARAMS', 'delete the datastores of the application first');
      for (const role of await this.rolesOf(app, trx)) await trx.delete(role);
      const reserved = await trx.get(HX_SCOPE, HX_SETS.applicationDisplayId, `${String(app.props.w_id)}/${String(app.props.display_id)}`);
      if (reserved) await trx.delete(reserved);
      await trx.delete(app);
    });
    return null;
  }

  /** An application the caller may define: as workspace administrator or as its creator. */
  async editable(userId: string, appRef: string): Promise<StoredEntity> {
    const { user, workspace, admin } = await this.groups.caller(userId);
    const app = await this.app(workspace.key, appRef);
    if (!admin && app.props.created_by !== user.key) throw new HexabaseError('NO_PRIVILEGES', 'only workspace administrators and its creator define an application');
    return app;
  }

  /** An application the caller may see (else NOT_FOUND: it is not there for the caller). */
  async visible(userId: string, appRef: string): Promise<StoredEntity> {
    return (await this.access(userId, appRef)).app;
  }

  /**
   * What the caller may do in an application it can see: everything as workspace administrator or
   * as its creator (`privileged`), otherwise what its roles in it (`roleKeys`) allow.
   */
  async access(userId: string, appRef: string): Promise<{ app: StoredEntity; privileged: boolean; roleKeys: string[] }> {
    const { user, workspace, admin } = await this.groups.caller(userId);
    const app = await this.app(workspace.key, appRef);
    const privileged = admin || app.props.created_by === user.key;
    const roleKeys = privileged ? [] : (await this.effectiveRoles(user, workspace.key)).filter((r) => r.props.p_id === app.key).map((r) => r.key);
    if (!privileged && roleKeys.length === 0) throw new HexabaseError('NOT_FOUND', 'no such application');
    return { app, privileged, roleKeys };
  }

  async datastoresOf(appKey: string, store: EntityStore = this.store): Promise<StoredEntity[]> {
    const found = await entitiesWhere(store, HX_SETS.datastore, 'p_id', appKey);
    return found.sort((a, b) => a.published - b.published);
  }

  /** AddGroupRoles (`replace` false) and UpdateGroupRoles (`replace` true). */
  async setGroupRoles(userId: string, groupRef: string, body: Body, replace: boolean): Promise<Record<string, never>> {
    const { workspace, admin } = await this.groups.caller(userId);
    if (!admin) throw new HexabaseError('NO_PRIVILEGES', 'only workspace administrators change group roles');
    const wanted = body.group_roles;
    if (!Array.isArray(wanted) || wanted.length > ROLES_MAX) throw new HexabaseError('INVALID_PARAMS', 'group_roles is a list');
    await this.store.withTransaction(async (trx) => {
      const group = this.groups.find(await this.groups.groupsOf(workspace.key, trx), groupRef);
      if (!group) throw new HexabaseError('NOT_FOUND', 'no such group');
      const roles: StoredEntity[] = [];
      for (const entry of wanted) {
        const { app_id, role_id } = (entry ?? {}) as Body;
        const app = await this.app(workspace.key, requireText(app_id, 'app_id'), trx);
        roles.push(await this.role(app, requireText(role_id, 'role_id'), trx));
      }
      if (replace) for (const old of await linkedFrom(trx, HX_SETS.role, HX_LINKS.roleGroup, group.id, 'to')) await trx.unlink(HX_LINKS.roleGroup, old.id, group.id);
      for (const role of roles) if (!(await trx.hasLink(HX_LINKS.roleGroup, role.id, group.id))) await trx.link(HX_SCOPE.cellId, HX_LINKS.roleGroup, role.id, group.id);
    });
    return {};
  }

  /** AddRoleToUser / RemoveRoleFromUser: for workspace administrators and the application's creator. */
  async setUserRole(userId: string, appRef: string, body: Body, grant: boolean): Promise<{ error: null }> {
    const { user, workspace, admin } = await this.groups.caller(userId);
    const app = await this.app(workspace.key, appRef);
    if (!admin && app.props.created_by !== user.key) throw NO_APP_PRIVILEGES();
    const role = await this.role(app, requireText(body.role_id, 'role_id'));
    const target = await findUser(this.store, requireText(body.user_id, 'user_id'));
    if (!target || !(await this.store.hasLink(HX_LINKS.workspaceUser, workspace.id, target.id))) throw new HexabaseError('NOT_FOUND', 'no such user in this workspace');
    const has = await this.store.hasLink(HX_LINKS.roleUser, role.id, target.id);
    if (grant && !has) await this.store.link(HX_SCOPE.cellId, HX_LINKS.roleUser, role.id, target.id);
    if (!grant && !(await this.store.unlink(HX_LINKS.roleUser, role.id, target.id))) throw new HexabaseError('NOT_FOUND', 'the user does not hold that role directly');
    return { error: null };
  }

  /** GetRoleUsers: everyone holding the role, directly or through a group (or a group above theirs). */
  async roleUsers(userId: string, appRef: string, roleRef: string) {
    const app = await this.visible(userId, appRef);
    const workspace = { key: String(app.props.w_id) };
    const role = await this.role(app, roleRef);
    const holders = new Map<string, StoredEntity>();
    for (const u of await linkedFrom(this.store, HX_SETS.user, HX_LINKS.roleUser, role.id, 'from')) holders.set(u.id, u);
    const groups = await this.groups.groupsOf(workspace.key);
    for (const granted of await linkedFrom(this.store, HX_SETS.group, HX_LINKS.roleGroup, role.id, 'from')) {
      for (const g of subtree(groups, granted)) for (const u of await linkedFrom(this.store, HX_SETS.user, HX_LINKS.groupUser, g.id, 'from')) holders.set(u.id, u);
    }
    return {
      role_users: [...holders.values()]
        .sort((a, b) => a.published - b.published)
        .map((u) => ({ email: String(u.props.email), u_id: u.key, username: String(u.props.username) })),
    };
  }

  /** The roles `user` holds in the workspace: its own, its groups' and their ancestors'. */
  async effectiveRoles(user: StoredEntity, workspaceKey: string): Promise<StoredEntity[]> {
    const roles = new Map<string, StoredEntity>();
    for (const r of await linkedFrom(this.store, HX_SETS.role, HX_LINKS.roleUser, user.id, 'to')) if (r.props.w_id === workspaceKey) roles.set(r.id, r);
    const groups = await this.groups.groupsOf(workspaceKey);
    const byKey = new Map(groups.map((g) => [g.key, g]));
    const reached = new Set<string>();
    const own = (await linkedFrom(this.store, HX_SETS.group, HX_LINKS.groupUser, user.id, 'to')).filter((g) => g.props.w_id === workspaceKey);
    for (const g of own) {
      for (let at: StoredEntity | undefined = g; at && !reached.has(at.id); at = byKey.get(String(at.props.parent_id))) reached.add(at.id);
    }
    for (const groupId of reached) for (const r of await linkedFrom(this.store, HX_SETS.role, HX_LINKS.roleGroup, groupId, 'to')) roles.set(r.id, r);
    return [...roles.values()];
  }

  /** GetUserInfo's `user_roles` for the current workspace. */
  async userRoles(user: StoredEntity, workspaceKey: string) {
    const apps = new Map((await this.appsOf(workspaceKey)).map((a) => [a.key, a]));
    return (await this.effectiveRoles(user, workspaceKey)).flatMap((r) => {
      const app = apps.get(String(r.props.p_id));
      if (!app) return [];
      return [{
        r_id: r.key,
        role_name: String(r.props.name),
        role_id: String(r.props.display_id),
        p_id: app.key,
        application_id: String(app.props.display_id),
        application_name: String(app.props.name),
        application_display_order: Number(app.props.display_order ?? 0),
      }];
    });
  }

  async appsOf(workspaceKey: string, store: EntityStore = this.store): Promise<StoredEntity[]> {
    const apps = await entitiesWhere(store, HX_SETS.application, 'w_id', workspaceKey);
    return apps.sort((a, b) => Number(a.props.display_order) - Number(b.props.display_order));
  }

  /** An application of the workspace by internal or display id. */
  async app(workspaceKey: string, ref: string, store: EntityStore = this.store): Promise<StoredEntity> {
    const byId = await store.get(HX_SCOPE, HX_SETS.application, ref);
    if (byId && byId.props.w_id === workspaceKey) return byId;
    const index = await store.get(HX_SCOPE, HX_SETS.applicationDisplayId, `${workspaceKey}/${ref}`);
    const byDisplay = index ? await store.get(HX_SCOPE, HX_SETS.application, String(index.props.p_id)) : undefined;
    if (!byDisplay) throw new HexabaseError('NOT_FOUND', 'no such application');
    return byDisplay;
  }

  rolesOf(app: StoredEntity, store: EntityStore = this.store): Promise<StoredEntity[]> {
    return entitiesWhere(store, HX_SETS.role, 'p_id', app.key);
  }

  private async role(app: StoredEntity, ref: string, store: EntityStore = this.store): Promise<StoredEntity> {
    const roles = await this.rolesOf(app, store);
    const role = roles.find((r) => r.key === ref) ?? roles.find((r) => r.props.display_id === ref);
    if (!role) throw new HexabaseError('NOT_FOUND', 'no such role in this application');
    return role;
  }
}
