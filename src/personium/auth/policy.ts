import { PersoniumError } from '../../core/errors/personium-error.js';
import type { Principal } from './principal.js';
import type { HeldRole } from './roles.js';

/**
 * What a route needs (ARCHITECTURE.md idea 4). Unit level: open, or unit users only (apiref 100).
 * Cell level: the privileges of apiref 006 that the routes built so far use; issue 4 adds the
 * rest and the box-level ones with ACL evaluation.
 */
/** `box-resource`: decided per WebDAV resource by `authorizeBox` once the node is known. */
export type UnitPrivilege = 'none' | 'unit-user' | 'box-resource';

/** Cell-level privileges (apiref 006, 289). */
export const CELL_PRIVILEGES = [
  'root', 'auth', 'auth-read', 'message', 'message-read', 'event', 'event-read', 'log', 'log-read',
  'social', 'social-read', 'box', 'box-read', 'box-install', 'box-export', 'acl', 'acl-read', 'propfind',
  'rule', 'rule-read',
] as const;
export type CellPrivilege = (typeof CELL_PRIVILEGES)[number];
export type Privilege = UnitPrivilege | CellPrivilege;

const CELL_PRIVILEGE_SET: ReadonlySet<string> = new Set(CELL_PRIVILEGES);

export function isCellPrivilege(p: Privilege): p is CellPrivilege {
  return CELL_PRIVILEGE_SET.has(p);
}

/** apiref 006: a privilege includes the ones below it ("root" includes everything). */
const PARENT: Partial<Record<CellPrivilege, CellPrivilege>> = {
  auth: 'root', 'auth-read': 'auth', message: 'root', 'message-read': 'message', event: 'root',
  'event-read': 'event', log: 'root', 'log-read': 'log', social: 'root', 'social-read': 'social',
  box: 'root', 'box-read': 'box', 'box-install': 'box', 'box-export': 'root', acl: 'root',
  'acl-read': 'acl', propfind: 'root', rule: 'root', 'rule-read': 'rule',
};

function grants(held: string, wanted: CellPrivilege): boolean {
  if (held === 'all') return true; // DAV:all in a grant
  for (let p: CellPrivilege | undefined = wanted; p !== undefined; p = PARENT[p]) if (p === held) return true;
  return false;
}

/** A cell ACL as stored: who gets what (role URLs of this cell, or everyone). */
export interface StoredAcl {
  aces: { principal: 'all' | { href: string }; privileges: string[] }[];
}

/** What the policy knows of the cell a request addresses. */
export interface CellContext {
  url: string;
  /** The unit user that owns the cell (Unit-User.md), if any. */
  owner: string | undefined;
  /** The caller's roles in this cell (cell users only; resolved once per request). */
  roles: HeldRole[];
  acl: StoredAcl;
}

/** Whether the cell's ACL gives `privilege` to a caller holding `roles` (everyone holds `all`). */
export function aclGrants(acl: StoredAcl, roles: HeldRole[], privilege: CellPrivilege): boolean {
  const held = new Set(roles.map((r) => r.url));
  return acl.aces.some(
    (ace) =>
      (ace.principal === 'all' || held.has(ace.principal.href)) && ace.privileges.some((p) => grants(p, privilege)),
  );
}

/** Refuses a caller that presented no usable credentials, with the code that says why. */
function refuseUnauthenticated(principal: Principal): void {
  switch (principal.kind) {
    case 'anonymous':
      throw new PersoniumError('PR401-AU-0001');
    case 'bad-scheme':
      throw new PersoniumError('PR401-AU-0003');
    case 'bad-token':
      throw new PersoniumError(principal.code);
    case 'password-change':
      throw new PersoniumError('PR401-AU-0012');
    default:
  }
}

/** The one place that decides; throws the documented error when the caller falls short. */
export function authorize(principal: Principal, privilege: Privilege, cell?: CellContext): void {
  if (privilege === 'none' || privilege === 'box-resource') return;
  // ACL `all` opens a cell resource to callers without credentials (apiref 006); broken credentials stay refused.
  if (principal.kind === 'anonymous' && cell && isCellPrivilege(privilege) && aclGrants(cell.acl, [], privilege)) return;
  refuseUnauthenticated(principal);
  if (privilege === 'unit-user') {
    // With a cell, the unit user must also be one that may manage that cell (Unit-User.md).
    if (principal.kind === 'unit-master') {
      if (cell && principal.unitUser !== undefined && principal.unitUser !== cell.owner) throw new PersoniumError('PR403-AU-0003');
      return;
    }
    if (principal.kind === 'unit-user') {
      if (cell && !principal.rights.unitAdmin && cell.owner !== principal.subject) throw new PersoniumError('PR403-AU-0003');
      return;
    }
    throw new PersoniumError('PR403-AU-0001');
  }
  if (!cell) throw new Error(`privilege ${privilege} needs the cell context`);
  if (aclGrants(cell.acl, [], privilege)) return;
  switch (principal.kind) {
    case 'unit-master':
      // With X-Personium-Unit-User the master acts as that unit user (Unit-User.md).
      if (principal.unitUser === undefined || principal.unitUser === cell.owner) return;
      throw new PersoniumError('PR403-AU-0003');
    case 'unit-user': {
      const { rights } = principal;
      const mayManage = rights.unitAdmin || (cell.owner !== undefined && cell.owner === principal.subject);
      if (!mayManage) throw new PersoniumError('PR403-AU-0003');
      if (rights.contents === 'admin') return;
      if (rights.contents === 'read' && (privilege.endsWith('-read') || privilege === 'propfind')) return;
      throw new PersoniumError('PR403-AU-0002');
    }
    case 'cell-user': {
      // A token is good only in the cell it was issued for.
      // A token is good only in the cell it was issued for: elsewhere its roles count for nothing.
      if (principal.claims.aud === cell.url && aclGrants(cell.acl, cell.roles, privilege)) return;
      throw new PersoniumError('PR403-AU-0002');
    }
    default:
      throw new PersoniumError('PR403-AU-0002');
  }
}

