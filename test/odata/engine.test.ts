import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { EntitySetDescriptor } from '../../src/odata/descriptor.js';
import { parseResourcePath } from '../../src/odata/resource-path.js';
import { ODataService } from '../../src/odata/service.js';
import { EntityStore } from '../../src/store/entity-store.js';
import { PersoniumError } from '../../src/core/errors/personium-error.js';
import { backends, openTestDatabase } from '../support/backends.js';

/**
 * The generic engine's `$links`, navigation and `$expand` plumbing, on two linked entity sets the
 * way cell control objects (issue 3) will use it: Shelf 1 — * Book (compound key), Book * — * Tag.
 */
const shelf: EntitySetDescriptor = {
  name: 'Shelf',
  typeName: 'Test.Shelf',
  keys: ['Name'],
  properties: [{ name: 'Name', type: 'Edm.String', nullable: false }],
  navigations: [{ name: '_Book', target: 'Book', multiplicity: '*', association: 'Shelf-Book', side: 'from' }],
};
const book: EntitySetDescriptor = {
  name: 'Book',
  typeName: 'Test.Book',
  keys: ['Title', '_Shelf.Name'],
  properties: [
    { name: 'Title', type: 'Edm.String', nullable: false },
    { name: '_Shelf.Name', type: 'Edm.String' },
    { name: 'Pages', type: 'Edm.Int32' },
    { name: 'Available', type: 'Edm.Boolean', defaultValue: () => true },
  ],
  navigations: [
    { name: '_Shelf', target: 'Shelf', multiplicity: '0..1', association: 'Shelf-Book', side: 'to' },
    { name: '_Tag', target: 'Tag', multiplicity: '*', association: 'Book-Tag', side: 'from' },
  ],
};
const tag: EntitySetDescriptor = {
  name: 'Tag',
  typeName: 'Test.Tag',
  keys: ['Name'],
  properties: [{ name: 'Name', type: 'Edm.String', nullable: false }],
  navigations: [{ name: '_Book', target: 'Book', multiplicity: '*', association: 'Book-Tag', side: 'to' }],
};
const sets = new Map([shelf, book, tag].map((s) => [s.name, s]));
const ROOT = 'http://unit.test/svc/';

