import type { FastifyRequest } from 'fastify';
import type { EntityStore } from '../../store/entity-store.js';
import type { PropertyIndexes } from '../../store/property-indexes.js';
import type { ReadCache } from '../../personium/read-cache.js';
import type { Applications } from '../applications/applications.js';
import { DatastoreResolver } from '../items/context.js';
import { Histories } from '../items/histories.js';
import { Items, type ItemFiles } from '../items/items.js';
import { ItemLinks } from '../items/links.js';
import { ItemRenderer, type FileDescriber } from '../items/render.js';
import { ItemSearch } from '../items/search.js';
import { UserQueries } from '../items/queries.js';
import { GlobalSearch } from '../items/global-search.js';
import { requireText, type Body } from '../validate.js';
import { orderedId } from '../ids.js';
import { actionFields } from '../items/action-fields.js';

export type Route = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, login: boolean, handler: (req: FastifyRequest) => Promise<unknown>) => void;

interface ItemRouteDeps {
  store: EntityStore;
  applications: Applications;
  indexes: PropertyIndexes;
  cache?: ReadCache | undefined;
  files?: (FileDescriber & ItemFiles) | undefined;
  jsonBody: (req: FastifyRequest) => Body;
  /** The body as JSON when there is one, `{}` when empty (DELETE bodies are optional). */
  optionalBody: (req: FastifyRequest) => Body;
}

interface ItemParams {
  actionId: string;
  appId: string;
  datastoreId: string;
  itemId: string;
  historyId: string;
  fieldId: string;
  linkedDatastoreId: string;
}

