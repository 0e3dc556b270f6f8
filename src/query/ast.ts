/**
 * One filter AST for every query dialect kura speaks: OData `$filter` (apiref 403) parses into it,
 * Hexabase search conditions (hexabase/items/conditions.ts) are built as it, and `compile.ts` turns
 * it into parameterised SQL.
 */

/** A literal value as written by the client, already decoded (quotes, escapes, prefixes removed). */
export type Literal =
  | { kind: 'string'; value: string }
  /** Integer or decimal; `raw` keeps the text for error messages and exact integers. */
  | { kind: 'number'; value: number; raw: string }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' }
  /** `datetime'…'` (UTC when no offset) and `datetimeoffset'…'`, as epoch milliseconds. */
  | { kind: 'datetime'; value: number; raw: string };

/** A property reference; `path` has more than one segment for complex-type members (`Address/City`). */
export interface PropertyRef {
  type: 'property';
  path: string[];
}

export interface LiteralOperand {
  type: 'literal';
  value: Literal;
}

export type Operand = PropertyRef | LiteralOperand;

export type ComparisonOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

export type FilterExpr =
  | { type: 'and' | 'or'; left: FilterExpr; right: FilterExpr }
  | { type: 'not'; expr: FilterExpr }
  | { type: 'compare'; op: ComparisonOp; left: Operand; right: Operand }
  /** Boolean-valued functions: `startswith(p, 'x')`, `substringof('x', p)`. */
  | { type: 'call'; name: 'startswith' | 'substringof'; args: Operand[] }
  /** The property equals one of the values (OData 4's `in`; Hexabase's any-of search values). */
  | { type: 'in'; property: PropertyRef; values: Literal[] }
  /** The property is a list holding at least one of the strings (Hexabase checkbox, users, files). */
  | { type: 'hasAny'; property: PropertyRef; values: string[] }
  /** The property is absent, null, not a list, or an empty list. */
  | { type: 'emptyList'; property: PropertyRef };

export type SortDirection = 'asc' | 'desc';

export interface OrderKey {
  path: string[];
  direction: SortDirection;
}
