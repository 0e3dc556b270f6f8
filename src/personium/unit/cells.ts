import { PersoniumError } from '../../core/errors/personium-error.js';
import type { EntitySetHooks } from '../../odata/service.js';
import type { BlobStore } from '../../store/blob-store.js';
import { DavStore } from '../../store/dav-store.js';
import { UNIT_SCOPE, type EntityStore, type StoredEntity } from '../../store/entity-store.js';
import { cellSet } from './cell-set.js';

/** Rules the Cell entity set adds to the generic engine. */
export const cellHooks: EntitySetHooks = {
  // Unit-User.md: a cell remembers the unit user that created it (hidden, never changes).
  beforeWrite(props, current, ctx) {
    if (current) return;
    const owner = (ctx.caller as { owner?: string } | undefined)?.owner;
    if (owner !== undefined) props.__owner = owner;
  },
  // apiref 104: a cell that still holds boxes, accounts, roles, … can't be deleted (recursive delete is 105).
  async beforeDelete(cell: StoredEntity, store: EntityStore) {
    if (await store.cellHasContent(cell.id)) throw new PersoniumError('PR409-OD-0001');
  },
};

export async function findCell(store: EntityStore, name: string): Promise<StoredEntity | undefined> {
  return store.get(UNIT_SCOPE, cellSet.name, name);
}

/** apiref 105: removes the cell and everything in it, in one transaction. */
export async function deleteCellRecursively(
  store: EntityStore,
  blobs: BlobStore,
  name: string,
  onlyOwner?: string,
): Promise<void> {
  const files = await store.withTransaction(async (trx) => {
    const cell = await findCell(trx, name);
    if (!cell) throw new PersoniumError('PR404-DV-0003');
    if (onlyOwner !== undefined && cell.props.__owner !== onlyOwner) throw new PersoniumError('PR403-AU-0003');
    const fileBlobs = await new DavStore(trx.executor).blobsOf(cell.id);
    await trx.deleteCellContent(cell.id);
    await trx.delete(cell);
    return fileBlobs;
  });
  // Bodies go once the rows that pointed at them are gone for good.
  await blobs.removeAll(files);
}
