import type { FastifyReply, FastifyRequest } from 'fastify';
import { PersoniumError, personiumErrorBody } from '../../core/errors/personium-error.js';
import { toPersoniumError } from '../../core/errors/to-personium.js';
import { QueryError } from '../../query/errors.js';

/**
 * Framework errors a client can cause, mapped to documented codes (apiref 004) by Fastify's code.
 * deviation: Personium documents no code for an oversized body; kura answers 413 with PR400-OD-0007
 * (the catalog's generic "[{0}]") so clients still get a Personium-shaped body.
 */
const FRAMEWORK_ERRORS: Record<string, (err: Error) => PersoniumError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => new PersoniumError('PR400-OD-0007', ['request body too large']),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => new PersoniumError('PR400-OD-0007', ['invalid Content-Length']),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new PersoniumError('PR400-OD-0001'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: (err) => new PersoniumError('PR415-OD-0001', [err.message]),
  FST_ERR_BAD_URL: () => new PersoniumError('PR400-OD-0007', ['malformed percent-encoding in URL']),
  FST_ERR_ASYNC_CONSTRAINT: () => new PersoniumError('PR404-MC-0001'),
};

/** Status overrides where HTTP has a more precise answer than the catalog's status. */
const STATUS_OVERRIDES: Record<string, number> = { FST_ERR_CTP_BODY_TOO_LARGE: 413 };

export function toClientError(err: unknown): PersoniumError {
  if (err instanceof QueryError) return new PersoniumError(err.code as never, err.params, { cause: err });
  const fastifyCode = (err as { code?: unknown } | null)?.code;
  if (typeof fastifyCode === 'string' && fastifyCode in FRAMEWORK_ERRORS) {
    return FRAMEWORK_ERRORS[fastifyCode]!(err as Error);
  }
  return toPersoniumError(err);
}

/** The status to answer: the catalog's, unless HTTP has a more precise one for the framework error. */
export function clientErrorStatus(err: unknown, error: PersoniumError): number {
  const fastifyCode = (err as { code?: unknown } | null)?.code;
  return (typeof fastifyCode === 'string' && STATUS_OVERRIDES[fastifyCode]) || error.status;
}

/** The Personium dialect's one error renderer: `{code, message:{lang, value}}`, server details only in logs. */
export function renderPersoniumError(err: unknown, req: FastifyRequest, reply: FastifyReply, unitUrl: string): void {
  const error = toClientError(err);
  const status = clientErrorStatus(err, error);
  if (status >= 500) req.log.error({ err }, 'request failed');
  else req.log.info({ code: error.code }, 'request refused');
  if (status === 401) reply.header('www-authenticate', `Bearer realm="${unitUrl}"`);
  reply
    .code(status)
    .header('content-type', 'application/json')
    .send(JSON.stringify(personiumErrorBody(error)));
}
