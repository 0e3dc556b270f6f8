import type { Kysely } from 'kysely';
import { PersoniumError } from '../../core/errors/personium-error.js';
import { ODataService, type ODataResponse } from '../../odata/service.js';
import type { EntitySetDescriptor } from '../../odata/descriptor.js';
import { decodeSegment, parseResourcePath } from '../../odata/resource-path.js';
import type { EntityStore, Scope } from '../../store/entity-store.js';
import { PropertyIndexes } from '../../store/property-indexes.js';
import type { Database } from '../../store/schema.js';
import type { ReadCache } from '../read-cache.js';
import type { DavResponse, ServiceCall } from '../dav/dav-service.js';
import { readBytes } from '../dav/requests.js';
import { SCHEMA_SET_NAMES, atomServiceDocument, writeEdmx } from './edmx.js';
import { handleBatch } from './batch.js';
import { handleEndLinks, isEndLinkPath } from './end-links.js';
import { schemaHooks } from './schema-hooks.js';
import { dataScope, loadSchema, schemaScope, type SchemaModel } from './schema-model.js';
import { isSimpleType, schemaSets } from './schema-sets.js';
import { userDataModel, userDataService, type UserDataModel } from './data-model.js';

/** Largest JSON body of a schema or data request (a `$batch` has its own limit). */
const JSON_LIMIT = 1024 * 1024;

export interface ODataCollectionDeps {
  store: EntityStore;
  /** Keeps each collection's schema between requests (the `schema` domain drops it on change). */
  cache?: ReadCache;
}


/**
 * Everything below an OData service collection (apiref 316–378): the service document, the
 * EDMX, the schema objects under `$metadata/` and the user data. Reads need `read` on the
 * collection, schema changes `alter-schema`, data changes `write` (apiref 006).
 */
export function odataCollectionHandler({ store, cache }: ODataCollectionDeps) {
  const indexes = new PropertyIndexes(store.executor as Kysely<Database>, store.dialect);
  /** A collection's schema with what user data requests derive from it, read once per change. */
  const modelOf = (schemaAt: Scope): UserDataModel | Promise<UserDataModel> => {
    const load = async (): Promise<UserDataModel> => {
      const schema = await loadSchema(store, schemaAt);
      // Queries over declared properties must find an index (store/property-indexes.ts).
      await indexes.ensure(indexedProperties(schema));
      return userDataModel(schema, schemaAt);
    };
    return cache ? cache.through('schema', `schema|${schemaAt.nodeId}`, load) : load();
  };

  /**
   * The engine over a collection's user data, made once per schema model: a model belongs to one
   * collection, so only the collection's URL can differ (a MOVE changes it, not the model).
   */
  const services = new WeakMap<UserDataModel, { url: string; service: ODataService }>();
  const serviceOf = (model: UserDataModel, dataAt: Scope, url: string): ODataService => {
    const made = services.get(model);
    if (made?.url === url) return made.service;
    const service = userDataService(model, store, dataAt, url);
    services.set(model, { url, service });
    return service;
  };

  return async (call: ServiceCall): Promise<DavResponse> => {
    const { req, collection, rest } = call;
    const method = req.method;
    const schemaAt = schemaScope(req.cell.id, req.box.id, collection.id);
    const dataAt = dataScope(req.cell.id, req.box.id, collection.id);
    const segments = rest.split('/');

    /** Runs an OData request against `sets` (the body read only for methods that carry one). */
    const serve = async (service: ODataService, path: string, sets: ReadonlyMap<string, EntitySetDescriptor>) => {
      const target = parseResourcePath(path, sets);
      const body = method === 'GET' || method === 'DELETE' ? undefined : await readBytes(req.body, JSON_LIMIT);
      return fromOData(await service.handle({ method, target, query: req.query, body, ifMatch: req.header('if-match'), header: req.header }));
    };

    if (rest === '' || rest === '/') {
      if (method !== 'GET') throw new PersoniumError('PR405-MC-0001');
      call.authorize('read');
      const sets = [...(await modelOf(schemaAt)).schema.entityTypes.keys()];
      if (wantsJson(req.query.$format, req.header('accept'))) {
        return json(200, JSON.stringify({ d: { EntitySets: sets } }));
      }
      return xml(200, atomServiceDocument(call.collectionUrl, sets), 'application/atomsvc+xml');
    }

    if (segments[0] === '$metadata') {
      const below = segments.slice(1).join('/');
      const serviceRoot = `${call.collectionUrl}$metadata/`;
      if (below === '' || below === '/') {
        if (method !== 'GET') throw new PersoniumError('PR405-MC-0001');
        call.authorize('read');
        if (req.query.$format === 'atomsvc' || /application\/atomsvc\+xml/.test(req.header('accept') ?? '')) {
          return xml(200, atomServiceDocument(serviceRoot, SCHEMA_SET_NAMES), 'application/atomsvc+xml');
        }
        return xml(200, writeEdmx((await modelOf(schemaAt)).schema), 'application/xml');
      }
      call.authorize(method === 'GET' ? 'read' : 'alter-schema');
      const decoded = below.split('/').map(decodeSegment);
      if (isEndLinkPath(decoded)) {
        const body = method === 'POST' ? await readBytes(req.body, JSON_LIMIT) : undefined;
        return fromOData(await handleEndLinks(store, schemaAt, { method, segments: decoded, body, serviceRoot }));
      }
      const service = new ODataService({ store, scope: schemaAt, serviceRoot, sets: schemaSets, hooks: schemaHooks(dataAt) });
      return serve(service, below, schemaSets);
    }

    // apiref 368: several user-data requests in one (privileges decided per operation, in batch.ts).
    if (segments.length === 1 && decodeSegment(rest) === '$batch') {
      if (method !== 'POST') throw new PersoniumError('PR405-MC-0001');
      return handleBatch({ call, store, schemaAt, dataAt, model: () => modelOf(schemaAt) });
    }

    // User data (apiref 364–378).
    call.authorize(method === 'GET' ? 'read' : 'write');
    const model = await modelOf(schemaAt);
    return serve(serviceOf(model, dataAt, call.collectionUrl), rest, model.sets);
  };
}

/** Declared single-valued properties of simple type: the ones `$filter` and `$orderby` address. */
function* indexedProperties(schema: SchemaModel): Iterable<string> {
  for (const props of schema.entityTypes.values()) {
    for (const p of props.values()) if (p.declared && !p.list && isSimpleType(p.type)) yield p.name;
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
