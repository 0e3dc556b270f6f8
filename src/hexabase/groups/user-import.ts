import type { PasswordHasher } from '../../core/passwords.js';
import { AuthStore } from '../../store/auth-store.js';
import type { EntityStore, StoredEntity } from '../../store/entity-store.js';
import { HexabaseError, type HexabaseErrorCode } from '../errors.js';
import { HX_LINKS, HX_SCOPE, HX_SETS, emailKey, entitiesWhere, findUserByEmail } from '../model.js';
import { requireText } from '../validate.js';
import type { Groups } from './groups.js';
import { defaultUsername, type Members } from './members.js';
import { readUserCsv, type RowError, type UserRow } from './user-csv.js';

export interface UserImportDeps {
  store: EntityStore;
  groups: Groups;
  members: Members;
  passwords: PasswordHasher;
}

/** The request's form (multipart/form-data, which http/form-data.ts reads): its fields and files by name. */
export interface UserImportForm {
  fields: Record<string, string | undefined>;
  files: Record<string, { filename: string; data: Buffer } | undefined>;
}

/** UserImport's answer: `{"error": null}` as the page shows, or what went wrong per row. */
export type UserImportResult =
  | { error: null }
  | { error: string; errors: Array<{ line: number; email: string; error_code: HexabaseErrorCode; description: string }> };

/**
 * UserImport (spec: group-users/UserImport.md): workspace administrators add users to groups, and
 * take them out, with a CSV file of `Email, UserName, Password, GroupDisplayIDs, RoleDisplayIDs,
 * IsDelete`. The page shows the request and `{"error":null}`; what each column does is kura's
 * reading, kept close to AddUser, RemoveUser and AddRoleToUser, whose logic each row reuses:
 *
 * - a row joins the user of `Email` (created when new, named `UserName`) to each group of
 *   `GroupDisplayIDs` (none: the top group, unless the user is in the workspace already) and
 *   grants it each role of `RoleDisplayIDs` (`ROLE`, or `APP/ROLE` where several applications
 *   have one of that id). Nothing is taken away: an import adds, like AddUser.
 * - `Password` is the password of a user the row creates, who is then confirmed and can log in;
 *   an existing user keeps its own password and name (an account can belong to other
 *   workspaces, whose administrators are not this one). New users without one are unconfirmed,
 *   as AddUser's: UserInvite mails them the way in.
 * - `IsDelete` true takes the user out of the named groups (and out of the workspace with its
 *   last group there, as RemoveUser does) and takes back the named roles; a row naming neither
 *   takes the user out of the workspace. The account itself stays: it is not the workspace's.
 *
 * The file is read whole before anything changes, so a request refused as a whole changes
 * nothing. Then each row is one transaction: a row that cannot be applied is reported with its
 * row number and does not stop the others.
 */
export class UserImport {
  constructor(private readonly deps: UserImportDeps) {}

  async run(userId: string, form: UserImportForm): Promise<UserImportResult> {
    const workspaceRef = requireText(form.fields.current_workspace_id, 'current_workspace_id');
    const file = form.files.file;
    if (!file) throw new HexabaseError('INVALID_PARAMS', 'file is required');
    // The page requires `filename`; the file part's own name serves where a client sent only that.
    requireText(form.fields.filename ?? file.filename, 'filename');
    const { user: caller, workspace } = await this.deps.members.admin(userId, workspaceRef);
    const { rows, errors } = await readUserCsv(file.data);
    const failed: RowError[] = [...errors];
    for (const row of rows) {
      try {
        if (row.isDelete && emailKey(row.email) === emailKey(String(caller.props.email))) {
          throw new HexabaseError('INVALID_VALUE', 'an import does not take the importing administrator out');
        }
        await (row.isDelete ? this.remove(workspace, row) : this.add(workspace, row));
      } catch (err) {
        if (!(err instanceof HexabaseError)) throw err;
        failed.push({ line: row.line, email: row.email, code: err.code, description: err.message });
      }
    }
    if (failed.length === 0) return { error: null };
    failed.sort((a, b) => a.line - b.line);
    return {
      error: `${failed.length} of ${rows.length + errors.length} rows were not imported`,
      errors: failed.map((f) => ({ line: f.line, email: f.email, error_code: f.code, description: f.description })),
    };
  }

