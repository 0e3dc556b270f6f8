import type { FilterExpr, OrderKey } from './ast.js';
import { QueryError } from './errors.js';
import {
  MAX_FILTER_DEPTH,
  MAX_FILTER_LENGTH,
  MAX_FILTER_TERMS,
  MAX_ORDERBY_KEYS,
  MAX_SELECT_PROPERTIES,
  SKIP_MAX,
  TOP_DEFAULT,
  TOP_MAX,
} from './limits.js';
import { parse as parseFilterGrammar } from './odata-filter.parser.js';

/** `$filter` text → AST (apiref 403). Throws QueryError with a documented code. */
export function parseFilter(text: string): FilterExpr {
  if (text.length > MAX_FILTER_LENGTH) throw new QueryError('PR400-OD-0003', [], MAX_FILTER_LENGTH);
  checkDepth(text);
  let ast: FilterExpr;
  try {
    ast = parseFilterGrammar(text) as FilterExpr;
  } catch (err) {
    const e = err as { kuraCode?: string; kuraParams?: string[]; location?: { start: { offset: number } } };
    if (e.kuraCode) throw new QueryError(e.kuraCode, e.kuraParams ?? [], undefined, { cause: err });
    throw new QueryError('PR400-OD-0003', [], e.location?.start.offset, { cause: err });
  }
  if (countTerms(ast) > MAX_FILTER_TERMS) throw new QueryError('PR400-OD-0003');
  return ast;
}

/** Rejects deep nesting before the recursive-descent parser sees it (a stack overflow is not a 400). */
function checkDepth(text: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "'") inString = !inString;
    else if (inString) continue;
    else if (ch === '(') {
      if (++depth > MAX_FILTER_DEPTH) throw new QueryError('PR400-OD-0003', [], i);
    } else if (ch === ')') depth--;
  }
  // `not not not …` nests without parentheses.
  if ((text.match(/\bnot\b/g)?.length ?? 0) > MAX_FILTER_DEPTH) throw new QueryError('PR400-OD-0003');
}

function countTerms(e: FilterExpr): number {
  switch (e.type) {
    case 'and':
    case 'or':
      return countTerms(e.left) + countTerms(e.right);
    case 'not':
      return countTerms(e.expr);
    default:
      return 1;
  }
}

const ORDER_KEY = /^([A-Za-z_][A-Za-z0-9_.\-]*(?:\/[A-Za-z_][A-Za-z0-9_.\-]*)*)(?:\s+(asc|desc))?$/;

/** `$orderby=Name desc, __published` (apiref 400). */
export function parseOrderBy(text: string): OrderKey[] {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length > MAX_ORDERBY_KEYS) throw new QueryError('PR400-OD-0015');
  return parts.map((part) => {
    const m = ORDER_KEY.exec(part);
    if (!m) throw new QueryError('PR400-OD-0015');
    return { path: m[1]!.split('/'), direction: (m[2] ?? 'asc') as 'asc' | 'desc' };
  });
}

/** `$top` (apiref 401): an integer 0–10000, 25 when absent. */
export function parseTop(text: string | undefined): number {
  return parseCount('$top', text, TOP_DEFAULT, TOP_MAX);
}

/** `$skip` (apiref 402): a natural number, 0 when absent. */
export function parseSkip(text: string | undefined): number {
  return parseCount('$skip', text, 0, SKIP_MAX);
}

function parseCount(name: string, text: string | undefined, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  if (!/^\d{1,9}$/.test(text)) throw new QueryError('PR400-OD-0029', [name, text]);
  const n = Number(text);
  if (n > max) throw new QueryError('PR400-OD-0029', [name, text]);
  return n;
}

/** `$select=Name,__published` (apiref 406); `*` or empty means every property. */
export function parseSelect(text: string): string[] | '*' {
  const names = text.split(',').map((s) => s.trim());
  if (names.length > MAX_SELECT_PROPERTIES) throw new QueryError('PR400-OD-0017');
  if (names.includes('*') || (names.length === 1 && names[0] === '')) return '*';
  for (const name of names) if (!/^[A-Za-z_][A-Za-z0-9_.\-]*$/.test(name)) throw new QueryError('PR400-OD-0017');
  return names;
}

/** `$inlinecount=allpages|none` (apiref 407). */
export function parseInlineCount(text: string | undefined): boolean {
  if (text === undefined || text === 'none') return false;
  if (text === 'allpages') return true;
  throw new QueryError('PR400-OD-0013', [text]);
}
