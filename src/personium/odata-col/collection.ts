import { PersoniumError } from '../../core/errors/personium-error.js';
import { ODataService, type ODataResponse } from '../../odata/service.js';
import { parseResourcePath } from '../../odata/resource-path.js';
import type { EntityStore } from '../../store/entity-store.js';
import type { BoxPrivilege } from '../auth/policy.js';
import type { DavResponse, ServiceCall } from '../dav/dav-service.js';
import { readBytes } from '../dav/requests.js';
import { SCHEMA_SET_NAMES, atomServiceDocument, writeEdmx } from './edmx.js';
import { handleEndLinks, isEndLinkPath } from './end-links.js';
import { schemaHooks } from './schema-hooks.js';
import { dataScope, loadSchema, schemaScope } from './schema-model.js';
import { schemaSets } from './schema-sets.js';
import { userDataHooks, userDataSets } from './user-data.js';

/** Largest JSON body of a schema or data request (a `$batch` has its own limit). */
const JSON_LIMIT = 1024 * 1024;

export interface ODataCollectionDeps {
  store: EntityStore;
}

/**
 * Everything below an OData service collection (apiref 316–378): the service document, the
 * EDMX, the schema objects under `$metadata/` and the user data. Reads need `read` on the
 * collection, schema changes `alter-schema`, data changes `write` (apiref 006).
 */
export function odataCollectionHandler({ store }: ODataCollectionDeps) {
  return async (call: ServiceCall): Promise<DavResponse> => {
    const { req, collection, rest } = call;
    const cellId = req.cell.id;
    const boxId = req.box.id;
    const method = req.method;
    const segments = rest.split('/');
    const first = segments[0] ?? '';

    if (rest === '' || rest === '/') {
      if (method !== 'GET') throw new PersoniumError('PR405-MC-0001');
      call.authorize('read');
      const schema = await loadSchema(store, schemaScope(cellId, boxId, collection.id));
      const sets = [...schema.entityTypes.keys()];
      if (wantsJson(req.query.$format, req.header('accept'))) {
        return json(200, JSON.stringify({ d: { EntitySets: sets } }));
      }
      return xml(200, atomServiceDocument(call.collectionUrl, sets), 'application/atomsvc+xml');
    }

    if (first === '$metadata') {
      const below = segments.slice(1).join('/');
      if (below === '' || below === '/') {
        if (method !== 'GET') throw new PersoniumError('PR405-MC-0001');
        call.authorize('read');
        const format = req.query.$format;
        if (format === 'atomsvc' || /application\/atomsvc\+xml/.test(req.header('accept') ?? '')) {
          return xml(200, atomServiceDocument(`${call.collectionUrl}$metadata/`, SCHEMA_SET_NAMES), 'application/atomsvc+xml');
        }
        const schema = await loadSchema(store, schemaScope(cellId, boxId, collection.id));
        return xml(200, writeEdmx(schema), 'application/xml');
      }
      call.authorize(method === 'GET' ? 'read' : 'alter-schema');
      const scope = schemaScope(cellId, boxId, collection.id);
      const decoded = below.split('/').map(decodeSegment);
      if (isEndLinkPath(decoded)) {
        const body = method === 'POST' ? await readBytes(req.body, JSON_LIMIT) : undefined;
        const res = await handleEndLinks(store, scope, { method, segments: decoded, body, serviceRoot: `${call.collectionUrl}$metadata/` });
        return { status: res.status, headers: res.body === undefined ? { dataserviceversion: '2.0' } : { 'content-type': 'application/json', dataserviceversion: '2.0' }, ...(res.body !== undefined ? { body: res.body } : {}) };
      }
      const service = new ODataService({
        store,
        scope,
        serviceRoot: `${call.collectionUrl}$metadata/`,
        sets: schemaSets,
        hooks: schemaHooks(dataScope(cellId, boxId, collection.id)),
      });
      const target = parseResourcePath(below, schemaSets);
      const body = method === 'GET' || method === 'DELETE' ? undefined : await readBytes(req.body, JSON_LIMIT);
      return fromOData(
        await service.handle({ method, target, query: req.query, body, ifMatch: req.header('if-match'), header: req.header }),
      );
    }

    // User data (apiref 364–370).
    call.authorize(method === 'GET' ? 'read' : ('write' satisfies BoxPrivilege));
    const schemaAt = schemaScope(cellId, boxId, collection.id);
    const schema = await loadSchema(store, schemaAt);
    const sets = userDataSets(schema);
    const service = new ODataService({
      store,
      scope: dataScope(cellId, boxId, collection.id),
      serviceRoot: call.collectionUrl,
      sets,
      hooks: userDataHooks(schema, schemaAt),
    });
    const target = parseResourcePath(rest, sets);
    const body = method === 'GET' || method === 'DELETE' ? undefined : await readBytes(req.body, JSON_LIMIT);
    return fromOData(await service.handle({ method, target, query: req.query, body, ifMatch: req.header('if-match'), header: req.header }));
  };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new PersoniumError('PR400-OD-0004');
  }
}

function wantsJson(format: string | undefined, accept: string | undefined): boolean {
  if (format !== undefined) return format === 'json';
  return accept !== undefined && /application\/json/.test(accept);
}

function fromOData(res: ODataResponse): DavResponse {
  return { status: res.status, headers: res.headers ?? {}, ...(res.body !== undefined ? { body: res.body } : {}) };
}

function json(status: number, body: string): DavResponse {
  return { status, headers: { 'content-type': 'application/json', dataserviceversion: '2.0' }, body };
}

function xml(status: number, body: string, type: string): DavResponse {
  return { status, headers: { 'content-type': `${type};charset=utf-8`, dataserviceversion: '1.0' }, body };
}
