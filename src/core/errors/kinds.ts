import type { PersoniumErrorCode } from './personium-catalog.js';

/**
 * Dialect-neutral failures a service may throw when it has no Personium-specific code in mind
 * (STYLE.md item 3). Each dialect's renderer maps the `kind` to its own codes through a table.
 */
export type ErrorKind = 'not-found' | 'conflict' | 'precondition-failed' | 'bad-query' | 'forbidden';

export class KuraError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly options: { code?: PersoniumErrorCode; params?: (string | number)[]; position?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KuraError';
  }
}

export const notFound = (message = 'not found') => new KuraError('not-found', message);
export const conflict = (message = 'conflict') => new KuraError('conflict', message);
export const preconditionFailed = (message = 'precondition failed') => new KuraError('precondition-failed', message);
export const badQuery = (message: string, position?: number) =>
  new KuraError('bad-query', message, position === undefined ? {} : { position });
export const forbidden = (message = 'forbidden') => new KuraError('forbidden', message);
