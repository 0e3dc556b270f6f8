import type { ErrorKind } from './kinds.js';
import { KuraError } from './kinds.js';
import type { PersoniumErrorCode } from './personium-catalog.js';
import { PersoniumError } from './personium-error.js';

/** The Personium code for each neutral kind when the thrower named none. */
const CODE_BY_KIND: Record<ErrorKind, PersoniumErrorCode> = {
  'not-found': 'PR404-OD-0002',
  conflict: 'PR409-OD-0003',
  'precondition-failed': 'PR412-OD-0002',
  'bad-query': 'PR400-OD-0002',
  forbidden: 'PR403-AU-0002',
};

/**
 * Any thrown value → a PersoniumError. Unknown failures become PR500-SV-0000 ("Unknown error."):
 * the client learns nothing of the cause, which the renderer logs with the request key.
 */
export function toPersoniumError(err: unknown): PersoniumError {
  if (err instanceof PersoniumError) return err;
  if (err instanceof KuraError) {
    return new PersoniumError(err.options.code ?? CODE_BY_KIND[err.kind], err.options.params ?? [], { cause: err });
  }
  return new PersoniumError('PR500-SV-0000', [], { cause: err });
}
