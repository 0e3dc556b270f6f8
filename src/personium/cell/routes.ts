import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { KuraConfig } from '../../config.js';
import { PersoniumError } from '../../core/errors/personium-error.js';
import { SUPPORTED_METHODS } from '../../http/cors.js';
import { parseResourcePath } from '../../odata/resource-path.js';
import { ODataService } from '../../odata/service.js';
import type { EntityStore, StoredEntity } from '../../store/entity-store.js';
import { cellUrl } from '../cell-url.js';
import { bodyOf, headerValue, pathAfter, queryRecord, sendOData } from '../http/odata-adapter.js';
import { findCell } from '../unit/cells.js';
import { cellCtlHooks } from './ctl-hooks.js';
import { cellCtlSets } from './ctl-sets.js';
import type { PasswordHasher } from '../auth/passwords.js';

export interface CellRoutesOptions {
  config: KuraConfig;
  store: EntityStore;
  passwords: PasswordHasher;
}

const ODATA_METHODS = SUPPORTED_METHODS.filter((m) => m !== 'OPTIONS' && m !== 'HEAD');

/** The cell a request addresses, or PR404-DV-0003. Subdomain mode only knows cells by host name. */
export async function requestedCell(
  req: FastifyRequest<{ Params: { cell: string } }>,
  store: EntityStore,
  config: KuraConfig,
): Promise<StoredEntity> {
  if (config.cellUrlMode === 'subdomain' && req.raw.kuraCellHost === undefined) throw new PersoniumError('PR404-MC-0001');
  const cell = await findCell(store, req.params.cell);
  if (!cell) throw new PersoniumError('PR404-DV-0003');
  return cell;
}

/** Cell-level Personium API: cell root and metadata (200, 296) and the control objects (201–266, 2AB–2B0). */
export async function cellRoutes(app: FastifyInstance, { config, store, passwords }: CellRoutesOptions): Promise<void> {
  const hooks = cellCtlHooks(passwords);

  // apiref 296 (Accept: application/json) and 200 (HTML otherwise).
  for (const url of ['/:cell/', '/:cell']) {
    app.get<{ Params: { cell: string } }>(url, { config: { privilege: 'none' } }, async (req, reply) => {
      const cell = await requestedCell(req, store, config);
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
      return cellRootHtml(name, url);
    });
  }

  app.route<{ Params: { cell: string } }>({
    method: ODATA_METHODS as unknown as string[],
    url: '/:cell/__ctl/*',
    config: { privilege: 'unit-user' },
    handler: async (req, reply) => {
      const cell = await requestedCell(req, store, config);
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
      return sendOData(reply, res);
    },
  });
}

/** apiref 296 needs `Accept: application/json`; anything else (browsers) gets the cell root page of 200. */
function prefersJson(accept: string | undefined): boolean {
  return accept !== undefined && /\bapplication\/json\b/i.test(accept) && !/\btext\/html\b/i.test(accept);
}

/**
 * apiref 200 relays an operator-configured HTML page (relayhtmlurl). Until cell properties exist
 * kura serves a small page of its own so a browser landing on a cell URL sees what it is.
 */
function cellRootHtml(name: string, url: string): string {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(name)}</title></head>
<body><h1>${esc(name)}</h1><p>This is the Personium cell <a href="${esc(url)}">${esc(url)}</a>, served by kura.</p></body></html>
`;
}
