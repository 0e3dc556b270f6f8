import { PersoniumError } from '../core/errors/personium-error.js';
import { MultipartError, boundaryOf, firstLine, parseHeaderBlock, splitMultipart } from './multipart.js';

/*
 * The request side of OData V2 `$batch` (apiref 368): a multipart body of query operations and
 * change sets, each operation an embedded HTTP request. Everything that can be judged without
 * the schema is judged here, before anything runs, so a malformed batch is refused whole (400)
 * and changes nothing — as personium-core's BatchBodyParser does. Names (entity sets, navigation
 * properties, keys) are left to the engine and fail only their own operation.
 */

/** personium-core `odata.batch.bulkRequestMaxSize`. */
export const BATCH_MAX_OPERATIONS = 1000;
/** personium-core: the `$top` of all query operations together (PR400-OD-0037). */
export const BATCH_MAX_TOP_TOTAL = 10000;

/** What a path addresses, judged from its shape alone. */
export type PathShape = 'collection' | 'entity' | 'navigation' | 'links';

export interface BatchOperation {
  method: string;
  /** The path below the service root, percent-encoded as sent, without the query string. */
  path: string;
  shape: PathShape;
  query: Record<string, string | undefined>;
  /** The embedded request's headers, names lower-cased. */
  headers: Map<string, string>;
  /** The embedded request's body, for methods that carry one. */
  body: Buffer | undefined;
  /** The part's Content-ID, echoed on its response so a client can match them up. */
  contentId: string | undefined;
}

export type BatchItem =
  | { kind: 'operation'; op: BatchOperation }
  | { kind: 'changeset'; boundary: string; ops: BatchOperation[] };

/**
 * deviation: personium-core allows GET, POST, PUT and DELETE (MERGE → PR400-OD-0035); kura also
 * takes MERGE, which OData V2 allows in change sets and kura's user data supports outside a batch.
 */
const METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'MERGE']);

/** Methods by path shape (apiref 364–378); another combination is a malformed path (PR400-OD-0034). */
const METHODS_BY_SHAPE: Record<PathShape, readonly string[]> = {
  collection: ['GET', 'POST'],
  entity: ['GET', 'PUT', 'MERGE', 'DELETE'],
  navigation: ['GET', 'POST'],
  links: ['GET', 'POST', 'PUT', 'DELETE'],
};

/** Parses a `$batch` body; throws the documented 400 for anything malformed. */
export function parseBatch(text: string, boundary: string, serviceRoot: string): BatchItem[] {
  const items: BatchItem[] = [];
  for (const part of split(text, boundary)) {
    const { headers, body } = headerBlock(part);
    const contentId = headers.get('content-id');
    const type = headers.get('content-type');
    if (isHttp(type)) {
      items.push({ kind: 'operation', op: parseOperation(body, headers, serviceRoot, contentId) });
      continue;
    }
    const inner = boundaryOf(type);
    if (!inner) throw new PersoniumError('PR400-OD-0021', ['Content-Type']);
    items.push({ kind: 'changeset', boundary: inner, ops: parseChangeSet(body, inner, serviceRoot) });
  }
  checkLimits(items);
  return items;
}

/**
 * OData V2 §2.2.7.6: a change set holds only change requests and no other change set. A GET
 * inside one is refused rather than run, since its result would tell nothing about what commits.
 */
