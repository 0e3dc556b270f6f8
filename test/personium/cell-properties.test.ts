import { after, before, describe, it } from 'node:test';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import assert from 'node:assert/strict';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import { call, json } from '../support/http.js';
import { createAccount, createCell, passwordGrant, token } from '../support/auth.js';

const update = (inner: string) => `<?xml version="1.0" encoding="utf-8"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns" xmlns:x="urn:example">${inner}</D:propertyupdate>`;

for (const backend of backends) {
  describe(`Cell properties: PROPPATCH (apiref 291) on ${backend.name}`, { skip: backend.skip }, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(backend);
      await createCell(t, 'c');
    });
    after(() => t.close());

    async function stored(): Promise<Record<string, unknown>> {
      const cell = await t.app.store.get({ cellId: '', boxId: '', nodeId: '' }, 'Cell', 'c');
      return (cell!.props.__properties ?? {}) as Record<string, unknown>;
    }

    it('sets and removes properties in any namespace and answers 207 with each one', async () => {
      const res = await call(t, {
        method: 'PROPPATCH',
        url: '/c/',
        body: update('<D:set><D:prop><p:foo>bar</p:foo><x:color lang="en">blue</x:color></D:prop></D:set><D:remove><D:prop><p:gone/></D:prop></D:remove>'),
      });
      assert.equal(res.statusCode, 207, res.body);
      assert.match(String(res.headers['content-type']), /^application\/xml/);
      assert.match(res.body, /<D:href>http:\/\/unit\.test\/c\/<\/D:href>/);
      assert.match(res.body, />bar</);
      assert.match(res.body, /HTTP\/1\.1 200 OK/);
      assert.deepEqual(Object.keys(await stored()).sort(), ['{urn:example}color', '{urn:x-personium:xmlns}foo']);
      const removed = await call(t, { method: 'PROPPATCH', url: '/c', body: update('<D:remove><D:prop><p:foo/></D:prop></D:remove>') });
      assert.equal(removed.statusCode, 207);
      assert.deepEqual(Object.keys(await stored()), ['{urn:example}color']);
    });

    it('refuses a live DAV: property with 403 for it, 424 for the rest, and changes nothing', async () => {
      const res = await call(t, {
        method: 'PROPPATCH',
        url: '/c/',
        body: update('<D:set><D:prop><D:getetag>x</D:getetag><p:other>1</p:other></D:prop></D:set>'),
      });
      assert.equal(res.statusCode, 207);
      assert.match(res.body, /403 Forbidden/);
      assert.match(res.body, /424 Failed Dependency/);
      assert.deepEqual(Object.keys(await stored()), ['{urn:example}color']);
    });

    for (const [what, body, code] of [
      ['malformed XML', '<D:propertyupdate xmlns:D="DAV:"><D:set>', 'PR400-DV-0001'],
      ['another root', '<D:propfind xmlns:D="DAV:"/>', 'PR400-DV-0006'],
      ['an empty update', update(''), 'PR400-DV-0006'],
      ['a DOCTYPE', '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><D:propertyupdate xmlns:D="DAV:">&e;</D:propertyupdate>', 'PR400-DV-0006'],
      ['a property too deeply nested', update(`<D:set><D:prop>${'<x:a>'.repeat(80)}${'</x:a>'.repeat(80)}</D:prop></D:set>`), 'PR400-DV-0006'],
    ] as const) {
      it(`refuses ${what} with 400 ${code}`, async () => {
        const res = await call(t, { method: 'PROPPATCH', url: '/c/', body });
        assert.equal(res.statusCode, 400, res.body);
        assert.equal(json(res).code, code);
        assert.deepEqual(Object.keys(await stored()), ['{urn:example}color']);
      });
    }

    it('is for unit users only (apiref 291)', async () => {
      await createAccount(t, 'c', 'me', 'me-pw-123');
      const mine = (await token(t, 'c', passwordGrant('me', 'me-pw-123'))).access_token;
      const res = await call(t, { method: 'PROPPATCH', url: '/c/', as: mine, body: update('<D:set><D:prop><p:x>1</p:x></D:prop></D:set>') });
      assert.equal(res.statusCode, 403);
      assert.equal((await call(t, { method: 'PROPPATCH', url: '/c/', as: 'anonymous', body: update('') })).statusCode, 401);
    });
  });
}

describe('pages a cell relays (apiref 200 relayhtmlurl, 292 authorizationhtmlurl)', () => {
  let t: TestApp;
  let pages: http.Server;
  let base: string;
  before(async () => {
    pages = http.createServer((req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(req.url === '/login.html' ? '<html>custom login</html>' : '<html>welcome to c</html>');
    });
    await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
    t = await startTestApp(backends[0]!, { KURA_OUTBOUND_ALLOW_PRIVATE: 'true' });
    await createCell(t, 'c');
  });
  after(async () => {
    await t.close();
    pages.closeAllConnections();
    pages.close();
  });

  it('serves the built-in pages until the properties name others, then relays those', async () => {
    const authz = `/c/__authz?response_type=code&client_id=${encodeURIComponent('http://unit.test/app/')}&redirect_uri=${encodeURIComponent('http://unit.test/app/cb')}`;
    assert.match((await call(t, { url: '/c/', as: 'anonymous', headers: { accept: 'text/html' } })).body, /served by kura/);
    assert.match((await call(t, { url: authz, as: 'anonymous' })).body, /name="username"/);
    const body = update(`<D:set><D:prop><p:relayhtmlurl>${base}/root.html</p:relayhtmlurl><p:authorizationhtmlurl>${base}/login.html</p:authorizationhtmlurl></D:prop></D:set>`);
    assert.equal((await call(t, { method: 'PROPPATCH', url: '/c/', body })).statusCode, 207);
    assert.equal((await call(t, { url: '/c/', as: 'anonymous', headers: { accept: 'text/html' } })).body, '<html>welcome to c</html>');
    const login = await call(t, { url: authz, as: 'anonymous' });
    assert.equal(login.body, '<html>custom login</html>');
    assert.equal(login.headers['content-security-policy'], undefined);
    // A page that can't be fetched falls back to the built-in one.
    const broken = update('<D:set><D:prop><p:relayhtmlurl>http://127.0.0.1:1/nothing</p:relayhtmlurl></D:prop></D:set>');
    assert.equal((await call(t, { method: 'PROPPATCH', url: '/c/', body: broken })).statusCode, 207);
    assert.match((await call(t, { url: '/c/', as: 'anonymous', headers: { accept: 'text/html' } })).body, /served by kura/);
  });
});
