import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { ScryptParams } from '../config.js';

const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer, { N, r, p }: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r + 1024 * 1024 };
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/**
 * Account passwords (ARCHITECTURE.md: node:crypto scrypt, OWASP parameters, rehash on login).
 * Stored as `scrypt$N$r$p$salt$hash` so parameters can change without invalidating old hashes.
 * scrypt runs on libuv's thread pool: hashing never blocks the event loop, but it must never run
 * inside a database transaction either (group commit would wait for it).
 */
export class PasswordHasher {
  private dummy: Promise<string> | undefined;

  constructor(private readonly params: ScryptParams) {}

  async hash(password: string): Promise<string> {
    const salt = randomBytes(16);
    const key = await derive(password, salt, this.params);
    const { N, r, p } = this.params;
    return `scrypt$${N}$${r}$${p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
  }

  /**
   * Whether `password` matches `stored`; `rehash` says the stored hash uses other parameters than
   * configured now. Without a stored hash the work is still done, so timing does not reveal
   * which account names exist or have passwords.
   */
  async verify(password: string, stored: string | undefined): Promise<{ ok: boolean; rehash: boolean }> {
    const parsed = stored === undefined ? undefined : parseHash(stored);
    if (!parsed) {
      this.dummy ??= this.hash('kura-dummy-password');
      await this.verify(password, await this.dummy);
      return { ok: false, rehash: false };
    }
    const key = await derive(password, parsed.salt, parsed.params);
    const ok = key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
    const { N, r, p } = this.params;
    return { ok, rehash: ok && (parsed.params.N !== N || parsed.params.r !== r || parsed.params.p !== p) };
  }
}

function parseHash(stored: string): { params: ScryptParams; salt: Buffer; key: Buffer } | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (!Number.isInteger(N) || !Number.isInteger(r) || !Number.isInteger(p)) return undefined;
  return { params: { N, r, p }, salt: Buffer.from(parts[4]!, 'base64url'), key: Buffer.from(parts[5]!, 'base64url') };
}
