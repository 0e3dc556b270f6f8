import type { PasswordHasher } from '../../core/passwords.js';
import { AuthStore } from '../../store/auth-store.js';
import type { EntityStore, StoredEntity } from '../../store/entity-store.js';
import type { SessionStore } from '../auth/sessions.js';
import { HexabaseError, unauthenticated } from '../errors.js';
import { newId } from '../ids.js';
import { Workspaces } from '../workspaces/workspaces.js';
import { type Body, optionalText, requireEmail, requirePassword, requireText } from '../validate.js';
import type { Mailer } from '../mail/mailer.js';
import { HX_LINKS, HX_SCOPE, HX_SETS, emailKey, findUser, findUserByEmail, linkedFrom, requireUser, reserve, toUser } from '../model.js';

/** How long a registration link stays valid (the spec's `isElapsed` says when it no longer is). */
const REGISTRATION_TTL_MS = 24 * 3600 * 1000;
/** After a failed login the account refuses logins this long, so guessing costs real time. */
const FAILURE_PAUSE_MS = 1000;

export interface AccountsDeps {
  store: EntityStore;
  passwords: PasswordHasher;
  sessions: SessionStore;
  mailer: Mailer;
  lockCount: number;
  lockSeconds: number;
  /** GetUserInfo's `user_roles`: the roles the user holds in a workspace (applications.ts). */
  rolesOf?: (user: StoredEntity, workspaceKey: string) => Promise<unknown[]>;
  now?: () => number;
}

/** Input already parsed from JSON: a record of unknown values. */

/**
 * Accounts of the Hexabase dialect (spec: login/, user-registration/, userinfo/): sign-up by
 * e-mail confirmation, login sessions, and what a user sees of itself.
 */
export class Accounts {
  private readonly now: () => number;

  constructor(private readonly deps: AccountsDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** UserRegistration: records the sign-up and mails the confirmation link. */
  async startRegistration(body: Body): Promise<{ confirmation_id: string; email: string; status: number }> {
    const email = requireEmail(body.email);
    const username = requireText(body.username, 'username');
    const path = optionalText(body.registration_path, 'registration_path') ?? 'confirm_email';
    const additional = optionalObject(body.additional_info, 'additional_info');
    const template = optionalText(body.email_template_id, 'email_template_id');
    if (!template) {
      requireText(body.registration_domain, 'registration_domain');
      requireText(body.hostname, 'hostname');
    }
    if (await findUserByEmail(this.deps.store, email)) throw new HexabaseError('INVALID_VALUE', 'the e-mail address is already registered');
    const id = newId();
    await this.deps.store.insert(HX_SCOPE, HX_SETS.registration, id, {
      email,
      username,
      registration_path: path,
      additional_info: additional ?? {},
      email_template_id: template ?? null,
      confirmed: false,
      user_id: newId(),
    });
    const protocol = optionalText(body.protocol, 'protocol') ?? 'https';
    const host = optionalText(body.hostname, 'hostname') ?? 'localhost';
    await this.deps.mailer.send({
      to: email,
      subject: 'Confirm your registration',
      text: `Hello ${username},\n\nopen this link to finish your registration:\n${protocol}://${host}/${path.replace(/^\/+/, '')}?id=${id}\n`,
    });
    return { confirmation_id: id, email, status: 200 };
  }

  /** ConfirmRegistration: marks the sign-up as confirmed and says whether it still may be used. */
  async confirmRegistration(id: unknown) {
    const registration = await this.registration(id);
    const p = registration.props;
    if (!p.confirmed && !this.elapsed(registration.published)) {
      await this.deps.store.update(registration, { key: registration.key, props: { ...p, confirmed: true } });
    }
    return {
      user: {
        confirmation_id: registration.key,
        // Whether it had been confirmed before this request (the seed: "already confirmed by someone").
        confirmed: p.confirmed === true,
        email: String(p.email),
        id: String(p.user_id),
        isElapsed: this.elapsed(registration.published),
        username: String(p.username),
      },
    };
  }

  /**
   * RegisterUser: creates the user with its password, a workspace (named by `workspace`) with a top
   * group, makes the user a member and administrator of both, and logs the user in. An invited user
   * (AddUser + UserInvite) exists already, in the workspace that invited it: it only gets its
   * password and is confirmed.
   */
  async completeRegistration(body: Body): Promise<{ token: string }> {
    const registration = await this.registration(body.confirmation_id);
    const p = registration.props;
    const email = requireEmail(body.email);
    if (emailKey(email) !== emailKey(String(p.email))) throw new HexabaseError('INVALID_VALUE', 'the e-mail address does not match the registration');
    if (this.elapsed(registration.published)) throw new HexabaseError('INVALID_VALUE', 'the registration has expired; register again');
    if (p.registered) throw new HexabaseError('INVALID_VALUE', 'the registration has been used already');
    const password = requirePassword(body.password);
    const username = optionalText(body.username, 'username') ?? String(p.username);
    const workspaceName = optionalText(body.workspace, 'workspace') ?? `${username}'s workspace`;
    const additional = optionalObject(body.additional_info, 'additional_info') ?? (p.additional_info as Body);
    // Hashing is slow: never inside the transaction.
    const hash = await this.deps.passwords.hash(password);
    const userId = String(p.invited_user_id ?? p.user_id);
    const now = this.now();
    await this.deps.store.withTransaction(async (trx) => {
      const current = await trx.get(HX_SCOPE, HX_SETS.registration, registration.key);
      if (!current || current.props.registered) throw new HexabaseError('INVALID_VALUE', 'the registration has been used already');
      if (typeof p.invited_user_id === 'string') {
        const invited = await findUser(trx, p.invited_user_id);
        if (!invited || invited.props.confirmed === true) throw new HexabaseError('INVALID_VALUE', 'the invitation has been used already');
        const user = await trx.update(invited, {
          key: invited.key,
          props: { ...invited.props, username, additional_info: additional, confirmed: true },
        });
        await new AuthStore(trx.executor).setPassword(user.id, hash, now);
        await trx.update(current, { key: current.key, props: { ...current.props, confirmed: true, registered: true } });
        return;
      }
      await reserve(trx, HX_SETS.userEmail, emailKey(email), { user_id: userId }, 'the e-mail address is already registered');
      const props = { email, username, profile_pic: '', additional_info: additional, current_workspace_id: '', confirmed: true, email_sent: true };
      const created = await trx.insert(HX_SCOPE, HX_SETS.user, userId, props);
      // A user always has a current workspace: its first one (README of workspaces/).
      const { workspace } = await Workspaces.create(trx, created, workspaceName);
      const user = await trx.update(created, { key: created.key, props: { ...props, current_workspace_id: workspace.key } });
      await new AuthStore(trx.executor).setPassword(user.id, hash, now);
      await trx.update(current, { key: current.key, props: { ...current.props, confirmed: true, registered: true } });
    });
    return { token: await this.deps.sessions.create(userId) };
  }

  /** Login: a token for a correct e-mail and password; one failure pauses the account a second. */
  async login(body: Body): Promise<{ token: string }> {
    const email = requireText(body.email, 'email');
    const password = requireText(body.password, 'password');
    const user = await findUserByEmail(this.deps.store, email);
    const auth = new AuthStore(this.deps.store.executor);
    const now = this.now();
    const history = user ? await auth.history(user.id) : undefined;
    const paused =
      history !== undefined &&
      ((history.locked_until !== null && history.locked_until > now) || (history.last_failure !== null && now - history.last_failure < FAILURE_PAUSE_MS));
    // The hash is checked whatever happened before, so timing tells nothing about the account.
    const { ok } = await this.deps.passwords.verify(password, user ? await auth.passwordHash(user.id) : undefined);
    if (!user || !history) throw invalidLogin();
    if (paused || !ok) {
      if (!paused) {
        const failures = history.failed_count + 1;
        const lock = this.deps.lockCount > 0 && failures >= this.deps.lockCount;
        await auth.saveHistory(user.id, {
          ...history,
          failed_count: lock ? 0 : failures,
          last_failure: now,
          locked_until: lock ? now + this.deps.lockSeconds * 1000 : history.locked_until,
        });
      }
      throw invalidLogin();
    }
    await auth.saveHistory(user.id, { ...history, failed_count: 0, last_authenticated: now, locked_until: null });
    return { token: await this.deps.sessions.create(user.key) };
  }

  /** The user a bearer token belongs to, or 401. */
  async authenticate(authorization: string | undefined): Promise<{ userId: string; token: string }> {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!match) throw unauthenticated();
    const token = match[1]!;
    const userId = await this.deps.sessions.userOf(token);
    if (!userId) throw unauthenticated();
    return { userId, token };
  }

