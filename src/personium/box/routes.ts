import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import type { KuraConfig } from '../../config.js';
import { PersoniumError } from '../../core/errors/personium-error.js';
import { jsonStringEquals } from '../../query/compile.js';
import type { BlobStore } from '../../store/blob-store.js';
import { DavStore } from '../../store/dav-store.js';
import type { EntityStore, Scope, StoredEntity } from '../../store/entity-store.js';
import { authorize } from '../auth/policy.js';
import type { RoleResolver } from '../auth/roles.js';
import { cellUrl } from '../cell-url.js';
import { cellContext } from '../cell/routes.js';
import { DavService, type BoxRef } from '../dav/dav-service.js';
import { answer, headerValue, queryRecord } from '../http/odata-adapter.js';
import type { ReadCache } from '../read-cache.js';
import { odataCollectionHandler } from '../odata-col/collection.js';

export interface BoxRoutesOptions {
  config: KuraConfig;
  store: EntityStore;
  blobs: BlobStore;
  roles: RoleResolver;
  cache: ReadCache;
}

// POST and MERGE reach OData collections (apiref 316–378); elsewhere in a box they are 405. PATCH is
// routed too, so that it is refused with 405 like any method a resource lacks (not 404).
const DAV_METHODS = ['GET', 'PUT', 'DELETE', 'MKCOL', 'MOVE', 'COPY', 'PROPFIND', 'PROPPATCH', 'ACL', 'POST', 'MERGE', 'PATCH'];
const XML_LIMIT = 1024 * 1024;

type BoxRequest = FastifyRequest<{ Params: { cell: string; box: string; '*'?: string } }>;

/**
 * WebDAV under `{cell}/{box}/…` (apiref 305–315, 295). Registered inside the cell plugin, so the
 * cell is loaded and the caller known; each resource is decided by the box policy in DavService.
 * Bodies arrive as streams here (a 1 GiB PUT never sits in memory).
 */