/** Box-level privileges (apiref 006, 315) and what each includes. */
export const BOX_PRIVILEGES = [
  'all', 'read', 'read-properties', 'read-acl', 'write', 'write-properties', 'write-content', 'bind', 'unbind',
  'write-acl', 'exec', 'alter-schema', 'stream-send', 'stream-receive',
] as const;
export type BoxPrivilege = (typeof BOX_PRIVILEGES)[number];

const BOX_PARENT: Partial<Record<BoxPrivilege, BoxPrivilege>> = {
  read: 'all', 'read-properties': 'read', 'read-acl': 'all', write: 'all', 'write-properties': 'write',
  'write-content': 'write', bind: 'write', unbind: 'write', 'write-acl': 'all', exec: 'all', 'alter-schema': 'all',
  'stream-send': 'all', 'stream-receive': 'all',
};

function boxGrants(held: string, wanted: BoxPrivilege): boolean {
  for (let p: BoxPrivilege | undefined = wanted; p !== undefined; p = BOX_PARENT[p]) if (p === held) return true;
  return false;
}

const READ_ONLY: ReadonlySet<BoxPrivilege> = new Set(['read', 'read-properties', 'read-acl']);

/** What the policy knows of a box resource: the cell's context, the box schema and the ACLs from the resource up. */
export interface BoxContext {
  cell: CellContext;
  /** The box's schema URL; the main box's is the cell URL. */
  schema: string | null;
  /** ACLs of the resource (or, for a resource about to be created, its parent) and each ancestor up to the box root. */
  acls: (StoredBoxAcl | null)[];
}

export interface StoredBoxAcl extends StoredAcl {
  requireSchemaAuthz?: 'none' | 'public' | 'confidential';
}

/**
 * Decides a request on a box resource (apiref 006; personium-core's order): administrators first,
 * then the schema-authentication level, then the ACLs from the resource up to the box and the
 * cell's `root`. Grants only add up; there is no deny.
 */
export function authorizeBox(principal: Principal, privilege: BoxPrivilege, box: BoxContext): void {
  const { cell } = box;
  if (principal.kind === 'unit-master') {
    if (principal.unitUser !== undefined && principal.unitUser !== cell.owner) throw new PersoniumError('PR403-AU-0003');
    return;
  }
  if (principal.kind === 'unit-user') {
    const mayManage = principal.rights.unitAdmin || (cell.owner !== undefined && cell.owner === principal.subject);
    if (mayManage && (principal.rights.contents === 'admin' || (principal.rights.contents === 'read' && READ_ONLY.has(privilege)))) return;
  }

  const level = box.acls.map((a) => a?.requireSchemaAuthz).find((l) => l !== undefined) ?? 'none';
  if (level !== 'none') {
    refuseUnauthenticated(principal);
    const claims = principal.kind === 'cell-user' ? principal.claims : undefined;
    if (!claims?.schema) throw new PersoniumError('PR403-AU-0004');
    if (box.schema !== null && claims.schema !== box.schema) throw new PersoniumError('PR403-AU-0005');
    if (level === 'confidential' && !claims.confidential) throw new PersoniumError('PR403-AU-0006');
  }

  const roles = principal.kind === 'cell-user' && principal.claims.aud === cell.url ? cell.roles : [];
  const held = new Set(roles.map((r) => r.url));
  for (const acl of box.acls) {
    if (!acl) continue;
    for (const ace of acl.aces) {
      if ((ace.principal === 'all' || held.has(ace.principal.href)) && ace.privileges.some((p) => boxGrants(p, privilege))) return;
    }
  }
  if (aclGrants(cell.acl, roles, 'root')) return;
  refuseUnauthenticated(principal);
  throw new PersoniumError('PR403-AU-0002');
}
