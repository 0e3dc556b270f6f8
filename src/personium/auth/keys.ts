import fs from 'node:fs';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';

/** RS256 because apiref 298 documents the published key as RSA ("kty": "RSA", "alg": "RS256"). */
export const SIGNING_ALG = 'RS256';

/** What the unit signs trans-cell tokens with and encrypts its own tokens with. */
export interface UnitKeys {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  /** The public half as a JWK with `kid`, `alg`, `use` — what `__certs` publishes. */
  publicJwk: JWK;
  /** 256-bit key for dir/A256GCM: cell-local, refresh and code tokens only this unit ever reads. */
  secret: Uint8Array;
}

interface StoredKeys {
  kid: string;
  signing: JWK;
  secret: string;
}

/**
 * Loads the unit's keys from `{dataDir}/keys/unit-keys.json`, creating them on first start.
 * The file is written with mode 0600 through a temp file and rename, so a crash never leaves a
 * half-written key behind (and every node of a scaled-out unit needs the same file).
 */
export async function loadOrCreateUnitKeys(dataDir: string): Promise<UnitKeys> {
  const dir = path.join(dataDir, 'keys');
  const file = path.join(dir, 'unit-keys.json');
  let stored: StoredKeys;
  if (fs.existsSync(file)) {
    stored = JSON.parse(fs.readFileSync(file, 'utf8')) as StoredKeys;
  } else {
    const { privateKey } = await generateKeyPair(SIGNING_ALG, { modulusLength: 2048, extractable: true });
    stored = { kid: randomUUID(), signing: await exportJWK(privateKey), secret: randomBytes(32).toString('base64url') };
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeFileSync(fd, JSON.stringify(stored));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  }
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicPart } = stored.signing;
  const publicJwk: JWK = { kty: publicPart.kty, n: publicPart.n, e: publicPart.e, kid: stored.kid, alg: SIGNING_ALG, use: 'sig' };
  return {
    kid: stored.kid,
    privateKey: (await importJWK({ ...stored.signing, alg: SIGNING_ALG }, SIGNING_ALG)) as CryptoKey,
    publicKey: (await importJWK(publicJwk, SIGNING_ALG)) as CryptoKey,
    publicJwk,
    secret: Buffer.from(stored.secret, 'base64url'),
  };
}
