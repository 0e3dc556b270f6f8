import type { EntityStore, StoredEntity } from '../../store/entity-store.js';
import { HexabaseError } from '../errors.js';
import { newId } from '../ids.js';
import type { Mailer } from '../mail/mailer.js';
import { HX_LINKS, HX_SCOPE, HX_SETS, emailKey, findUser, findUserByEmail, linkedFrom, reserve } from '../model.js';
import { subtree, type Groups } from './groups.js';
import { type Body, isEmail, optionalText, requireEmail, requireText } from '../validate.js';


/** Hexabase shows this picture for users without their own (AddUser's sample). */
const DEFAULT_PICTURE = 'https://storage.googleapis.com/linker/pub/default.png';
const INVITES_MAX = 100;

/** Who AddUser (or a row of UserImport) puts into a group. */
export interface NewMember {
  email: string;
  /** Used only when the user is created. */
  username: string;
  /** A new user with a password set (UserImport) is a confirmed one; AddUser's are not. */
  confirmed?: boolean;
}

export interface Joined {
  user: StoredEntity;
  /** The user was not in the group before. */
  added: boolean;
  /** The user existed before. */
  exists: boolean;
}

/**
 * The people of a workspace (spec: group-users/). A user belongs to a workspace through at least
 * one of its groups: AddUser puts a user (new ones unconfirmed, without a password) into a group,
 * UserInvite mails the link that leads to RegisterUser, RemoveUser takes it out of a group — and
 * out of the workspace with its last group there. Changes are for workspace administrators.
 * UserImport (user-import.ts) does AddUser's and RemoveUser's work row by row, through `join` and `leave`.
 */
export class Members {
  constructor(
    private readonly store: EntityStore,
    private readonly groups: Groups,
    private readonly mailer: Mailer,
  ) {}

  /** AddUser */
  async add(userId: string, body: Body) {
    const email = requireEmail(body.email);
    const groupRef = requireText(body.g_id, 'g_id');
    const username = typeof body.username === 'string' && body.username.trim() !== '' ? body.username.trim() : defaultUsername(email);
    const { workspace } = await this.admin(userId, optionalText(body.w_id, 'w_id'));
    return this.store.withTransaction(async (trx) => {
      const group = this.groups.find(await this.groups.groupsOf(workspace.key, trx), groupRef);
      if (!group) throw new HexabaseError('NOT_FOUND', 'no such group');
      const { user, added, exists } = await this.join(trx, workspace, group, { email, username });
      return { added, exists, user_profile: profile(user) };
    });
  }

  /**
   * AddUser's work, inside the caller's transaction (UserImport uses it too): the user of `email`
   * (created when new: unconfirmed unless `confirmed`, as a password comes with it) into `group`
   * and, through it, the workspace.
   */
  async join(trx: EntityStore, workspace: StoredEntity, group: StoredEntity, person: NewMember): Promise<Joined> {
    let user = await findUserByEmail(trx, person.email);
    const exists = user !== undefined;
    if (!user) {
      const id = newId();
      await reserve(trx, HX_SETS.userEmail, emailKey(person.email), { user_id: id }, 'the e-mail address was registered meanwhile');
      user = await trx.insert(HX_SCOPE, HX_SETS.user, id, {
        email: person.email,
        username: person.username,
        profile_pic: '',
        additional_info: {},
        current_workspace_id: workspace.key,
        confirmed: person.confirmed === true,
        email_sent: false,
      });
    }
    const added = !(await trx.hasLink(HX_LINKS.groupUser, group.id, user.id));
    if (added) await trx.link(HX_SCOPE.cellId, HX_LINKS.groupUser, group.id, user.id);
    if (!(await trx.hasLink(HX_LINKS.workspaceUser, workspace.id, user.id))) {
      await trx.link(HX_SCOPE.cellId, HX_LINKS.workspaceUser, workspace.id, user.id);
    }
    return { user, added, exists };
  }

