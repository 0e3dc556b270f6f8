import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import { call, json, mkcolOData } from '../support/http.js';
import { createCell, ctlPost } from '../support/auth.js';

/**
 * The read cache keeps WebDAV nodes found by path while files are only being added (ReadCache,
 * EntityStore.withTransaction's treeChange): what a client reads right after any write must still
 * be what the write left — listings, paths that did not exist a moment ago, replaced bodies.
 */
for (const backend of backends) {
  describe(`WebDAV reads right after writes, through the read cache, on ${backend.name}`, { skip: backend.skip }, () => {
    let t: TestApp;
    const dav = (method: string, url: string, body?: string, headers: Record<string, string> = {}) =>
      call(t, { method, url, headers, ...(body !== undefined ? { body } : {}) });
    const listing = async (url: string) => {
      const res = await dav('PROPFIND', url, undefined, { depth: '1' });
      assert.equal(res.statusCode, 207, res.body);
      return [...res.body.matchAll(/<response><href>([^<]+)<\/href>/g)].map((m) => m[1]!).sort();
    };

    before(async () => {
      t = await startTestApp(backend);
      await createCell(t, 'c');
      await ctlPost(t, 'c', 'Box', { Name: 'box' });
      assert.equal((await dav('MKCOL', '/c/box/docs')).statusCode, 201);
    });
    after(() => t.close());

    it('a path that answered 404 answers the new file once it is PUT, and the listing shows it', async () => {
      // Read the collection, its listing and the missing path first, so each is a cache candidate.
      assert.equal((await dav('GET', '/c/box/docs/a.txt')).statusCode, 404);
      assert.equal((await dav('GET', '/c/box/docs/a.txt')).statusCode, 404);
      const before = await listing('/c/box/docs');
      const put = await dav('PUT', '/c/box/docs/a.txt', 'first', { 'content-type': 'text/plain' });
      assert.equal(put.statusCode, 201, put.body);
      const got = await dav('GET', '/c/box/docs/a.txt');
      assert.equal(got.statusCode, 200);
      assert.equal(got.body, 'first');
      assert.equal(got.headers.etag, put.headers.etag);
      assert.deepEqual(await listing('/c/box/docs'), [...before, 'http://unit.test/c/box/docs/a.txt'].sort());
    });

    it('a replaced file is read back with its new body and ETag, a removed one is gone', async () => {
      await dav('PUT', '/c/box/docs/b.txt', 'one');
      assert.equal((await dav('GET', '/c/box/docs/b.txt')).body, 'one');
      const second = await dav('PUT', '/c/box/docs/b.txt', 'two');
      assert.equal(second.statusCode, 204);
      const got = await dav('GET', '/c/box/docs/b.txt');
      assert.equal(got.body, 'two');
      assert.equal(got.headers.etag, second.headers.etag);
      assert.equal((await dav('DELETE', '/c/box/docs/b.txt')).statusCode, 204);
      assert.equal((await dav('GET', '/c/box/docs/b.txt')).statusCode, 404);
    });

    it('concurrent PUTs of one new name: one creates, the rest replace, and a GET returns the last', async () => {
      const bodies = Array.from({ length: 12 }, (_, i) => `body-${i}`);
      // GETs in between may find (and keep) a version that a later PUT of the race replaces.
      const puts = bodies.map((b) => dav('PUT', '/c/box/docs/race.txt', b));
      const gets = bodies.map(() => dav('GET', '/c/box/docs/race.txt'));
      const results = (await Promise.all([...puts, ...gets])).slice(0, bodies.length);
      assert.deepEqual(results.map((r) => r.statusCode).sort(), [201, ...Array(11).fill(204)]);
      // ETags are "version-updated": the highest version is the content that stayed.
      const version = (etag: unknown) => Number(/^"(\d+)-/.exec(String(etag))![1]);
      const last = results.reduce((a, b) => (version(b.headers.etag) > version(a.headers.etag) ? b : a));
      const got = await dav('GET', '/c/box/docs/race.txt');
      assert.equal(got.headers.etag, last.headers.etag);
      assert.equal(got.body, bodies[results.indexOf(last)]);
    });

    it('a file PUT into a collection removed meanwhile is refused, and nothing is left of it', async () => {
      assert.equal((await dav('MKCOL', '/c/box/gone')).statusCode, 201);
      assert.equal((await dav('PUT', '/c/box/gone/x.txt', 'x')).statusCode, 201);
      assert.equal((await dav('DELETE', '/c/box/gone', undefined, { 'x-personium-recursive': 'true' })).statusCode, 204);
      const res = await dav('PUT', '/c/box/gone/y.txt', 'y');
      assert.equal(res.statusCode, 409, res.body);
      assert.equal((await dav('GET', '/c/box/gone/y.txt')).statusCode, 404);
      assert.equal((await dav('GET', '/c/box/gone')).statusCode, 404);
    });

    it('data below an OData collection follows changes to the collection at once: its ACL, its name', async () => {
      await mkcolOData(t, '/c/box/data');
      assert.equal((await dav('POST', '/c/box/data/$metadata/EntityType', JSON.stringify({ Name: 'Item' }))).statusCode, 201);
      assert.equal((await dav('POST', '/c/box/data/Item', JSON.stringify({ __id: 'k1', note: 'hello' }))).statusCode, 201);
      const entity = '/c/box/data/Item(\'k1\')';
      // Twice: the second request finds the collection's path kept by the first.
      for (let i = 0; i < 2; i++) assert.equal(json(await dav('GET', entity)).d.results.note, 'hello');
      assert.equal((await call(t, { url: entity, as: 'anonymous' })).statusCode, 401);
      const acl =
        '<?xml version="1.0" encoding="utf-8"?><D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns">' +
        '<D:ace><D:principal><D:all/></D:principal><D:grant><D:privilege><D:read/></D:privilege></D:grant></D:ace></D:acl>';
      assert.equal((await dav('ACL', '/c/box/data', acl, { 'content-type': 'application/xml' })).statusCode, 200);
      assert.equal((await call(t, { url: entity, as: 'anonymous' })).statusCode, 200);

      const moved = await dav('MOVE', '/c/box/data', undefined, { destination: 'http://unit.test/c/box/moved' });
      assert.equal(moved.statusCode, 201, moved.body);
      assert.equal((await dav('GET', entity)).statusCode, 404);
      const there = await dav('GET', '/c/box/moved/Item(\'k1\')');
      assert.equal(there.statusCode, 200, there.body);
      assert.equal(json(there).d.results.__metadata.uri, "http://unit.test/c/box/moved/Item('k1')");
    });
  });
}
