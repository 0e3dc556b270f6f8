import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { KuraConfig } from '../../config.js';
import { PersoniumError } from '../../core/errors/personium-error.js';
import { SUPPORTED_METHODS } from '../../http/cors.js';
import { parseResourcePath } from '../../odata/resource-path.js';
import { ODataService } from '../../odata/service.js';
import type { EntityStore, StoredEntity } from '../../store/entity-store.js';
import { cellUrl, resolveLocalUnitUrl } from '../cell-url.js';
import type { OutboundClient } from '../auth/outbound.js';
import { relayedPage } from './relay.js';
import type { ReadCache } from '../read-cache.js';
import { bodyOf, headerValue, pathAfter, queryRecord, answer } from '../http/odata-adapter.js';
import { findCell } from '../unit/cells.js';
import { authRoutes } from './auth-routes.js';
import { boxRoutes } from '../box/routes.js';
import type { BlobStore } from '../../store/blob-store.js';
import { cellCtlHooks } from './ctl-hooks.js';
import { cellCtlSets } from './ctl-sets.js';
import type { IssuerKeys } from '../auth/issuer-keys.js';
import type { UnitKeys } from '../auth/keys.js';
import type { PasswordHasher } from '../../core/passwords.js';
import { CELL_PRIVILEGES, authorize, isCellPrivilege, type CellContext, type CellPrivilege, type Privilege, type StoredAcl } from '../auth/policy.js';
import { parseAcl } from '../acl/acl-xml.js';
import { applyPropertyUpdate, parsePropertyUpdate, proppatchMultistatus, type DeadProperties } from '../dav/properties.js';
import { DAV_NS, PERSONIUM_NS, parseXml } from '../dav/xml-tree.js';
import { propfindMultistatus } from '../dav/multistatus.js';
import type { DavNode } from '../../store/dav-store.js';
import { routePrivilege } from '../../http/lifecycle.js';
import type { PrincipalResolver } from '../auth/principal.js';
import type { HeldRole, RoleResolver } from '../auth/roles.js';
import type { TokenCodec } from '../auth/tokens.js';

/** The authentication services the cell-level endpoints share. */
export interface CellAuth {
  passwords: PasswordHasher;
  codec: TokenCodec;
  keys: UnitKeys;
  issuerKeys: IssuerKeys;
  roles: RoleResolver;
  principals: PrincipalResolver;
  outbound: OutboundClient;
}

export interface CellRoutesOptions {
  config: KuraConfig;
  store: EntityStore;
  auth: CellAuth;
  blobs: BlobStore;
  cache: ReadCache;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The cell a cell-level route addresses, loaded once by the cell plugin. */
    cell: StoredEntity;
  }
}

const ODATA_METHODS = SUPPORTED_METHODS.filter((m) => m !== 'OPTIONS' && m !== 'HEAD');

/** The cell a request addresses, or PR404-DV-0003. Subdomain mode only knows cells by host name. */
export async function requestedCell(
  req: FastifyRequest<{ Params: { cell: string } }>,
  store: EntityStore,
  config: KuraConfig,
  cache: ReadCache,
): Promise<StoredEntity> {
  if (!addressable(req, config)) throw new PersoniumError('PR404-MC-0001');
  const cell = await cache.through('entity', `cell|${req.params.cell}`, () => findCell(store, req.params.cell));
  if (!cell) throw new PersoniumError('PR404-DV-0003');
  return cell;
}

/** Subdomain mode only knows cells by host name. */
function addressable(req: FastifyRequest, config: KuraConfig): boolean {
  return config.cellUrlMode !== 'subdomain' || req.raw.kuraCellHost !== undefined;
}