function parseChangeSet(text: string, boundary: string, serviceRoot: string): BatchOperation[] {
  return split(text, boundary).map((part) => {
    const { headers, body } = headerBlock(part);
    const type = headers.get('content-type');
    if (type !== undefined && /^\s*multipart\//i.test(type)) throw new PersoniumError('PR400-OD-0022');
    if (!isHttp(type)) throw new PersoniumError('PR400-OD-0021', ['Content-Type']);
    const op = parseOperation(body, headers, serviceRoot, headers.get('content-id'));
    if (op.method === 'GET') throw new PersoniumError('PR400-OD-0035', [op.method]);
    return op;
  });
}

function checkLimits(items: BatchItem[]): void {
  const ops = items.flatMap((item) => (item.kind === 'operation' ? [item.op] : item.ops));
  if (ops.length > BATCH_MAX_OPERATIONS) throw new PersoniumError('PR400-OD-0030', [ops.length]);
  // Only explicit values count: a malformed $top fails its own operation in the engine.
  const top = ops.reduce((sum, op) => sum + (op.method === 'GET' && /^\d+$/.test(op.query.$top ?? '') ? Number(op.query.$top) : 0), 0);
  if (top > BATCH_MAX_TOP_TOTAL) throw new PersoniumError('PR400-OD-0037');
}

function split(text: string, boundary: string): string[] {
  try {
    return splitMultipart(text, boundary);
  } catch (err) {
    if (err instanceof MultipartError) throw new PersoniumError('PR400-OD-0023', [], { cause: err });
    throw err;
  }
}

function headerBlock(text: string, from = 0) {
  try {
    return parseHeaderBlock(text, from);
  } catch (err) {
    if (err instanceof MultipartError) throw new PersoniumError('PR400-OD-0023', [], { cause: err });
    throw err;
  }
}

/** The Content-Type of a part holding one embedded HTTP request. */
function isHttp(type: string | undefined): boolean {
  return type !== undefined && /^\s*application\/http\s*(;|$)/i.test(type);
}

/** One embedded request: `METHOD path [HTTP/1.1]`, headers, a blank line, the body. */
function parseOperation(text: string, partHeaders: Map<string, string>, serviceRoot: string, contentId: string | undefined): BatchOperation {
  // OData V2 asks for `binary`; an identity encoding reads the same, anything else (base64) is not decoded here.
  const encoding = partHeaders.get('content-transfer-encoding');
  if (encoding !== undefined && !/^(binary|8bit|7bit)$/i.test(encoding)) {
    throw new PersoniumError('PR400-OD-0021', ['Content-Transfer-Encoding']);
  }
  const first = firstLine(text);
  if (!first) throw new PersoniumError('PR400-OD-0034', ['']);
  const requestLine = first.line.trim();
  const [method, target, version, ...extra] = requestLine.split(/\s+/);
  if (!METHODS.has(method!)) throw new PersoniumError('PR400-OD-0035', [method!]);
  if (target === undefined || extra.length > 0 || (version !== undefined && !/^HTTP\/1\.[01]$/.test(version))) {
    throw new PersoniumError('PR400-OD-0034', [requestLine]);
  }
  const { path, queryString } = splitTarget(target, serviceRoot, requestLine);
  const shape = shapeOf(path, requestLine);
  if (!METHODS_BY_SHAPE[shape].includes(method!)) throw new PersoniumError('PR400-OD-0034', [requestLine]);
  // personium-core: query options apply to entity sets and entities, not to navigation or $links.
  if (queryString !== undefined && (shape === 'navigation' || shape === 'links')) {
    throw new PersoniumError('PR400-OD-0034', [requestLine]);
  }
  const { headers, body } = headerBlock(text, first.rest);
  return {
    method: method!,
    path,
    shape,
    query: queryRecord(queryString),
    headers,
    body: method === 'GET' || method === 'DELETE' ? undefined : Buffer.from(body, 'utf8'),
    contentId,
  };
}

/**
 * The path below the service root. A relative path is the usual form; an absolute URL or an
 * absolute path must point into this very service — a batch never reaches another collection,
 * box or cell (whose privileges were not checked), so anything else is a malformed path.
 */
function splitTarget(target: string, serviceRoot: string, requestLine: string): { path: string; queryString: string | undefined } {
  let relative = target;
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(target)) {
    if (!target.startsWith(serviceRoot)) throw new PersoniumError('PR400-OD-0034', [requestLine]);
    relative = target.slice(serviceRoot.length);
  } else if (target.startsWith('/')) {
    const rootPath = new URL(serviceRoot).pathname;
    if (!target.startsWith(rootPath)) throw new PersoniumError('PR400-OD-0034', [requestLine]);
    relative = target.slice(rootPath.length);
  }
  if (relative.includes('#')) throw new PersoniumError('PR400-OD-0034', [requestLine]);
  const q = relative.indexOf('?');
  return q === -1 ? { path: relative, queryString: undefined } : { path: relative.slice(0, q), queryString: relative.slice(q + 1) };
}

const HEAD = /^([^()]+)(\(.*\))?$/s;

/**
 * `Set`, `Set(key)`, `Set(key)/_Nav` or `Set(key)/$links/_Nav[(key)]` (apiref 368, Request Path);
 * dot segments, empty segments and `$`-names (`$metadata`, `$batch`) are malformed.
 */
function shapeOf(path: string, requestLine: string): PathShape {
  const bad = () => new PersoniumError('PR400-OD-0034', [requestLine]);
  const segments = path.split('/');
  for (const segment of segments) {
    const decoded = safeDecode(segment);
    if (decoded === undefined || decoded === '' || decoded === '.' || decoded === '..') throw bad();
  }
  const head = HEAD.exec(segments[0]!);
  if (!head || head[1]!.startsWith('$')) throw bad();
  const keyed = head[2] !== undefined;
  const [, second, third] = segments;
  if (segments.length === 1) return keyed ? 'entity' : 'collection';
  if (!keyed) throw bad();
  if (segments.length === 2 && second !== '$links' && !second!.includes('(') && !second!.startsWith('$')) return 'navigation';
  if (segments.length === 3 && second === '$links' && !third!.startsWith('$')) return 'links';
  throw bad();
}

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** As the main request's query: repeated parameters keep their first value. */
function queryRecord(queryString: string | undefined): Record<string, string | undefined> {
  // No prototype: a parameter named `__proto__` or `constructor` is just a name.
  const out: Record<string, string | undefined> = Object.create(null);
  if (queryString === undefined) return out;
  for (const [name, value] of new URLSearchParams(queryString)) if (!(name in out)) out[name] = value;
  return out;
}
