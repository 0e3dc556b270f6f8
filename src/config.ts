import path from 'node:path';

/** Where a cell's root URL lives: `path` → {unit}/{cell}/, `subdomain` → {cell}.{unit host}/ (apiref 005). */
export type CellUrlMode = 'path' | 'subdomain';

export interface KuraConfig {
  port: number;
  host: string;
  dataDir: string;
  /** Public unit root URL, always with a trailing slash. */
  unitUrl: string;
  /** Unit master token; undefined disables master-token access entirely. */
  masterToken: string | undefined;
  /** postgres://… when set; otherwise SQLite in the data dir. */
  databaseUrl: string | undefined;
  /** PostgreSQL schema kura keeps its tables in (created when missing); lets several units share one database. */
  databaseSchema: string | undefined;
  cellUrlMode: CellUrlMode;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Request body limit for OData/JSON endpoints (apiref 003 names no figure; 1 MiB fits any control object). */
  bodyLimit: number;
}

export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Reads KURA_* variables (ARCHITECTURE.md, Configuration); collects every problem before failing. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): KuraConfig {
  const problems: string[] = [];

  const port = parseIntVar('KURA_PORT', env.KURA_PORT, 8080, 0, 65535, problems);
  const bodyLimit = parseIntVar('KURA_BODY_LIMIT', env.KURA_BODY_LIMIT, 1024 * 1024, 1024, 1024 ** 3, problems);
  const dataDir = path.resolve(env.KURA_DATA_DIR || './data');

  let unitUrl = env.KURA_UNIT_URL || `http://localhost:${port || 8080}/`;
  try {
    const u = new URL(unitUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') problems.push(`KURA_UNIT_URL must be http(s), got ${unitUrl}`);
    else if (u.search || u.hash) problems.push(`KURA_UNIT_URL must not have a query or fragment, got ${unitUrl}`);
    else unitUrl = u.href.endsWith('/') ? u.href : `${u.href}/`;
  } catch {
    problems.push(`KURA_UNIT_URL is not a URL: ${unitUrl}`);
  }

  const masterToken = env.KURA_MASTER_TOKEN || undefined;
  if (masterToken !== undefined && masterToken.length < 8) {
    problems.push('KURA_MASTER_TOKEN must be at least 8 characters (or unset to disable it)');
  }

  const databaseUrl = env.KURA_DATABASE_URL || undefined;
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push(`KURA_DATABASE_URL must be a postgres:// URL, got ${redact(databaseUrl)}`);
  }

  const databaseSchema = env.KURA_DATABASE_SCHEMA || undefined;
  if (databaseSchema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(databaseSchema)) {
    problems.push(`KURA_DATABASE_SCHEMA must be a lower-case SQL identifier (a-z, 0-9, _), got "${databaseSchema}"`);
  }

  const cellUrlMode = (env.KURA_CELL_URL_MODE || 'path') as CellUrlMode;
  if (cellUrlMode !== 'path' && cellUrlMode !== 'subdomain') {
    problems.push(`KURA_CELL_URL_MODE must be "path" or "subdomain", got ${env.KURA_CELL_URL_MODE}`);
  }

  const logLevel = (env.KURA_LOG_LEVEL || 'info') as KuraConfig['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`KURA_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    port,
    host: env.KURA_HOST || '0.0.0.0',
    dataDir,
    unitUrl,
    masterToken,
    databaseUrl,
    databaseSchema,
    cellUrlMode,
    logLevel,
    bodyLimit,
  };
}

function parseIntVar(
  name: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
): number {
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) {
    problems.push(`${name} must be an integer, got "${raw}"`);
    return fallback;
  }
  const n = Number(raw);
  if (n < min || n > max) problems.push(`${name} must be between ${min} and ${max}, got ${n}`);
  return n;
}

function redact(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