/** The item endpoints (items-search/, item-actions/ writes, item-links/, item-histories/). */
export function itemRoutes(route: Route, deps: ItemRouteDeps): { items: Items; search: ItemSearch } {
  const { store, jsonBody, optionalBody } = deps;
  const resolver = new DatastoreResolver(store, deps.applications, deps.cache);
  const renderer = new ItemRenderer(store, deps.files);
  const histories = new Histories(store, resolver);
  const links = new ItemLinks(store, resolver, renderer);
  const items = new Items(store, resolver, renderer, deps.files);
  const search = new ItemSearch(store, resolver, renderer, histories, links, deps.indexes);
  const p = (req: FastifyRequest) => req.params as ItemParams;
  const user = (req: FastifyRequest) => req.hxSession!.userId;
  const q = (req: FastifyRequest) => req.query as Record<string, unknown>;
  const base = '/applications/:appId/datastores/:datastoreId';

  route('POST', `${base}/items/new`, true, async (req) => items.create(user(req), p(req).appId, p(req).datastoreId, jsonBody(req)));
  route('POST', `${base}/items/edit/:itemId`, true, async (req) => items.update(user(req), p(req).appId, p(req).datastoreId, p(req).itemId, jsonBody(req)));
  route('DELETE', `${base}/items/delete/:itemId`, true, async (req) => items.remove(user(req), p(req).appId, p(req).datastoreId, p(req).itemId, optionalBody(req)));
  route('DELETE', `${base}/items/delete`, true, async (req) => {
    const { ctx, select } = await search.selectForDelete(user(req), p(req).appId, p(req).datastoreId, jsonBody(req));
    return items.removeWhere(ctx, select);
  });
  // Actions (item-actions/).
  route('GET', '/datastores/:datastoreId/new-action', true, async (req) => items.newActions(await resolver.resolve(user(req), undefined, p(req).datastoreId)));
  route('POST', '/datastores/:datastoreId/items/create-id', true, async (req) => {
    await resolver.resolve(user(req), undefined, p(req).datastoreId);
    return { item_id: orderedId() };
  });
  route('POST', '/items/:itemId/new-actions/:actionId', true, async (req) => items.createWithId(user(req), p(req).itemId, p(req).actionId, jsonBody(req)));
  route('GET', '/datastores/:datastoreId/actions/:actionId/fields', true, async (req) =>
    actionFields(await resolver.resolve(user(req), undefined, p(req).datastoreId), p(req).actionId),
  );
  route('POST', `${base}/items/action/:itemId/:actionId`, true, async (req) =>
    items.execute(user(req), p(req).appId, p(req).datastoreId, p(req).itemId, p(req).actionId, jsonBody(req)),
  );
  route('POST', '/items/:itemId/actions/:actionId', true, async (req) => {
    const body = jsonBody(req);
    return items.execute(user(req), undefined, requireText(body.datastore_id, 'datastore_id'), p(req).itemId, p(req).actionId, body);
  });
  route('POST', `${base}/items/bulkaction/:actionId`, true, async (req) => {
    const body = jsonBody(req);
    return items.bulk(user(req), p(req).appId, p(req).datastoreId, p(req).actionId, body, (ctx, limit) => search.selectForBulk(ctx, body, limit));
  });
  route('GET', `${base}/fields/:fieldId/autonum`, true, async (req) => items.autoNumber(user(req), p(req).appId, p(req).datastoreId, p(req).fieldId, q(req)));

  route('POST', `${base}/items/search`, true, async (req) => search.list(user(req), p(req).appId, p(req).datastoreId, jsonBody(req)));
  // GET on the page, POST in the overview table: both are served.
  for (const method of ['GET', 'POST'] as const) {
    route(method, `${base}/items/conditions`, true, async (req) => search.conditions(user(req), p(req).appId, p(req).datastoreId));
  }
  route('GET', `${base}/items/details/:itemId`, true, async (req) => search.details(user(req), p(req).appId, p(req).datastoreId, p(req).itemId, q(req)));
  route('GET', '/datastores/:datastoreId/items/:itemId', true, async (req) => search.details(user(req), undefined, p(req).datastoreId, p(req).itemId, q(req)));

  route('POST', `${base}/items/addlink/:itemId`, true, async (req) => links.add(user(req), p(req).appId, p(req).datastoreId, p(req).itemId, jsonBody(req)));
  route('POST', `${base}/items/updatelink/:itemId`, true, async (req) => links.replace(user(req), p(req).appId, p(req).datastoreId, p(req).itemId, jsonBody(req)));
  // DELETE on the page, POST in the seed's detail: both are served.
  for (const method of ['DELETE', 'POST'] as const) {
    route(method, `${base}/items/dellink/:itemId`, true, async (req) => links.remove(user(req), p(req).appId, p(req).datastoreId, p(req).itemId, jsonBody(req)));
  }
  route('GET', `${base}/items/links/:itemId`, true, async (req) => links.list(user(req), p(req).appId, p(req).datastoreId, p(req).itemId, q(req)));
  route('GET', '/datastores/:datastoreId/items/:itemId/links/:linkedDatastoreId', true, async (req) =>
    links.list(user(req), undefined, p(req).datastoreId, p(req).itemId, q(req), p(req).linkedDatastoreId),
  );

  route('GET', `${base}/items/histories/:itemId`, true, async (req) => histories.list(user(req), p(req).appId, p(req).datastoreId, p(req).itemId, q(req)));
  route('POST', `${base}/items/histories/:itemId`, true, async (req) => histories.post(user(req), p(req).appId, p(req).datastoreId, p(req).itemId, jsonBody(req)));
  route('PUT', `${base}/items/histories/:itemId/:historyId`, true, async (req) =>
    histories.change(user(req), p(req).appId, p(req).datastoreId, p(req).itemId, p(req).historyId, jsonBody(req)),
  );
  route('DELETE', `${base}/items/histories/:itemId/:historyId`, true, async (req) =>
    histories.change(user(req), p(req).appId, p(req).datastoreId, p(req).itemId, p(req).historyId, undefined),
  );
  // The seed's older paths for the same two calls.
  route('GET', '/datastores/:datastoreId/items/:itemId/histories', true, async (req) => histories.list(user(req), undefined, p(req).datastoreId, p(req).itemId, q(req)));
  route('POST', '/datastores/:datastoreId/items/histories', true, async (req) => {
    const body = jsonBody(req);
    return histories.post(user(req), undefined, p(req).datastoreId, String(body.item_id ?? ''), body);
  });
  const queries = new UserQueries(store, resolver);
  route('GET', '/applications/:appId/queries', true, async (req) => queries.list(user(req), p(req).appId));
  route('POST', '/applications/:appId/queries', true, async (req) => queries.save(user(req), p(req).appId, jsonBody(req)));
  route('DELETE', '/applications/:appId/queries/:queryId', true, async (req) => queries.remove(user(req), p(req).appId, (req.params as { queryId: string }).queryId));

  const global = new GlobalSearch(store, deps.applications, resolver, search);
  route('POST', '/globalsearch', true, async (req) => global.run(user(req), jsonBody(req)));
  return { items, search };
}