  private async add(workspace: StoredEntity, row: UserRow): Promise<void> {
    const { store, members, groups } = this.deps;
    // Hashing is slow: never inside the transaction, and only for a user the row will create.
    const hash = row.password !== '' && !(await findUserByEmail(store, row.email)) ? await this.deps.passwords.hash(row.password) : undefined;
    await store.withTransaction(async (trx) => {
      const targets = await this.groupsNamed(trx, workspace, row.groups);
      const roles = await rolesNamed(trx, workspace, row.roles);
      const existing = await findUserByEmail(trx, row.email);
      if (targets.length === 0 && !(existing && (await trx.hasLink(HX_LINKS.workspaceUser, workspace.id, existing.id)))) {
        const top = (await groups.groupsOf(workspace.key, trx)).find((g) => g.props.is_root === true);
        if (!top) throw new HexabaseError('NOT_FOUND', 'the workspace has no top group');
        targets.push(top);
      }
      const person = { email: row.email, username: row.username || defaultUsername(row.email), confirmed: hash !== undefined };
      let user = existing;
      for (const group of targets) {
        const joined = await members.join(trx, workspace, group, person);
        if (!joined.exists && hash !== undefined) await new AuthStore(trx.executor).setPassword(joined.user.id, hash, Date.now());
        user = joined.user;
      }
      // AddRoleToUser's grant. `user` is always set: a row without groups to join is a member's.
      for (const role of roles) {
        if (user && !(await trx.hasLink(HX_LINKS.roleUser, role.id, user.id))) await trx.link(HX_SCOPE.cellId, HX_LINKS.roleUser, role.id, user.id);
      }
    });
  }

  private async remove(workspace: StoredEntity, row: UserRow): Promise<void> {
    const { store, members, groups } = this.deps;
    await store.withTransaction(async (trx) => {
      const member = await findUserByEmail(trx, row.email);
      if (!member || !(await trx.hasLink(HX_LINKS.workspaceUser, workspace.id, member.id))) {
        throw new HexabaseError('NOT_FOUND', 'no such user in this workspace');
      }
      const named = await this.groupsNamed(trx, workspace, row.groups);
      const roles = await rolesNamed(trx, workspace, row.roles);
      for (const role of roles) await trx.unlink(HX_LINKS.roleUser, role.id, member.id);
      // Neither groups nor roles named: out of the workspace, from every group of it.
      const leaving = named.length > 0 || roles.length > 0 ? named : await groups.groupsOf(workspace.key, trx);
      for (const group of leaving) await members.leave(trx, workspace, group, member);
    });
  }

  /** The groups of `refs` (display ids, or internal ids as elsewhere); NOT_FOUND names the first unknown one. */
  private async groupsNamed(trx: EntityStore, workspace: StoredEntity, refs: string[]): Promise<StoredEntity[]> {
    if (refs.length === 0) return [];
    const all = await this.deps.groups.groupsOf(workspace.key, trx);
    return refs.map((ref) => {
      const group = this.deps.groups.find(all, ref);
      if (!group) throw new HexabaseError('NOT_FOUND', `no group ${ref} in this workspace`);
      return group;
    });
  }
}

/**
 * The roles of `refs` in the workspace: `ROLE` (a role's display id, or its internal id) when one
 * application of the workspace has it, `APP/ROLE` (application display id or internal id) otherwise.
 */
async function rolesNamed(trx: EntityStore, workspace: StoredEntity, refs: string[]): Promise<StoredEntity[]> {
  if (refs.length === 0) return [];
  const roles = await entitiesWhere(trx, HX_SETS.role, 'w_id', workspace.key);
  const apps = refs.some((r) => r.includes('/')) ? await entitiesWhere(trx, HX_SETS.application, 'w_id', workspace.key) : [];
  return refs.map((ref) => {
    const [appRef, roleRef] = ref.includes('/') ? ref.split('/', 2) : [undefined, ref];
    const app = appRef === undefined ? undefined : (apps.find((a) => a.key === appRef) ?? apps.find((a) => a.props.display_id === appRef));
    if (appRef !== undefined && !app) throw new HexabaseError('NOT_FOUND', `no application ${appRef} in this workspace`);
    const candidates = roles.filter((r) => !app || r.props.p_id === app.key);
    const byKey = candidates.find((r) => r.key === roleRef);
    const matches = byKey ? [byKey] : candidates.filter((r) => r.props.display_id === roleRef);
    if (matches.length === 0) throw new HexabaseError('NOT_FOUND', `no role ${ref} in this workspace`);
    if (matches.length > 1) throw new HexabaseError('INVALID_VALUE', `several applications have a role ${ref}: write it as APP/${ref}`);
    return matches[0]!;
  });
}
