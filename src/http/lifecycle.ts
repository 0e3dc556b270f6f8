/**
 * The request lifecycle, readable in one place (STYLE.md item 10):
 *
 *   socket → rewriteUrl: X-Override headers, X-HTTP-Method-Override, cell subdomain → path
 *          → genReqId: X-Personium-RequestKey (given or generated)
 *          → onRequest: common headers (CORS, version, request key); bad override/key → 400;
 *                       token → principal; route privilege → authorize (before the body is read)
 *          → body parser: raw Buffer (each handler decides how to read it; size-limited)
 *          → handler → service → response
 *          → onSend: responses of one event-loop turn written together at its end (response-batching.ts)
 *          → error branch: one renderer per dialect (setErrorHandler), never a stack to the client
 *          → onResponse: metrics by route pattern
 */
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import compress from '@fastify/compress';
import type { KuraConfig } from '../config.js';
import { PersoniumError } from '../core/errors/personium-error.js';
import { authorize, isCellPrivilege, type Privilege } from '../personium/auth/policy.js';
import type { Principal, PrincipalResolver } from '../personium/auth/principal.js';
import { renderPersoniumError } from '../personium/http/error-renderer.js';
import { SUPPORTED_METHODS, corsHeaders, preflightHeaders } from './cors.js';
import { applyOverrides } from './method-override.js';
import type { HttpMetrics } from './metrics.js';
import { generateRequestKey, isValidRequestKey } from './request-key.js';
import { lazyChildLoggerFactory } from './lazy-logger.js';
import { batchResponses } from './response-batching.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Every route declares what it needs; `authorize` decides (ARCHITECTURE.md idea 4). */
    privilege?: Privilege;
    /** For routes whose privilege depends on what they address (cell control objects: per set). */
    privilegeOf?: (req: FastifyRequest) => Privilege;
    /** A route of the Hexabase dialect: it authenticates its own tokens (src/hexabase/http/routes.ts). */
    hexabase?: boolean;
  }
  interface FastifyRequest {
    principal: Principal;
  }
}

declare module 'node:http' {
  interface IncomingMessage {
    kuraBadOverride?: boolean;
    /** Set when the cell was addressed by its own host name (KURA_CELL_URL_MODE=subdomain). */
    kuraCellHost?: string;
  }
}

/** What the matched route needs: declared, or derived from the request by the route. */
export function routePrivilege(req: FastifyRequest): Privilege {
  const config = req.routeOptions.config;
  return config.privilegeOf?.(req) ?? config.privilege ?? 'none';
}

/**
 * Records who is calling and decides unit-level privileges. Cell-level privileges need the cell,
 * its ACL and the caller's roles in it: the cell routes decide those once the cell is loaded.
 */
function admit(req: FastifyRequest, principal: Principal, privilege: Privilege): Error | undefined {
  req.principal = principal;
  if (isCellPrivilege(privilege)) return undefined;
  try {
    authorize(principal, privilege);
    return undefined;
  } catch (err) {
    return err as Error;
  }
}

/** Personium API version kura follows (the seed API index, v1.7.21). */
export const PERSONIUM_VERSION = '1.7.21';

const EXTRA_METHODS: [string, boolean][] = [
  ['MERGE', true], ['PROPFIND', true], ['PROPPATCH', true], ['MKCOL', true], ['MOVE', false],
  ['COPY', false], ['ACL', true], ['REPORT', true], ['LOCK', true], ['UNLOCK', false],
];

export interface LifecycleOptions {
  config: KuraConfig;
  metrics: HttpMetrics;
  principals: PrincipalResolver;
}

