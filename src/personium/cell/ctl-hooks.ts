import { PersoniumError } from '../../core/errors/personium-error.js';
import type { EntitySetHooks, WriteContext } from '../../odata/service.js';
import { jsonStringEquals } from '../../query/compile.js';
import { AuthStore } from '../../store/auth-store.js';
import { DavStore } from '../../store/dav-store.js';
import type { PasswordHasher } from '../../core/passwords.js';
import { PASSWORD } from './formats.js';

/**
 * Rules of the cell control objects beyond their descriptors: Account passwords travel in the
 * `X-Personium-Credential` header (apiref 212, 215) and live hashed in a side table; a Box
 * schema URL names one box per cell (apiref 256).
 */
export function cellCtlHooks(passwords: PasswordHasher): Readonly<Record<string, EntitySetHooks>> {
  return {
    Account: {
      async prepare(_mode, header) {
        const credential = header('x-personium-credential');
        if (credential === undefined) return undefined;
        if (!PASSWORD.test(credential)) throw new PersoniumError('PR400-AU-0001');
        return passwords.hash(credential);
      },
      async afterWrite(account, current, ctx: WriteContext) {
        if (typeof ctx.prepared !== 'string') return;
        const auth = new AuthStore(ctx.store.executor);
        await auth.setPassword(account.id, ctx.prepared, Date.now());
        // A password set by an administrator ends the sessions the old one opened.
        if (current) await auth.revokeSubject(account.scope.cellId, account.id);
      },
    },
    Box: {
      // A box holding files or collections can't be deleted through OData (apiref 260; 295 deletes recursively).
      async beforeDelete(box, store) {
        const dav = new DavStore(store.executor);
        if (await dav.boxHasContent(box.scope.cellId, box.id)) throw new PersoniumError('PR409-OD-0001');
        await dav.deleteBox(box.scope.cellId, box.id);
      },
      async beforeWrite(props, current, ctx) {
        const schema = props.Schema;
        if (typeof schema !== 'string') return;
        const same = await ctx.store.query(ctx.scope, 'Box', {
          where: jsonStringEquals('props', 'Schema', schema, ctx.store.dialect),
          top: 2,
          skip: 0,
          count: false,
        });
        if (same.entities.some((b) => b.id !== current?.id)) throw new PersoniumError('PR409-OD-0003');
      },
    },
  };
}
