import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';

/**
 * Hexabase bearer tokens (Login): random, opaque, stored only as a SHA-256 digest, expiring after
 * `ttlMs` and revoked by Logout. Opaque rather than self-contained so that a logout takes effect
 * at once on every node.
 */
export class SessionStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async create(userId: string): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const created = this.now();
    await this.db
      .insertInto('hx_sessions')
      .values({ token_digest: digest(token), user_id: userId, created, expires: created + this.ttlMs })
      .execute();
    return token;
  }

  /** The user a live token belongs to. */
  async userOf(token: string): Promise<string | undefined> {
    const row = await this.db
      .selectFrom('hx_sessions')
      .select(['user_id', 'expires'])
      .where('token_digest', '=', digest(token))
      .executeTakeFirst();
    return row && Number(row.expires) > this.now() ? row.user_id : undefined;
  }

  async revoke(token: string): Promise<void> {
    await this.db.deleteFrom('hx_sessions').where('token_digest', '=', digest(token)).execute();
  }

  /** Every other session of a user (a password change made in this one). */
  async revokeOthers(userId: string, keep: string): Promise<void> {
    await this.db.deleteFrom('hx_sessions').where('user_id', '=', userId).where('token_digest', '!=', digest(keep)).execute();
  }

  /** Every session of a user (a password reset). */
  async revokeAll(userId: string): Promise<void> {
    await this.db.deleteFrom('hx_sessions').where('user_id', '=', userId).execute();
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
