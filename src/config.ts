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
  /** How much of the SQLite file is read through a memory map, in MiB; 0 reads with pread only. */
  sqliteMmapMiB: number;
  cellUrlMode: CellUrlMode;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Request body limit for OData/JSON endpoints (apiref 003 names no figure; 1 MiB fits any control object). */
  bodyLimit: number;
  /** Largest WebDAV file body in bytes (streamed to disk, never held in memory). */
  fileLimit: number;
  /** scrypt cost for account passwords; the default is one of OWASP's equivalent settings. */
  scrypt: ScryptParams;
  auth: AuthSettings;
  mail: MailSettings;
}

export interface MailSettings {
  /** `smtp://…` or `smtps://…`: mail goes out through that server; unset: into `{dataDir}/outbox`. */
  smtpUrl: string | undefined;
  /** The From of the mail kura sends: `addr@host` or `Name <addr@host>`. */
  from: string;
}

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

export interface AuthSettings {
  /** OAuth 2.0 password grant (ROPC); the Security BCP says not to use it — kept on for Personium compatibility. */
  passwordGrant: boolean;
  /** Implicit flow at `__authz` (response_type=token); same reasoning as the password grant. */
  implicitFlow: boolean;
  /** Consecutive password failures after which an account is locked; 0 disables locking. */
  lockCount: number;
  /** How long a locked account stays locked, in seconds. */
  lockSeconds: number;
  /** Cell URLs whose accounts are unit users (Unit-User.md); their tokens administer this unit. */
  unitUserCells: string[];
  /** Whether outbound fetches (other units' `__certs`) may reach private and link-local addresses. */
  outboundAllowPrivate: boolean;
  /** Lifetime of a Hexabase login token, in seconds (Logout ends it earlier). */
  hexabaseSessionSeconds: number;
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

  const sqliteMmapMiB = parseIntVar('KURA_SQLITE_MMAP_MIB', env.KURA_SQLITE_MMAP_MIB, 1024, 0, 1024 * 1024, problems);

  const cellUrlMode = (env.KURA_CELL_URL_MODE || 'path') as CellUrlMode;
  if (cellUrlMode !== 'path' && cellUrlMode !== 'subdomain') {
    problems.push(`KURA_CELL_URL_MODE must be "path" or "subdomain", got ${env.KURA_CELL_URL_MODE}`);
  }