export async function boxRoutes(app: FastifyInstance, { config, store, blobs, roles, cache }: BoxRoutesOptions): Promise<void> {
  const dav = new DavService({ store, blobs, cache, maxFileBytes: config.fileLimit, maxXmlBytes: XML_LIMIT, odata: odataCollectionHandler({ store, cache }) });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

  const handler = async (req: BoxRequest, reply: FastifyReply) => {
    const cellCtx = await cellContext(req, config, roles);
    const box = await cache.through('entity', `box|${req.cell.id}|${req.params.box}`, () => findBox(store, req.cell, cellCtx.url, req.params.box));
    const rawPath = rawPathBelow(req.url, req.params.cell, req.params.box);
    const body = isStream(req.body) ? req.body : undefined;
    if (req.method === 'DELETE' && rawPath === '') {
      await deleteBoxRecursively(req, box, cellCtx, store, blobs);
      return reply.code(204).send();
    }
    const res = await dav.handle({
      method: req.method,
      principal: req.principal,
      cell: req.cell,
      cellCtx,
      box,
      rawPath,
      header: (name) => headerValue(req, name),
      query: queryRecord(req),
      body,
    });
    return answer(reply, res);
  };

  for (const url of ['/:cell/:box', '/:cell/:box/', '/:cell/:box/*']) {
    app.route({
      method: DAV_METHODS,
      url,
      // Decided per resource by the box policy (authorizeBox): the privilege depends on the method and the node.
      config: { privilege: 'box-resource' },
      handler: handler as (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>,
    });
  }

  // apiref 304: which box an app has in this cell.
  app.get('/:cell/__box', { config: { privilege: 'none' } }, async (req, reply) => {
    const root = cellUrl(config.unitUrl, config.cellUrlMode, req.cell.props.Name as string);
    const query = req.query as Record<string, unknown>;
    const p = req.principal;
    const schema =
      typeof query.schema === 'string'
        ? query.schema
        : p.kind === 'cell-user' && p.claims.schema
          ? p.claims.schema
          : undefined;
    if (typeof query.schema === 'string' && !/^(https?:\/\/\S+|urn:\S+|personium-localunit:\S+)$/.test(query.schema)) {
      throw new PersoniumError('PR400-OD-0029', ['schema', query.schema]);
    }
    const box = schema === undefined ? undefined : await boxWithSchema(store, req.cell, schema);
    if (!box) {
      if (p.kind === 'anonymous') throw new PersoniumError('PR401-AU-0001');
      throw new PersoniumError('PR403-AU-0002');
    }
    const url = `${root}${box.props.Name as string}/`;
    reply.header('location', url).header('access-control-expose-headers', 'Location').header('content-type', 'application/json');
    return JSON.stringify({ Url: url });
  });
}

function isStream(body: unknown): body is Readable {
  return typeof body === 'object' && body !== null && typeof (body as Readable).pipe === 'function';
}

/** The path below `/{cell}/{box}/`, still percent-encoded (the router decodes; DAV names are decoded once, by us). */
function rawPathBelow(url: string, cell: string, box: string): string {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const prefix = `/${cell}/${encodeURIComponent(box)}`;
  const rest = path.startsWith(prefix) ? path.slice(prefix.length) : path.split('/').slice(3).join('/');
  return rest.replace(/^\//, '');
}

/** The main box `__` always exists, with the cell URL as its schema (personium-core). */
export async function findBox(store: EntityStore, cell: StoredEntity, cellRoot: string, name: string): Promise<BoxRef> {
  if (name === '__') return { id: '__', name, schema: cellRoot, url: `${cellRoot}__` };
  const entity = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/.test(name) ? await store.get(scopeOf(cell), 'Box', name) : undefined;
  if (!entity) throw new PersoniumError('PR404-DV-0002', [`${cellRoot}${name}`]);
  return { id: entity.id, name, schema: (entity.props.Schema as string | null) ?? null, url: `${cellRoot}${name}` };
}

function scopeOf(cell: StoredEntity): Scope {
  return { cellId: cell.id, boxId: '', nodeId: '' };
}

async function boxWithSchema(store: EntityStore, cell: StoredEntity, schema: string): Promise<StoredEntity | undefined> {
  const variants = new Set([schema, schema.endsWith('/') ? schema.slice(0, -1) : `${schema}/`]);
  for (const s of variants) {
    const found = await store.query(scopeOf(cell), 'Box', { where: jsonStringEquals('props', 'Schema', s, store.dialect), top: 1, skip: 0, count: false });
    if (found.entities[0]) return found.entities[0];
  }
  return undefined;
}

/**
 * apiref 295: `DELETE {cell}/{box}` with `X-Personium-Recursive: true` removes the box, the roles,
 * relations and external roles bound to it, and every file and collection in it.
 */
async function deleteBoxRecursively(
  req: BoxRequest,
  box: BoxRef,
  cellCtx: Awaited<ReturnType<typeof cellContext>>,
  store: EntityStore,
  blobs: BlobStore,
): Promise<void> {
  authorize(req.principal, 'box', cellCtx);
  if (box.id === '__') throw new PersoniumError('PR405-MC-0001');
  if (headerValue(req, 'x-personium-recursive')?.toLowerCase() !== 'true') {
    throw new PersoniumError('PR412-MC-0001', ['X-Personium-Recursive']);
  }
  const scope = scopeOf(req.cell);
  const files = await store.withTransaction(async (trx) => {
    const dialect = trx.dialect;
    const bound = [
      ...(await trx.query(scope, 'ExtRole', { where: jsonStringEquals('props', '_Relation._Box.Name', box.name, dialect), top: 100000, skip: 0, count: false })).entities,
      ...(await trx.query(scope, 'Role', { where: jsonStringEquals('props', '_Box.Name', box.name, dialect), top: 100000, skip: 0, count: false })).entities,
      ...(await trx.query(scope, 'Relation', { where: jsonStringEquals('props', '_Box.Name', box.name, dialect), top: 100000, skip: 0, count: false })).entities,
    ];
    for (const entity of bound) await trx.delete(entity);
    const davStore = new DavStore(trx.executor);
    const fileBlobs = await davStore.blobsOf(req.cell.id, box.id);
    await davStore.deleteBox(req.cell.id, box.id);
    await trx.deleteBoxEntities(req.cell.id, box.id);
    await trx.delete({ id: box.id, scope });
    return fileBlobs;
  });
  await blobs.removeAll(files);
}
