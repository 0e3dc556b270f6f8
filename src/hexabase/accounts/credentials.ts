import type { PasswordHasher } from '../../core/passwords.js';
import { AuthStore } from '../../store/auth-store.js';
import type { EntityStore, StoredEntity } from '../../store/entity-store.js';
import type { SessionStore } from '../auth/sessions.js';
import { HexabaseError } from '../errors.js';
import { ID_PATTERN, newId } from '../ids.js';
import type { Mailer } from '../mail/mailer.js';
import { HX_SCOPE, HX_SETS, emailKey, entitiesWhere, findUserByEmail, requireUser, reserve } from '../model.js';
import { type Body, isEmail, requireEmail, requirePassword } from '../validate.js';


const RESET_TTL_MS = 3600 * 1000;
const EMAIL_CHANGE_TTL_MS = 24 * 3600 * 1000;
/** `host` of a reset link: an origin, nothing a mail client could be tricked with. */
const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/;
const PATH_SEGMENT = /^[A-Za-z0-9._~\/-]{0,200}$/;
const QUERY = /^[A-Za-z0-9._~=&%+-]{0,500}$/;

export interface CredentialsDeps {
  store: EntityStore;
  passwords: PasswordHasher;
  sessions: SessionStore;
  mailer: Mailer;
  /** Where links point when the request names no host: the unit's own origin. */
  defaultOrigin: string;
  now?: () => number;
}

/**
 * What a user changes about its own login (spec: userinfo/): name, password (while logged in, or
 * forgotten: by a mailed one-time link) and e-mail address (confirmed from the new mailbox).
 */
export class Credentials {
  private readonly now: () => number;

