import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createApp } from '../../src/app.js';
import { backends, startTestApp } from '../support/backends.js';
import { call, json } from '../support/http.js';

for (const backend of backends) {
  describe(`stored data is reused across restarts on ${backend.name}`, { skip: backend.skip }, () => {
    it('keeps cells and re-runs migrations idempotently', async () => {
      const first = await startTestApp(backend);
      const created = await call(first, { method: 'POST', url: '/__ctl/Cell', body: { Name: 'survivor' } });
      assert.equal(created.statusCode, 201);
      await first.app.close();

      for (let round = 0; round < 2; round++) {
        const again = await createApp({ config: first.config });
        const res = await again.http.inject({
          url: "/__ctl/Cell('survivor')",
          headers: { authorization: `Bearer ${first.config.masterToken}` },
        });
        assert.equal(res.statusCode, 200);
        assert.equal(json(res).d.results.__metadata.etag, json(created).d.results.__metadata.etag);
        await again.close();
      }
      await first.close();
    });

    it('finishes an in-flight request before close() resolves (graceful shutdown)', async () => {
      const t = await startTestApp(backend);
      await t.app.http.listen({ port: 0, host: '127.0.0.1' });
      const address = t.app.http.server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      const body = JSON.stringify({ Name: 'in-flight' });
      const arrived = new Promise((resolve) => t.app.http.server.once('request', resolve));
      const req = http.request({
        port,
        host: '127.0.0.1',
        method: 'POST',
        path: '/__ctl/Cell',
        headers: { authorization: 'Bearer test-master-token', 'content-length': Buffer.byteLength(body) },
      });
      const response = new Promise<number>((resolve, reject) => {
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
      });
      // Headers first; the body only after shutdown has begun, so the request is surely in flight.
      req.flushHeaders();
      await arrived;
      const closing = t.app.close();
      req.end(body);
      assert.equal(await response, 201);
      await closing;
      await t.close();
    });
  });
}
