import type { CellUrlMode } from '../../config.js';
import { jsonStringEquals } from '../../query/compile.js';
import type { EntityStore, Scope, StoredEntity } from '../../store/entity-store.js';
import { cellUrl, resolveLocalUnitUrl, roleUrl } from '../cell-url.js';
import type { TokenClaims } from './tokens.js';

/** A role of the addressed cell that the caller holds. */
export interface HeldRole {
  name: string;
  box: string | null;
  /** `{cellUrl}__role/{box|__}/{name}` */
  url: string;
}

const CACHE_MS = 5000;
const ALL = 10000;

/**
 * Which roles of a cell a caller holds (003_Auth.md, Roles.md):
 * - a local account: the roles linked to the account;
 * - a user of another cell (trans-cell token, or a local token exchanged from one): the roles
 *   linked to the ExtCell that names the issuer cell, to the Relations linked to that ExtCell,
 *   and to the ExtRoles (under those Relations) that name a role the issuer vouches for.
 * Results are cached briefly per cell; any control-object write in the cell on this node drops
 * the cell's entries at once (`invalidate`), other nodes see the change within CACHE_MS.
 */
export class RoleResolver {
  private readonly cache = new Map<string, { roles: HeldRole[]; until: number }>();

  constructor(
    private readonly store: EntityStore,
    private readonly unitUrl: string,
    private readonly mode: CellUrlMode,
  ) {}

  invalidate(cellId: string): void {
    for (const key of this.cache.keys()) if (key.startsWith(`${cellId}|`)) this.cache.delete(key);
  }

  async rolesOf(cell: StoredEntity, claims: TokenClaims, via: 'local' | 'trans-cell'): Promise<HeldRole[]> {
    const key = `${cell.id}|${via}|${claims.sub}|${claims.orig ?? claims.iss}|${claims.aid ?? ''}|${(claims.roles ?? []).join(' ')}`;
    const hit = this.cache.get(key);
    if (hit && hit.until > Date.now()) return hit.roles;
    const roles = await this.resolve(cell, claims);
    if (this.cache.size >= 10000) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, { roles, until: Date.now() + CACHE_MS });
    return roles;
  }

  private async resolve(cell: StoredEntity, claims: TokenClaims): Promise<HeldRole[]> {
    const scope: Scope = { cellId: cell.id, boxId: '', nodeId: '' };
    const root = cellUrl(this.unitUrl, this.mode, cell.props.Name as string);
    const found = new Map<string, StoredEntity>();
    const add = (roles: StoredEntity[]) => roles.forEach((r) => found.set(r.id, r));

    if (claims.aid !== undefined && claims.iss === root) {
      add(await this.linked(scope, 'Role', claims.aid, 'Account-Role', 'from'));
    } else {
      const extCell = await this.extCellFor(scope, claims.orig ?? claims.iss);
      if (extCell) {
        add(await this.linked(scope, 'Role', extCell.id, 'ExtCell-Role', 'from'));
        const relations = await this.linked(scope, 'Relation', extCell.id, 'ExtCell-Relation', 'from');
        for (const relation of relations) add(await this.linked(scope, 'Role', relation.id, 'Relation-Role', 'from'));
        const vouched = new Set((claims.roles ?? []).map((r) => resolveLocalUnitUrl(this.unitUrl, this.mode, r)));
        if (vouched.size > 0) {
          for (const relation of relations) {
            for (const extRole of await this.extRolesOf(scope, relation)) {
              const named = resolveLocalUnitUrl(this.unitUrl, this.mode, String(extRole.props.ExtRole));
              if (vouched.has(named)) add(await this.linked(scope, 'Role', extRole.id, 'ExtRole-Role', 'from'));
            }
          }
        }
      }
    }
    return [...found.values()].map((r) => {
      const name = r.props.Name as string;
      const box = (r.props['_Box.Name'] as string | null) ?? null;
      return { name, box, url: roleUrl(root, box, name) };
    });
  }

  private async linked(scope: Scope, set: string, id: string, association: string, direction: 'from' | 'to') {
    const result = await this.store.query(scope, set, { top: ALL, skip: 0, count: false, linkedTo: { id, name: association, direction } });
    return result.entities;
  }

  /** The ExtCell naming `issuer`, in either the absolute or the `personium-localunit:` form. */
  private async extCellFor(scope: Scope, issuer: string): Promise<StoredEntity | undefined> {
    const direct = await this.store.get(scope, 'ExtCell', issuer);
    if (direct) return direct;
    const all = await this.store.query(scope, 'ExtCell', { top: ALL, skip: 0, count: false });
    return all.entities.find((e) => resolveLocalUnitUrl(this.unitUrl, this.mode, String(e.props.Url)) === issuer);
  }

  private async extRolesOf(scope: Scope, relation: StoredEntity): Promise<StoredEntity[]> {
    const dialect = this.store.dialect;
    const where = jsonStringEquals('props', '_Relation.Name', relation.props.Name as string, dialect);
    const box = (relation.props['_Box.Name'] as string | null) ?? null;
    const result = await this.store.query(scope, 'ExtRole', { top: ALL, skip: 0, count: false, where });
    return result.entities.filter((e) => ((e.props['_Relation._Box.Name'] as string | null) ?? null) === box);
  }
}