export async function createHttp({ config, metrics, principals }: LifecycleOptions): Promise<FastifyInstance> {
  const unitHost = new URL(config.unitUrl).host.toLowerCase();
  const app = Fastify({
    logger: { level: config.logLevel },
    // Request volume and latency are observed through __metrics; a log line per request would
    // cost more than the request on the hot path.
    logController: new LogController({ disableRequestLogging: true }),
    childLoggerFactory: lazyChildLoggerFactory,
    bodyLimit: config.bodyLimit,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-personium-requestkey'];
      return typeof given === 'string' && isValidRequestKey(given) ? given : generateRequestKey();
    },
    routerOptions: { maxParamLength: 2048, ignoreDuplicateSlashes: false },
    return503OnClosing: true,
    // Errors raised before routing (malformed percent-encoding, …) get the same rendering as the rest.
    frameworkErrors: (err, req, reply) => renderPersoniumError(err, req, reply, config.unitUrl),
    rewriteUrl(req) {
      if (!applyOverrides(req)) req.kuraBadOverride = true;
      const url = req.url ?? '/';
      if (config.cellUrlMode === 'subdomain') {
        const host = (req.headers.host ?? '').toLowerCase();
        const suffix = `.${unitHost}`;
        if (host.endsWith(suffix)) {
          const cell = host.slice(0, -suffix.length);
          req.kuraCellHost = cell;
          return `/${cell}${url}`;
        }
      }
      return url;
    },
  });

  for (const [method, hasBody] of EXTRA_METHODS) app.addHttpMethod(method, { hasBody });

  // Bodies arrive as raw bytes whatever the Content-Type: OData endpoints always read JSON (apiref 100),
  // WebDAV and token endpoints read their own formats.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  await app.register(compress, { global: true, threshold: 1024, encodings: ['gzip', 'deflate'] });
  batchResponses(app);

  app.decorateRequest('principal', null as never);

  const commonHeaders = { ...corsHeaders(), 'x-personium-version': PERSONIUM_VERSION };
  const hexabaseHeaders = corsHeaders();
  // Callback-style hooks: every request passes through them, and an async hook costs a promise each.
  app.addHook('onRequest', (req, reply, done) => {
    if (req.routeOptions.config.hexabase) {
      reply.headers(hexabaseHeaders);
      return done();
    }
    reply.headers(commonHeaders).header('x-personium-requestkey', req.id);
    const key = req.headers['x-personium-requestkey'];
    if (key !== undefined && (typeof key !== 'string' || !isValidRequestKey(key))) {
      return done(new PersoniumError('PR400-EV-0002'));
    }
    if (req.raw.kuraBadOverride) return done(new PersoniumError('PR400-OD-0041', ['X-Override', 'malformed']));
    const privilege = routePrivilege(req);
    const unitUser = req.headers['x-personium-unit-user'];
    const quick = principals.quick(req.headers.authorization, typeof unitUser === 'string' ? unitUser : undefined);
    if (quick?.kind === 'anonymous') {
      const peer = (req.query as Record<string, unknown>).p_cookie_peer;
      const cookie = req.headers.cookie;
      if (typeof peer === 'string' && peer !== '' && cookie) {
        principals.fromCookie(cookie, peer).then(
          (principal) => done(admit(req, principal, privilege)),
          (err: Error) => done(err),
        );
        return;
      }
    }
    if (quick) return done(admit(req, quick, privilege));
    principals.resolve(req.headers.authorization!).then(
      (principal) => done(admit(req, principal, privilege)),
      (err: Error) => done(err),
    );
  });

  app.addHook('onResponse', (req, reply, done) => {
    metrics.observe(req.method, routeLabel(req), reply.statusCode, reply.elapsedTime / 1000);
    done();
  });

  app.setErrorHandler((err, req, reply) => renderPersoniumError(err, req, reply, config.unitUrl));
  app.setNotFoundHandler({ preHandler: undefined }, (req, reply) =>
    renderPersoniumError(new PersoniumError('PR404-MC-0001'), req, reply, config.unitUrl),
  );

  // apiref 002: a preflight is answered for any path.
  app.options('*', { config: { privilege: 'none' } }, async (req, reply) => {
    const requested = req.headers['access-control-request-headers'];
    // `DAV: 1`: WebDAV clients look for it before they talk WebDAV (RFC 4918 §10.1; no locks, so no class 2).
    reply
      .headers(preflightHeaders(typeof requested === 'string' ? requested : undefined))
      .header('dav', '1')
      .header('allow', SUPPORTED_METHODS.join(', '))
      .code(200)
      .send();
  });

  return app;
}

/**
 * Registers the 405 answer for the methods a fixed route does not take, so a wrong method on a known
 * URL says "method not allowed" rather than "not found".
 */
export function refuseOtherMethods(app: FastifyInstance, url: string, allowed: readonly string[]): void {
  const others = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', ...EXTRA_METHODS.map(([m]) => m)].filter(
    (m) => !allowed.includes(m),
  );
  app.route({
    method: others,
    url,
    config: { privilege: 'none' },
    handler: async () => {
      throw new PersoniumError('PR405-MC-0001');
    },
  });
}

function routeLabel(req: FastifyRequest): string {
  return req.routeOptions.url ?? 'unmatched';
}