  constructor(private readonly deps: CredentialsDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** UpdateUserInfo: a user changes its own name (`user_id` must be the caller's). */
  async updateInfo(userId: string, body: Body): Promise<{ error: null }> {
    if (body.user_id !== userId) throw new HexabaseError('NO_PRIVILEGES', 'a user updates only itself');
    const username = body.username;
    if (username !== undefined && (typeof username !== 'string' || username.trim() === '' || username.length > 255)) {
      throw new HexabaseError('INVALID_VALUE', 'username is 1–255 characters');
    }
    await this.deps.store.withTransaction(async (trx) => {
      const user = await this.user(userId, trx);
      if (typeof username === 'string') await trx.update(user, { key: user.key, props: { ...user.props, username: username.trim() } });
    });
    return { error: null };
  }

  /** SetPassword: needs the old password; other sessions of the user end. */
  async setPassword(userId: string, token: string, body: Body): Promise<{ error: null }> {
    const next = newPassword(body.new_password, body.confirm_password);
    const user = await this.user(userId);
    const auth = new AuthStore(this.deps.store.executor);
    const { ok } = await this.deps.passwords.verify(typeof body.old_password === 'string' ? body.old_password : '', await auth.passwordHash(user.id));
    if (!ok) throw new HexabaseError('INVALID_VALUE', 'old_password is wrong');
    await auth.setPassword(user.id, await this.deps.passwords.hash(next), this.now());
    await this.deps.sessions.revokeOthers(userId, token);
    return { error: null };
  }

  /** ResetPassword: mails a one-time link; says whether the address belongs to a registered user (as the page documents). */
  async requestReset(body: Body): Promise<{ valid_email: boolean }> {
    const email = typeof body.email === 'string' ? body.email.trim() : '';
    if (!isEmail(email)) throw new HexabaseError('INVALID_PARAMS', 'email is required');
    const host = optional(body.host, ORIGIN, 'host') ?? this.deps.defaultOrigin;
    const rootPath = (optional(body.root_path, PATH_SEGMENT, 'root_path') ?? 'reset_password').replace(/^\/+|\/+$/g, '');
    const query = optional(body.query_params, QUERY, 'query_params');
    const user = await findUserByEmail(this.deps.store, email);
    if (!user || user.props.confirmed !== true) return { valid_email: false };
    const id = newId();
    const now = new Date(this.now()).toISOString();
    await this.deps.store.insert(HX_SCOPE, HX_SETS.passwordReset, id, { user_id: user.key, accessed: false, used: false, created_at: now, updated_at: now });
    await this.deps.mailer.send({
      to: String(user.props.email),
      subject: 'Reset your password',
      text: `Open this link to set a new password (valid for one hour):\n${host}/${rootPath}/${id}${query ? `?${query}` : ''}\n`,
    });
    return { valid_email: true };
  }

  /** ValidatePassword: the state of a reset link; the first call marks it accessed. */
  async validateReset(id: unknown) {
    const reset = await this.reset(id);
    const p = reset.props;
    if (!p.accessed) {
      await this.deps.store.update(reset, { key: reset.key, props: { ...p, accessed: true, updated_at: new Date(this.now()).toISOString() } });
    }
    return { id: reset.key, accessed: p.accessed === true, created_at: String(p.created_at), isElapsed: this.resetElapsed(reset), updated_at: String(p.updated_at) };
  }

  /** SetNewPassword: the new password through a reset link, once; every session of the user ends. */
  async completeReset(body: Body): Promise<Record<string, never>> {
    const next = newPassword(body.new_password, body.confirm_password);
    const reset = await this.reset(body.id);
    if (this.resetElapsed(reset)) throw new HexabaseError('INVALID_VALUE', 'the reset link has expired');
    const hash = await this.deps.passwords.hash(next);
    const userId = String(reset.props.user_id);
    await this.deps.store.withTransaction(async (trx) => {
      const current = await trx.get(HX_SCOPE, HX_SETS.passwordReset, reset.key);
      if (!current || current.props.used) throw new HexabaseError('INVALID_VALUE', 'the reset link has been used already');
      const user = await this.user(userId, trx);
      await new AuthStore(trx.executor).setPassword(user.id, hash, this.now());
      await trx.update(current, { key: current.key, props: { ...current.props, used: true, updated_at: new Date(this.now()).toISOString() } });
    });
    await this.deps.sessions.revokeAll(userId);
    return {};
  }

  /** UpdateUserEmailRequest: mails a confirmation link to the new address. */
  async requestEmailChange(userId: string, body: Body): Promise<{ error: null }> {
    const email = requireEmail(body.email);
    const landing = optional(body.registration_path, /^https?:\/\/[^\s"<>]{1,500}$/, 'registration_path') ?? `${this.deps.defaultOrigin}/confirm_email`;
    const user = await this.user(userId);
    if (await findUserByEmail(this.deps.store, email)) throw new HexabaseError('INVALID_VALUE', 'the e-mail address is already registered');
    const id = newId();
    await this.deps.store.insert(HX_SCOPE, HX_SETS.emailChange, id, { user_id: user.key, tmp_email: email, email_confirmed: false, used: false });
    await this.deps.mailer.send({
      to: email,
      subject: 'Confirm your new e-mail address',
      text: `Open this link to confirm ${email} as your new address:\n${landing.replace(/\/+$/, '')}/${id}\n`,
    });
    return { error: null };
  }

  /** ConfirmUserEmail: reached from the mail; the link proves the new mailbox. */
  async confirmEmailChange(id: unknown) {
    const change = await this.emailChange(id);
    const user = await this.user(String(change.props.user_id));
    const elapsed = this.now() - change.published > EMAIL_CHANGE_TTL_MS;
    if (!change.props.email_confirmed && !elapsed) {
      await this.deps.store.update(change, { key: change.key, props: { ...change.props, email_confirmed: true } });
    }
    const workspaceId = String(user.props.current_workspace_id ?? '');
    const top = workspaceId ? await this.topGroup(workspaceId) : undefined;
    return {
      user: {
        confirmation_id: change.key,
        email_confirmed: !elapsed,
        isElapsed: elapsed,
        email: String(user.props.email),
        tmp_email: String(change.props.tmp_email),
        id: user.key,
        username: String(user.props.username),
        confirmed: user.props.confirmed === true,
        current_workspace_id: workspaceId,
        workspace: top
          ? {
              name: String(top.props.name),
              display_id: String(top.props.display_id),
              g_id: top.key,
              id: top.key,
              disable_ui_access: false,
              index: Number(top.props.index),
              is_root: true,
              access_key: String(top.props.access_key ?? ''),
              created_at: String(top.props.created_at ?? ''),
            }
          : null,
      },
    };
  }

  /** UpdateUserEmail: the logged-in user commits a confirmed change; the new address is the login from now on. */
  async completeEmailChange(userId: string, body: Body): Promise<Record<string, never>> {
    const change = await this.emailChange(body.confirmation_id);
    if (change.props.user_id !== userId) throw new HexabaseError('NOT_FOUND', 'no such e-mail change');
    if (this.now() - change.published > EMAIL_CHANGE_TTL_MS) throw new HexabaseError('INVALID_VALUE', 'the confirmation has expired');
    if (!change.props.email_confirmed) throw new HexabaseError('INVALID_VALUE', 'the new address has not been confirmed from its mailbox');
    await this.deps.store.withTransaction(async (trx) => {
      const current = await trx.get(HX_SCOPE, HX_SETS.emailChange, change.key);
      if (!current || current.props.used) throw new HexabaseError('INVALID_VALUE', 'the confirmation has been used already');
      const user = await this.user(userId, trx);
      const next = String(current.props.tmp_email);
      await reserve(trx, HX_SETS.userEmail, emailKey(next), { user_id: user.key }, 'the e-mail address is already registered');
      const old = await trx.get(HX_SCOPE, HX_SETS.userEmail, emailKey(String(user.props.email)));
      if (old) await trx.delete(old);
      await trx.update(user, { key: user.key, props: { ...user.props, email: next } });
      await trx.update(current, { key: current.key, props: { ...current.props, used: true } });
    });
    return {};
  }

  private async topGroup(workspaceId: string): Promise<StoredEntity | undefined> {
    return (await entitiesWhere(this.deps.store, HX_SETS.group, 'w_id', workspaceId)).find((g) => g.props.is_root === true);
  }

  private user(userId: string, store: EntityStore = this.deps.store): Promise<StoredEntity> {
    return requireUser(store, userId);
  }

  private async reset(id: unknown): Promise<StoredEntity> {
    const found = typeof id === 'string' && ID_PATTERN.test(id) ? await this.deps.store.get(HX_SCOPE, HX_SETS.passwordReset, id) : undefined;
    if (!found) throw new HexabaseError('NOT_FOUND', 'no such password reset');
    return found;
  }

  private async emailChange(id: unknown): Promise<StoredEntity> {
    const found = typeof id === 'string' && ID_PATTERN.test(id) ? await this.deps.store.get(HX_SCOPE, HX_SETS.emailChange, id) : undefined;
    if (!found) throw new HexabaseError('NOT_FOUND', 'no such e-mail change');
    return found;
  }

  private resetElapsed(reset: StoredEntity): boolean {
    return reset.props.used === true || this.now() - reset.published > RESET_TTL_MS;
  }
}

function newPassword(value: unknown, confirm: unknown): string {
  const password = requirePassword(value, 'new_password');
  if (password !== confirm) throw new HexabaseError('INVALID_VALUE', 'confirm_password differs from new_password');
  return password;
}

function optional(value: unknown, pattern: RegExp, name: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string' || !pattern.test(value)) throw new HexabaseError('INVALID_VALUE', `${name} is not acceptable`);
  return value;
}
