import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { KuraConfig } from '../../config.js';
import type { PasswordHasher } from '../../core/passwords.js';
import type { EntityStore, StoredEntity } from '../../store/entity-store.js';
import type { Database } from '../../store/schema.js';
import type { Kysely } from 'kysely';
import { Accounts } from '../accounts/accounts.js';
import type { Body } from '../validate.js';
import { Credentials } from '../accounts/credentials.js';
import { SessionStore } from '../auth/sessions.js';
import { HexabaseError, renderHexabaseError } from '../errors.js';
import { mailerFor, type Mailer } from '../mail/mailer.js';
import { Workspaces } from '../workspaces/workspaces.js';
import { Groups } from '../groups/groups.js';
import { Members } from '../groups/members.js';
import { UserImport } from '../groups/user-import.js';
import { readFormData } from './form-data.js';
import { Applications } from '../applications/applications.js';
import { Datastores } from '../applications/datastores.js';
import { PropertyIndexes } from '../../store/property-indexes.js';
import { BlobStore } from '../../store/blob-store.js';
import { Files } from '../files/files.js';
import { fileRoutes } from '../files/routes.js';
import { CsvText } from '../items/search.js';
import type { ReadCache } from '../../personium/read-cache.js';
import { itemRoutes } from './item-routes.js';
import { reportRoutes } from '../reports/routes.js';
import { importRoutes, importUploadRoutes } from '../import/routes.js';

export interface HexabaseRoutesOptions {
  config: KuraConfig;
  store: EntityStore;
  passwords: PasswordHasher;
  /** Bodies of item attachments (UploadFile); defaults to the blob store of the data directory. */
  blobs?: BlobStore;
  /** Item requests keep what they resolve (caller, application, datastore) here. */
  cache?: ReadCache;
  /** Defaults to the outbox in the data directory. */
  mailer?: Mailer;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The Hexabase user of a route that requires login, and the token it came with. */
    hxSession: { userId: string; token: string } | undefined;
  }
}

/**
 * The Hexabase API v0 under `/api/v0/` (issue 6), over the same store as the Personium dialect.
 * Its routes authenticate their own bearer tokens and answer errors in the Hexabase shape.
 */