  /** RemoveUser */
  async remove(userId: string, body: Body): Promise<{ error: null }> {
    const groupRef = requireText(body.g_id, 'g_id');
    const memberRef = requireText(body.u_id, 'u_id');
    const { workspace } = await this.admin(userId, optionalText(body.w_id, 'w_id'));
    await this.store.withTransaction(async (trx) => {
      const group = this.groups.find(await this.groups.groupsOf(workspace.key, trx), groupRef);
      const member = await findUser(trx, memberRef);
      if (!group || !member || !(await this.leave(trx, workspace, group, member))) {
        throw new HexabaseError('NOT_FOUND', 'the user is not in that group');
      }
    });
    return { error: null };
  }

  /**
   * RemoveUser's work, inside the caller's transaction (UserImport uses it too): `member` out of
   * `group`, and out of the workspace with its last group there. False when it was not in `group`.
   */
  async leave(trx: EntityStore, workspace: StoredEntity, group: StoredEntity, member: StoredEntity): Promise<boolean> {
    if (!(await trx.unlink(HX_LINKS.groupUser, group.id, member.id))) return false;
    // The member's groups in one query, not a probe per group of the workspace.
    const stillIn = (await linkedFrom(trx, HX_SETS.group, HX_LINKS.groupUser, member.id, 'to')).some((g) => g.props.w_id === workspace.key);
    if (stillIn) return true;
    await trx.unlink(HX_LINKS.workspaceUser, workspace.id, member.id);
    await trx.unlink(HX_LINKS.workspaceAdmin, workspace.id, member.id);
    if (member.props.current_workspace_id === workspace.key) {
      // A user always has a current workspace while it has any.
      const next = (await linkedFrom(trx, HX_SETS.workspace, HX_LINKS.workspaceUser, member.id, 'to'))[0];
      await trx.update(member, { key: member.key, props: { ...member.props, current_workspace_id: next?.key ?? '' } });
    }
    return true;
  }

  /**
   * UserInvite: mails each address, a user AddUser put into the current workspace, the link to
   * RegisterUser. Per address `stats`: 200 mailed, 404 not a user of this workspace, 409 already
   * registered (nothing to invite).
   */
  async invite(userId: string, body: Body) {
    const { workspace } = await this.admin(userId, undefined);
    const users = body.users;
    if (!Array.isArray(users) || users.length === 0) throw new HexabaseError('INVALID_PARAMS', 'users is required');
    if (users.length > INVITES_MAX) throw new HexabaseError('INVALID_VALUE', `at most ${INVITES_MAX} users per invitation`);
    const domain = requireText(body.domain, 'domain');
    if (!/^[A-Za-z0-9.-]+(:\d+)?$/.test(domain)) throw new HexabaseError('INVALID_VALUE', 'domain is a host name');
    const path = (optionalText(body.invitation_path, 'invitation_path') ?? 'confirm_email').replace(/^\/+/, '');
    const results: Array<{ email: string; stats: number }> = [];
    for (const entry of users) {
      const email = typeof entry === 'object' && entry !== null ? (entry as Body).email : undefined;
      if (!isEmail(email)) throw new HexabaseError('INVALID_VALUE', 'every entry of users needs an email');
    }
    for (const entry of users as Body[]) {
      const email = String(entry.email);
      const user = await findUserByEmail(this.store, email);
      if (!user || !(await this.store.hasLink(HX_LINKS.workspaceUser, workspace.id, user.id))) {
        results.push({ email, stats: 404 });
        continue;
      }
      if (user.props.confirmed === true) {
        results.push({ email, stats: 409 });
        continue;
      }
      const id = newId();
      await this.store.withTransaction(async (trx) => {
        await trx.insert(HX_SCOPE, HX_SETS.registration, id, {
          email: user.props.email,
          username: user.props.username,
          registration_path: path,
          additional_info: {},
          email_template_id: typeof body.email_templates_id === 'string' ? body.email_templates_id : null,
          confirmed: false,
          invited_user_id: user.key,
          user_id: user.key,
        });
        await trx.update(user, { key: user.key, props: { ...user.props, email_sent: true } });
      });
      await this.mailer.send({
        to: String(user.props.email),
        subject: `Invitation to ${String(workspace.props.name)}`,
        text: `Hello ${String(user.props.username)},\n\nyou are invited to ${String(workspace.props.name)}. Open this link to join:\nhttps://${domain}/${path}?id=${id}\n`,
      });
      results.push({ email, stats: 200 });
    }
    return results;
  }

