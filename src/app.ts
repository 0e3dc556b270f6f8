import type { FastifyInstance } from 'fastify';
import type { KuraConfig } from './config.js';
import { createHttp, refuseOtherMethods } from './http/lifecycle.js';
import { HttpMetrics } from './http/metrics.js';
import { PasswordHasher } from './personium/auth/passwords.js';
import { cellRoutes } from './personium/cell/routes.js';
import { unitRoutes } from './personium/unit/routes.js';
import { openDatabase, type OpenDatabase } from './store/database.js';
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
  });
  const store = new EntityStore(database.db, database.dialect);
  const metrics = new HttpMetrics();
  const http = await createHttp({ config, metrics });

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
  await http.register(unitRoutes, { config, store });
  await http.register(cellRoutes, { config, store, passwords });
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
