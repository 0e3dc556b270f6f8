import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import Fastify from 'fastify';
import { lazyChildLoggerFactory } from '../../src/http/lazy-logger.js';

/** The lazily made per-request logger must log exactly what Fastify's own child would. */
describe('per-request logger made on first use', () => {
  it('logs with the request id and the parent bindings, at the parent level', async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const app = Fastify({ logger: { level: 'info', stream }, disableRequestLogging: true, childLoggerFactory: lazyChildLoggerFactory, genReqId: () => 'key-1' });
    app.get('/quiet', async () => 'ok');
    app.get('/loud', async (req) => {
      req.log.debug('below the level');
      req.log.info({ code: 'X' }, 'request refused');
      const nested = req.log.child({ part: 'inner' });
      nested.warn('from a grandchild');
      return { enabled: (req.log as unknown as { isLevelEnabled(l: string): boolean }).isLevelEnabled('debug'), level: req.log.level };
    });
    try {
      assert.equal((await app.inject({ url: '/quiet' })).body, 'ok');
      assert.equal(lines.length, 0);
      const res = await app.inject({ url: '/loud' });
      assert.deepEqual(res.json(), { enabled: false, level: 'info' });
      assert.equal(lines.length, 2);
      assert.deepEqual({ reqId: lines[0]!.reqId, code: lines[0]!.code, msg: lines[0]!.msg }, { reqId: 'key-1', code: 'X', msg: 'request refused' });
      assert.deepEqual({ reqId: lines[1]!.reqId, part: lines[1]!.part, msg: lines[1]!.msg }, { reqId: 'key-1', part: 'inner', msg: 'from a grandchild' });
    } finally {
      await app.close();
    }
  });
});
