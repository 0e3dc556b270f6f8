import { PersoniumError } from '../../core/errors/personium-error.js';

/**
 * Resource names in a box (personium-core DavCommon): 1–255 characters, none of `\ / : * ? " < > |`,
 * no spaces or control characters; `.` and `..` would walk the tree and are refused too.
 * (personium-core's code allows 256 while its own test expects 256 to fail: kura takes the stricter.)
 */
const FORBIDDEN = /[\\/:*?"<>|\s\u0000-\u001f\u007f]/u;

export function isValidResourceName(name: string): boolean {
  return name.length >= 1 && name.length <= 255 && !FORBIDDEN.test(name) && name !== '.' && name !== '..';
}

export function assertResourceName(name: string): void {
  if (!isValidResourceName(name)) throw new PersoniumError('PR403-DV-0004', [name]);
}

/**
 * Splits the raw (still percent-encoded) path below a box into decoded segments. An encoded `/`
 * stays inside its segment (and is then refused as a name); a malformed escape is a bad request.
 */
export function splitPath(raw: string): string[] {
  const trimmed = raw.endsWith('/') ? raw.slice(0, -1) : raw;
  if (trimmed === '') return [];
  return trimmed.split('/').map(decodeName);
}

/** One raw path segment, decoded; a malformed escape is refused like a bad name. */
export function decodeName(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch (err) {
    throw new PersoniumError('PR403-DV-0004', [raw], { cause: err });
  }
}