/** Cell-level Personium API: cell root and metadata (200, 296) and the control objects (201–266, 2AB–2B0). */
export async function cellRoutes(app: FastifyInstance, { config, store, auth, blobs, cache }: CellRoutesOptions): Promise<void> {
  const hooks = cellCtlHooks(auth.passwords);
  const localUnit = (url: string) => resolveLocalUnitUrl(config.unitUrl, config.cellUrlMode, url);
  app.decorateRequest('cell', null as never);

  // Every route here addresses a cell: load it once, then let the policy decide with its context.
  const admitToCell = async (req: FastifyRequest<{ Params: { cell: string } }>, privilege: Privilege) => {
    req.cell = await requestedCell(req, store, config, cache);
    if (isCellPrivilege(privilege) || privilege === 'unit-user') {
      authorize(req.principal, privilege, await cellContext(req, config, auth.roles));
    }
  };
  app.addHook('preHandler', (req, _reply, done) => {
    const r = req as FastifyRequest<{ Params: { cell: string } }>;
    const privilege = routePrivilege(req);
    // Most requests (every box resource) find their cell cached and leave the decision to the
    // route: no promise for them, the hook is on every request.
    const cached = addressable(r, config) ? cache.get<StoredEntity>('entity', `cell|${r.params.cell}`) : undefined;
    if (cached && !isCellPrivilege(privilege) && privilege !== 'unit-user') {
      r.cell = cached;
      return done();
    }
    admitToCell(r, privilege).then(() => done(), done);
  });

  await authRoutes(app, { config, store, auth });
  await app.register(boxRoutes, { config, store, blobs, roles: auth.roles, cache });

  // apiref 296 (Accept: application/json) and 200 (HTML otherwise).
  for (const url of ['/:cell/', '/:cell']) {
    app.get<{ Params: { cell: string } }>(url, { config: { privilege: 'none' } }, async (req, reply) => {
      const cell = req.cell;
      const name = cell.props.Name as string;
      const url = cellUrl(config.unitUrl, config.cellUrlMode, name);
      if (prefersJson(headerValue(req, 'accept'))) {
        reply.header('content-type', 'application/json');
        return JSON.stringify({
          cell: { name, url },
          unit: { url: config.unitUrl, path_based_cellurl_enabled: config.cellUrlMode === 'path' },
        });
      }
      reply.header('content-type', 'text/html; charset=utf-8');
      const relayed = await relayedPage(cell, 'relayhtmlurl', auth.outbound, localUnit, req.log);
      return relayed ?? cellRootHtml(name, url);
    });
  }

  const ctlHandler = async (req: FastifyRequest<{ Params: { cell: string } }>, reply: FastifyReply) => {
      const cell = req.cell;
      const root = cellUrl(config.unitUrl, config.cellUrlMode, cell.props.Name as string);
      const service = new ODataService({
        store,
        scope: { cellId: cell.id, boxId: '', nodeId: '' },
        serviceRoot: `${root}__ctl/`,
        sets: cellCtlSets,
        hooks,
      });
      // Subdomain requests were rewritten to `/{cell}/…` before routing, so one prefix fits both modes.
      const target = parseResourcePath(pathAfter(req, `/${req.params.cell}/__ctl/`), cellCtlSets);
      const res = await service.handle({
        method: req.method,
        target,
        query: queryRecord(req),
        body: bodyOf(req),
        ifMatch: headerValue(req, 'if-match'),
        header: (name) => headerValue(req, name),
      });
      // Role grants may have changed: drop what was resolved for this cell.
      if (req.method !== 'GET') auth.roles.invalidate(cell.id);
      return answer(reply, res);
  };
  // apiref 201–266; the privilege depends on the set addressed (apiref 006).
  app.route<{ Params: { cell: string } }>({
    method: ODATA_METHODS as unknown as string[],
    url: '/:cell/__ctl/*',
    config: { privilegeOf: ctlPrivilege },
    handler: ctlHandler,
  });

  // apiref 291: cell properties (dead properties; a few of them configure the cell, apiref 293).
  for (const url of ['/:cell/', '/:cell']) {
    app.route<{ Params: { cell: string } }>({
      method: 'PROPPATCH',
      url,
      config: { privilege: 'unit-user' },
      handler: async (req, reply) => {
        const root = cellUrl(config.unitUrl, config.cellUrlMode, req.cell.props.Name as string);
        const ops = parsePropertyUpdate(parseXml(bodyOf(req)?.toString('utf8') ?? ''));
        const answer = proppatchMultistatus(root, ops);
        if (answer.ok) {
          await store.withTransaction(async (trx) => {
            const current = await trx.getById(req.cell.id);
            if (!current) throw new PersoniumError('PR404-DV-0003');
            const properties = applyPropertyUpdate((current.props.__properties as DeadProperties | undefined) ?? {}, ops);
            await trx.update(current, { key: current.key, props: { ...current.props, __properties: properties } }, current.version);
          });
        }
        reply.code(207).header('content-type', 'application/xml; charset=utf-8');
        return answer.body;
      },
    });
  }

  // apiref 290: the cell's properties and (with acl-read) its ACL.
  for (const url of ['/:cell/', '/:cell']) {
    app.route<{ Params: { cell: string } }>({
      method: 'PROPFIND',
      url,
      config: { privilege: 'propfind' },
      handler: async (req, reply) => {
        const depth = headerValue(req, 'depth');
        if (depth === 'infinity') throw new PersoniumError('PR403-DV-0001');
        if (depth !== undefined && depth !== '0' && depth !== '1') throw new PersoniumError('PR400-DV-0003', [depth]);
        const text = bodyOf(req)?.toString('utf8') ?? '';
        if (text.trim() !== '') {
          const root = parseXml(text);
          if (root.ns !== DAV_NS || root.local !== 'propfind') throw new PersoniumError('PR400-DV-0006');
        }
        const ctx = await cellContext(req, config, auth.roles);
        let showAcl = true;
        try {
          authorize(req.principal, 'acl-read', ctx);
        } catch {
          showAcl = false;
        }
        const cell = req.cell;
        const properties = { ...((cell.props.__properties as DeadProperties | undefined) ?? {}) };
        properties[`{${PERSONIUM_NS}}cellstatus`] = { ns: PERSONIUM_NS, local: 'cellstatus', prefix: 'p', attrs: [], children: ['normal'] };
        const node: DavNode = {
          id: cell.id, cellId: cell.id, boxId: '', parentId: '', name: '', kind: 'root', contentType: null, size: 0, blob: null,
          sha256: null, version: cell.version, created: cell.published, updated: cell.updated, props: properties, acl: null,
        };
        const body = propfindMultistatus([
          { href: ctx.url, node, ...(showAcl ? { acl: { base: `${ctx.url}__role/__/`, own: ctx.acl, inherited: [] } } : {}) },
        ]);
        reply.code(207).header('content-type', 'application/xml; charset=utf-8');
        return body;
      },
    });
  }

  // apiref 289: the cell-level ACL, replaced as a whole.
  for (const url of ['/:cell/', '/:cell']) {
    app.route<{ Params: { cell: string } }>({
      method: 'ACL',
      url,
      config: { privilege: 'acl' },
      handler: async (req, reply) => {
        const root = cellUrl(config.unitUrl, config.cellUrlMode, req.cell.props.Name as string);
        const body = bodyOf(req)?.toString('utf8') ?? '';
        const acl = parseAcl(body, `${root}__role/__/`, CELL_PRIVILEGE_NAMES);
        for (const ace of acl.aces) {
          if (ace.principal !== 'all' && !isRoleUrlOf(root, ace.principal.href)) {
            throw new PersoniumError('PR400-DV-0006', [], { cause: new Error(`${ace.principal.href} is not a role of this cell`) });
          }
        }
        await store.withTransaction(async (trx) => {
          const current = await trx.getById(req.cell.id);
          if (!current) throw new PersoniumError('PR404-DV-0003');
          await trx.update(current, { key: current.key, props: { ...current.props, __acl: acl } }, current.version);
        });
        return reply.code(200).send();
      },
    });
  }
}

