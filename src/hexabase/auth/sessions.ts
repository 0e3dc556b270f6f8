import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../../store/schema.js';

/**
 * Hexabase bearer tokens (Login): random, opaque, stored only as a SHA-256 digest, expiring after
 * `ttlMs` and revoked by Logout. Opaque rather than self-contained so that a logout takes effect
 * at once on every node.
 */
export class SessionStore {
  /**
   * Live tokens recently seen, so a busy client's requests skip the lookup. Entries live one second
   * and any revocation on this node clears them all; another node of a scaled-out deployment sees
   * a logout within that second (the read cache's rule, personium/read-cache.ts).
   */
  private readonly recent = new Map<string, { userId: string; expires: number; until: number }>();

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
    const key = digest(token);
    const now = this.now();
    const hit = this.recent.get(key);
    if (hit && hit.until > now) return hit.expires > now ? hit.userId : undefined;
    const generation = this.generation;
    const row = await this.db.selectFrom('hx_sessions').select(['user_id', 'expires']).where('token_digest', '=', key).executeTakeFirst();
    if (!row) return undefined;
    if (generation === this.generation) {
      if (this.recent.size >= RECENT_MAX) this.recent.delete(this.recent.keys().next().value!);
      this.recent.set(key, { userId: row.user_id, expires: Number(row.expires), until: now + RECENT_MS });
    }
    return Number(row.expires) > now ? row.user_id : undefined;
  }

  /** Bumped by every revocation: a lookup that raced with one keeps nothing. */
  private generation = 0;

  private forget(): void {
    this.generation++;
    this.recent.clear();
  }

  async revoke(token: string): Promise<void> {
    this.forget();
    await this.db.deleteFrom('hx_sessions').where('token_digest', '=', digest(token)).execute();
  }

  /** Every other session of a user (a password change made in this one). */
  async revokeOthers(userId: string, keep: string): Promise<void> {
    this.forget();
    await this.db.deleteFrom('hx_sessions').where('user_id', '=', userId).where('token_digest', '!=', digest(keep)).execute();
  }

  /** Every session of a user (a password reset). */
  async revokeAll(userId: string): Promise<void> {
    this.forget();
    await this.db.deleteFrom('hx_sessions').where('user_id', '=', userId).execute();
  }
}

const RECENT_MS = 1000;
const RECENT_MAX = 10_000;

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