for (const backend of backends) {
  describe(`OData engine: $links, navigation, $expand on ${backend.name}`, { skip: backend.skip }, () => {
    let release: () => Promise<void>;
    let service: ODataService;

    const send = async (method: string, url: string, body?: unknown, query: Record<string, string> = {}) => {
      const target = parseResourcePath(url, sets);
      return service.handle({
        method,
        target,
        query,
        body: body === undefined ? undefined : Buffer.from(JSON.stringify(body)),
      });
    };
    const refused = async (promise: Promise<unknown>, code: string) => {
      await assert.rejects(promise, (err: unknown) => err instanceof PersoniumError && err.code === code);
    };

    before(async () => {
      const opened = await openTestDatabase(backend);
      release = opened.release;
      const database = opened.database;
      const store = new EntityStore(database.db, database.dialect);
      service = new ODataService({ store, scope: { cellId: 'c', boxId: '', nodeId: '' }, serviceRoot: ROOT, sets });
      await send('POST', 'Shelf', { Name: 'top' });
      await send('POST', 'Shelf', { Name: 'bottom' });
      await send('POST', 'Tag', { Name: 'red' });
      await send('POST', 'Tag', { Name: 'blue' });
    });
    after(() => release());

    it('creates through a navigation property and links atomically (apiref 210)', async () => {
      const res = await send('POST', "Shelf('top')/_Book", { Title: 'Dune', '_Shelf.Name': 'top', Pages: 412 });
      assert.equal(res.status, 201);
      assert.equal(res.headers?.location, `${ROOT}Book(Title='Dune',_Shelf.Name='top')`);
      const body = JSON.parse(res.body!).d.results;
      assert.equal(body.Available, true, 'default applied');
      assert.deepEqual(body._Tag, { __deferred: { uri: `${ROOT}Book(Title='Dune',_Shelf.Name='top')/_Tag` } });
      const list = JSON.parse((await send('GET', "Shelf('top')/_Book")).body!).d.results;
      assert.deepEqual(list.map((b: { Title: string }) => b.Title), ['Dune']);
    });

    it('a failed navigation create leaves nothing behind', async () => {
      await refused(send('POST', "Shelf('nowhere')/_Book", { Title: 'Lost', '_Shelf.Name': null }), 'PR404-OD-0002');
      const res = await send('GET', 'Book', undefined, { $filter: "Title eq 'Lost'" });
      assert.deepEqual(JSON.parse(res.body!).d.results, []);
    });

    it('retrieves compound keys, with null members and by position', async () => {
      await send('POST', 'Book', { Title: 'Loose' });
      assert.equal((await send('GET', "Book(Title='Loose',_Shelf.Name=null)")).status, 200);
      assert.equal((await send('GET', "Book('Loose')")).status, 200);
      assert.equal((await send('GET', "Book(Title='Dune',_Shelf.Name='top')")).status, 200);
      await refused(send('GET', "Book(Title='Dune')"), 'PR404-OD-0002');
    });

    it('creates, lists and deletes $links (apiref 206–209)', async () => {
      const link = await send('POST', "Book(Title='Dune',_Shelf.Name='top')/$links/_Tag", { uri: `${ROOT}Tag('red')` });
      assert.equal(link.status, 204);
      await send('POST', "Book(Title='Dune',_Shelf.Name='top')/$links/_Tag", { uri: `${ROOT}Tag('blue')` });
      const listed = JSON.parse((await send('GET', "Book(Title='Dune',_Shelf.Name='top')/$links/_Tag", undefined, { $orderby: 'Name' })).body!);
      assert.deepEqual(listed.d.results, [{ uri: `${ROOT}Tag('blue')` }, { uri: `${ROOT}Tag('red')` }]);
      // The reverse direction reads the same link.
      const reverse = JSON.parse((await send('GET', "Tag('red')/_Book")).body!).d.results;
      assert.deepEqual(reverse.map((b: { Title: string }) => b.Title), ['Dune']);

      await refused(send('POST', "Book(Title='Dune',_Shelf.Name='top')/$links/_Tag", { uri: `${ROOT}Tag('red')` }), 'PR409-OD-0002');
      await refused(send('POST', "Book(Title='Dune',_Shelf.Name='top')/$links/_Tag", { uri: `${ROOT}Tag('green')` }), 'PR400-OD-0024');
      await refused(send('POST', "Book(Title='Dune',_Shelf.Name='top')/$links/_Tag", { uri: 'http://elsewhere/Tag(\'red\')' }), 'PR400-OD-0028');
      await refused(send('POST', "Book(Title='Dune',_Shelf.Name='top')/$links/_Tag('red')", { uri: `${ROOT}Tag('red')` }), 'PR400-OD-0010');

      const unlink = await send('DELETE', "Book(Title='Dune',_Shelf.Name='top')/$links/_Tag('blue')");
      assert.equal(unlink.status, 204);
      await refused(send('DELETE', "Book(Title='Dune',_Shelf.Name='top')/$links/_Tag('blue')"), 'PR404-OD-0002');
    });

    it('honours 0..1 multiplicity: a book sits on one shelf', async () => {
      await refused(send('POST', "Book(Title='Dune',_Shelf.Name='top')/$links/_Shelf", { uri: `${ROOT}Shelf('bottom')` }), 'PR409-OD-0002');
      await refused(send('POST', "Shelf('bottom')/$links/_Book", { uri: `${ROOT}Book(Title='Dune',_Shelf.Name='top')` }), 'PR409-OD-0002');
    });

    it('refuses to delete an entity that still has links (409 PR409-OD-0001)', async () => {
      await refused(send('DELETE', "Tag('red')"), 'PR409-OD-0001');
      await send('DELETE', "Book(Title='Dune',_Shelf.Name='top')/$links/_Tag('red')");
      assert.equal((await send('DELETE', "Tag('red')")).status, 204);
    });

    it('$expand inlines related entities (apiref 405)', async () => {
      const res = JSON.parse((await send('GET', "Shelf('top')", undefined, { $expand: '_Book' })).body!).d.results;
      assert.deepEqual(res._Book.map((b: { Title: string }) => b.Title), ['Dune']);
      const single = JSON.parse((await send('GET', "Book(Title='Dune',_Shelf.Name='top')", undefined, { $expand: '_Shelf' })).body!).d.results;
      assert.equal(single._Shelf.Name, 'top');
      const none = JSON.parse((await send('GET', "Book('Loose')", undefined, { $expand: '_Shelf' })).body!).d.results;
      assert.equal(none._Shelf, null);
    });

    it('typed properties: wrong types refused, $filter on numbers and booleans', async () => {
      await refused(send('POST', 'Book', { Title: 'Bad', Pages: 'many' }), 'PR400-OD-0006');
      await refused(send('POST', 'Book', { Title: 'Bad', Pages: 1.5 }), 'PR400-OD-0006');
      await refused(send('POST', 'Book', { Title: 'Bad', Available: 'yes' }), 'PR400-OD-0006');
      await send('POST', 'Book', { Title: 'Short', Pages: 20, Available: false });
      const big = JSON.parse((await send('GET', 'Book', undefined, { $filter: 'Pages gt 100' })).body!).d.results;
      assert.deepEqual(big.map((b: { Title: string }) => b.Title), ['Dune']);
      const off = JSON.parse((await send('GET', 'Book', undefined, { $filter: 'Available eq false' })).body!).d.results;
      assert.deepEqual(off.map((b: { Title: string }) => b.Title), ['Short']);
    });

    it('navigation and $links on unknown names are refused', async () => {
      await refused(send('GET', "Shelf('top')/_Nope"), 'PR404-OD-0003');
      await refused(send('GET', "Shelf('top')/$links/_Nope"), 'PR400-OD-0008');
      await refused(send('GET', "Shelf('top')/$links"), 'PR400-OD-0011');
    });
  });
}
