import type { ColumnType, Generated } from 'kysely';

/**
 * Tables shared by every entity set (ARCHITECTURE.md, idea 2): identity in typed columns,
 * properties in one JSON document, links in their own table.
 */
export interface EntitiesTable {
  id: string;
  /** '' for unit-level entities (Cell); otherwise the owning cell's entity id. */
  cell_id: string;
  /** '' when the entity is not inside a box. */
  box_id: string;
  /** '' when the entity is not inside a collection node (user data lives in an OData collection). */
  node_id: string;
  entity_set: string;
  /** Canonical key: the raw value for single-key sets, a JSON array for compound keys. */
  entity_key: string;
  version: number;
  published: ColumnType<number, number, never>;
  updated: number;
  /** JSON text on SQLite, jsonb on PostgreSQL; always a JSON object string when written. */
  props: ColumnType<unknown, string, string>;
}

export interface LinksTable {
  seq: Generated<number>;
  cell_id: string;
  name: string;
  from_id: string;
  to_id: string;
  created: number;
}

export interface AccountSecretsTable {
  account_id: string;
  password_hash: string;
  changed: number;
}

export interface AuthHistoryTable {
  account_id: string;
  last_authenticated: number | null;
  failed_count: number;
  lock_failures: number;
  last_failure: number | null;
  locked_until: number | null;
}

export interface RefreshTokensTable {
  id: string;
  cell_id: string;
  /** Account entity id for cell-local users, the issuer's subject URL for trans-cell ones. */
  subject: string;
  family: string;
  used: number;
  expires: number;
}

export interface AuthCodesTable {
  code: string;
  cell_id: string;
  payload: string;
  expires: number;
}

export interface DavNodesTable {
  id: string;
  cell_id: string;
  /** The Box entity's id, or '__' for the main box. */
  box_id: string;
  /** '' for a box root. */
  parent_id: string;
  name: string;
  kind: string;
  content_type: string | null;
  size: number;
  blob: string | null;
  sha256: string | null;
  version: number;
  created: number;
  updated: number;
  /** Dead properties; JSON text on SQLite, jsonb on PostgreSQL. */
  props: ColumnType<unknown, string, string>;
  acl: ColumnType<unknown, string | null, string | null>;
  /** A small file's body, when its blob id says it is kept in the row (BlobStore.put). */
  content: Buffer | null;
}

/** Hexabase bearer tokens: only a digest is stored, so a database leak hands out no sessions. */
export interface HxSessionsTable {
  token_digest: string;
  user_id: string;
  created: number;
  expires: number;
}

export interface Database {
  hx_sessions: HxSessionsTable;
  dav_nodes: DavNodesTable;
  entities: EntitiesTable;
  links: LinksTable;
  account_secrets: AccountSecretsTable;
  auth_history: AuthHistoryTable;
  refresh_tokens: RefreshTokensTable;
  auth_codes: AuthCodesTable;
}
