import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import { call, json } from '../support/http.js';
import { createAccount, createCell, ctlPost, passwordGrant, token } from '../support/auth.js';

const C = 'http://unit.test/c/';
const BOX = `${C}box1`;

function dav(t: TestApp, method: string, url: string, opts: { body?: string | Buffer; headers?: Record<string, string>; as?: string } = {}) {
  return call(t, { method, url, ...(opts.body !== undefined ? { body: opts.body } : {}), headers: opts.headers ?? {}, ...(opts.as ? { as: opts.as } : {}) });
}

function assertCode(res: LightMyRequestResponse, status: number, code: string): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(json(res).code, code);
}

const MKCOL_ODATA = '<?xml version="1.0" encoding="utf-8"?><D:mkcol xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:set><D:prop><D:resourcetype><D:collection/><p:odata/></D:resourcetype></D:prop></D:set></D:mkcol>';
const mkcolBody = (ext: string) => MKCOL_ODATA.replace('<p:odata/>', ext);

/** Bodies above 64 KiB live in blob files; smaller ones in their database row. */
const LARGE = Buffer.alloc(100 * 1024, 7);

/** Names of the blob files on disk, to show that nothing is left behind. */
function blobFiles(t: TestApp): string[] {
  const root = path.join(t.dataDir, 'blobs');
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(dir, e.name));
      else out.push(e.name);
    }
  };
  if (fs.existsSync(root)) walk(root);
  return out.sort();
}

