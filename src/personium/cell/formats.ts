import { isIPv4 } from 'node:net';

/**
 * Value formats of the cell control objects (apiref 201–266), with the edges personium-core's
 * tests pin down: lengths, first characters, normalised URLs with a trailing slash.
 */

/** Role, Box, `_Box.Name`: 1–128 of `[A-Za-z0-9_-]`, not starting with `-` or `_`. */
export const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

/** Relation: also `+` and `:`; may not start with `_` or `:`. */
export const RELATION_NAME = /^[A-Za-z0-9+-][A-Za-z0-9_+:-]{0,127}$/;

/** Account: alphanumerics and ``-_!$*=^`{|}~.@``, first character alphanumeric. */
export const ACCOUNT_NAME = /^[A-Za-z0-9][A-Za-z0-9\-_!$*=^`{|}~.@]{0,127}$/;

/** apiref 212: the unit's default password rule (6–32 of the same characters as account names). */
export const PASSWORD = /^[A-Za-z0-9\-_!$*=^`{|}~.@]{6,32}$/;

export const ACCOUNT_STATUSES = ['active', 'deactivated', 'passwordChangeRequired'] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

const ACCOUNT_TYPES = new Set(['basic', 'oidc:google']);
const URL_MAX = 1024;
const LOCAL_UNIT = /^personium-localunit:(?:\/[A-Za-z0-9][A-Za-z0-9_-]*\/|[A-Za-z0-9][A-Za-z0-9_-]*:\/)$/;
const LOCAL_UNIT_PATH = /^personium-localunit:\/(?:[A-Za-z0-9_.~-]+\/)*$/;
const URN = /^urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:[^\s]+$/i;

/** `basic`, `oidc:google`, or both separated by one space. */
export function isAccountType(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  const parts = v.split(' ');
  return parts.every((p) => ACCOUNT_TYPES.has(p)) && new Set(parts).size === parts.length;
}

/** Comma-separated IPv4 addresses, each optionally with a /1–/32 prefix. */
export function isIpAddressRange(v: unknown): boolean {
  if (typeof v !== 'string' || v === '') return false;
  return v.split(',').every((part) => {
    const m = /^([0-9.]+)(?:\/(\d{1,2}))?$/.exec(part);
    if (!m || !isIPv4(m[1]!)) return false;
    return m[2] === undefined || (Number(m[2]) >= 1 && Number(m[2]) <= 32);
  });
}

/** An http(s) URL that is already in normal form (no `.`/`..`, no query) and ends with `/`. */
export function isNormalizedHttpUrl(v: string, requireTrailingSlash = true): boolean {
  if (v.length > URL_MAX || !/^https?:\/\//i.test(v)) return false;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return false;
  }
  if (url.href !== v || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') return false;
  return !requireTrailingSlash || url.pathname.endsWith('/');
}

/** ExtCell `Url` (apiref 223; PR400-OD-0049): a normalised cell URL, or the local-unit form. */
export function isCellUrl(v: unknown): boolean {
  return typeof v === 'string' && (isNormalizedHttpUrl(v) || LOCAL_UNIT.test(v));
}

/** Box `Schema` (apiref 256; PR400-OD-0050): a normalised URL with trailing slash, or a URN. */
export function isSchemaUri(v: unknown): boolean {
  return typeof v === 'string' && v.length <= URL_MAX && (isNormalizedHttpUrl(v) || URN.test(v) || LOCAL_UNIT_PATH.test(v));
}

/** ExtRole `ExtRole` (apiref 245): an http(s) role URL or a URN, at most 1024 characters. */
export function isRoleUri(v: unknown): boolean {
  if (typeof v !== 'string' || v.length > URL_MAX) return false;
  if (URN.test(v) || /^personium-localunit:\/\S+$/.test(v)) return true;
  if (!/^https?:\/\//i.test(v)) return false;
  try {
    new URL(v);
    return true;
  } catch {
    return false;
  }
}
