import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/** The codes of spec/hexabase/errors.md, plus the HTTP status kura answers each with by default. */
export const HEXABASE_ERRORS = {
  INVALID_PARAMS: 400,
  INVALID_VALUE: 400,
  INVALID_SETTINGS: 400,
  NOT_FOUND: 404,
  NO_PRIVILEGES: 403,
  ITEM_REV_CONFLICT: 409,
  PROCESS_STOPPED: 500,
  SEARCH_TIMEOUT: 503,
  COUNT_TIMEOUT: 503,
  TRANSACTION_ABORTED: 500,
  SYSTEM_ERROR: 500,
} as const;

export type HexabaseErrorCode = keyof typeof HEXABASE_ERRORS;

/**
 * A client error of the Hexabase dialect. The spec documents codes but no single envelope; kura
 * answers `{"error": message, "error_code": CODE}` — the shape the ExecuteAction and DeleteItemLink
 * pages show — with the status the page names, or the code's default.
 */
export class HexabaseError extends Error {
  readonly status: number;

  constructor(
    readonly code: HexabaseErrorCode,
    message: string,
    status?: number,
    /** The body a page documents for this refusal, where it is not the usual one (the roles pages). */
    readonly body?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'HexabaseError';
    this.status = status ?? HEXABASE_ERRORS[code];
  }
}

/** No token, or one that is unknown, expired or revoked (the spec documents no code for it). */
export function unauthenticated(): HexabaseError {
  return new HexabaseError('NO_PRIVILEGES', 'authentication required: log in and send the token as Authorization: Bearer', 401);
}

export function renderHexabaseError(err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): void {
  let status: number;
  let code: HexabaseErrorCode;
  let message: string;
  if (err instanceof HexabaseError && err.body) {
    reply.code(err.status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify(err.body));
    return;
  }
  if (err instanceof HexabaseError) {
    ({ status, code, message } = err);
  } else if (typeof (err as FastifyError).statusCode === 'number' && (err as FastifyError).statusCode! < 500) {
    // Fastify's own refusals (body too large, malformed request line): the client's doing.
    status = (err as FastifyError).statusCode!;
    code = 'INVALID_PARAMS';
    message = err.message;
  } else {
    req.log.error({ err }, 'hexabase request failed');
    status = 500;
    code = 'SYSTEM_ERROR';
    message = 'internal error';
  }
  reply.code(status).header('content-type', 'application/json; charset=utf-8').send(JSON.stringify({ error: message, error_code: code }));
}