for (const backend of backends) {
  describe(`WebDAV in boxes (apiref 305–315) on ${backend.name}`, { skip: backend.skip }, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(backend, { KURA_FILE_LIMIT: String(200 * 1024) });
      await createCell(t, 'c');
      await ctlPost(t, 'c', 'Box', { Name: 'box1', Schema: 'http://unit.test/app/' });
      await ctlPost(t, 'c', 'Box', { Name: 'box2' });
    });
    after(() => t.close());

    describe('collections', () => {
      it('MKCOL makes plain, OData, service and stream collections (apiref 306)', async () => {
        const plain = await dav(t, 'MKCOL', '/c/box1/docs');
        assert.equal(plain.statusCode, 201, plain.body);
        assert.match(String(plain.headers.etag), /^"1-\d+"$/);
        for (const [name, ext] of [['data', '<p:odata/>'], ['svc', '<p:service/>'], ['feed', '<p:stream/>'], ['plain2', '']] as const) {
          assert.equal((await dav(t, 'MKCOL', `/c/box1/${name}`, { body: mkcolBody(ext) })).statusCode, 201, name);
        }
        const list = await dav(t, 'PROPFIND', '/c/box1', { headers: { depth: '1' } });
        assert.equal(list.statusCode, 207);
        assert.match(list.body, /<href>http:\/\/unit\.test\/c\/box1\/data<\/href>.*?<resourcetype><collection\/><p:odata xmlns:p="urn:x-personium:xmlns"\/><\/resourcetype>/s);
        assert.match(list.body, /<href>http:\/\/unit\.test\/c\/box1\/svc<\/href>.*?<p:service/s);
        assert.match(list.body, /<href>http:\/\/unit\.test\/c\/box1\/feed<\/href>.*?<p:stream/s);
        // A service collection keeps its sources in __src.
        assert.equal((await dav(t, 'PROPFIND', '/c/box1/svc/__src', { headers: { depth: '0' } })).statusCode, 207);
      });

      it('refuses what MKCOL can not do, creating nothing', async () => {
        assertCode(await dav(t, 'MKCOL', '/c/box1/docs'), 405, 'PR405-DV-0001');
        assertCode(await dav(t, 'MKCOL', '/c/box1/nowhere/deeper'), 409, 'PR409-DV-0001');
        for (const bad of ['a%20b', 'a%2Fb', 'x%3Ay', 'q%3F', '%01', `${'n'.repeat(256)}`]) {
          assertCode(await dav(t, 'MKCOL', `/c/box1/${bad}`), 403, 'PR403-DV-0004');
        }
        assert.equal((await dav(t, 'MKCOL', '/c/box1/weird', { body: mkcolBody('<p:calendar/>') })).statusCode, 403);
        assert.equal((await dav(t, 'MKCOL', '/c/box1/weird', { body: '<D:mkcol xmlns:D="DAV:"><D:set>' })).statusCode, 400);
        assertCode(await dav(t, 'MKCOL', '/c/box1/data/inside'), 404, 'PR404-DV-0001');
        const names = await dav(t, 'PROPFIND', '/c/box1', { headers: { depth: '1' } });
        assert.ok(!names.body.includes('weird') && !names.body.includes('a%20b'));
      });

      it('GET on a collection answers its URL, on a box root the box (personium-core)', async () => {
        const col = await dav(t, 'GET', '/c/box1/docs');
        assert.equal(col.statusCode, 200);
        assert.equal(col.body, `URL : ${BOX}/docs\n`);
        const root = json(await dav(t, 'GET', '/c/box1'));
        assert.deepEqual(root.box, { name: 'box1', url: `${BOX}/`, schema: 'http://unit.test/app/', status: 'ready' });
        assertCode(await dav(t, 'GET', '/c/nobox/x'), 404, 'PR404-DV-0002');
      });
    });

    describe('files', () => {
      let etag: string;
      it('PUT creates (201) and replaces (204) with a new ETag each time (apiref 312)', async () => {
        const created = await dav(t, 'PUT', '/c/box1/docs/a.txt', { body: 'hello world', headers: { 'content-type': 'text/plain' } });
        assert.equal(created.statusCode, 201);
        const replaced = await dav(t, 'PUT', '/c/box1/docs/a.txt', { body: 'hello again, world', headers: { 'content-type': 'text/plain', 'if-match': String(created.headers.etag) } });
        assert.equal(replaced.statusCode, 204);
        assert.notEqual(replaced.headers.etag, created.headers.etag);
        etag = String(replaced.headers.etag);
      });

      it('GET returns the body with type, length, ETag and Last-Modified; If-None-Match gives 304', async () => {
        const res = await dav(t, 'GET', '/c/box1/docs/a.txt');
        assert.equal(res.statusCode, 200);
        assert.equal(res.body, 'hello again, world');
        assert.equal(res.headers['content-type'], 'text/plain');
        assert.equal(res.headers['content-length'], '18');
        assert.equal(res.headers.etag, etag);
        assert.ok(res.headers['last-modified']);
        assert.equal(res.headers['accept-ranges'], 'bytes');
        for (const tag of [etag, `W/${etag}`]) {
          const cached = await dav(t, 'GET', '/c/box1/docs/a.txt', { headers: { 'if-none-match': tag } });
          assert.equal(cached.statusCode, 304);
          assert.equal(cached.body, '');
        }
      });

      it('serves byte ranges: one as 206 with Content-Range, several as multipart/byteranges, none as 416', async () => {
        const one = await dav(t, 'GET', '/c/box1/docs/a.txt', { headers: { range: 'bytes=6-10' } });
        assert.equal(one.statusCode, 206);
        assert.equal(one.body, 'again');
        assert.equal(one.headers['content-range'], 'bytes 6-10/18');
        const suffix = await dav(t, 'GET', '/c/box1/docs/a.txt', { headers: { range: 'bytes=-5' } });
        assert.equal(suffix.body, 'world');
        const many = await dav(t, 'GET', '/c/box1/docs/a.txt', { headers: { range: 'bytes=0-4,13-17' } });
        assert.equal(many.statusCode, 206);
        const boundary = /boundary=(\S+)/.exec(String(many.headers['content-type']))![1];
        assert.equal(Number(many.headers['content-length']), Buffer.byteLength(many.body));
        const parts = many.body.split(`--${boundary}`).filter((p) => p.includes('Content-Range'));
        assert.deepEqual(parts.map((p) => /Content-Range: (.*)\r\n/.exec(p)![1]), ['bytes 0-4/18', 'bytes 13-17/18']);
        assert.deepEqual(parts.map((p) => p.split('\r\n\r\n')[1]!.replace(/\r\n$/, '')), ['hello', 'world']);
        const none = await dav(t, 'GET', '/c/box1/docs/a.txt', { headers: { range: 'bytes=100-200' } });
        assert.equal(none.statusCode, 416);
        assert.equal(none.headers['content-range'], 'bytes */18');
      });

      it('refuses a stale If-Match (412) and keeps the content', async () => {
        assertCode(await dav(t, 'PUT', '/c/box1/docs/a.txt', { body: 'lost update', headers: { 'if-match': '"1-1"' } }), 412, 'PR412-DV-0001');
        assertCode(await dav(t, 'DELETE', '/c/box1/docs/a.txt', { headers: { 'if-match': '"1-1"' } }), 412, 'PR412-DV-0001');
        assert.equal((await dav(t, 'GET', '/c/box1/docs/a.txt')).body, 'hello again, world');
      });

      it('keeps small bodies in the database and large ones in blob files, across overwrites, ranges and COPY', async () => {
        const before = blobFiles(t);
        assert.equal((await dav(t, 'PUT', '/c/box1/docs/size.bin', { body: 'small body' })).statusCode, 201);
        assert.deepEqual(blobFiles(t), before, 'a small body writes no blob file');
        assert.equal((await dav(t, 'GET', '/c/box1/docs/size.bin', { headers: { range: 'bytes=6-9' } })).body, 'body');
        assert.equal((await dav(t, 'PUT', '/c/box1/docs/size.bin', { body: LARGE })).statusCode, 204);
        assert.equal(blobFiles(t).length, before.length + 1);
        const large = await dav(t, 'GET', '/c/box1/docs/size.bin');
        assert.equal(large.rawPayload.length, LARGE.length);
        assert.ok(large.rawPayload.equals(LARGE));
        assert.equal((await dav(t, 'COPY', '/c/box1/docs/size.bin', { headers: { destination: `${BOX}/docs/size2.bin` } })).statusCode, 201);
        assert.equal(blobFiles(t).length, before.length + 2);
        assert.equal((await dav(t, 'PUT', '/c/box1/docs/size.bin', { body: 'small again' })).statusCode, 204);
        assert.equal((await dav(t, 'GET', '/c/box1/docs/size.bin')).body, 'small again');
        assert.equal(blobFiles(t).length, before.length + 1, 'the replaced blob file is gone');
        assert.equal((await dav(t, 'COPY', '/c/box1/docs/size.bin', { headers: { destination: `${BOX}/docs/size3.bin` } })).statusCode, 201);
        assert.equal((await dav(t, 'GET', '/c/box1/docs/size3.bin')).body, 'small again');
        for (const name of ['size.bin', 'size2.bin', 'size3.bin']) assert.equal((await dav(t, 'DELETE', `/c/box1/docs/${name}`)).statusCode, 204);
        assert.deepEqual(blobFiles(t), before);
      });

      it('an oversized upload is refused with 413, leaving the old content and no stray blob', async () => {
        const before = blobFiles(t);
        const res = await dav(t, 'PUT', '/c/box1/docs/a.txt', { body: Buffer.alloc(210 * 1024, 1) });
        assert.equal(res.statusCode, 413);
        assert.equal((await dav(t, 'GET', '/c/box1/docs/a.txt')).body, 'hello again, world');
        assert.deepEqual(blobFiles(t), before);
      });

      it('PUT refuses collections, missing parents and bad names', async () => {
        assert.equal((await dav(t, 'PUT', '/c/box1/docs', { body: 'x' })).statusCode, 405);
        assertCode(await dav(t, 'PUT', '/c/box1/missing/a.txt', { body: 'x' }), 409, 'PR409-DV-0001');
        assertCode(await dav(t, 'PUT', '/c/box1/docs/a.txt/below', { body: 'x' }), 404, 'PR404-DV-0001');
        assertCode(await dav(t, 'PUT', '/c/box1/docs/%00evil', { body: 'x' }), 403, 'PR403-DV-0004');
        // (`%2e%2e` can't be tested in-process: the injector resolves it like `..` before kura sees it.)
      });
    });

    describe('DELETE and MOVE (apiref 309, 310, 314)', () => {
      it('deletes files and empty collections; a full one only recursively', async () => {
        await dav(t, 'MKCOL', '/c/box1/tmp');
        await dav(t, 'MKCOL', '/c/box1/tmp/sub');
        await dav(t, 'PUT', '/c/box1/tmp/sub/f.bin', { body: LARGE });
        const before = blobFiles(t).length;
        assertCode(await dav(t, 'DELETE', '/c/box1/tmp'), 403, 'PR403-DV-0003');
        assertCode(await dav(t, 'DELETE', '/c/box1/tmp', { headers: { 'x-personium-recursive': 'maybe' } }), 400, 'PR400-DV-0009');
        assert.equal((await dav(t, 'DELETE', '/c/box1/tmp', { headers: { 'x-personium-recursive': 'true' } })).statusCode, 204);
        assertCode(await dav(t, 'GET', '/c/box1/tmp/sub/f.bin'), 404, 'PR404-DV-0001');
        assert.equal(blobFiles(t).length, before - 1);
        await dav(t, 'MKCOL', '/c/box1/empty');
        assert.equal((await dav(t, 'DELETE', '/c/box1/empty')).statusCode, 204);
        assertCode(await dav(t, 'DELETE', '/c/box1/empty'), 404, 'PR404-DV-0001');
      });

      it('moves and renames within the box, keeping the ETag; Overwrite decides about existing files', async () => {
        await dav(t, 'PUT', '/c/box1/docs/m.txt', { body: 'move me' });
        const tag = (await dav(t, 'GET', '/c/box1/docs/m.txt')).headers.etag;
        const moved = await dav(t, 'MOVE', '/c/box1/docs/m.txt', { headers: { destination: `${BOX}/plain2/n.txt` } });
        assert.equal(moved.statusCode, 201, moved.body);
        assert.equal(moved.headers.location, `${BOX}/plain2/n.txt`);
        assert.equal((await dav(t, 'GET', '/c/box1/plain2/n.txt')).headers.etag, tag);
        assertCode(await dav(t, 'GET', '/c/box1/docs/m.txt'), 404, 'PR404-DV-0001');
        await dav(t, 'PUT', '/c/box1/docs/o.txt', { body: 'other' });
        assertCode(await dav(t, 'MOVE', '/c/box1/docs/o.txt', { headers: { destination: `${BOX}/plain2/n.txt` } }), 412, 'PR412-DV-0002');
        const over = await dav(t, 'MOVE', '/c/box1/docs/o.txt', { headers: { destination: `${BOX}/plain2/n.txt`, overwrite: 'T' } });
        assert.equal(over.statusCode, 204);
        assert.equal((await dav(t, 'GET', '/c/box1/plain2/n.txt')).body, 'other');
        // Collections move whole.
        const col = await dav(t, 'MOVE', '/c/box1/plain2', { headers: { destination: `${BOX}/docs/plain3` } });
        assert.equal(col.statusCode, 201);
        assert.equal((await dav(t, 'GET', '/c/box1/docs/plain3/n.txt')).body, 'other');
      });

      it('refuses moves the page rules out, changing nothing', async () => {
        const cases: [Record<string, string>, number, string][] = [
          [{}, 400, 'PR400-DV-0010'],
          [{ destination: 'http://unit.test/c/box2/x' }, 400, 'PR400-DV-0009'],
          [{ destination: 'http://evil.example/c/box1/x' }, 400, 'PR400-DV-0009'],
          [{ destination: `${BOX}/docs` }, 403, 'PR403-DV-0005'],
          [{ destination: `${BOX}/docs/plain3/inside` }, 400, 'PR400-DV-0009'],
          [{ destination: `${BOX}/nowhere/x` }, 409, 'PR409-DV-0001'],
          [{ destination: `${BOX}/data`, overwrite: 'T' }, 400, 'PR400-DV-0012'],
          [{ destination: `${BOX}/x`, overwrite: 'maybe' }, 400, 'PR400-DV-0009'],
          [{ destination: `${BOX}/a%20b` }, 403, 'PR403-DV-0004'],
          [{ destination: `${BOX}/docs/../escape` }, 400, 'PR400-DV-0009'],
        ];
        for (const [headers, status, code] of cases) {
          assertCode(await dav(t, 'MOVE', '/c/box1/docs', { headers }), status, code);
        }
        assertCode(await dav(t, 'MOVE', '/c/box1', { headers: { destination: `${BOX}/x` } }), 400, 'PR400-DV-0015');
        assert.equal((await dav(t, 'PROPFIND', '/c/box1/docs', { headers: { depth: '0' } })).statusCode, 207);
      });
    });

    describe('properties (apiref 305, 307, 308, 313)', () => {
      it('PROPFIND answers Depth 0 and 1, refuses infinity and a missing Depth', async () => {
        const zero = await dav(t, 'PROPFIND', '/c/box1/docs', { headers: { depth: '0' }, body: '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>' });
        assert.equal(zero.statusCode, 207);
        assert.equal((zero.body.match(/<response>/g) ?? []).length, 1);
        assert.match(zero.body, /<creationdate>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000<\/creationdate>/);
        assert.match(zero.body, /<getlastmodified>\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT<\/getlastmodified>/);
        const one = await dav(t, 'PROPFIND', '/c/box1/docs', { headers: { depth: '1' } });
        assert.match(one.body, /<href>http:\/\/unit\.test\/c\/box1\/docs\/a\.txt<\/href>.*?<getcontentlength>18<\/getcontentlength><getcontenttype>text\/plain<\/getcontenttype><resourcetype\/>/s);
        assertCode(await dav(t, 'PROPFIND', '/c/box1/docs', { headers: { depth: 'infinity' } }), 403, 'PR403-DV-0001');
        assertCode(await dav(t, 'PROPFIND', '/c/box1/docs'), 400, 'PR400-DV-0003');
        assertCode(await dav(t, 'PROPFIND', '/c/box1/docs', { headers: { depth: '0' }, body: '<D:propfind' }), 400, 'PR400-DV-0001');
      });

      it('PROPPATCH sets and removes dead properties, read back by PROPFIND', async () => {
        const body = `<D:propertyupdate xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns" xmlns:z="urn:zz"><D:set><D:prop><p:note>draft</p:note><z:tags><z:t>a</z:t></z:tags></D:prop></D:set></D:propertyupdate>`;
        const res = await dav(t, 'PROPPATCH', '/c/box1/docs/a.txt', { body });
        assert.equal(res.statusCode, 207, res.body);
        const found = await dav(t, 'PROPFIND', '/c/box1/docs/a.txt', { headers: { depth: '0' } });
        assert.match(found.body, /<p:note xmlns:p="urn:x-personium:xmlns">draft<\/p:note>/);
        assert.match(found.body, /<tags xmlns="urn:zz"><t>a<\/t><\/tags>|<z:tags xmlns:z="urn:zz"><z:t>a<\/z:t><\/z:tags>/);
        const removal = await dav(t, 'PROPPATCH', '/c/box1/docs/a.txt', {
          body: `<D:propertyupdate xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:remove><D:prop><p:note/><p:never/></D:prop></D:remove></D:propertyupdate>`,
        });
        assert.equal(removal.statusCode, 207);
        // RFC 4918 §14.23: removing an absent property is not an error.
        assert.ok(!removal.body.includes('404'));
        assert.ok(!(await dav(t, 'PROPFIND', '/c/box1/docs/a.txt', { headers: { depth: '0' } })).body.includes('draft'));
      });
    });

    describe('access control on box resources (apiref 006, 315)', () => {
      let reader: string;
      let writer: string;
      before(async () => {
        for (const [account, role] of [['rita', 'readers'], ['walt', 'writers']] as const) {
          await createAccount(t, 'c', account, `${account}-pw-1`);
          await ctlPost(t, 'c', 'Role', { Name: role, '_Box.Name': 'box1' });
          await ctlPost(t, 'c', `Role(Name='${role}',_Box.Name='box1')/$links/_Account`, { uri: `${C}__ctl/Account('${account}')` }, 204);
        }
        reader = (await token(t, 'c', passwordGrant('rita', 'rita-pw-1'))).access_token;
        writer = (await token(t, 'c', passwordGrant('walt', 'walt-pw-1'))).access_token;
      });

      const acl = (aces: string, attrs = '') =>
        `<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"${attrs}>${aces}</D:acl>`;
      const ace = (principal: string, ...privileges: string[]) =>
        `<D:ace><D:principal>${principal}</D:principal><D:grant>${privileges.map((p) => `<D:privilege><D:${p}/></D:privilege>`).join('')}</D:grant></D:ace>`;

      it('without an ACL only administrators get in', async () => {
        assert.equal((await dav(t, 'GET', '/c/box1/docs/a.txt', { as: reader })).statusCode, 403);
        assert.equal((await dav(t, 'GET', '/c/box1/docs/a.txt', { as: 'anonymous' })).statusCode, 401);
      });

      it('grants follow the ACLs up the tree: read on the box root, write on one collection', async () => {
        assert.equal((await dav(t, 'ACL', '/c/box1', { body: acl(ace('<D:href>readers</D:href>', 'read') + ace('<D:href>writers</D:href>', 'read')) })).statusCode, 200);
        assert.equal((await dav(t, 'ACL', '/c/box1/docs', { body: acl(ace('<D:href>writers</D:href>', 'write')) })).statusCode, 200);
        assert.equal((await dav(t, 'GET', '/c/box1/docs/a.txt', { as: reader })).statusCode, 200);
        assert.equal((await dav(t, 'PUT', '/c/box1/docs/r.txt', { as: reader, body: 'nope' })).statusCode, 403);
        assert.equal((await dav(t, 'PUT', '/c/box1/docs/w.txt', { as: writer, body: 'yes' })).statusCode, 201);
        assert.equal((await dav(t, 'PUT', '/c/box1/w.txt', { as: writer, body: 'not here' })).statusCode, 403);
        assert.equal((await dav(t, 'DELETE', '/c/box1/docs/w.txt', { as: writer })).statusCode, 204);
        // read does not include reading the ACL: PROPFIND shows it only to those who may.
        const seen = await dav(t, 'PROPFIND', '/c/box1/docs', { as: reader, headers: { depth: '0' } });
        assert.equal(seen.statusCode, 207);
        assert.ok(!seen.body.includes('<acl'));
        const admin = await dav(t, 'PROPFIND', '/c/box1/docs', { headers: { depth: '0' } });
        assert.match(admin.body, /<acl xmlns:p="urn:x-personium:xmlns" xml:base="http:\/\/unit\.test\/c\/__role\/box1\/">/);
        assert.match(admin.body, /<href>writers<\/href>/);
        assert.match(admin.body, /<inherited><href>http:\/\/unit\.test\/c\/box1<\/href><\/inherited>/);
      });

      it('all opens a resource to everyone', async () => {
        await dav(t, 'MKCOL', '/c/box1/public');
        await dav(t, 'PUT', '/c/box1/public/p.txt', { body: 'for all' });
        assert.equal((await dav(t, 'ACL', '/c/box1/public', { body: acl(ace('<D:all/>', 'read')) })).statusCode, 200);
        assert.equal((await dav(t, 'GET', '/c/box1/public/p.txt', { as: 'anonymous' })).body, 'for all');
      });

      it('requireSchemaAuthz demands an app-authenticated token of the box schema', async () => {
        assert.equal((await dav(t, 'ACL', '/c/box1/public', { body: acl(ace('<D:all/>', 'read'), ' p:requireSchemaAuthz="public"') })).statusCode, 200);
        assertCode(await dav(t, 'GET', '/c/box1/public/p.txt', { as: reader }), 403, 'PR403-AU-0004');
        assertCode(await dav(t, 'GET', '/c/box1/public/p.txt', { as: 'anonymous' }), 401, 'PR401-AU-0001');
        assert.equal((await dav(t, 'GET', '/c/box1/public/p.txt')).statusCode, 200);
      });

      it('requireSchemaAuthz="confidential" needs a confidential client of the box schema; __box finds the box by token', async () => {
        // Two app cells: 'app' (the box schema) and 'other'; 'app' has a confidential and a public client account.
        await createCell(t, 'app');
        await createCell(t, 'other');
        await createAccount(t, 'app', 'conf', 'conf-pw-1');
        await createAccount(t, 'app', 'pub', 'pub-pw-1');
        await createAccount(t, 'other', 'o', 'other-pw-1');
        await ctlPost(t, 'app', 'Role', { Name: 'confidentialClient' });
        await ctlPost(t, 'app', "Role('confidentialClient')/$links/_Account", { uri: "http://unit.test/app/__ctl/Account('conf')" }, 204);
        const secret = async (cell: string, account: string, pw: string) =>
          (await token(t, cell, passwordGrant(account, pw, { p_target: C }))).access_token as string;
        const asApp = async (cell: string, account: string, pw: string) =>
          (await token(t, 'c', passwordGrant('rita', 'rita-pw-1', { client_id: `http://unit.test/${cell}/`, client_secret: await secret(cell, account, pw) }))).access_token as string;
        const confidential = await asApp('app', 'conf', 'conf-pw-1');
        const { setTimeout: wait } = await import('node:timers/promises');
        await wait(1100);
        const publicClient = await asApp('app', 'pub', 'pub-pw-1');
        await wait(1100);
        const otherApp = await asApp('other', 'o', 'other-pw-1');
        assert.equal((await dav(t, 'ACL', '/c/box1/public', { body: acl(ace('<D:all/>', 'read'), ' p:requireSchemaAuthz="confidential"') })).statusCode, 200);
        assert.equal((await dav(t, 'GET', '/c/box1/public/p.txt', { as: confidential })).statusCode, 200);
        assertCode(await dav(t, 'GET', '/c/box1/public/p.txt', { as: publicClient }), 403, 'PR403-AU-0006');
        assertCode(await dav(t, 'GET', '/c/box1/public/p.txt', { as: otherApp }), 403, 'PR403-AU-0005');
        const where = await call(t, { url: '/c/__box', as: publicClient });
        assert.equal(where.statusCode, 200, where.body);
        assert.deepEqual(json(where), { Url: `${BOX}/` });
        await wait(1100);
      });

      it('refuses ACLs naming unknown roles, unknown privileges or XML it will not read', async () => {
        const cases: [string, string][] = [
          [acl(ace('<D:href>ghosts</D:href>', 'read')), 'PR400-DV-0004'],
          [acl(ace('<D:href>http://unit.test/other/__role/box1/x</D:href>', 'read')), 'PR400-DV-0004'],
          [acl('<D:ace><D:principal><D:all/></D:principal><D:grant><D:privilege><D:fly/></D:privilege></D:grant></D:ace>'), 'PR400-DV-0006'],
          ['<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><D:acl xmlns:D="DAV:">&e;</D:acl>', 'PR400-DV-0006'],
          ['<D:acl', 'PR400-DV-0001'],
        ];
        for (const [body, code] of cases) assertCode(await dav(t, 'ACL', '/c/box1/docs', { body }), 400, code);
        assert.equal((await dav(t, 'PUT', '/c/box1/docs/w2.txt', { as: writer, body: 'still can' })).statusCode, 201);
      });
    });

    describe('boxes', () => {
      it('__box tells an app where its box is (apiref 304)', async () => {
        const res = await call(t, { url: `/c/__box?schema=${encodeURIComponent('http://unit.test/app/')}` });
        assert.equal(res.statusCode, 200);
        assert.equal(res.headers.location, `${BOX}/`);
        assert.deepEqual(json(res), { Url: `${BOX}/` });
      });

      it('the main box __ always exists', async () => {
        assert.equal((await dav(t, 'PUT', '/c/__/readme.txt', { body: 'main' })).statusCode, 201);
        assert.equal((await dav(t, 'GET', '/c/__/readme.txt')).body, 'main');
        assertCode(await call(t, { method: 'DELETE', url: "/__ctl/Cell('c')" }), 409, 'PR409-OD-0001');
        assertCode(await dav(t, 'DELETE', '/c/__', { headers: { 'x-personium-recursive': 'true' } }), 405, 'PR405-MC-0001');
      });

      it('a box with files is deleted only recursively (apiref 260, 295), taking its roles and files along', async () => {
        await dav(t, 'PUT', '/c/box2/f.txt', { body: LARGE });
        await ctlPost(t, 'c', 'Role', { Name: 'b2role', '_Box.Name': 'box2' });
        assertCode(await call(t, { method: 'DELETE', url: "/c/__ctl/Box('box2')" }), 409, 'PR409-OD-0001');
        assertCode(await dav(t, 'DELETE', '/c/box2'), 412, 'PR412-MC-0001');
        const before = blobFiles(t).length;
        assert.equal((await dav(t, 'DELETE', '/c/box2', { headers: { 'x-personium-recursive': 'true' } })).statusCode, 204);
        assertCode(await call(t, { url: "/c/__ctl/Box('box2')" }), 404, 'PR404-OD-0002');
        assertCode(await call(t, { url: "/c/__ctl/Role(Name='b2role',_Box.Name='box2')" }), 404, 'PR404-OD-0002');
        assert.equal(blobFiles(t).length, before - 1);
      });

      it('a recursive cell delete removes every file body too', async () => {
        await createCell(t, 'gone');
        await dav(t, 'PUT', '/gone/__/x.bin', { body: LARGE });
        const before = blobFiles(t).length;
        assert.equal((await call(t, { method: 'DELETE', url: '/gone/', headers: { 'x-personium-recursive': 'true' } })).statusCode, 204);
        assert.equal(blobFiles(t).length, before - 1);
      });
    });
  });
}
