import { PersoniumError, personiumErrorBody } from '../../core/errors/personium-error.js';
import { parseBatch, type BatchItem, type BatchOperation } from '../../odata/batch-request.js';
import { writeBatchResponse, type BatchResult, type OperationResponse } from '../../odata/batch-response.js';
import { boundaryOf, multipartType } from '../../odata/multipart.js';
import { parseResourcePath } from '../../odata/resource-path.js';
import type { EntityStore, Scope } from '../../store/entity-store.js';
import type { DavResponse, ServiceCall } from '../dav/dav-service.js';
import { readBytes } from '../dav/requests.js';
import { toClientError } from '../http/error-renderer.js';
import { userDataModel, userDataService, type UserDataModel } from './data-model.js';
import { loadSchema } from './schema-model.js';

/** Largest `$batch` body: 1000 operations of about 10 KiB each. Larger → 413, as every body limit. */
const BATCH_LIMIT = 10 * 1024 * 1024;

export interface BatchContext {
  call: ServiceCall;
  store: EntityStore;
  schemaAt: Scope;
  dataAt: Scope;
  /** The model as a request outside any transaction sees it (may come from a cache). */
  model: () => UserDataModel | Promise<UserDataModel>;
}

/**
 * `POST {collection}/$batch` over a collection's user data (apiref 368). Query operations run one
 * by one, each on its own. A change set runs in ONE database transaction:
 *
 * deviation: personium-core runs a change set's operations independently (a failure keeps the
 * others). kura applies a change set all or nothing, as OData V2 §2.2.7.6 intends. When one of its
 * operations fails, the transaction is rolled back and — OData V2's shape for a failed change set —
 * the change set is answered by ONE `application/http` part in place of the `multipart/mixed` one:
 * the failing operation's status and Personium error body (with its Content-ID, if it had one).
 * The operations after it are not run. Other parts of the batch are unaffected.
 *
 * Privileges are decided per operation (`read` for GET, `write` otherwise): a refused query
 * operation answers with its own 401/403 part; a refused change operation fails its change set,
 * before any transaction starts. A caller holding neither privilege is refused the whole request.
 *
 * An unexpected failure (a 500 the engine did not mean) is not folded into a part: the request
 * answers 500 and the error is logged with it. Change sets that completed before it stay committed.
 */
export async function handleBatch(ctx: BatchContext): Promise<DavResponse> {
  const { call } = ctx;
  authorizeEither(call);
  const boundary = boundaryOf(call.req.header('content-type'));
  if (!boundary) throw new PersoniumError('PR400-OD-0021', ['Content-Type']);
  const text = (await readBytes(call.req.body, BATCH_LIMIT)).toString('utf8');
  const items = parseBatch(text, boundary, call.collectionUrl);
  const results: BatchResult[] = [];
  for (const item of items) {
    results.push(item.kind === 'operation' ? { kind: 'operation', response: await runQuery(ctx, item.op) } : await runChangeSet(ctx, item));
  }
  return {
    status: 202,
    headers: { 'content-type': multipartType(boundary), dataserviceversion: '2.0' },
    body: writeBatchResponse(boundary, results),
  };
}

/** A part outside a change set: run on the shared store, its writes in their own transaction (the engine's). */
async function runQuery(ctx: BatchContext, op: BatchOperation): Promise<OperationResponse> {
  try {
    authorizeOperation(ctx.call, op);
    return await execute(ctx, ctx.store, await ctx.model(), op);
  } catch (err) {
    return errorResponse(err, op);
  }
}

async function runChangeSet(ctx: BatchContext, item: Extract<BatchItem, { kind: 'changeset' }>): Promise<BatchResult> {
  for (const op of item.ops) {
    try {
      authorizeOperation(ctx.call, op);
    } catch (err) {
      return { kind: 'operation', response: errorResponse(err, op) };
    }
  }
  // Read before the transaction, as a single request does: inside one only its own store may be
  // used (SQLite's group commit), and the loader may build indexes, which on PostgreSQL waits for
  // open transactions to end.
  const initial = await ctx.model();
  try {
    const responses = await ctx.store.withTransaction(async (trx) => {
      let model = initial;
      const out: OperationResponse[] = [];
      for (const op of item.ops) {
        try {
          out.push(await execute(ctx, trx, model, op));
        } catch (err) {
          throw new ChangeSetFailure(op, err);
        }
        // Read again through the transaction, which sees the dynamic properties the operation recorded.
        if (addsProperties(model, op)) model = await loadModel(trx, ctx.schemaAt);
      }
      return out;
    });
    return { kind: 'changeset', boundary: item.boundary, responses };
  } catch (err) {
    if (err instanceof ChangeSetFailure) return { kind: 'operation', response: errorResponse(err.cause, err.op) };
    throw err;
  }
}

/** Thrown out of a change set's transaction to roll it back, carrying what failed. */
class ChangeSetFailure extends Error {
  constructor(
    readonly op: BatchOperation,
    override readonly cause: unknown,
  ) {
    super('change set failed', { cause });
  }
}

/** One operation through the engine, exactly as the same request outside a batch would run. */
async function execute(ctx: BatchContext, store: EntityStore, model: UserDataModel, op: BatchOperation): Promise<OperationResponse> {
  const target = parseResourcePath(op.path, model.sets);
  const service = userDataService(model, store, ctx.dataAt, ctx.call.collectionUrl);
  const header = (name: string) => op.headers.get(name.toLowerCase());
  const res = await service.handle({ method: op.method, target, query: op.query, body: op.body, ifMatch: header('if-match'), header });
  return { status: res.status, headers: res.headers ?? {}, body: res.body, contentId: op.contentId };
}

async function loadModel(store: EntityStore, schemaAt: Scope): Promise<UserDataModel> {
  return userDataModel(await loadSchema(store, schemaAt), schemaAt);
}

/**
 * Whether a successful write may have recorded new dynamic properties (user-data.ts, afterWrite):
 * then the model is read again, or a later operation would record the same property twice — which
 * on PostgreSQL aborts the whole transaction.
 */
function addsProperties(model: UserDataModel, op: BatchOperation): boolean {
  if (op.body === undefined || op.shape === 'links') return false;
  let sent: unknown;
  try {
    sent = JSON.parse(op.body.toString('utf8'));
  } catch {
    return false;
  }
  if (sent === null || typeof sent !== 'object') return false;
  const target = parseResourcePath(op.path, model.sets);
  const type = target.kind === 'navigation' ? target.target.name : target.set.name;
  const known = model.schema.entityTypes.get(type);
  return Object.keys(sent).some((name) => name !== '__id' && !known?.has(name));
}

function authorizeOperation(call: ServiceCall, op: BatchOperation): void {
  call.authorize(op.method === 'GET' ? 'read' : 'write');
}

/** apiref 368 asks `read` or `write` per operation; a caller with neither may not batch at all. */
function authorizeEither(call: ServiceCall): void {
  try {
    call.authorize('read');
  } catch (err) {
    try {
      call.authorize('write');
    } catch {
      throw err;
    }
  }
}

/** A failed operation as its part: the Personium error body the same request would get alone. */
function errorResponse(err: unknown, op: BatchOperation): OperationResponse {
  const error = toClientError(err);
  if (error.status >= 500 && !(err instanceof PersoniumError)) throw err;
  return {
    status: error.status,
    headers: { 'content-type': 'application/json', dataserviceversion: '2.0' },
    body: JSON.stringify(personiumErrorBody(error)),
    contentId: op.contentId,
  };
}
