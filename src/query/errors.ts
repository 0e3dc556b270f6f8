/**
 * A client's query that can't be run: the Personium code to answer with (apiref 004, PR400-OD-…),
 * its message parameters, and where in the text the problem is, when known.
 */
export class QueryError extends Error {
  constructor(
    readonly code: string,
    readonly params: string[] = [],
    readonly position?: number,
    options?: { cause?: unknown },
  ) {
    super(`${code}${params.length ? ` ${params.join(', ')}` : ''}${position === undefined ? '' : ` at ${position}`}`, options);
    this.name = 'QueryError';
  }
}
