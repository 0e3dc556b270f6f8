import { PersoniumError } from '../../core/errors/personium-error.js';
import type { Principal } from './principal.js';
import type { HeldRole } from './roles.js';

/**
 * What a route needs (ARCHITECTURE.md idea 4). Unit level: open, or unit users only (apiref 100).
 * Cell level: the privileges of apiref 006 that the routes built so far use; issue 4 adds the
 * rest and the box-level ones with ACL evaluation.
 */
export type UnitPrivilege = 'none' | 'unit-user';
export type CellPrivilege = 'auth' | 'auth-read' | 'root';
export type Privilege = UnitPrivilege | CellPrivilege;

export function isCellPrivilege(p: Privilege): p is CellPrivilege {
  return p !== 'none' && p !== 'unit-user';
}

/** What the policy knows of the cell a request addresses. */
export interface CellContext {
  url: string;
  /** The unit user that owns the cell (Unit-User.md), if any. */
  owner: string | undefined;
  /** The caller's roles in this cell (cell users only; resolved once per request). */
  roles: HeldRole[];
  /** Cell ACL grants: role URL → privileges (issue 4 fills this from the ACL method). */
  acl: ReadonlyMap<string, ReadonlySet<CellPrivilege>>;
}

/** apiref 006: privileges that include others. */
const IMPLIES: Record<CellPrivilege, CellPrivilege[]> = {
  root: ['auth', 'auth-read'],
  auth: ['auth-read'],
  'auth-read': [],
};

function grants(held: ReadonlySet<CellPrivilege>, wanted: CellPrivilege): boolean {
  for (const p of held) if (p === wanted || IMPLIES[p].includes(wanted)) return true;
  return false;
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
  refuseUnauthenticated(principal);
  if (privilege === 'unit-user') {
    if (principal.kind === 'unit-master' || principal.kind === 'unit-user') return;
    throw new PersoniumError('PR403-AU-0001');
  }
  if (!cell) throw new Error(`privilege ${privilege} needs the cell context`);
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
      if (rights.contents === 'read' && privilege === 'auth-read') return;
      throw new PersoniumError('PR403-AU-0002');
    }
    case 'cell-user': {
      // A token is good only in the cell it was issued for.
      if (principal.claims.aud !== cell.url) throw new PersoniumError('PR403-AU-0002');
      for (const role of cell.roles) {
        const held = cell.acl.get(role.url);
        if (held && grants(held, privilege)) return;
      }
      throw new PersoniumError('PR403-AU-0002');
    }
    default:
      throw new PersoniumError('PR403-AU-0002');
  }
}
