import { personiumErrors, type PersoniumErrorCode } from './personium-catalog.js';

export type { PersoniumErrorCode } from './personium-catalog.js';

/**
 * Fills a MessageFormat-style template: `{n}` → params[n], `''` → `'` (the spec writes
 * `''{0}''` where the message shows `'name'`).
 */
export function formatMessage(template: string, params: readonly (string | number)[] = []): string {
  return template
    .replace(/\{(\d+)\}/g, (whole, i: string) => (params[Number(i)] === undefined ? whole : String(params[Number(i)])))
    .replace(/''/g, "'");
}

/**
 * An error with a documented Personium code. A fresh object per throw, with its own params and
 * cause (STYLE.md, leaving behind shared exception singletons).
 */
export class PersoniumError extends Error {
  readonly code: PersoniumErrorCode;
  readonly status: number;
  readonly params: readonly (string | number)[];
  readonly oauthError: string | undefined;

  /** `status` overrides the catalog where HTTP has a more precise answer (413 for an oversized body). */
  constructor(code: PersoniumErrorCode, params: readonly (string | number)[] = [], options?: { cause?: unknown; status?: number }) {
    const entry = personiumErrors[code];
    super(formatMessage(entry.message, params), options);
    this.name = 'PersoniumError';
    this.code = code;
    this.status = options?.status ?? entry.status;
    this.params = params;
    this.oauthError = 'oauthError' in entry ? entry.oauthError : undefined;
  }
}

export interface PersoniumErrorBody {
  code: string;
  message: { lang: 'en'; value: string };
}

/** The Personium error response body (apiref 004). */
export function personiumErrorBody(err: PersoniumError): PersoniumErrorBody {
  return { code: err.code, message: { lang: 'en', value: err.message } };
}

export function isPersoniumErrorCode(code: string): code is PersoniumErrorCode {
  return Object.hasOwn(personiumErrors, code);
}