export async function hexabaseRoutes(app: FastifyInstance, options: HexabaseRoutesOptions): Promise<void> {
  const { config, store } = options;
  const mailer = options.mailer ?? mailerFor(config);
  const groups = new Groups(store);
  const applications = new Applications(store, groups);
  const sessions = new SessionStore(store.executor as Kysely<Database>, config.auth.hexabaseSessionSeconds * 1000);
  const accounts = new Accounts({
    store,
    passwords: options.passwords,
    sessions,
    mailer,
    lockCount: config.auth.lockCount,
    lockSeconds: config.auth.lockSeconds,
    rolesOf: (user, workspaceKey) => applications.userRoles(user, workspaceKey),
  });

  // Groups and applications are read by workspace, roles by application: indexes keep those lookups.
  const indexes = new PropertyIndexes(store.executor as Kysely<Database>, store.dialect);
  // Built in the background: on PostgreSQL a CONCURRENTLY build waits for every older transaction in
  // the database, and the server must not wait for that to start (lookups work meanwhile, slower).
  indexes.ensure(['w_id', 'p_id']).catch((err: unknown) => app.log.error({ err }, 'building the Hexabase lookup indexes failed'));
  app.decorateRequest('hxSession', undefined);
  app.setErrorHandler((err, req, reply) => renderHexabaseError(err as Error, req, reply));

  /** Public routes (login and the flows before it) and those that need a token. */
  const route = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, login: boolean, handler: (req: FastifyRequest) => Promise<unknown>) =>
    app.route({
      method,
      url,
      config: { privilege: 'none', hexabase: true },
      handler: async (req: FastifyRequest, reply: FastifyReply) => {
        if (login) req.hxSession = await accounts.authenticate(req.headers.authorization);
        const result = await handler(req);
        if (result instanceof CsvText) {
          reply.code(200).header('content-type', 'text/csv; charset=utf-8');
          return result.text;
        }
        reply.code(200).header('content-type', 'application/json; charset=utf-8');
        return JSON.stringify(result);
      },
    });
  const session = (req: FastifyRequest) => req.hxSession!;
  const query = (req: FastifyRequest) => req.query as Record<string, unknown>;

  route('POST', '/login', false, async (req) => accounts.login(jsonBody(req)));
  route('POST', '/users/logout', true, async (req) => accounts.logout(session(req).token));
  route('POST', '/users/registration', false, async (req) => accounts.startRegistration(jsonBody(req)));
  route('GET', '/users/registration/confirm', false, async (req) => accounts.confirmRegistration(query(req).id));
  route('POST', '/users/registration/confirm', false, async (req) => accounts.completeRegistration(jsonBody(req)));
  route('GET', '/userinfo', true, async (req) => accounts.userInfo(session(req).userId));

  const credentials = new Credentials({
    store,
    passwords: options.passwords,
    sessions,
    mailer,
    defaultOrigin: new URL(config.unitUrl).origin,
  });
  route('PUT', '/userinfo', true, async (req) => credentials.updateInfo(session(req).userId, jsonBody(req)));
  route('PUT', '/users/password', true, async (req) => credentials.setPassword(session(req).userId, session(req).token, jsonBody(req)));
  route('POST', '/users/password/forgot', false, async (req) => credentials.requestReset(jsonBody(req)));
  route('PUT', '/users/password/forgot', false, async (req) => credentials.completeReset(jsonBody(req)));
  route('GET', '/users/password/validate', false, async (req) => credentials.validateReset(query(req).id));
  route('POST', '/users/email', true, async (req) => credentials.requestEmailChange(session(req).userId, jsonBody(req)));
  route('GET', '/users/confirmations/:confirmationId', false, async (req) =>
    credentials.confirmEmailChange((req.params as { confirmationId: string }).confirmationId),
  );
  route('POST', '/users/confirmations', true, async (req) => credentials.completeEmailChange(session(req).userId, jsonBody(req)));

  const workspaces = new Workspaces(store);
  const workspaceId = (req: FastifyRequest) => (req.params as { workspaceId: string }).workspaceId;
  route('GET', '/workspaces', true, async (req) => workspaces.list(session(req).userId));
  route('POST', '/workspaces', true, async (req) => workspaces.createFor(session(req).userId, jsonBody(req).name));
  route('POST', '/workspaces/:workspaceId/select', true, async (req) => workspaces.select(session(req).userId, workspaceId(req)));
  route('GET', '/workspaces/:workspaceId/password-policy', true, async (req) => workspaces.passwordPolicy(session(req).userId, workspaceId(req)));
  route('GET', '/workspaces/:workspaceId/usages', true, async (req) => workspaces.usage(session(req).userId, workspaceId(req)));
  // The page's sample says `functionality`, the folder's README `functionalities`: both are served.
  for (const url of ['/workspaces/:workspaceId/functionality', '/workspaces/:workspaceId/functionalities']) {
    route('GET', url, true, async (req) => workspaces.functionality(session(req).userId, workspaceId(req)));
  }


  const params = (req: FastifyRequest) => req.params as Record<string, string> & { groupId: string; workspaceId: string; parentId: string };
  const fullGroup = (g: StoredEntity) => ({
    group: {
      access_key: String(g.props.access_key),
      created_at: String(g.props.created_at),
      display_id: String(g.props.display_id),
      g_id: g.key,
      id: g.key,
      index: Number(g.props.index),
      is_root: g.props.is_root === true,
      name: String(g.props.name),
    },
    groupTree_datastores_res: null,
  });
  route('GET', '/groups', true, async (req) => groups.get(session(req).userId, undefined));
  route('GET', '/groups/:groupId', true, async (req) => groups.get(session(req).userId, params(req).groupId));
  route('GET', '/grouptree', true, async (req) => groups.tree(session(req).userId));
  // CreateGroup: the page's path, and the seed table's with the workspace in it.
  route('POST', '/groups/:parentId', true, async (req) => fullGroup(await groups.create(session(req).userId, undefined, params(req).parentId, jsonBody(req))));
  route('POST', '/workspaces/:workspaceId/groups/:parentId', true, async (req) =>
    fullGroup(await groups.create(session(req).userId, params(req).workspaceId, params(req).parentId, jsonBody(req))),
  );
  route('POST', '/workspaces/:workspaceId/groups', true, async (req) => {
    const g = await groups.create(session(req).userId, params(req).workspaceId, undefined, jsonBody(req));
    const { name, id, g_id, access_key, display_id, created_at } = fullGroup(g).group;
    return { group: { name, id, g_id, access_key, display_id, created_at } };
  });
  route('PUT', '/workspaces/:workspaceId/groups/:groupId', true, async (req) =>
    groups.update(session(req).userId, params(req).workspaceId, params(req).groupId, jsonBody(req)),
  );
  route('PUT', '/groups/:groupId', true, async (req) => groups.update(session(req).userId, undefined, params(req).groupId, jsonBody(req)));
  // The page shows a body that repeats the path's ids: it is not needed and not read.
  route('DELETE', '/groups/:groupId', true, async (req) => groups.remove(session(req).userId, params(req).groupId));

  const members = new Members(store, groups, mailer);
  const flag = (value: unknown) => value === 'true' || value === '1';
  route('POST', '/users', true, async (req) => members.add(session(req).userId, jsonBody(req)));
  route('DELETE', '/users', true, async (req) => members.remove(session(req).userId, jsonBody(req)));
  route('POST', '/userinvite', true, async (req) => members.invite(session(req).userId, jsonBody(req)));
  route('GET', '/groups/:groupId/users', true, async (req) => members.inGroup(session(req).userId, params(req).groupId, flag(query(req).recursive)));
  route('GET', '/workspaces/:workspaceId/users', true, async (req) => members.byGroup(session(req).userId, params(req).workspaceId, flag(query(req).admin_only)));
  route('GET', '/users/all/g/:groupId', true, async (req) => members.allBelow(session(req).userId, params(req).groupId));
  const userImport = new UserImport({ store, groups, members, passwords: options.passwords });
  route('POST', '/userimport', true, async (req) => userImport.run(session(req).userId, await readFormData(req.headers['content-type'], req.body)));

  // Applications (kura's definition endpoint) and roles (roles/).
  const appParams = (req: FastifyRequest) => req.params as { appId: string; roleId: string; workspaceId: string; groupId: string };
  route('POST', '/applications', true, async (req) => applications.create(session(req).userId, jsonBody(req)));
  route('GET', '/workspaces/:workspaceId/applications', true, async (req) => applications.list(session(req).userId, appParams(req).workspaceId));
  route('PUT', '/grouproles/:groupId', true, async (req) => applications.setGroupRoles(session(req).userId, appParams(req).groupId, jsonBody(req), false));
  route('POST', '/grouproles/:groupId', true, async (req) => applications.setGroupRoles(session(req).userId, appParams(req).groupId, jsonBody(req), true));
  route('POST', '/applications/:appId/userroles', true, async (req) => applications.setUserRole(session(req).userId, appParams(req).appId, jsonBody(req), true));
  route('DELETE', '/applications/:appId/userroles', true, async (req) => applications.setUserRole(session(req).userId, appParams(req).appId, jsonBody(req), false));
  route('GET', '/applications/:appId/roleusers/:roleId', true, async (req) =>
    applications.roleUsers(session(req).userId, appParams(req).appId, appParams(req).roleId),
  );
  route('PUT', '/applications/:appId', true, async (req) => applications.update(session(req).userId, appParams(req).appId, jsonBody(req)));
  route('DELETE', '/applications/:appId', true, async (req) => applications.remove(session(req).userId, appParams(req).appId));

  const datastores = new Datastores(store, applications);
  const dsParams = (req: FastifyRequest) => req.params as { appId: string; datastoreId: string };
  route('POST', '/applications/:appId/datastores', true, async (req) => datastores.create(session(req).userId, dsParams(req).appId, jsonBody(req)));
  route('PUT', '/applications/:appId/datastores/:datastoreId', true, async (req) =>
    datastores.update(session(req).userId, dsParams(req).appId, dsParams(req).datastoreId, jsonBody(req)),
  );
  route('DELETE', '/applications/:appId/datastores/:datastoreId', true, async (req) =>
    datastores.remove(session(req).userId, dsParams(req).appId, dsParams(req).datastoreId),
  );
  route('GET', '/applications/:appId/datastores/:datastoreId/fields', true, async (req) =>
    datastores.fields(session(req).userId, dsParams(req).appId, dsParams(req).datastoreId),
  );

  // Item attachments (item-files/): a plugin of its own, whose request bodies stay streams.
  const files = new Files({ store, blobs: options.blobs ?? new BlobStore(config.dataDir), applications, maxBytes: config.fileLimit });
  await app.register(fileRoutes, { files, authenticate: (authorization) => accounts.authenticate(authorization) });

  itemRoutes(route, { store, applications, indexes, files, cache: options.cache, jsonBody, optionalBody });
  // CSV import (items-import/): results through the shared routes, the upload in a plugin whose bodies stay streams.
  const imports = importRoutes(route, { store, applications, indexes, files, cache: options.cache, dataDir: config.dataDir, maxBytes: config.fileLimit });
  await app.register(importUploadRoutes, { imports, authenticate: (authorization) => accounts.authenticate(authorization) });
  reportRoutes(route, { store, applications, indexes, files, cache: options.cache, jsonBody, optionalBody });

  // Everything else below /api/v0/ is the Hexabase dialect's 404 (not a Personium cell named "api").
  app.route({
    method: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'],
    url: '/*',
    config: { privilege: 'none', hexabase: true },
    handler: async (req) => {
      throw new HexabaseError('NOT_FOUND', `no API at ${req.method} ${req.url.split('?')[0]}`);
    },
  });
}

/** A JSON object body that may also be left out (DeleteItem's page asks for `{}`, clients forget). */
function optionalBody(req: FastifyRequest): Body {
  const raw = req.body;
  const empty = raw === undefined || raw === null || (Buffer.isBuffer(raw) ? raw.length === 0 : raw === '');
  return empty ? {} : jsonBody(req);
}

/** The request body as a JSON object (kura reads every body as bytes; Hexabase bodies are JSON). */
function jsonBody(req: FastifyRequest): Body {
  const raw = req.body;
  const text = Buffer.isBuffer(raw) ? raw.toString('utf8') : typeof raw === 'string' ? raw : '';
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HexabaseError('INVALID_PARAMS', 'the request body must be a JSON object');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HexabaseError('INVALID_PARAMS', 'the request body must be a JSON object');
  }
  return value as Body;
}
