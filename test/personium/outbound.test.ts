import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { OutboundClient, OutboundError } from '../../src/personium/auth/outbound.js';

describe('the guarded outbound client', () => {
  let server: http.Server;
  let port: number;
  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/big') {
        res.end('x'.repeat(300 * 1024));
        return;
      }
      if (req.url === '/slow') return; // never answers
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const guarded = new OutboundClient({ allowPrivate: false, trustedHosts: ['unit.example'] });

  for (const url of [
    'file:///etc/passwd',
    'ftp://example.com/x',
    'gopher://example.com/',
    'http://127.0.0.1:1/__certs',
    'http://10.0.0.1/__certs',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]/__certs',
    'http://[::ffff:127.0.0.1]/__certs',
    'http://localhost:1/__certs',
    'not a url',
  ]) {
    it(`refuses ${url}`, async () => {
      await assert.rejects(guarded.getJson(url), OutboundError);
    });
  }

  it('reaches a private address only when allowed, and bounds size and time', async () => {
    await assert.rejects(guarded.getJson(`http://127.0.0.1:${port}/`), OutboundError);
    const open = new OutboundClient({ allowPrivate: true, trustedHosts: [], timeoutMs: 300 });
    assert.deepEqual(await open.getJson(`http://127.0.0.1:${port}/`), { ok: true });
    await assert.rejects(open.getJson(`http://127.0.0.1:${port}/big`), /more than/);
    await assert.rejects(open.getJson(`http://127.0.0.1:${port}/slow`), /timed out/);
  });

  it("trusts the unit's own host whatever it resolves to", async () => {
    const own = new OutboundClient({ allowPrivate: false, trustedHosts: [`127.0.0.1:${port}`] });
    assert.deepEqual(await own.getJson(`http://127.0.0.1:${port}/`), { ok: true });
  });
});