  const logLevel = (env.KURA_LOG_LEVEL || 'info') as KuraConfig['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) problems.push(`KURA_LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);

  const fileLimit = parseIntVar('KURA_FILE_LIMIT', env.KURA_FILE_LIMIT, 4 * 1024 ** 3, 1024, 1024 ** 4, problems);
  const scrypt = parseScrypt(env.KURA_PASSWORD_SCRYPT, problems);
  const auth: AuthSettings = {
    passwordGrant: parseBoolVar('KURA_PASSWORD_GRANT', env.KURA_PASSWORD_GRANT, true, problems),
    implicitFlow: parseBoolVar('KURA_IMPLICIT_FLOW', env.KURA_IMPLICIT_FLOW, true, problems),
    lockCount: parseIntVar('KURA_AUTH_LOCK_COUNT', env.KURA_AUTH_LOCK_COUNT, 5, 0, 1000, problems),
    lockSeconds: parseIntVar('KURA_AUTH_LOCK_SECONDS', env.KURA_AUTH_LOCK_SECONDS, 600, 1, 86400 * 365, problems),
    unitUserCells: parseUrlList('KURA_UNIT_USER_CELLS', env.KURA_UNIT_USER_CELLS, problems),
    outboundAllowPrivate: parseBoolVar('KURA_OUTBOUND_ALLOW_PRIVATE', env.KURA_OUTBOUND_ALLOW_PRIVATE, false, problems),
    hexabaseSessionSeconds: parseIntVar('KURA_HEXABASE_SESSION_SECONDS', env.KURA_HEXABASE_SESSION_SECONDS, 86400, 60, 86400 * 365, problems),
  };

  const mail = parseMail(env, unitUrl, problems);

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    port,
    host: env.KURA_HOST || '0.0.0.0',
    dataDir,
    unitUrl,
    masterToken,
    databaseUrl,
    databaseSchema,
    sqliteMmapMiB,
    cellUrlMode,
    logLevel,
    bodyLimit,
    fileLimit,
    scrypt,
    auth,
    mail,
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

function parseBoolVar(name: string, raw: string | undefined, fallback: boolean, problems: string[]): boolean {
  if (raw === undefined || raw === '') return fallback;
  if (/^(true|1|on|yes)$/i.test(raw)) return true;
  if (/^(false|0|off|no)$/i.test(raw)) return false;
  problems.push(`${name} must be true or false, got "${raw}"`);
  return fallback;
}

/** `N,r,p`, e.g. `16384,8,5`; N a power of two. */
function parseScrypt(raw: string | undefined, problems: string[]): ScryptParams {
  const fallback = { N: 16384, r: 8, p: 5 };
  if (raw === undefined || raw === '') return fallback;
  const m = /^(\d+),(\d+),(\d+)$/.exec(raw);
  const [N, r, p] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
  if (!m || N < 2 || (N & (N - 1)) !== 0 || N > 2 ** 20 || r < 1 || r > 32 || p < 1 || p > 16) {
    problems.push(`KURA_PASSWORD_SCRYPT must be "N,r,p" with N a power of two ≤ 2^20, r 1–32, p 1–16, got "${raw}"`);
    return fallback;
  }
  return { N, r, p };
}

/** Comma-separated http(s) URLs, each normalised to end with a slash (cell URLs). */
function parseUrlList(name: string, raw: string | undefined, problems: string[]): string[] {
  if (raw === undefined || raw.trim() === '') return [];
  const out: string[] = [];
  for (const item of raw.split(',').map((s) => s.trim()).filter(Boolean)) {
    try {
      const u = new URL(item);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
      out.push(u.href.endsWith('/') ? u.href : `${u.href}/`);
    } catch {
      problems.push(`${name} must list http(s) URLs separated by commas, got "${item}"`);
    }
  }
  return out;
}

/**
 * KURA_SMTP_URL (nodemailer's connection URL: `smtp://user:pass@host:587` with STARTTLS when the
 * server offers it, `smtps://…:465` for TLS from the start) and KURA_MAIL_FROM, which defaults to
 * `kura@{unit host}` (`kura@localhost` for the default unit URL).
 */
function parseMail(env: NodeJS.ProcessEnv, unitUrl: string, problems: string[]): MailSettings {
  const smtpUrl = env.KURA_SMTP_URL || undefined;
  if (smtpUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(smtpUrl);
    } catch {
      problems.push(`KURA_SMTP_URL is not a URL: ${redact(smtpUrl)}`);
    }
    if (url && url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
      problems.push(`KURA_SMTP_URL must be an smtp:// or smtps:// URL, got ${redact(smtpUrl)}`);
    } else if (url && (url.hostname === '' || !['', '/'].includes(url.pathname) || url.hash !== '')) {
      problems.push(`KURA_SMTP_URL must name a host, with nothing after it but ?options, got ${redact(smtpUrl)}`);
    }
  }
  let host = 'localhost';
  try {
    host = new URL(unitUrl).hostname || host;
  } catch {
    // KURA_UNIT_URL's own problem is reported already.
  }
  const from = env.KURA_MAIL_FROM || `kura@${host}`;
  const address = /^(?:[^<>\r\n]*<([^<>\s]+)>|([^<>\s]+))$/.exec(from.trim());
  if (!address || !/^[^\s@]+@[^\s@]+$/.test(address[1] ?? address[2] ?? '')) {
    problems.push(`KURA_MAIL_FROM must be an e-mail address, or "Name <address>", got "${from}"`);
  }
  return { smtpUrl, from: from.trim() };
}

/** A URL for a log line: everything between `//` and the last `@` (credentials, even malformed ones) hidden. */
function redact(url: string): string {
  return url.replace(/\/\/.*@/, '//***@');
}
