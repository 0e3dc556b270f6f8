import { randomBytes } from 'node:crypto';
import type { EntityStore, StoredEntity } from '../../store/entity-store.js';
import { HexabaseError } from '../errors.js';
import { newId } from '../ids.js';
import { HX_LINKS, HX_SCOPE, HX_SETS, findUser, linkedFrom, memberWorkspace, requireUser } from '../model.js';

/** GetWorkspaceFunctionality's defaults for a new workspace: everything on but beta features. */
const DEFAULT_FUNCTIONS = {
  ws_functions: { use_create_workspace: 2, use_password_policy: true, use_global_search: true, use_beta: false },
  app_functions: { use_create_application: true, use_queries: true, use_reports: true, use_dashboards: true },
};

/** GetPasswordPolicy's sample values, with every rule switched off until an administrator turns it on. */
const DEFAULT_PASSWORD_POLICY = {
  use_expired_day: false,
  use_lockout_count: false,
  use_lockout_time: false,
  use_min_length: false,
  use_pattern_check: false,
  use_same_limit: false,
  expired_day: 30,
  lockout_count: 5,
  lockout_time: 5,
  min_length: 6,
  pattern_check_type: 0,
  same_limit: 2,
};

const NAME_MAX = 255;

/**
 * Workspaces (spec: workspaces/): a user works in the workspaces it belongs to, one of them current.
 * A workspace the caller does not belong to answers as if it did not exist, so ids of other
 * tenants reveal nothing.
 */
export class Workspaces {
  constructor(private readonly store: EntityStore) {}

  /** Creates a workspace with its top group; `creator` becomes member and administrator of both. */
  static async create(trx: EntityStore, creator: StoredEntity, name: string): Promise<{ workspace: StoredEntity; group: StoredEntity }> {
    const workspaceId = newId();
    const groupId = newId();
    const workspace = await trx.insert(HX_SCOPE, HX_SETS.workspace, workspaceId, {
      name,
      created_by: creator.key,
      functions: DEFAULT_FUNCTIONS,
      password_policy: DEFAULT_PASSWORD_POLICY,
    });
    const group = await trx.insert(HX_SCOPE, HX_SETS.group, groupId, {
      w_id: workspaceId,
      name,
      display_id: groupId,
      parent_id: null,
      index: 0,
      is_root: true,
      access_key: randomBytes(16).toString('hex'),
      created_at: new Date().toISOString(),
    });
    await trx.insert(HX_SCOPE, HX_SETS.groupDisplayId, `${workspaceId}/${groupId}`, { group_id: groupId });
    await trx.link(HX_SCOPE.cellId, HX_LINKS.workspaceUser, workspace.id, creator.id);
    await trx.link(HX_SCOPE.cellId, HX_LINKS.workspaceAdmin, workspace.id, creator.id);
    await trx.link(HX_SCOPE.cellId, HX_LINKS.groupUser, group.id, creator.id);
    return { workspace, group };
  }

  /** GetWorkspaces */
  async list(userId: string) {
    const user = await this.user(userId);
    const workspaces = await linkedFrom(this.store, HX_SETS.workspace, HX_LINKS.workspaceUser, user.id, 'to');
    return { workspaces: workspaces.map((w) => ({ workspace_id: w.key, workspace_name: String(w.props.name) })) };
  }

  /** SelectWorkspace */
  async select(userId: string, workspaceId: string): Promise<null> {
    const user = await this.user(userId);
    await this.membership(user, workspaceId);
    await this.store.withTransaction(async (trx) => {
      const current = (await findUser(trx, userId)) ?? user;
      await trx.update(current, { key: current.key, props: { ...current.props, current_workspace_id: workspaceId } });
    });
    return null;
  }

  /** CreateNewWorkspace: as the current workspace's `use_create_workspace` allows (0 nobody, 1 admins, 2 all). */
  async createFor(userId: string, name: unknown): Promise<{ w_id: string }> {
    if (typeof name !== 'string' || name.trim() === '') throw new HexabaseError('INVALID_PARAMS', 'name is required');
    if (name.length > NAME_MAX) throw new HexabaseError('INVALID_VALUE', `name has at most ${NAME_MAX} characters`);
    const user = await this.user(userId);
    const currentId = String(user.props.current_workspace_id ?? '');
    const current = currentId ? await this.store.get(HX_SCOPE, HX_SETS.workspace, currentId) : undefined;
    if (current) {
      const allowed = Number((current.props.functions as typeof DEFAULT_FUNCTIONS | undefined)?.ws_functions.use_create_workspace ?? 2);
      if (allowed === 0) throw new HexabaseError('NO_PRIVILEGES', 'Not permitted in the current workspace');
      if (allowed === 1 && !(await this.store.hasLink(HX_LINKS.workspaceAdmin, current.id, user.id))) {
        throw new HexabaseError('NO_PRIVILEGES', 'No privileges to create new workspace');
      }
    }
    const { workspace } = await this.store.withTransaction((trx) => Workspaces.create(trx, user, name.trim()));
    return { w_id: workspace.key };
  }

  /** GetPasswordPolicy */
  async passwordPolicy(userId: string, workspaceId: string) {
    const workspace = await this.membership(await this.user(userId), workspaceId);
    return { ...DEFAULT_PASSWORD_POLICY, ...((workspace.props.password_policy as object | undefined) ?? {}) };
  }

  /** GetWorkspaceFunctionality */
  async functionality(userId: string, workspaceId: string) {
    const workspace = await this.membership(await this.user(userId), workspaceId);
    const functions = (workspace.props.functions as typeof DEFAULT_FUNCTIONS | undefined) ?? DEFAULT_FUNCTIONS;
    return { w_id: workspace.key, ws_functions: functions.ws_functions, app_functions: functions.app_functions };
  }

  /**
   * GetWorkspaceUsage. kura sets no limits of its own: a limit of 0 means "none" (the spec's
   * `items_limit` is documented as unused in the same way). Storage is counted when files exist.
   */
  async usage(userId: string, workspaceId: string) {
    const workspace = await this.membership(await this.user(userId), workspaceId);
    const users = await this.store.countLinks(HX_LINKS.workspaceUser, workspace.id, 'from');
    return {
      w_id: workspace.key,
      usage: { users, users_limit: 0, storage: 0, storage_limit: 0, datastores: 0, datastores_limit: 0, items: 0, items_limit: 0 },
    };
  }

  private membership(user: StoredEntity, workspaceId: string): Promise<StoredEntity> {
    return memberWorkspace(this.store, user, workspaceId);
  }

  private user(userId: string): Promise<StoredEntity> {
    return requireUser(this.store, userId);
  }
}
