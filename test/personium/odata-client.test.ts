import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { OData, defaultProxy, type FetchProxy } from '@odata/client';
import { backends, MASTER_TOKEN, startTestApp, type TestApp } from '../support/backends.js';
import { mkcolOData } from '../support/http.js';
import { createCell, ctlPost, freePort } from '../support/auth.js';

/**
 * Interoperability: a third-party OData V2 client from npm (`@odata/client`, used as published)
 * drives a running kura over a real socket — schema, create, read, filter, update, link, navigate
 * and delete in an OData service collection.
 *
 * Two Personium conventions that kura keeps show through the client, and the assertions name them:
 * - a single entity comes as `{"d":{"results":{…}}}` (standard V2: `{"d":{…}}`), so the client's
 *   `create`/`retrieve`, which hand back `d`, hand back `{ results: entity }`;
 * - errors are `{"code":…,"message":{…}}` (standard V2: `{"error":{…}}`), so the client does not
 *   throw on them. Every request's status is therefore recorded through the client's documented
 *   `fetchProxy` option, wrapped around the client's own `defaultProxy`, and checked.
 * The client has no `$links` API: links (and PUT, which replaces) go through its generic
 * `newRequest`, the link path as the "collection". Its `update` sends PATCH, which kura takes as
 * MERGE (Personium answers 405; PATCH is MERGE's name from OData V3 on).
 */

interface Exchange {
  method: string;
  url: string;
  status: number;
}

/** What `create`/`retrieve` return from kura: the entity under `results` (see above). */
interface Single<T> {
  results: T & { __metadata: { uri: string; etag: string; type: string } };
}

interface Sale {
  __id: string;
  title: string;
  amount: number | null;
  region?: string;
}

interface Customer {
  __id: string;
  name: string;
}