/** apiref 006: which cell privilege each control-object set needs, to change it and to read it. */
const CTL_PRIVILEGES: Record<string, [CellPrivilege, CellPrivilege]> = {
  Account: ['auth', 'auth-read'],
  Role: ['auth', 'auth-read'],
  ExtRole: ['auth', 'auth-read'],
  Relation: ['social', 'social-read'],
  ExtCell: ['social', 'social-read'],
  Box: ['box', 'box-read'],
};

function ctlPrivilege(req: FastifyRequest): CellPrivilege {
  const params = req.params as { '*'?: string };
  const set = /^[A-Za-z]+/.exec(params['*'] ?? '')?.[0] ?? '';
  const [write, read] = CTL_PRIVILEGES[set] ?? ['auth', 'auth-read'];
  return req.method === 'GET' ? read : write;
}

const CELL_PRIVILEGE_NAMES: ReadonlySet<string> = new Set(CELL_PRIVILEGES);

/** `{cellUrl}__role/{box}/{role}` of this very cell (apiref 006: no other cell's roles in its ACL). */
function isRoleUrlOf(root: string, href: string): boolean {
  return href.startsWith(`${root}__role/`) && /^[^/]+\/[^/]+$/.test(href.slice(`${root}__role/`.length));
}

/**
 * What the policy needs to know of the addressed cell for this caller; synchronous unless the
 * caller's roles must be looked up (a cell user's token for this cell).
 */
