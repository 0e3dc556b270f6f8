import { randomBytes } from 'node:crypto';
import type { EntityStore, StoredEntity } from '../../store/entity-store.js';
import { HexabaseError } from '../errors.js';
import { newId } from '../ids.js';
import { HX_LINKS, HX_SCOPE, HX_SETS, entitiesWhere, memberWorkspace, requireUser, reserve } from '../model.js';
import { type Body, requireDisplayId } from '../validate.js';

const NAME_MAX = 255;


interface Caller {
  user: StoredEntity;
  workspace: StoredEntity;
  admin: boolean;
}

/**
 * The group tree of a workspace (spec: groups/). One top group per workspace, created with it;
 * groups below it are created, renamed and deleted by workspace administrators. A group's
 * display id is unique in its workspace (a `hx.GroupDisplayId` entity per id makes it so).
 */
export class Groups {
  constructor(private readonly store: EntityStore) {}

  /** GetGroup: a group (by internal or display id; the top group when none) with its direct children. */
  async get(userId: string, groupRef: string | undefined) {
    const { workspace } = await this.caller(userId);
    const groups = await this.groupsOf(workspace.key);
    const group = groupRef === undefined ? groups.find((g) => g.props.is_root === true) : this.find(groups, groupRef);
    if (!group) throw new HexabaseError('NOT_FOUND', 'no such group');
    const children = childrenOf(groups, group.key);
    return { error: '', group: brief(group), children: children.map(brief), count: children.length };
  }

  /** GetGroupTree: the current workspace's groups as one tree. */
  async tree(userId: string) {
    const { workspace } = await this.caller(userId);
    const groups = await this.groupsOf(workspace.key);
    const root = groups.find((g) => g.props.is_root === true);
    const node = (g: StoredEntity): Record<string, unknown> => ({
      childGroups: childrenOf(groups, g.key).map(node),
      display_id: String(g.props.display_id),
      id: g.key,
      name: String(g.props.name),
      show_child: true,
    });
    return { error: null, result: root ? [node(root)] : [] };
  }

  /** CreateGroup (under `parentRef`) and CreateTopGroup (under the top group: `parentRef` undefined). */
  async create(userId: string, workspaceRef: string | undefined, parentRef: string | undefined, body: Body) {
    const { workspace } = await this.admin(userId, workspaceRef);
    const name = requireName(body.name);
    const displayId = requireDisplayId(body.display_id);
    const created = await this.store.withTransaction(async (trx) => {
      const groups = await this.groupsOf(workspace.key, trx);
      const parent = parentRef === undefined ? groups.find((g) => g.props.is_root === true) : this.find(groups, parentRef);
      if (!parent) throw new HexabaseError('NOT_FOUND', 'no such parent group');
      const id = newId();
      await reserveDisplayId(trx, workspace.key, displayId, id);
      return trx.insert(HX_SCOPE, HX_SETS.group, id, {
        w_id: workspace.key,
        name,
        display_id: displayId,
        parent_id: parent.key,
        index: childrenOf(groups, parent.key).length,
        is_root: false,
        access_key: randomBytes(16).toString('hex'),
        created_at: new Date().toISOString(),
      });
    });
    return created;
  }

  /** UpdateGroup: new name and/or display id. */
  async update(userId: string, workspaceRef: string | undefined, groupRef: string, body: Body): Promise<null> {
    const { workspace } = await this.admin(userId, workspaceRef);
    const name = body.name === undefined ? undefined : requireName(body.name);
    const displayId = body.display_id === undefined ? undefined : requireDisplayId(body.display_id);
    if (name === undefined && displayId === undefined) throw new HexabaseError('INVALID_PARAMS', 'name or display_id is required');
    await this.store.withTransaction(async (trx) => {
      const group = this.find(await this.groupsOf(workspace.key, trx), groupRef);
      if (!group) throw new HexabaseError('NOT_FOUND', 'no such group');
      const props = { ...group.props };
      if (name !== undefined) props.name = name;
      if (displayId !== undefined && displayId !== group.props.display_id) {
        const old = await trx.get(HX_SCOPE, HX_SETS.groupDisplayId, displayIdKey(workspace.key, String(group.props.display_id)));
        if (old) await trx.delete(old);
        await reserveDisplayId(trx, workspace.key, displayId, group.key);
        props.display_id = displayId;
      }
      await trx.update(group, { key: group.key, props });
    });
    return null;
  }

