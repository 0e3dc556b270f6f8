import type { FastifyInstance } from 'fastify';
import type { KuraConfig } from '../../config.js';
import { PersoniumError } from '../../core/errors/personium-error.js';
import { SUPPORTED_METHODS } from '../../http/cors.js';
import { refuseOtherMethods } from '../../http/lifecycle.js';
import { parseResourcePath } from '../../odata/resource-path.js';
import { ODataService, type Restriction } from '../../odata/service.js';
import { jsonStringEquals, type Dialect } from '../../query/compile.js';
import type { Principal } from '../auth/principal.js';
import type { BlobStore } from '../../store/blob-store.js';
import { UNIT_SCOPE, type EntityStore } from '../../store/entity-store.js';
import { bodyOf, headerValue, pathAfter, queryRecord, answer } from '../http/odata-adapter.js';
import { unitSets } from './cell-set.js';
import { cellHooks, deleteCellRecursively } from './cells.js';

export interface UnitRoutesOptions {
  config: KuraConfig;
  store: EntityStore;
  blobs: BlobStore;
}

const CROSSDOMAIN_XML = `<?xml version="1.0"?>
<!DOCTYPE cross-domain-policy SYSTEM "http://www.adobe.com/xml/dtds/cross-domain-policy.dtd">
<cross-domain-policy>
  <site-control permitted-cross-domain-policies="all"/>
  <allow-access-from domain="*"/>
  <allow-http-request-headers-from domain="*" headers="*"/>
</cross-domain-policy>
`;

const ODATA_METHODS = SUPPORTED_METHODS.filter((m) => m !== 'OPTIONS' && m !== 'HEAD');

/** Unit-level Personium API: unit metadata, cross-domain policy, and the Cell entity set (apiref 100–107). */
export async function unitRoutes(app: FastifyInstance, { config, store, blobs }: UnitRoutesOptions): Promise<void> {
  const serviceRoot = `${config.unitUrl}__ctl/`;
  const base = { store, scope: UNIT_SCOPE, serviceRoot, sets: unitSets, hooks: { Cell: cellHooks } };
  const unrestricted = new ODataService(base);
  /** Unit users other than unit admins see and manage only the cells they own (Unit-User.md). */
  const serviceFor = (principal: Principal): ODataService => {
    const acting = actingUnitUser(principal);
    if (!acting) return unrestricted;
    return new ODataService({
      ...base,
      caller: { owner: acting.name },
      ...(acting.restricted ? { restriction: ownedBy(acting.name, store.dialect) } : {}),
    });
  };

  // apiref 107
  app.get('/', { config: { privilege: 'none' } }, async (req, reply) => {
    if (req.raw.kuraCellHost !== undefined) throw new PersoniumError('PR404-MC-0001');
    reply.header('content-type', 'application/json');
    return JSON.stringify({ unit: { url: config.unitUrl, path_based_cellurl_enabled: config.cellUrlMode === 'path' } });
  });

  // apiref 001
  app.get('/crossdomain.xml', { config: { privilege: 'none' } }, async (_req, reply) => {
    reply.header('content-type', 'application/xml');
    return CROSSDOMAIN_XML;
  });

  refuseOtherMethods(app, '/crossdomain.xml', ['GET']);
  refuseOtherMethods(app, '/', ['GET']);

  // apiref 100–104: `{UnitURL}__ctl/Cell…`
  app.route({
    method: ODATA_METHODS as unknown as string[],
    url: '/__ctl/*',
    config: { privilege: 'unit-user' },
    handler: async (req, reply) => {
      const target = parseResourcePath(pathAfter(req, '/__ctl/'), unitSets);
      const res = await serviceFor(req.principal).handle({
        method: req.method,
        target,
        query: queryRecord(req),
        body: bodyOf(req),
        ifMatch: headerValue(req, 'if-match'),
        header: (name) => headerValue(req, name),
      });
      return answer(reply, res);
    },
  });

  // apiref 105: DELETE {CellURL} with X-Personium-Recursive: true.
  for (const url of ['/:cell/', '/:cell']) {
    app.delete<{ Params: { cell: string } }>(url, { config: { privilege: 'unit-user' } }, async (req, reply) => {
      assertCellAddressing(req.raw.kuraCellHost, config.cellUrlMode);
      const recursive = headerValue(req, 'x-personium-recursive');
      if (recursive?.toLowerCase() !== 'true') {
        throw new PersoniumError('PR412-MC-0001', ['X-Personium-Recursive']);
      }
      const acting = actingUnitUser(req.principal);
      await deleteCellRecursively(store, blobs, req.params.cell, acting?.restricted ? acting.name : undefined);
      return reply.code(204).send();
    });
  }
}

/** The unit user a caller acts as, and whether that limits it to its own cells. */
function actingUnitUser(p: Principal): { name: string; restricted: boolean } | undefined {
  if (p.kind === 'unit-master') return p.unitUser === undefined ? undefined : { name: p.unitUser, restricted: true };
  if (p.kind === 'unit-user') return { name: p.subject, restricted: !p.rights.unitAdmin };
  return undefined;
}

function ownedBy(owner: string, dialect: Dialect): Restriction {
  return {
    set: 'Cell',
    where: jsonStringEquals('props', '__owner', owner, dialect),
    allows: (cell) => cell.props.__owner === owner,
    error: () => new PersoniumError('PR403-AU-0003'),
  };
}

/** In subdomain mode a cell is reachable only through its own host name, never as a unit path. */
function assertCellAddressing(cellHost: string | undefined, mode: KuraConfig['cellUrlMode']): void {
  if (mode === 'subdomain' && cellHost === undefined) throw new PersoniumError('PR404-MC-0001');
}
