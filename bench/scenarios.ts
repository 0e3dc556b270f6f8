/** The measured request shapes, shared by the bench driver (run.ts) and its measuring processes (measure.ts). */
export const TOKEN = 'bench-master-token';
export const CONNECTIONS = 32;
export const PRELOAD = 1000;
export const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

export interface Figures {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

/** One measured request shape; `path`/`body` are called per request so names stay unique. */
export interface Scenario {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'PROPFIND';
  path: (n: number) => string;
  body?: (n: number, server: string) => string;
  expect: number;
  /** Replaces the default headers (master token, JSON). */
  headers?: Record<string, string>;
  /** Fewer connections for slow requests (password hashing), so latencies stay inside the client's timeout. */
  connections?: number;
}

const preloaded = (n: number) => `c-${n % PRELOAD}`;
export const scenarios: Scenario[] = [
  {
    name: 'Cell create',
    method: 'POST',
    path: () => '/__ctl/Cell',
    body: (n, server) => JSON.stringify({ Name: `b-${server}-${process.hrtime.bigint()}-${n}` }),
    expect: 201,
  },
  { name: 'Cell retrieve by key', method: 'GET', path: (n) => `/__ctl/Cell('${preloaded(n)}')`, expect: 200 },
  {
    name: 'Cell list $filter',
    method: 'GET',
    path: () => `/__ctl/Cell?$filter=${encodeURIComponent("startswith(Name,'c-1')")}&$top=25`,
    expect: 200,
  },
];

export const FILE_4K = 'k'.repeat(4096);
export const davScenarios: Scenario[] = [
  { name: 'GET 4 KiB file', method: 'GET', path: () => '/bench/box/file4k', expect: 200 },
  {
    name: 'PUT new 4 KiB file',
    method: 'PUT',
    // PUT_COLLECTIONS collections: a collection holds at most 1,024 resources (personium-core's limit).
    path: (n) => `/bench/box/put${n % PUT_COLLECTIONS}/f-${process.hrtime.bigint()}-${n}`,
    body: () => FILE_4K,
    expect: 201,
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'text/plain' },
  },
  {
    name: 'PROPFIND Depth 1 (1000)',
    // autocannon only sends RFC 7231 methods: both servers get POST with X-HTTP-Method-Override (apiref 003).
    method: 'POST',
    path: () => '/bench/box/big',
    expect: 207,
    headers: { authorization: `Bearer ${TOKEN}`, depth: '1', 'x-http-method-override': 'PROPFIND' },
  },
];

/** Room for 10 s of PUTs at ~25,000/s (1,024 files per collection). */
export const PUT_COLLECTIONS = 256;

/** Issue 5: user data in an OData collection; ODATA_ROWS entities are loaded before measuring. */
export const ODATA_ROWS = 100_000;
/** Distinct titles: each `title eq` matches ODATA_ROWS / TITLES entities. */
export const TITLES = 5000;
export const ODATA_SET = '/bench/box/odata/Sales';
export const odataScenarios: Scenario[] = [
  {
    name: 'Entity create',
    method: 'POST',
    path: () => ODATA_SET,
    body: (n) => JSON.stringify({ title: `new-${n % TITLES}`, amount: n }),
    expect: 201,
  },
  { name: 'Entity retrieve by key', method: 'GET', path: (n) => `${ODATA_SET}('s-${(n * 7919) % ODATA_ROWS}')`, expect: 200 },
  // The latency targets at a queue of 8 requests instead of 32 (see bench/README.md, "Latency").
  { name: 'Entity create, 8 conns', method: 'POST', path: () => ODATA_SET, body: (n) => JSON.stringify({ title: `new8-${n % TITLES}`, amount: n }), expect: 201, connections: 8 },
  { name: 'Entity retrieve, 8 conns', method: 'GET', path: (n) => `${ODATA_SET}('s-${(n * 7919) % ODATA_ROWS}')`, expect: 200, connections: 8 },
  {
    name: 'Entity $filter (100k)',
    method: 'GET',
    path: (n) => `${ODATA_SET}?$filter=${encodeURIComponent(`title eq 't-${(n * 31) % TITLES}'`)}&$orderby=amount%20desc&$top=20`,
    expect: 200,
  },
];

/** Issue 6: Hexabase items; HX_ROWS items are loaded before measuring (the driver sets each server's token). */
export const HX_ROWS = Number(process.env.BENCH_HX_ROWS ?? 100_000);
export const HX_DATASTORE = '/api/v0/applications/bench/datastores/orders';
/** The first HX_ACTION_ITEMS items get ids the action scenario can name (CreateItemWithItemID). */
export const HX_ACTION_ITEMS = 1000;
export const hxItemId = (n: number) => (0xb000000 + (n % HX_ACTION_ITEMS)).toString(16).padStart(24, '0');
export const hexabaseScenarios: Scenario[] = [
  {
    name: 'Item create',
    method: 'POST',
    path: () => `${HX_DATASTORE}/items/new`,
    body: (n) => JSON.stringify({ item: { title: `new-${n % TITLES}`, amount: n } }),
    expect: 200,
  },
  {
    name: 'ItemList indexed (100k)',
    method: 'POST',
    path: () => `${HX_DATASTORE}/items/search`,
    body: (n) => JSON.stringify({ conditions: [{ id: 'title', search_value: [`t-${(n * 31) % TITLES}`], exact_match: true }], per_page: 20, page: 1, use_display_id: true }),
    expect: 200,
  },
  {
    name: 'ItemList indexed, 8 conns',
    method: 'POST',
    path: () => `${HX_DATASTORE}/items/search`,
    body: (n) => JSON.stringify({ conditions: [{ id: 'title', search_value: [`t-${(n * 31) % TITLES}`], exact_match: true }], per_page: 20, page: 1, use_display_id: true }),
    expect: 200,
    connections: 8,
  },
  {
    name: 'ExecuteAction',
    method: 'POST',
    path: (n) => `${HX_DATASTORE}/items/action/${hxItemId(n * 7)}/update`,
    body: (n) => JSON.stringify({ is_force_update: true, item: { amount: n } }),
    expect: 200,
  },
];

/** Issue 3: the same control-object read under different tokens (the driver passes the header). */
export function roleReadScenario(name: string, authorization: string): Scenario {
  return { name, method: 'GET', path: () => "/home/__ctl/Role('readers')", expect: 200, headers: { authorization } };
}

export const passwordScenario: Scenario = {
  name: 'Password grant (8 conns)',
  method: 'POST',
  path: () => '/home/__token',
  body: () => 'grant_type=password&username=reader&password=reader-pw-1',
  expect: 200,
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  connections: 8,
};

/** Every scenario by name; role reads are built on demand (their token comes with the request). */
export function scenarioNamed(name: string, givenHeaders?: Record<string, string>): Scenario {
  const found = [...scenarios, ...davScenarios, ...odataScenarios, ...hexabaseScenarios, passwordScenario].find((s) => s.name === name);
  if (found) return givenHeaders ? { ...found, headers: givenHeaders } : found;
  if (name.startsWith('Role read') && givenHeaders?.authorization) return roleReadScenario(name, givenHeaders.authorization);
  throw new Error(`no scenario named ${name}`);
}
