import { it } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startTestApp } from '../support/backends.js';
import { call } from '../support/http.js';
import { createCell, ctlPost, createAccount, token, passwordGrant } from '../support/auth.js';
/**
 * Hostile combinations on the WebDAV and cell URL space (every method × odd URLs × broken bodies ×
 * odd headers × callers): a client must never be able to cause a 500.
 */
it('no combination of method, URL, body, header and caller gives a 5xx', async () => {
  const t = await startTestApp(backends[0]!);
  try {
    await createCell(t, 'c');
    await ctlPost(t, 'c', 'Box', { Name: 'b' });
    await createAccount(t, 'c', 'u', 'u-pw-1234');
    const tok = (await token(t, 'c', passwordGrant('u', 'u-pw-1234'))).access_token;
    await call(t, { method: 'PUT', url: '/c/b/f', body: 'x' });
    await call(t, { method: 'MKCOL', url: '/c/b/d' });
    const methods = ['GET', 'PUT', 'DELETE', 'MKCOL', 'MOVE', 'COPY', 'PROPFIND', 'PROPPATCH', 'ACL', 'POST', 'MERGE', 'REPORT', 'LOCK', 'UNLOCK', 'OPTIONS', 'HEAD'];
    const urls = ['/c/b', '/c/b/', '/c/b/f', '/c/b/d', '/c/b/d/x/y', '/c/b/f/x', '/c/__', '/c/__/', '/c/nobox/x', '/nocell/b/f', '/c/b/%ff', '/c/b/%', '/c/__ctl', '/c/__token', '/c/__box?schema=%', '/c/b/' + 'a'.repeat(3000)];
    const bodies = [undefined, '', '<x', '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop/></D:propfind>', '{"a":1}', '<D:acl xmlns:D="DAV:"><D:ace/></D:acl>'];
    const heads = [{}, { depth: 'x' }, { destination: 'http://unit.test/c/b/z' }, { destination: '::' }, { range: 'bytes=5-1' }, { 'if-match': 'garbage' }, { overwrite: 'T', destination: 'http://unit.test/c/b/d' }];
    let bad = 0;
    for (const m of methods) for (const u of urls) for (const b of bodies) for (const h of heads) for (const as of ['master', tok]) {
      const r = await call(t, { method: m, url: u, ...(b !== undefined ? { body: b } : {}), headers: h as Record<string, string>, as });
      if (r.statusCode >= 500) {
        bad++;
        if (bad <= 10) console.error('5xx:', m, u, JSON.stringify(h), r.statusCode, r.body.slice(0, 200));
      }
    }
    assert.equal(bad, 0);
  } finally { await t.close(); }
});
