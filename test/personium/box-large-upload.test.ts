import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { Readable } from 'node:stream';
import { backends, startTestApp, MASTER_TOKEN, type TestApp } from '../support/backends.js';
import { createCell, ctlPost, freePort } from '../support/auth.js';

/** A body produced piece by piece: the test holds no more of it in memory than the server should. */
function generated(bytes: number): Readable {
  let sent = 0;
  const chunk = Buffer.alloc(64 * 1024, 'z');
  return new Readable({
    read() {
      if (sent >= bytes) return void this.push(null);
      const n = Math.min(chunk.length, bytes - sent);
      sent += n;
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
}

/** Raw request over the socket, path sent exactly as written (no client-side `..` resolution). */
function raw(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ port, host: '127.0.0.1', method, path, headers: { authorization: `Bearer ${MASTER_TOKEN}`, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('large WebDAV uploads stream through a real socket', () => {
  let t: TestApp;
  let port: number;
  before(async () => {
    port = await freePort();
    t = await startTestApp(backends[0]!, { KURA_UNIT_URL: `http://127.0.0.1:${port}/` });
    await t.app.http.listen({ port, host: '127.0.0.1' });
    await createCell(t, 'big');
    await ctlPost(t, 'big', 'Box', { Name: 'box' });
  });
  after(() => t.close());

  it('takes a 96 MiB body far above the JSON body limit, chunked, and serves it back by range', async () => {
    const size = 96 * 1024 * 1024;
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        { port, host: '127.0.0.1', method: 'PUT', path: '/big/box/blob.bin', headers: { authorization: `Bearer ${MASTER_TOKEN}`, 'content-type': 'application/octet-stream' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      generated(size).pipe(req);
    });
    assert.equal(status, 201);
    const tail = await fetch(`http://127.0.0.1:${port}/big/box/blob.bin`, { headers: { authorization: `Bearer ${MASTER_TOKEN}`, range: `bytes=${size - 3}-` } });
    assert.equal(tail.status, 206);
    assert.equal(tail.headers.get('content-range'), `bytes ${size - 3}-${size - 1}/${size}`);
    assert.equal(await tail.text(), 'zzz');
  });

  it('refuses traversal in paths and Destination as sent on the wire, changing nothing', async () => {
    for (const path of ['/big/box/%2e%2e/escape.txt', '/big/box/..%2fescape.txt', '/big/box/a/%2E%2E/b.txt', '/big/box/%2e%2e']) {
      const res = await raw(port, 'PUT', path, {}, 'x');
      assert.ok(res.status >= 400 && res.status < 500, `${path}: ${res.status} ${res.body}`);
    }
    await raw(port, 'PUT', '/big/box/m.txt', {}, 'move me');
    for (const destination of [`http://127.0.0.1:${port}/big/box/%2e%2e/x`, `http://127.0.0.1:${port}/big/box/sub/../../x`, `http://127.0.0.1:${port}/big/other/x`]) {
      const res = await raw(port, 'MOVE', '/big/box/m.txt', { destination });
      assert.equal(res.status, 400, `${destination}: ${res.body}`);
    }
    const list = await raw(port, 'PROPFIND', '/big/box', { depth: '1' });
    assert.deepEqual([...list.body.matchAll(/<href>([^<]+)<\/href>/g)].map((m) => m[1]).sort(), [
      `http://127.0.0.1:${port}/big/box`,
      `http://127.0.0.1:${port}/big/box/blob.bin`,
      `http://127.0.0.1:${port}/big/box/m.txt`,
    ]);
  });

  it('refuses an XML body over 1 MiB with 413', async () => {
    const res = await raw(port, 'PROPPATCH', '/big/box/m.txt', {}, `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:x">${'a'.repeat(1100 * 1024)}</x></D:prop></D:set></D:propertyupdate>`);
    assert.equal(res.status, 413);
  });
});
