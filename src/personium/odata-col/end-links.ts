import { PersoniumError } from '../../core/errors/personium-error.js';
import { parseJsonObject } from '../../odata/body.js';
import { canonicalKey, formatKeyPredicate, keyValuesOf, parseKeyPredicate } from '../../odata/key.js';
import { linksBody } from '../../odata/json-writer.js';
import { parseLinkUri } from '../../odata/resource-path.js';
import type { ODataResponse } from '../../odata/service.js';
import type { EntityStore, Scope, StoredEntity } from '../../store/entity-store.js';
import { END_LINK } from './schema-model.js';
import { associationEndSet } from './schema-sets.js';

const SOURCE = /^AssociationEnd\((.*)\)$/s;
const NAV = /^_AssociationEnd(?:\((.*)\))?$/s;

/** Whether decoded schema path segments address AssociationEnd links (`AssociationEnd(…)/$links/_AssociationEnd…`). */
export function isEndLinkPath(segments: string[]): boolean {
  return segments.length === 3 && SOURCE.test(segments[0]!) && segments[1] === '$links' && NAV.test(segments[2]!);
}

export interface EndLinkRequest {
  method: string;
  segments: string[];
  body: Buffer | undefined;
  /** `{collection}/$metadata/` */
  serviceRoot: string;
}

/**
 * Links between two AssociationEnds, which is how two EntityTypes become associated (apiref
 * 323–325). An end takes part in one association at most; the pair is stored in both directions so
 * either end lists it. Refused as personium-core does: two `1` ends (PR400-OD-0031), an end already
 * linked (PR409-OD-0002), a second association between the same EntityTypes (PR409-OD-0006).
 */
export async function handleEndLinks(store: EntityStore, scope: Scope, req: EndLinkRequest): Promise<ODataResponse> {
  const sourceKey = parseKeyPredicate(SOURCE.exec(req.segments[0]!)![1]!, associationEndSet);
  const targetText = NAV.exec(req.segments[2]!)![1];
  const find = (s: EntityStore, key: ReturnType<typeof parseKeyPredicate>) => s.get(scope, 'AssociationEnd', canonicalKey(key));
  const uriOf = (end: StoredEntity) => `${req.serviceRoot}AssociationEnd${formatKeyPredicate(associationEndSet, keyValuesOf(associationEndSet, end.props))}`;

  if (req.method === 'GET') {
    if (targetText !== undefined) throw new PersoniumError('PR400-OD-0010');
    const source = await find(store, sourceKey);
    if (!source) throw new PersoniumError('PR404-OD-0000');
    const partners = await store.linksFrom(END_LINK, [source.id]);
    const ends = await Promise.all(partners.map((p) => store.getById(p.to)));
    const body = linksBody(ends.filter((e): e is StoredEntity => e !== undefined).map(uriOf));
    return { status: 200, headers: { 'content-type': 'application/json', dataserviceversion: '2.0' }, body };
  }

  if (req.method === 'POST') {
    if (targetText !== undefined) throw new PersoniumError('PR400-OD-0010');
    const targetKey = parseLinkUri(parseJsonObject(req.body).uri, req.serviceRoot, associationEndSet);
    await store.withTransaction(async (trx) => {
      const source = await find(trx, sourceKey);
      if (!source) throw new PersoniumError('PR404-OD-0000');
      const target = await find(trx, targetKey);
      if (!target) throw new PersoniumError('PR400-OD-0006', ['uri']);
      if (source.props.Multiplicity === '1' && target.props.Multiplicity === '1') throw new PersoniumError('PR400-OD-0031');
      const linked = await trx.linksFrom(END_LINK, [source.id, target.id]);
      if (linked.length > 0) throw new PersoniumError('PR409-OD-0002');
      const types = [source.props['_EntityType.Name'], target.props['_EntityType.Name']].sort().join('\u0000');
      const all = await trx.query(scope, 'AssociationEnd', { top: 100_000, skip: 0, count: false });
      const typeOf = new Map(all.entities.map((e) => [e.id, e.props['_EntityType.Name']]));
      for (const pair of await trx.linksFrom(END_LINK, [...typeOf.keys()])) {
        if ([typeOf.get(pair.from), typeOf.get(pair.to)].sort().join('\u0000') === types) throw new PersoniumError('PR409-OD-0006');
      }
      await trx.link(scope.cellId, END_LINK, source.id, target.id);
      if (source.id !== target.id) await trx.link(scope.cellId, END_LINK, target.id, source.id);
    });
    return { status: 204, headers: { dataserviceversion: '2.0' } };
  }

  if (req.method === 'DELETE') {
    if (targetText === undefined) throw new PersoniumError('PR400-OD-0011');
    const targetKey = parseKeyPredicate(targetText, associationEndSet);
    await store.withTransaction(async (trx) => {
      const source = await find(trx, sourceKey);
      const target = await find(trx, targetKey);
      if (!source || !target) throw new PersoniumError('PR404-OD-0000');
      const removed = await trx.unlink(END_LINK, source.id, target.id);
      await trx.unlink(END_LINK, target.id, source.id);
      if (!removed) throw new PersoniumError('PR404-OD-0000');
    });
    return { status: 204, headers: { dataserviceversion: '2.0' } };
  }
  throw new PersoniumError('PR405-MC-0001');
}
