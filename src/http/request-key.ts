import { randomFillSync } from 'node:crypto';

/** apiref 100: alphanumerics, `-` and `_`, at most 128 characters. */
const VALID_KEY = /^[A-Za-z0-9_-]{1,128}$/;

export function isValidRequestKey(value: string): boolean {
  return VALID_KEY.test(value);
}

/** apiref 100: when absent, `${4 digits}_${22 base64url characters}` (128 random bits and more). */
export function generateRequestKey(): string {
  if (offset === KEYS_PER_POOL) refill();
  const at = offset++;
  return `${digits[at]}_${encoded.substr(at * 22, 22)}`;
}

/**
 * A key is made for every request, so they are made 256 at a time: one getrandom call and one
 * base64url encoding per pool, then each key is a slice (the per-key Math.random, padStart and
 * Buffer encoding were 2.6 % of a small GET). 22 characters of base64url carry 132 random bits.
 */
const KEYS_PER_POOL = 256;
const KEY_BYTES = KEYS_PER_POOL * 16.5;
const pool = Buffer.alloc(KEY_BYTES + KEYS_PER_POOL * 2);
let encoded = '';
const digits: string[] = new Array(KEYS_PER_POOL);
let offset = KEYS_PER_POOL;
function refill(): void {
  randomFillSync(pool);
  // 16.5 bytes of the pool per key's 22 characters, then two bytes per key for its 4 digits.
  encoded = pool.subarray(0, KEY_BYTES).toString('base64url');
  for (let i = 0; i < KEYS_PER_POOL; i++) digits[i] = String(pool.readUInt16LE(KEY_BYTES + i * 2) % 10000).padStart(4, '0');
  offset = 0;
}