export function cellContext(req: FastifyRequest, config: KuraConfig, roles: RoleResolver): CellContext | Promise<CellContext> {
  const cell = req.cell;
  const roleless = rolelessContext(cell, config);
  const p = req.principal;
  if (p.kind !== 'cell-user' || p.claims.aud !== roleless.url) return roleless;
  return roles.rolesOf(cell, p.claims, p.via).then((held: HeldRole[]): CellContext => ({ ...roleless, roles: held }));
}

const ROLELESS_CONTEXTS = new WeakMap<StoredEntity, CellContext>();

/**
 * The context of callers holding no role in the cell, made once per loaded cell: a cached cell is
 * the same object from request to request, and a changed cell is loaded as a new one.
 */
function rolelessContext(cell: StoredEntity, config: KuraConfig): CellContext {
  let context = ROLELESS_CONTEXTS.get(cell);
  if (!context) {
    const url = cellUrl(config.unitUrl, config.cellUrlMode, cell.props.Name as string);
    context = { url, owner: cellOwner(cell), roles: [], acl: cellAcl(cell) };
    ROLELESS_CONTEXTS.set(cell, context);
  }
  return context;
}

export function cellOwner(cell: StoredEntity): string | undefined {
  return typeof cell.props.__owner === 'string' ? cell.props.__owner : undefined;
}

/** The cell's ACL as the ACL method stored it (apiref 289); none means nobody but administrators. */
export function cellAcl(cell: StoredEntity): StoredAcl {
  const stored = cell.props.__acl as StoredAcl | undefined;
  return stored && Array.isArray(stored.aces) ? stored : { aces: [] };
}
/** apiref 296 needs `Accept: application/json`; anything else (browsers) gets the cell root page of 200. */
function prefersJson(accept: string | undefined): boolean {
  return accept !== undefined && /\bapplication\/json\b/i.test(accept) && !/\btext\/html\b/i.test(accept);
}

/** apiref 200 without `p:relayhtmlurl`: a small page of kura's own, so a browser landing on a cell URL sees what it is. */
function cellRootHtml(name: string, url: string): string {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(name)}</title></head>
<body><h1>${esc(name)}</h1><p>This is the Personium cell <a href="${esc(url)}">${esc(url)}</a>, served by kura.</p></body></html>
`;
}
