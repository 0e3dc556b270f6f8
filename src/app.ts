import type { FastifyInstance } from 'fastify';
import type { KuraConfig } from './config.js';
import { createHttp, refuseOtherMethods } from './http/lifecycle.js';
import { HttpMetrics } from './http/metrics.js';
import { IssuerKeys } from './personium/auth/issuer-keys.js';
import { loadOrCreateUnitKeys } from './personium/auth/keys.js';
import { OutboundClient } from './personium/auth/outbound.js';
import { PasswordHasher } from './core/passwords.js';
import { hexabaseRoutes } from './hexabase/http/routes.js';
import { PrincipalResolver } from './personium/auth/principal.js';
import { RoleResolver } from './personium/auth/roles.js';
import { TokenCodec } from './personium/auth/tokens.js';
import { localCellName } from './personium/cell-url.js';
import { ReadCache } from './personium/read-cache.js';
import { cellRoutes } from './personium/cell/routes.js';
import { unitRoutes } from './personium/unit/routes.js';
import { openDatabase, type OpenDatabase } from './store/database.js';
import { BlobStore } from './store/blob-store.js';
import { EntityStore } from './store/entity-store.js';

export interface KuraApp {
  http: FastifyInstance;
  database: OpenDatabase;
  store: EntityStore;
  /** Stops accepting requests, lets in-flight ones finish, then closes the database. */
  close(): Promise<void>;
}

export interface CreateAppOptions {
  config: KuraConfig;
}

/** The composition root: adapters from config → services → HTTP (STYLE.md item 12). */
export async function createApp({ config }: CreateAppOptions): Promise<KuraApp> {
  const database = await openDatabase({
    dataDir: config.dataDir,
    databaseUrl: config.databaseUrl,
    pgSchema: config.databaseSchema,
    sqliteMmapMiB: config.sqliteMmapMiB,
  });
  const store = new EntityStore(database.db, database.dialect);
  const blobs = new BlobStore(config.dataDir);
  const cache = new ReadCache();
  store.onWrite((change) => {
    cache.bump('listing');
    if (change === 'any') cache.bump('tree');
  });
  store.onEntityWrite((change) => cache.entityChanged(change));
  const metrics = new HttpMetrics();
  const keys = await loadOrCreateUnitKeys(config.dataDir);
  const codec = new TokenCodec(keys);
  const outbound = new OutboundClient({
    allowPrivate: config.auth.outboundAllowPrivate,
    trustedHosts: [new URL(config.unitUrl).host],
  });
  const isLocalCell = (url: string) => localCellName(config.unitUrl, config.cellUrlMode, url) !== undefined;
  const issuerKeys = new IssuerKeys(keys, isLocalCell, outbound);
  const principals = new PrincipalResolver({
    unitUrl: config.unitUrl,
    masterToken: config.masterToken,
    unitUserIssuers: config.auth.unitUserCells,
    codec,
    issuerKeys,
  });
  const roles = new RoleResolver(store, config.unitUrl, config.cellUrlMode);
  const http = await createHttp({ config, metrics, principals });

  http.get('/__status', { config: { privilege: 'none' } }, async (_req, reply) => {
    const ok = await database.ping();
    reply.code(ok ? 200 : 503).header('content-type', 'application/json');
    return JSON.stringify({ status: ok ? 'ok' : 'unavailable', database: database.dialect });
  });
  http.get('/__metrics', { config: { privilege: 'none' } }, async (_req, reply) => {
    reply.header('content-type', metrics.contentType);
    return metrics.render();
  });

  refuseOtherMethods(http, '/__status', ['GET']);
  refuseOtherMethods(http, '/__metrics', ['GET']);

  const passwords = new PasswordHasher(config.scrypt);
  await http.register(unitRoutes, { config, store, blobs });
  await http.register(cellRoutes, { config, store, auth: { passwords, codec, keys, issuerKeys, roles, principals, outbound }, blobs, cache });
  await http.register(hexabaseRoutes, { prefix: '/api/v0', config, store, passwords, blobs, cache });
  await http.ready();

  let closing: Promise<void> | undefined;
  return {
    http,
    database,
    store,
    close() {
      closing ??= http.close().then(() => database.close());
      return closing;
    },
  };
}
