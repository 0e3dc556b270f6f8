import type { FastifyBaseLogger } from 'fastify';
import type { StoredEntity } from '../../store/entity-store.js';
import type { OutboundClient } from '../auth/outbound.js';
import { personiumPropertyList, type DeadProperties } from '../dav/properties.js';

/**
 * Pages a cell may point elsewhere with a cell property (apiref 200 `p:relayhtmlurl`, apiref 292
 * `p:authorizationhtmlurl`): fetched through the guarded outbound client, `personium-localunit:`
 * URLs resolved first. When the page can't be fetched kura logs why and serves its own page, so a
 * broken setting never locks users out of logging in.
 */
export async function relayedPage(
  cell: StoredEntity,
  property: 'relayhtmlurl' | 'authorizationhtmlurl',
  outbound: OutboundClient,
  resolveLocalUnit: (url: string) => string,
  log: FastifyBaseLogger,
): Promise<string | undefined> {
  const [configured] = personiumPropertyList(cell.props.__properties as DeadProperties | undefined, property);
  if (!configured) return undefined;
  const url = resolveLocalUnit(configured);
  try {
    return (await outbound.get(url, 'text/html')).toString('utf8');
  } catch (err) {
    log.warn({ err, url, property }, 'relayed page unavailable; serving the built-in one');
    return undefined;
  }
}
