import path from 'node:path';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ReadCache } from '../../personium/read-cache.js';
import type { EntityStore } from '../../store/entity-store.js';
import type { PropertyIndexes } from '../../store/property-indexes.js';
import type { Applications } from '../applications/applications.js';
import type { Route } from '../http/item-routes.js';
import { DatastoreResolver } from '../items/context.js';
import type { ItemFiles } from '../items/items.js';
import { ItemImports } from './import-items.js';
import { JobStore } from './jobs.js';

interface ImportRouteDeps {
  store: EntityStore;
  applications: Applications;
  /** The data directory: uploads wait for their job in `{dataDir}/imports`. */
  dataDir: string;
  /** The largest CSV file accepted, in bytes (KURA_FILE_LIMIT). */
  maxBytes: number;
  indexes?: PropertyIndexes | undefined;
  cache?: ReadCache | undefined;
  files?: ItemFiles | undefined;
}

/**
 * GetImportResults on the Hexabase routes (JSON answers like every other); returns the service,
 * whose upload route `importUploadRoutes` registers as a plugin of its own.
 */
export function importRoutes(route: Route, deps: ImportRouteDeps): ItemImports {
  const resolver = new DatastoreResolver(deps.store, deps.applications, deps.cache);
  const imports = new ItemImports({
    store: deps.store,
    resolver,
    jobs: new JobStore(deps.store),
    dir: path.join(deps.dataDir, 'imports'),
    maxBytes: deps.maxBytes,
    indexes: deps.indexes,
    files: deps.files,
  });
  route('GET', '/datastores/:datastoreId/import/:tempId', true, async (req) => {
    const { datastoreId, tempId } = req.params as { datastoreId: string; tempId: string };
    return imports.results(req.hxSession!.userId, datastoreId, tempId);
  });
  return imports;
}

export interface ImportUploadOptions {
  imports: ItemImports;
  /** The bearer token's user (Accounts.authenticate): refuses an unknown or missing token. */
  authenticate: (authorization: string | undefined) => Promise<{ userId: string }>;
}

/**
 * ImportItems, registered inside the Hexabase routes (their prefix and error rendering apply). A
 * plugin of its own because its body must stay a stream, as UploadFile's does (files/routes.ts):
 * everywhere else kura reads a body whole, within KURA_BODY_LIMIT, and a CSV file may be far larger.
 */
export async function importUploadRoutes(app: FastifyInstance, { imports, authenticate }: ImportUploadOptions): Promise<void> {
  await imports.prepare();
  imports.log = (err, jobId) => app.log.error({ err, job: jobId }, 'CSV import failed');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
  app.route({
    method: 'POST',
    url: '/applications/:appId/datastores/:datastoreId/import',
    config: { privilege: 'none', hexabase: true },
    handler: async (req: FastifyRequest, reply) => {
      const body = isStream(req.body) ? req.body : undefined;
      try {
        const { userId } = await authenticate(req.headers.authorization);
        const { appId, datastoreId } = req.params as { appId: string; datastoreId: string };
        const result = await imports.start(userId, appId, datastoreId, req.headers['content-type'], body);
        reply.code(200).header('content-type', 'application/json; charset=utf-8');
        return JSON.stringify(result);
      } finally {
        // Refused before (or while) reading it: the rest of the body is dropped, the connection stays usable.
        if (body && !body.readableEnded) body.resume();
      }
    },
  });
}

function isStream(body: unknown): body is Readable {
  return typeof body === 'object' && body !== null && typeof (body as Readable).pipe === 'function';
}
