import { PersoniumError } from '../core/errors/personium-error.js';

/** The two OData V2 payload formats kura writes. */
export type OutputFormat = 'json' | 'atom';

/**
 * Picks the response format of an OData read or create from `$format` (apiref 404) and `Accept`.
 *
 * - `$format` decides alone: `json` or `atom`, spelled exactly so, as personium-core compares them
 *   (`AbstractODataResource.decideOutputFormat`); anything else is 400 PR400-OD-0005. apiref 404's
 *   table also lists `xml` and "other IANA formats", but no Personium server answers those.
 * - Otherwise `Accept` is negotiated by q-value (RFC 9110 §12.5.1): Atom when `application/atom+xml`
 *   or `application/xml` is preferred strictly over `application/json`.
 * - deviation: personium-core answers Atom when neither asks (and for `*\/*`, and when both types are
 *   listed); kura answers JSON, because every Personium API page documents JSON responses and
 *   clients are written against those. A tie therefore goes to JSON.
 * - deviation: personium-core refuses other Accept types with 415 PR415-OD-0001; kura has always
 *   ignored them and answers JSON, so a browser's `text/html,…` keeps working.
 * - The control-object pages (e.g. apiref 202) say Accept and `$format` are ignored there; kura
 *   runs every entity set through this one engine, so control objects answer Atom on request too.
 */
export function decideFormat(format: string | undefined, accept: string | undefined): OutputFormat {
  if (format !== undefined) {
    if (format === 'json' || format === 'atom') return format;
    throw new PersoniumError('PR400-OD-0005', [format]);
  }
  if (accept === undefined) return 'json';
  const ranges = parseAccept(accept);
  const atom = Math.max(quality(ranges, 'application', 'atom+xml'), quality(ranges, 'application', 'xml'));
  return atom > quality(ranges, 'application', 'json') ? 'atom' : 'json';
}

interface MediaRange {
  type: string;
  subtype: string;
  q: number;
}

/** Accept's media ranges with their q-values; a range with a malformed q is dropped. */
function parseAccept(accept: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const part of accept.split(',')) {
    const [range = '', ...params] = part.split(';');
    const [type, subtype] = range.trim().toLowerCase().split('/');
    if (!type || !subtype) continue;
    let q = 1;
    for (const param of params) {
      const [name, value] = param.split('=').map((s) => s.trim());
      if (name?.toLowerCase() === 'q') q = value !== undefined && /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(value) ? Number(value) : NaN;
    }
    if (!Number.isNaN(q)) ranges.push({ type, subtype, q });
  }
  return ranges;
}

/** The q-value the most specific matching range gives a media type (0 when none matches). */
function quality(ranges: readonly MediaRange[], type: string, subtype: string): number {
  let best: { specificity: number; q: number } | undefined;
  for (const r of ranges) {
    const specificity = r.type === type && r.subtype === subtype ? 2 : r.type === type && r.subtype === '*' ? 1 : r.type === '*' && r.subtype === '*' ? 0 : -1;
    if (specificity < 0 || (best && best.specificity > specificity)) continue;
    // Equally specific ranges (a type listed twice): the higher q stands.
    if (!best || specificity > best.specificity || r.q > best.q) best = { specificity, q: r.q };
  }
  return best?.q ?? 0;
}
