import { PersoniumError } from '../../core/errors/personium-error.js';
import type { Principal } from './principal.js';

/**
 * What a route needs. Issue 4 grows this into the full Personium privilege set decided from ACLs;
 * for now the unit level knows two: open to all, and unit users only (apiref 100: "Only unit users permitted").
 */
export type Privilege = 'none' | 'unit-user';

/** The one place that decides; throws the documented error when the caller falls short. */
export function authorize(principal: Principal, privilege: Privilege): void {
  if (privilege === 'none') return;
  switch (principal.kind) {
    case 'unit-master':
      return;
    case 'anonymous':
      throw new PersoniumError('PR401-AU-0001');
    case 'bad-scheme':
      throw new PersoniumError('PR401-AU-0003');
    case 'unrecognised-token':
      throw new PersoniumError('PR403-AU-0001');
  }
}