  async logout(token: string): Promise<null> {
    await this.deps.sessions.revoke(token);
    return null;
  }

  /** GetUserInfo: the user, its current workspace's groups and whether it administers that workspace. */
  async userInfo(userId: string) {
    const entity = await requireUser(this.deps.store, userId);
    const user = toUser(entity);
    const store = this.deps.store;
    const workspace = user.current_workspace_id ? await store.get(HX_SCOPE, HX_SETS.workspace, user.current_workspace_id) : undefined;
    const admins = workspace ? await linkedFrom(store, HX_SETS.user, HX_LINKS.workspaceAdmin, workspace.id, 'from') : [];
    const groups = (await linkedFrom(store, HX_SETS.group, HX_LINKS.groupUser, entity.id, 'to')).filter(
      (g) => g.props.w_id === user.current_workspace_id,
    );
    return {
      u_id: user.id,
      username: user.username,
      email: user.email,
      profile_pic: user.profile_pic,
      current_workspace_id: user.current_workspace_id,
      is_ws_admin: admins.some((a) => a.id === entity.id),
      user_roles: workspace && this.deps.rolesOf ? await this.deps.rolesOf(entity, workspace.key) : [],
      user_groups: groups.map((g) => ({ g_id: g.key, group_name: String(g.props.name), group_id: String(g.props.display_id) })),
    };
  }

  private async registration(id: unknown) {
    if (typeof id !== 'string' || id === '') throw new HexabaseError('INVALID_PARAMS', 'confirmation id is required');
    const found = await this.deps.store.get(HX_SCOPE, HX_SETS.registration, id);
    if (!found) throw new HexabaseError('NOT_FOUND', 'no such registration');
    return found;
  }

  private elapsed(created: number): boolean {
    return this.now() - created > REGISTRATION_TTL_MS;
  }
}

function invalidLogin(): HexabaseError {
  return new HexabaseError('NO_PRIVILEGES', 'wrong e-mail address or password', 401);
}

function optionalObject(value: unknown, name: string): Body | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new HexabaseError('INVALID_VALUE', `${name} must be an object`);
  if (JSON.stringify(value).length > 64 * 1024) throw new HexabaseError('INVALID_VALUE', `${name} is too large`);
  return value as Body;
}