  /** DeleteGroup: only a group without child groups and members, and never the top group. */
  async remove(userId: string, groupRef: string): Promise<null> {
    const { workspace } = await this.admin(userId, undefined);
    await this.store.withTransaction(async (trx) => {
      const groups = await this.groupsOf(workspace.key, trx);
      const group = this.find(groups, groupRef);
      if (!group) throw new HexabaseError('NOT_FOUND', 'no such group');
      if (group.props.is_root === true) throw new HexabaseError('INVALID_PARAMS', 'the top group of a workspace cannot be deleted');
      if (childrenOf(groups, group.key).length > 0) throw new HexabaseError('INVALID_PARAMS', 'the group has child groups');
      if ((await trx.countLinks(HX_LINKS.groupUser, group.id, 'from')) > 0) throw new HexabaseError('INVALID_PARAMS', 'the group has users');
      const reserved = await trx.get(HX_SCOPE, HX_SETS.groupDisplayId, displayIdKey(workspace.key, String(group.props.display_id)));
      if (reserved) await trx.delete(reserved);
      await trx.delete(group);
    });
    return null;
  }

  /** The groups of a workspace (a few hundred at most): read whole, as the tree needs them. */
  groupsOf(workspaceId: string, store: EntityStore = this.store): Promise<StoredEntity[]> {
    return entitiesWhere(store, HX_SETS.group, 'w_id', workspaceId);
  }

  /** By internal id first, then by display id (the spec accepts both where it says so). */
  find(groups: StoredEntity[], ref: string): StoredEntity | undefined {
    return groups.find((g) => g.key === ref) ?? groups.find((g) => g.props.display_id === ref);
  }

  /** The caller, its current workspace (or `workspaceRef`, which it must belong to) and whether it administers it. */
  async caller(userId: string, workspaceRef?: string): Promise<Caller> {
    const user = await requireUser(this.store, userId);
    const workspace = await memberWorkspace(this.store, user, workspaceRef ?? String(user.props.current_workspace_id ?? ''));
    return { user, workspace, admin: await this.store.hasLink(HX_LINKS.workspaceAdmin, workspace.id, user.id) };
  }

  /** Changing the group tree is for workspace administrators (kura's reading: the pages name no role). */
  private async admin(userId: string, workspaceRef: string | undefined): Promise<Caller> {
    const caller = await this.caller(userId, workspaceRef);
    if (!caller.admin) throw new HexabaseError('NO_PRIVILEGES', 'only workspace administrators change groups');
    return caller;
  }
}

/** A group and every group below it. */
export function subtree(groups: StoredEntity[], top: StoredEntity): StoredEntity[] {
  const out = [top];
  for (let i = 0; i < out.length; i++) for (const g of groups) if (g.props.parent_id === out[i]!.key) out.push(g);
  return out;
}

function childrenOf(groups: StoredEntity[], parentKey: string): StoredEntity[] {
  return groups.filter((g) => g.props.parent_id === parentKey).sort((a, b) => Number(a.props.index) - Number(b.props.index));
}

function brief(g: StoredEntity) {
  return { g_id: g.key, group_id: String(g.props.display_id), name: String(g.props.name), index: Number(g.props.index) };
}

function displayIdKey(workspaceId: string, displayId: string): string {
  return `${workspaceId}/${displayId}`;
}

async function reserveDisplayId(trx: EntityStore, workspaceId: string, displayId: string, groupId: string): Promise<void> {
  await reserve(trx, HX_SETS.groupDisplayId, displayIdKey(workspaceId, displayId), { group_id: groupId }, `display_id ${displayId} is taken in this workspace`);
}

function requireName(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new HexabaseError('INVALID_PARAMS', 'name is required');
  if (value.length > NAME_MAX) throw new HexabaseError('INVALID_VALUE', `name has at most ${NAME_MAX} characters`);
  return value.trim();
}
