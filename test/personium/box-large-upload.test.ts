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
});