for (const backend of backends) {
  describe(`an npm OData V2 client (@odata/client) against kura on ${backend.name}`, { skip: backend.skip }, () => {
    let t: TestApp;
    let colUrl: string;
    const exchanges: Exchange[] = [];

    /** The client's own transport (`defaultProxy`), with each exchange's status recorded. */
    const recording: FetchProxy = async (url, init) => {
      const answer = await defaultProxy(url, init);
      exchanges.push({ method: String(init.method), url, status: answer.response.status });
      return answer;
    };
    const client = (serviceEndpoint: string) =>
      OData.New({ serviceEndpoint, commonHeaders: { Authorization: `Bearer ${MASTER_TOKEN}` }, fetchProxy: recording });
    /** The exchanges since `from`, as `METHOD status`. */
    const statuses = (from: number) => exchanges.slice(from).map((e) => `${e.method} ${e.status}`);

    before(async () => {
      const port = await freePort();
      const base = `http://127.0.0.1:${port}/`;
      t = await startTestApp(backend, { KURA_UNIT_URL: base });
      await t.app.http.listen({ port, host: '127.0.0.1' });
      await createCell(t, 'c');
      await ctlPost(t, 'c', 'Box', { Name: 'box1' });
      await mkcolOData(t, '/c/box1/col');
      colUrl = `${base}c/box1/col/`;
    });
    after(() => t.close());

    it('defines the schema through the $metadata service (apiref 345–363)', async () => {
      const from = exchanges.length;
      const schema = client(`${colUrl}$metadata/`);
      const entityTypes = schema.getEntitySet('EntityType');
      await entityTypes.create({ Name: 'Sales' });
      await entityTypes.create({ Name: 'Customer' });
      const properties = schema.getEntitySet('Property');
      await properties.create({ Name: 'title', '_EntityType.Name': 'Sales', Type: 'Edm.String', Nullable: false });
      await properties.create({ Name: 'amount', '_EntityType.Name': 'Sales', Type: 'Edm.Int32' });
      await properties.create({ Name: 'name', '_EntityType.Name': 'Customer', Type: 'Edm.String' });
      const ends = schema.getEntitySet('AssociationEnd');
      await ends.create({ Name: 'customer', '_EntityType.Name': 'Customer', Multiplicity: '1' });
      await ends.create({ Name: 'sales', '_EntityType.Name': 'Sales', Multiplicity: '*' });
      // An association: link the two ends (apiref 323) through the client's generic request.
      await schema.newRequest({
        method: 'POST',
        collection: "AssociationEnd(Name='customer',_EntityType.Name='Customer')/$links/_AssociationEnd",
        entity: { uri: `${colUrl}$metadata/AssociationEnd(Name='sales',_EntityType.Name='Sales')` },
      });
      assert.deepEqual(statuses(from), [...Array(7).fill('POST 201'), 'POST 204']);

      const names = (await entityTypes.query(schema.newOptions().orderby('Name', 'asc'))).map((e: { Name: string }) => e.Name);
      assert.deepEqual(names, ['Customer', 'Sales']);
      const amount = (await properties.retrieve({ Name: 'amount', '_EntityType.Name': 'Sales' })) as Single<{ Type: string; Nullable: boolean }>;
      assert.deepEqual([amount.results.Type, amount.results.Nullable], ['Edm.Int32', true]);
    });

    it('creates, reads by key, filters, updates, links, navigates and deletes user data (apiref 364–378)', async () => {
      const from = exchanges.length;
      const data = client(colUrl);
      const sales = data.getEntitySet<Sale>('Sales');
      const customers = data.getEntitySet<Customer>('Customer');

      // create (apiref 364)
      const created = (await sales.create({ __id: 's1', title: 'first', amount: 10, region: 'north' })) as unknown as Single<Sale>;
      assert.equal(created.results.__id, 's1');
      assert.equal(created.results.__metadata.uri, `${colUrl}Sales('s1')`);
      assert.equal(created.results.__metadata.type, 'UserData.Sales');
      for (const [id, title, amount, region] of [['s2', 'second', 20, 'south'], ['s3', 'third', 30, 'north'], ['s4', 'fourth', 40, 'north']] as const) {
        await sales.create({ __id: id, title, amount, region });
      }
      await customers.create({ __id: 'alice', name: 'Alice' });

      // read by key (apiref 365)
      const read = (await sales.retrieve('s3')) as unknown as Single<Sale>;
      assert.deepEqual([read.results.__id, read.results.title, read.results.amount, read.results.region], ['s3', 'third', 30, 'north']);

      // list with $filter (eq on a string), $orderby and $top (apiref 365, 400–407)
      const north = await sales.query(
        sales.newOptions().filter(sales.newFilter().property('region').eq('north')).orderby('amount', 'desc').top(2),
      );
      assert.deepEqual(north.map((s) => s.__id), ['s4', 's3']);
      assert.equal(await sales.count(sales.newFilter().property('region').eq('north')), 3);
      assert.deepEqual((await sales.find({ title: 'second' })).map((s) => s.__id), ['s2'], 'eq on a declared property');

      // update: PUT replaces the entity (apiref 366).
      await data.newRequest({ method: 'PUT', collection: 'Sales', id: 's3', entity: { title: 'third, revised', amount: 33 } });
      const updated = ((await sales.retrieve('s3')) as unknown as Single<Sale>).results;
      assert.deepEqual([updated.title, updated.amount, updated.region], ['third, revised', 33, undefined], 'PUT replaces: the dynamic region is gone');
      assert.match(updated.__metadata.etag, /^W\/"2-\d+"$/);

      // link (apiref 373) and list the link and the navigation property (apiref 374, 378)
      await data.newRequest({ method: 'POST', collection: "Sales('s1')/$links/_Customer", entity: { uri: `${colUrl}Customer('alice')` } });
      await data.newRequest({ method: 'POST', collection: "Sales('s2')/$links/_Customer", entity: { uri: `${colUrl}Customer('alice')` } });
      const links = await data.newRequest({ collection: "Customer('alice')/$links/_Sales" });
      assert.deepEqual(links.d?.results.map((l: { uri: string }) => l.uri).sort(), [`${colUrl}Sales('s1')`, `${colUrl}Sales('s2')`]);
      const ofAlice = await data.getEntitySet<Sale>("Customer('alice')/_Sales").query(sales.newOptions().orderby('__id', 'asc'));
      assert.deepEqual(ofAlice.map((s) => [s.__id, s.title]), [['s1', 'first'], ['s2', 'second']]);
      // ... and create through the navigation property (apiref 376)
      await data.getEntitySet<Sale>("Customer('alice')/_Sales").create({ __id: 's5', title: 'fifth', amount: 50 });
      const customerOfS5 = await data.getEntitySet<Customer>("Sales('s5')/_Customer").query();
      assert.deepEqual(customerOfS5.map((c) => c.__id), ['alice']);

      // unlink and delete (apiref 370, 375)
      await data.newRequest({ method: 'DELETE', collection: "Sales('s2')/$links/_Customer('alice')" });
      await sales.delete('s2');
      const remaining = await sales.query(sales.newOptions().orderby('__id', 'asc'));
      assert.deepEqual(remaining.map((s) => s.__id), ['s1', 's3', 's4', 's5']);

      assert.deepEqual(statuses(from), [
        ...Array(5).fill('POST 201'), // four Sales, one Customer
        'GET 200', // read by key
        'GET 200', // filter
        'GET 200', // count
        'GET 200', // find
        'PUT 204',
        'GET 200',
        'POST 204', // two links
        'POST 204',
        'GET 200', // $links
        'GET 200', // navigation
        'POST 201', // create via navigation
        'GET 200',
        'DELETE 204', // unlink
        'DELETE 204', // delete
        'GET 200',
      ]);
    });

    it("updates partially with the client's own update (PATCH, taken as MERGE); a missing entity is 404 in Personium's format", async () => {
      const from = exchanges.length;
      const data = client(colUrl);
      const sales = data.getEntitySet<Sale>('Sales');
      await sales.update('s1', { amount: 11 });
      const merged = ((await sales.retrieve('s1')) as unknown as Single<Sale>).results;
      assert.deepEqual([merged.title, merged.amount], ['first', 11], 'PATCH keeps what it does not name');
      const wrongType = (await data.newRequest({ method: 'PATCH', collection: 'Sales', id: 's1', entity: { amount: 'eleven' } })) as unknown as { code: string };
      assert.equal(wrongType.code, 'PR400-OD-0006');
      const gone = (await data.newRequest({ collection: 'Sales', id: 's2' })) as unknown as { code: string };
      assert.equal(gone.code, 'PR404-OD-0002');
      assert.equal(await sales.retrieve('s2'), undefined, 'not a V2 `error` object, so the client does not throw');
      assert.deepEqual(statuses(from), ['PATCH 204', 'GET 200', 'PATCH 400', 'GET 404', 'GET 404']);
      assert.equal(((await sales.retrieve('s1')) as unknown as Single<Sale>).results.amount, 11, 'the refused PATCH changed nothing');
    });
  });
}
