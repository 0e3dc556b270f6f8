import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import { call, cellNames, json } from '../support/http.js';

for (const backend of backends) {
  describe(`HTTP plumbing shared by every endpoint (apiref 001–003) on ${backend.name}`, { skip: backend.skip }, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(backend);
      await call(t, { method: 'POST', url: '/__ctl/Cell', body: { Name: 'plumbing' } });
    });
    after(() => t.close());

    it('X-HTTP-Method-Override on POST turns it into the named method', async () => {
      await call(t, { method: 'POST', url: '/__ctl/Cell', body: { Name: 'override-me' } });
      const res = await call(t, {
        method: 'POST',
        url: "/__ctl/Cell('override-me')",
        headers: { 'x-http-method-override': 'DELETE' },
      });
      assert.equal(res.statusCode, 204);
      assert.equal((await call(t, { url: "/__ctl/Cell('override-me')" })).statusCode, 404);
    });

    it('X-Override replaces request headers, several at once', async () => {
      const res = await call(t, {
        method: 'POST',
        url: "/__ctl/Cell('plumbing')",
        headers: {
          'x-http-method-override': 'PUT',
          'x-override': ['If-Match: W/"999-1"', 'X-Personium-RequestKey: overridden-key'],
        },
        body: { Name: 'plumbing' },
      });
      assert.equal(res.statusCode, 412, 'the overridden If-Match was used');
      assert.equal(res.headers['x-personium-requestkey'], 'overridden-key');
    });

    it('refuses a malformed X-Override with 400', async () => {
      const res = await call(t, { url: '/__ctl/Cell', headers: { 'x-override': 'no colon here' } });
      assert.equal(res.statusCode, 400);
      assert.equal(json(res).code, 'PR400-OD-0041');
    });

    it('echoes a valid X-Personium-RequestKey and generates one when absent', async () => {
      const given = await call(t, { url: '/__ctl/Cell', headers: { 'x-personium-requestkey': 'abc-DEF_123' } });
      assert.equal(given.headers['x-personium-requestkey'], 'abc-DEF_123');
      const generated = await call(t, { url: '/__ctl/Cell' });
      assert.match(String(generated.headers['x-personium-requestkey']), /^\d{4}_[A-Za-z0-9_-]{22}$/);
    });

    it('refuses an invalid X-Personium-RequestKey with 400 and changes nothing', async () => {
      const before = await cellNames(t);
      for (const key of ['has space', 'x'.repeat(129), 'semi;colon']) {
        const res = await call(t, { method: 'POST', url: '/__ctl/Cell', headers: { 'x-personium-requestkey': key }, body: { Name: 'rk' } });
        assert.equal(res.statusCode, 400, key);
        assert.equal(json(res).code, 'PR400-EV-0002');
      }
      assert.deepEqual(await cellNames(t), before);
    });

    it('answers CORS preflights with methods and the requested headers (apiref 002)', async () => {
      const res = await call(t, {
        method: 'OPTIONS',
        url: '/__ctl/Cell',
        as: 'anonymous',
        headers: { origin: 'http://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'sample' },
      });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['access-control-allow-origin'], '*');
      assert.equal(res.headers['access-control-allow-headers'], 'sample');
      const methods = String(res.headers['access-control-allow-methods']).split(', ');
      for (const m of ['GET', 'POST', 'PUT', 'DELETE', 'MERGE', 'PROPFIND']) assert.ok(methods.includes(m), m);
    });

    it('puts Access-Control-Allow-Origin and X-Personium-Version on errors too', async () => {
      const res = await call(t, { url: '/__ctl/Cell', as: 'anonymous' });
      assert.equal(res.statusCode, 401);
      assert.equal(res.headers['access-control-allow-origin'], '*');
      assert.ok(res.headers['x-personium-version']);
    });

    it('serves crossdomain.xml (apiref 001)', async () => {
      const res = await call(t, { url: '/crossdomain.xml', as: 'anonymous' });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /xml/);
      assert.match(res.body, /<site-control permitted-cross-domain-policies="all"\/>/);
      assert.match(res.body, /<allow-access-from domain="\*"\/>/);
      assert.match(res.body, /<allow-http-request-headers-from domain="\*" headers="\*"\/>/);
    });

    it('serves unit metadata (apiref 107)', async () => {
      const res = await call(t, { url: '/', as: 'anonymous', headers: { accept: 'application/json' } });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(json(res), { unit: { url: 'http://unit.test/', path_based_cellurl_enabled: true } });
    });

    it('reports health on __status and Prometheus metrics on __metrics', async () => {
      const status = await call(t, { url: '/__status', as: 'anonymous' });
      assert.equal(status.statusCode, 200);
      assert.equal(json(status).status, 'ok');
      assert.equal(json(status).database, backend.name);
      const metrics = await call(t, { url: '/__metrics', as: 'anonymous' });
      assert.equal(metrics.statusCode, 200);
      assert.match(metrics.body, /kura_http_request_duration_seconds_count\{method="GET",route="\/__ctl\/\*",status="200"\} \d+/);
      // A histogram: cumulative buckets ending in +Inf, which equals the count.
      const series = 'method="GET",route="/__status",status="200"';
      const value = (line: string) => Number(metrics.body.split('\n').find((l) => l.startsWith(line))?.split(' ').pop());
      const buckets = metrics.body.split('\n').filter((l) => l.startsWith(`kura_http_request_duration_seconds_bucket{${series}`)).map((l) => Number(l.split(' ').pop()));
      assert.equal(buckets.length, 13);
      assert.deepEqual([...buckets].sort((a, b) => a - b), buckets, 'buckets are cumulative');
      assert.equal(buckets.at(-1), value(`kura_http_request_duration_seconds_count{${series}}`));
      assert.ok(buckets.at(-1)! >= 1);
      assert.match(metrics.body, /kura_process_cpu_user_seconds_total \d/);
    });

    it('gzips large responses when the client accepts it (apiref 003)', async () => {
      for (let i = 0; i < 30; i++) await call(t, { method: 'POST', url: '/__ctl/Cell', body: { Name: `gz-${i}` } });
      const res = await t.app.http.inject({
        method: 'GET',
        url: '/__ctl/Cell?$top=100',
        headers: { authorization: 'Bearer test-master-token', 'accept-encoding': 'gzip' },
      });
      assert.equal(res.headers['content-encoding'], 'gzip');
      const body = JSON.parse(zlib.gunzipSync(res.rawPayload).toString('utf8'));
      assert.ok(body.d.results.length >= 30);
    });

    it('answers 404 for a URL that names nothing: a path below the unit is a cell (PR404-DV-0003)', async () => {
      const res = await call(t, { url: '/__nothing/here' });
      assert.equal(res.statusCode, 404);
      assert.equal(json(res).code, 'PR404-DV-0003');
    });
  });
}

