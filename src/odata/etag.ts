import { PersoniumError } from '../core/errors/personium-error.js';

/** Personium's entity ETag: weak, `version-updatedMillis` (apiref 100 sample `W/"1-1486427790039"`). */
export function formatEtag(version: number, updated: number): string {
  return `W/"${version}-${updated}"`;
}

/**
 * Checks an If-Match header against the current entity (RFC 7232 §3.1): absent or `*` matches;
 * otherwise one of the listed tags must equal the current one, weak or strong form alike
 * (Personium compares the opaque part; clients often drop the `W/`).
 */
export function checkIfMatch(header: string | undefined, version: number, updated: number): void {
  if (header === undefined) return;
  const trimmed = header.trim();
  if (trimmed === '*' || trimmed === '') return;
  const current = `${version}-${updated}`;
  const tags = trimmed.split(',').map((t) => t.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1'));
  if (!tags.includes(current)) throw new PersoniumError('PR412-OD-0002');
}
