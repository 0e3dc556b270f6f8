import { HexabaseError } from './errors.js';

/** Checks of request fields shared by the Hexabase endpoints; each refusal names the field. */

/** A JSON request body, parsed, not yet checked. */
export type Body = Record<string, unknown>;

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,189}\.[^\s@]{1,63}$/;
const TEXT_MAX = 1024;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;

export function isEmail(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 254 && EMAIL.test(value);
}

export function requireText(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new HexabaseError('INVALID_PARAMS', `${name} is required`);
  if (value.length > TEXT_MAX) throw new HexabaseError('INVALID_VALUE', `${name} is too long`);
  return value;
}

export function optionalText(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  return requireText(value, name);
}

export function requireEmail(value: unknown): string {
  const email = requireText(value, 'email').trim();
  if (!isEmail(email)) throw new HexabaseError('INVALID_VALUE', 'email is not an e-mail address');
  return email;
}

export function requirePassword(value: unknown, name = 'password'): string {
  const password = requireText(value, name);
  if (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
    throw new HexabaseError('INVALID_VALUE', `${name} must have ${PASSWORD_MIN}–${PASSWORD_MAX} characters`);
  }
  return password;
}

/** Display ids are typed by people and appear in URLs and CSV files: letters, digits, `_` and `-`. */
const DISPLAY_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function requireDisplayId(value: unknown, name = 'display_id'): string {
  const text = requireText(value, name);
  if (!DISPLAY_ID.test(text)) throw new HexabaseError('INVALID_VALUE', `${name} may hold letters, digits, _ and - (at most 64)`);
  return text;
}
