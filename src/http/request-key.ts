import { randomBytes } from 'node:crypto';

/** apiref 100: alphanumerics, `-` and `_`, at most 128 characters. */
const VALID_KEY = /^[A-Za-z0-9_-]{1,128}$/;

export function isValidRequestKey(value: string): boolean {
  return VALID_KEY.test(value);
}

/** apiref 100: when absent, `${4 digits}_${22 base64url characters}` (a UUID's 16 bytes). */
export function generateRequestKey(): string {
  const digits = String(Math.floor(Math.random() * 10000)).padStart(4, '0');
  return `${digits}_${randomBytes(16).toString('base64url')}`;
}
