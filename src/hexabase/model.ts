import { jsonStringEquals } from '../query/compile.js';
import { DuplicateKeyError, type EntityStore, type Scope, type StoredEntity } from '../store/entity-store.js';
import { HexabaseError, unauthenticated } from './errors.js';
import { ID_PATTERN } from './ids.js';

/**
 * Where the Hexabase dialect keeps its objects in the shared entity store (ARCHITECTURE.md idea 2):
 * a scope of its own that no Personium cell can have (cell ids are UUIDs), one entity set per kind,
 * relations as links.
 */
export const HX_SCOPE: Scope = Object.freeze({ cellId: 'hx', boxId: '', nodeId: '' });

export const HX_SETS = {
  user: 'hx.User',
  /** One per e-mail address (lower-cased): the identity index makes addresses unique. */
  userEmail: 'hx.UserEmail',
  registration: 'hx.Registration',
  workspace: 'hx.Workspace',
  group: 'hx.Group',
  application: 'hx.Application',
  /** One per `{workspace}/{display_id}` of an application. */
  applicationDisplayId: 'hx.ApplicationDisplayId',
  role: 'hx.Role',
  datastore: 'hx.Datastore',
  /** One per `{application}/{display_id}` of a datastore. */
  datastoreDisplayId: 'hx.DatastoreDisplayId',
  passwordReset: 'hx.PasswordReset',
  emailChange: 'hx.EmailChange',
  /** One per `{workspace}/{display_id}` of a group: display ids are unique in a workspace. */
  groupDisplayId: 'hx.GroupDisplayId',
} as const;

export const HX_LINKS = {
  /** workspace → user: the user belongs to the workspace. */
  workspaceUser: 'hx.workspace-user',
  /** workspace → user: the user administers the workspace. */
  workspaceAdmin: 'hx.workspace-admin',
  /** group → user */
  groupUser: 'hx.group-user',
  /** role → user: a role granted to the user itself (AddRoleToUser). */
  roleUser: 'hx.role-user',
  /** role → group: a role its members (and those of the groups below it) hold (AddGroupRoles). */
  roleGroup: 'hx.role-group',
} as const;

export interface HxUser {
  id: string;
  email: string;
  username: string;
  profile_pic: string;
  current_workspace_id: string;
  additional_info: Record<string, unknown>;
}

export function emailKey(email: string): string {
  return email.trim().toLowerCase();
}

export function toUser(e: StoredEntity): HxUser {
  const p = e.props;
  return {
    id: e.key,
    email: String(p.email ?? ''),
    username: String(p.username ?? ''),
    profile_pic: String(p.profile_pic ?? ''),
    current_workspace_id: String(p.current_workspace_id ?? ''),
    additional_info: (p.additional_info as Record<string, unknown> | undefined) ?? {},
  };
}

export async function findUser(store: EntityStore, id: string): Promise<StoredEntity | undefined> {
  return store.get(HX_SCOPE, HX_SETS.user, id);
}

export async function findUserByEmail(store: EntityStore, email: string): Promise<StoredEntity | undefined> {
  const index = await store.get(HX_SCOPE, HX_SETS.userEmail, emailKey(email));
  return index ? findUser(store, String(index.props.user_id)) : undefined;
}

/** Entities of `set` linked from `fromId` through `link` (e.g. the groups of a workspace's user). */
export async function linkedFrom(store: EntityStore, set: string, link: string, id: string, direction: 'from' | 'to'): Promise<StoredEntity[]> {
  const result = await store.query(HX_SCOPE, set, { top: 10_000, skip: 0, count: false, linkedTo: { id, name: link, direction } });
  return result.entities;
}

/**
 * Inserts an entity whose key must be unique (an e-mail address, a display id in its scope); the
 * identity index refuses a taken key atomically, answered as INVALID_VALUE with `taken`.
 */
export async function reserve(store: EntityStore, set: string, key: string, props: Record<string, unknown>, taken: string): Promise<StoredEntity> {
  try {
    return await store.insert(HX_SCOPE, set, key, props);
  } catch (err) {
    if (err instanceof DuplicateKeyError) throw new HexabaseError('INVALID_VALUE', taken);
    throw err;
  }
}

/** The entities of `set` whose string property `name` is `value` (w_id and p_id are indexed, see http/routes.ts). */
export async function entitiesWhere(store: EntityStore, set: string, name: string, value: string): Promise<StoredEntity[]> {
  const where = jsonStringEquals('props', name, value, store.dialect);
  return (await store.query(HX_SCOPE, set, { where, top: 100_000, skip: 0, count: false })).entities;
}

/** The user a session belongs to; gone meanwhile means the session is worth nothing. */
export async function requireUser(store: EntityStore, userId: string): Promise<StoredEntity> {
  const user = await findUser(store, userId);
  if (!user) throw unauthenticated();
  return user;
}

/** The workspace `workspaceId` if `user` belongs to it; NOT_FOUND otherwise, whether it exists or not. */
export async function memberWorkspace(store: EntityStore, user: StoredEntity, workspaceId: string): Promise<StoredEntity> {
  const workspace = ID_PATTERN.test(workspaceId) ? await store.get(HX_SCOPE, HX_SETS.workspace, workspaceId) : undefined;
  if (!workspace || !(await store.hasLink(HX_LINKS.workspaceUser, workspace.id, user.id))) {
    throw new HexabaseError('NOT_FOUND', 'no such workspace');
  }
  return workspace;
}
