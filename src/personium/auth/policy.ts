import { PersoniumError } from '../../core/errors/personium-error.js';
import type { Principal } from './principal.js';
import type { HeldRole } from './roles.js';

/**
 * What a route needs (ARCHITECTURE.md idea 4). Unit level: open, or unit users only (apiref 100).
 * Cell level: the privileges of apiref 006 that the routes built so far use; issue 4 adds the
 * rest and the box-level ones with ACL evaluation.
 */
export type UnitPrivilege = 'none' | 'unit-user';

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
  if (privilege === 'none') return;
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
