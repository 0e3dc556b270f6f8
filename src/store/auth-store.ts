import type { Kysely, Transaction } from 'kysely';
import type { AuthHistoryTable, Database } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

export type AuthHistory = Pick<
  AuthHistoryTable,
  'last_authenticated' | 'failed_count' | 'lock_failures' | 'last_failure' | 'locked_until'
>;

export interface RefreshRecord {
  id: string;
  cellId: string;
  subject: string;
  family: string;
  expires: number;
}

/** Authentication state next to the control objects: secrets, history, refresh tokens, codes. */
export class AuthStore {
  constructor(private readonly db: Db) {}

  async setPassword(accountId: string, hash: string, now: number): Promise<void> {
    await this.db
      .insertInto('account_secrets')
      .values({ account_id: accountId, password_hash: hash, changed: now })
      .onConflict((oc) => oc.column('account_id').doUpdateSet({ password_hash: hash, changed: now }))
      .execute();
  }

  async passwordHash(accountId: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('account_secrets')
      .select('password_hash')
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    return row?.password_hash;
  }

  async history(accountId: string): Promise<AuthHistory> {
    const row = await this.db
      .selectFrom('auth_history')
      .select(['last_authenticated', 'failed_count', 'lock_failures', 'last_failure', 'locked_until'])
      .where('account_id', '=', accountId)
      .executeTakeFirst();
    return {
      last_authenticated: row?.last_authenticated == null ? null : Number(row.last_authenticated),
      failed_count: Number(row?.failed_count ?? 0),
      lock_failures: Number(row?.lock_failures ?? 0),
      last_failure: row?.last_failure == null ? null : Number(row.last_failure),
      locked_until: row?.locked_until == null ? null : Number(row.locked_until),
    };
  }

  async saveHistory(accountId: string, h: AuthHistory): Promise<void> {
    await this.db
      .insertInto('auth_history')
      .values({ account_id: accountId, ...h })
      .onConflict((oc) => oc.column('account_id').doUpdateSet({ ...h }))
      .execute();
  }

  async addRefreshToken(r: RefreshRecord): Promise<void> {
    await this.db
      .insertInto('refresh_tokens')
      .values({ id: r.id, cell_id: r.cellId, subject: r.subject, family: r.family, used: 0, expires: r.expires })
      .execute();
  }

  /**
   * Marks a refresh token used. `fresh` means this call was the first use; a known token used a
   * second time means it leaked, and the caller revokes its family.
   */
  async useRefreshToken(id: string): Promise<{ known: boolean; fresh: boolean; family?: string }> {
    const row = await this.db.selectFrom('refresh_tokens').select(['family', 'used']).where('id', '=', id).executeTakeFirst();
    if (!row) return { known: false, fresh: false };
    const result = await this.db
      .updateTable('refresh_tokens')
      .set({ used: 1 })
      .where('id', '=', id)
      .where('used', '=', 0)
      .executeTakeFirst();
    return { known: true, fresh: Number(result.numUpdatedRows) === 1, family: row.family };
  }

  async revokeFamily(family: string): Promise<void> {
    await this.db.deleteFrom('refresh_tokens').where('family', '=', family).execute();
  }

  async revokeSubject(cellId: string, subject: string): Promise<void> {
    await this.db.deleteFrom('refresh_tokens').where('cell_id', '=', cellId).where('subject', '=', subject).execute();
  }

  async purgeExpired(now: number): Promise<void> {
    await this.db.deleteFrom('refresh_tokens').where('expires', '<', now).execute();
    await this.db.deleteFrom('auth_codes').where('expires', '<', now).execute();
  }

  async addCode(code: string, cellId: string, payload: string, expires: number): Promise<void> {
    await this.db.insertInto('auth_codes').values({ code, cell_id: cellId, payload, expires }).execute();
  }

  /** Single use: the code is gone once taken, whether or not it was still valid. */
  async takeCode(code: string): Promise<{ cellId: string; payload: string; expires: number } | undefined> {
    const row = await this.db.selectFrom('auth_codes').selectAll().where('code', '=', code).executeTakeFirst();
    if (!row) return undefined;
    const result = await this.db.deleteFrom('auth_codes').where('code', '=', code).executeTakeFirst();
    if (Number(result.numDeletedRows) !== 1) return undefined;
    return { cellId: row.cell_id, payload: row.payload, expires: Number(row.expires) };
  }
}