describe('subdomain cell URLs (KURA_CELL_URL_MODE=subdomain)', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp(backends[0]!, { KURA_CELL_URL_MODE: 'subdomain' });
    await call(t, { method: 'POST', url: '/__ctl/Cell', body: { Name: 'sub' } });
  });
  after(() => t.close());

  it('reports per-cell FQDN URLs in unit metadata', async () => {
    const res = await call(t, { url: '/', as: 'anonymous' });
    assert.equal(json(res).unit.path_based_cellurl_enabled, false);
  });

  it('addresses the cell by its own host name, not by a unit path', async () => {
    const byPath = await call(t, { method: 'DELETE', url: '/sub/', headers: { 'x-personium-recursive': 'true' } });
    assert.equal(byPath.statusCode, 404);
    const byHost = await call(t, {
      method: 'DELETE',
      url: '/',
      headers: { host: 'sub.unit.test', 'x-personium-recursive': 'true' },
    });
    assert.equal(byHost.statusCode, 204);
    assert.equal((await call(t, { url: "/__ctl/Cell('sub')" })).statusCode, 404);
  });
});

describe('405 for a known URL with a method it does not take', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp(backends[0]!);
  });
  after(() => t.close());

  for (const [method, url] of [['PUT', '/__status'], ['POST', '/__metrics'], ['DELETE', '/crossdomain.xml'], ['PROPFIND', '/__status']] as const) {
    it(`${method} ${url} → 405 PR405-MC-0001`, async () => {
      const res = await call(t, { method, url });
      assert.equal(res.statusCode, 405);
      assert.equal(json(res).code, 'PR405-MC-0001');
    });
  }
});
