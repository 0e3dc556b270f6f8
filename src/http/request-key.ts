import { randomFillSync } from 'node:crypto';

/** apiref 100: alphanumerics, `-` and `_`, at most 128 characters. */
const VALID_KEY = /^[A-Za-z0-9_-]{1,128}$/;

export function isValidRequestKey(value: string): boolean {
  return VALID_KEY.test(value);
}

/** apiref 100: when absent, `${4 digits}_${22 base64url characters}` (a UUID's 16 bytes). */
export function generateRequestKey(): string {
  const digits = String(Math.floor(Math.random() * 10000)).padStart(4, '0');
  return `${digits}_${nextRandom16().toString('base64url')}`;
}

// One getrandom call per 256 keys instead of one per request: a key is made for every request.
const pool = Buffer.alloc(16 * 256);
let offset = pool.length;
function nextRandom16(): Buffer {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  offset += 16;
  return pool.subarray(offset - 16, offset);
}
