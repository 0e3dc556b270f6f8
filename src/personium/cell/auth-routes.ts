import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { KuraConfig } from '../../config.js';
import { PersoniumError } from '../../core/errors/personium-error.js';
import { AuthStore } from '../../store/auth-store.js';
import type { EntityStore } from '../../store/entity-store.js';
import { AuthzEndpoint, authzErrorPage } from '../auth/authz-endpoint.js';
import { TokenEndpoint, TokenEndpointError } from '../auth/token-endpoint.js';
import { cellUrl, resolveLocalUnitUrl } from '../cell-url.js';
import { clientErrorStatus, toClientError } from '../http/error-renderer.js';
import { bodyOf, headerValue } from '../http/odata-adapter.js';
import { PASSWORD } from './formats.js';
import type { CellAuth } from './routes.js';
import { introspect } from '../auth/introspect.js';
import { relayedPage } from './relay.js';

/** OAuth endpoints answer errors the OAuth way (RFC 6749 §5.2) with Personium's code in the description. */
function oauthErrorHandler(err: FastifyError, req: FastifyRequest, reply: FastifyReply): void {
  const error = toClientError(err);
  const status = clientErrorStatus(err, error);
  if (status >= 500) req.log.error({ err }, 'request failed');
  else req.log.info({ code: error.code }, 'token request refused');
  const body: Record<string, unknown> = {
    error: error.oauthError ?? (error.status === 401 ? 'invalid_client' : 'invalid_request'),
    error_description: `[${error.code}] - ${error.message}`,
    code: error.code,
    ...(err instanceof TokenEndpointError ? err.extra : {}),
  };
  reply
    .code(status)
    .header('content-type', 'application/json')
    .header('cache-control', 'no-store')
    .header('pragma', 'no-cache')
    .send(JSON.stringify(body));
}

/** Form parameters of an `application/x-www-form-urlencoded` body (whatever Content-Type says, as Personium does). */
export function formParams(req: FastifyRequest): URLSearchParams {
  const body = bodyOf(req);
  return new URLSearchParams(body ? body.toString('utf8') : '');
}

