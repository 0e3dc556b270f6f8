/**
 * Query limits, named (STYLE.md item 6). Each is enforced before work that grows with the input
 * and each has a test that sends one more than allowed.
 */

/** Characters in one `$filter`; apiref 003 allows 50 KB URLs, a filter needs far less. */
export const MAX_FILTER_LENGTH = 8192;
/** Parenthesis / `not` nesting depth; checked by a linear pre-scan so the parser never recurses deeper. */
export const MAX_FILTER_DEPTH = 50;
/** Comparisons and function calls in one filter. */
export const MAX_FILTER_TERMS = 200;
/** Keys in one `$orderby`. */
export const MAX_ORDERBY_KEYS = 8;
/** Names in one `$select`. */
export const MAX_SELECT_PROPERTIES = 200;
/** apiref 401: `$top` 0–10000, default 25. */
export const TOP_DEFAULT = 25;
export const TOP_MAX = 10000;
/** Personium caps `$skip` at 100,000 (deep offsets cost a scan of everything skipped). */
export const SKIP_MAX = 100000;
