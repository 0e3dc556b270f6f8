import { importJWK, type CryptoKey, type JWK } from 'jose';
import { SIGNING_ALG, type UnitKeys } from './keys.js';
import type { OutboundClient } from './outbound.js';

const CACHE_MS = 10 * 60 * 1000;
const FAILURE_CACHE_MS = 30 * 1000;
const MAX_ISSUERS = 1000;

interface CachedKeys {
  keys: Map<string | undefined, CryptoKey>;
  until: number;
}

/**
 * Finds the key a trans-cell token's issuer signed with: this unit's own key for cells on this
 * unit (no network), otherwise the issuer's published `__certs` (apiref 298), fetched through the
 * guarded outbound client and cached. A failed fetch is cached briefly so a flood of forged
 * tokens naming an unreachable issuer does not turn into a flood of outbound requests.
 */
export class IssuerKeys {
  private readonly cache = new Map<string, CachedKeys | Promise<CachedKeys>>();

  constructor(
    private readonly local: UnitKeys,
    private readonly isLocalCell: (url: string) => boolean,
    private readonly outbound: OutboundClient,
  ) {}

  async keyFor(issuer: string, kid: string | undefined): Promise<CryptoKey | undefined> {
    if (this.isLocalCell(issuer)) return kid === undefined || kid === this.local.kid ? this.local.publicKey : undefined;
    const entry = await this.fetchCached(issuer);
    return entry.keys.get(kid) ?? (kid === undefined && entry.keys.size === 1 ? [...entry.keys.values()][0] : undefined);
  }

  private async fetchCached(issuer: string): Promise<CachedKeys> {
    const hit = this.cache.get(issuer);
    if (hit && (hit instanceof Promise || hit.until > Date.now())) return hit;
    const pending = this.fetch(issuer).then((entry) => {
      this.cache.set(issuer, entry);
      return entry;
    });
    // Issuers come from untrusted tokens: keep the cache bounded (oldest entry out first).
    if (this.cache.size >= MAX_ISSUERS) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(issuer, pending);
    return pending;
  }

  private async fetch(issuer: string): Promise<CachedKeys> {
    const keys = new Map<string | undefined, CryptoKey>();
    try {
      const body = (await this.outbound.getJson(`${issuer}__certs`)) as { keys?: unknown };
      for (const jwk of Array.isArray(body.keys) ? (body.keys as JWK[]) : []) {
        if (jwk?.kty !== 'RSA' || (jwk.alg !== undefined && jwk.alg !== SIGNING_ALG)) continue;
        keys.set(jwk.kid, (await importJWK({ kty: 'RSA', n: jwk.n, e: jwk.e }, SIGNING_ALG)) as CryptoKey);
      }
    } catch {
      return { keys, until: Date.now() + FAILURE_CACHE_MS };
    }
    return { keys, until: Date.now() + (keys.size > 0 ? CACHE_MS : FAILURE_CACHE_MS) };
  }
}