  /** GetUsersInGroup: the members of a group, with `recursive` those of the groups below it too. */
  async inGroup(userId: string, groupRef: string, recursive: boolean) {
    const { workspace } = await this.groups.caller(userId);
    const groups = await this.groups.groupsOf(workspace.key);
    const group = this.groups.find(groups, groupRef);
    if (!group) throw new HexabaseError('NOT_FOUND', 'no such group');
    const members = await this.membersOf(recursive ? subtree(groups, group) : [group]);
    return {
      members: members.map((u) => ({
        u_id: u.key,
        username: String(u.props.username),
        email: String(u.props.email),
        profile_pic: String(u.props.profile_pic || DEFAULT_PICTURE),
        confirmed: u.props.confirmed === true,
        email_sent: u.props.email_sent === true,
        // kura has no supervisors (the page names the flag only).
        is_sv: false,
      })),
      count: members.length,
    };
  }

  /** GetAllUsersInWorkspace: everyone in the group and below it (the top group: the whole workspace). */
  async allBelow(userId: string, groupRef: string) {
    const { workspace } = await this.groups.caller(userId);
    const groups = await this.groups.groupsOf(workspace.key);
    const group = this.groups.find(groups, groupRef);
    if (!group) throw new HexabaseError('NOT_FOUND', 'no such group');
    const members = await this.membersOf(subtree(groups, group));
    return { members: members.map(profile), totalMembers: members.length };
  }

  /** GetUsersInWorkspace: per group of the workspace, its users (only administrators with `admin_only`). */
  async byGroup(userId: string, workspaceId: string, adminOnly: boolean) {
    const { workspace } = await this.groups.caller(userId, workspaceId);
    const admins = adminOnly ? await linkedFrom(this.store, HX_SETS.user, HX_LINKS.workspaceAdmin, workspace.id, 'from') : undefined;
    const out: Record<string, unknown[]> = {};
    for (const group of await this.groups.groupsOf(workspace.key)) {
      const users = await linkedFrom(this.store, HX_SETS.user, HX_LINKS.groupUser, group.id, 'from');
      out[group.key] = users
        .filter((u) => !admins || admins.some((a) => a.id === u.id))
        .map((u) => ({
          access_key: String(group.props.access_key ?? ''),
          created_at: new Date(u.published).toISOString(),
          id: u.key,
          u_id: u.key,
          updated_at: new Date(u.updated).toISOString(),
          username: String(u.props.username),
        }));
    }
    return out;
  }

  private async membersOf(groups: StoredEntity[]): Promise<StoredEntity[]> {
    const seen = new Map<string, StoredEntity>();
    for (const g of groups) for (const u of await linkedFrom(this.store, HX_SETS.user, HX_LINKS.groupUser, g.id, 'from')) seen.set(u.id, u);
    return [...seen.values()].sort((a, b) => a.published - b.published || (a.key < b.key ? -1 : 1));
  }

  /** The caller and the workspace (`workspaceRef`, or its current one), which it must administer. */
  async admin(userId: string, workspaceRef: string | undefined) {
    const caller = await this.groups.caller(userId, workspaceRef);
    if (!caller.admin) throw new HexabaseError('NO_PRIVILEGES', 'only workspace administrators manage users');
    return caller;
  }
}

/** AddUser's name for a user given none: the address's local part. */
export function defaultUsername(email: string): string {
  return email.split('@')[0]!;
}

function profile(u: StoredEntity) {
  return {
    confirmed: u.props.confirmed === true,
    email: String(u.props.email),
    email_sent: u.props.email_sent === true,
    profile_pics: [{ mediaLink: String(u.props.profile_pic || DEFAULT_PICTURE) }],
    u_id: u.key,
    username: String(u.props.username),
  };
}