/** `__token`, `__certs`, `__introspect`, `__mypassword` (apiref 293, 298, 297, 294). */
export async function authRoutes(
  app: FastifyInstance,
  { config, store, auth }: { config: KuraConfig; store: EntityStore; auth: CellAuth },
): Promise<void> {
  const tokens = new TokenEndpoint({
    store,
    settings: config.auth,
    unitUrl: config.unitUrl,
    codec: auth.codec,
    issuerKeys: auth.issuerKeys,
    passwords: auth.passwords,
    roles: auth.roles,
    resolveLocalUnit: (url) => resolveLocalUnitUrl(config.unitUrl, config.cellUrlMode, url),
  });
  const localUnit = (url: string) => resolveLocalUnitUrl(config.unitUrl, config.cellUrlMode, url);
  const rootOf = (req: FastifyRequest) => cellUrl(config.unitUrl, config.cellUrlMode, req.cell.props.Name as string);

  app.post<{ Params: { cell: string } }>('/:cell/__token', { config: { privilege: 'none' }, errorHandler: oauthErrorHandler }, async (req, reply) => {
    const res = await tokens.handle({
      cell: req.cell,
      cellUrl: rootOf(req),
      params: formParams(req),
      authorization: headerValue(req, 'authorization'),
      remoteAddress: req.ip,
    });
    reply.code(res.status).header('content-type', 'application/json').header('cache-control', 'no-store').header('pragma', 'no-cache');
    if (res.cookies) reply.header('set-cookie', res.cookies);
    if (res.location) reply.header('location', res.location);
    return JSON.stringify(res.body);
  });

  const authz = new AuthzEndpoint({ store, settings: config.auth, tokens, codec: auth.codec, passwords: auth.passwords });
  // apiref 292 (GET: the login form) and 292p (POST: the form's answer).
  for (const method of ['GET', 'POST'] as const) {
    app.route<{ Params: { cell: string } }>({
      method,
      url: '/:cell/__authz',
      config: { privilege: 'none' },
      handler: async (req, reply) => {
        const query = new URLSearchParams(req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '');
        const res = await authz.handle({
          method,
          cell: req.cell,
          cellUrl: rootOf(req),
          params: method === 'GET' ? query : formParams(req),
          remoteAddress: req.ip,
        });
        reply.code(res.status).headers(res.headers);
        if (res.loginForm) {
          // apiref 292: a cell may bring its own login page (p:authorizationhtmlurl).
          const own = await relayedPage(req.cell, 'authorizationhtmlurl', auth.outbound, localUnit, req.log);
          // The cell's page runs its own scripts: the built-in form's strict policy would break it.
          if (own !== undefined) return reply.removeHeader('content-security-policy').send(own);
        }
        return res.body === undefined ? reply.send() : res.body;
      },
    });
  }
  app.get<{ Params: { cell: string }; Querystring: { code?: string } }>(
    '/:cell/__html/error',
    { config: { privilege: 'none' } },
    async (req, reply) => {
      const res = authzErrorPage(typeof req.query.code === 'string' ? req.query.code : undefined);
      reply.code(res.status).headers(res.headers);
      return res.body;
    },
  );

  // apiref 298: the key trans-cell tokens of this unit's cells are signed with.
  app.get('/:cell/__certs', { config: { privilege: 'none' } }, async (_req, reply) => {
    reply.header('content-type', 'application/json').header('cache-control', 'public, max-age=600');
    return JSON.stringify({ keys: [auth.keys.publicJwk] });
  });

  app.post<{ Params: { cell: string } }>('/:cell/__introspect', { config: { privilege: 'none' }, errorHandler: oauthErrorHandler }, async (req, reply) => {
    const body = await introspect({
      cell: req.cell,
      roles: auth.roles,
      cellUrl: rootOf(req),
      params: formParams(req),
      principal: req.principal,
      authorization: headerValue(req, 'authorization'),
      codec: auth.codec,
      issuerKeys: auth.issuerKeys,
    });
    reply.header('content-type', 'application/json').header('cache-control', 'no-store');
    return JSON.stringify(body);
  });

  // apiref 294: an account changes its own password with a cell-local (or password-change) token.
  app.put<{ Params: { cell: string } }>('/:cell/__mypassword', { config: { privilege: 'none' } }, async (req, reply) => {
    const p = req.principal;
    const url = rootOf(req);
    if (p.kind === 'anonymous') throw new PersoniumError('PR401-AU-0001');
    if (p.kind === 'bad-token') throw new PersoniumError(p.code);
    if (p.kind === 'bad-scheme') throw new PersoniumError('PR401-AU-0003');
    const claims = p.kind === 'cell-user' && p.via === 'local' ? p.claims : p.kind === 'password-change' ? p.claims : undefined;
    if (!claims || claims.aid === undefined) throw new PersoniumError('PR403-AU-0002');
    // Another cell's local token would not even open in Personium: 401, not 403.
    if (claims.aud !== url) throw new PersoniumError('PR401-AU-0006');
    const credential = headerValue(req, 'x-personium-credential');
    if (credential === undefined) throw new PersoniumError('PR400-AU-0003');
    if (!PASSWORD.test(credential)) throw new PersoniumError('PR400-AU-0001');
    const hash = await auth.passwords.hash(credential);
    await store.withTransaction(async (trx) => {
      const account = await trx.getById(claims.aid!);
      if (!account || account.scope.cellId !== req.cell.id) throw new PersoniumError('PR401-AU-0006');
      const authStore = new AuthStore(trx.executor);
      await authStore.setPassword(account.id, hash, Date.now());
      // A new password ends every session the old one opened.
      await authStore.revokeSubject(req.cell.id, account.id);
      if (account.props.Status === 'passwordChangeRequired') {
        await trx.update(account, { key: account.key, props: { ...account.props, Status: 'active' } }, account.version);
      }
    });
    auth.roles.invalidate(req.cell.id);
    return reply.code(204).send();
  });
}
