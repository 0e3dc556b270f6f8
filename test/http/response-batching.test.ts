import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import Fastify, { type FastifyInstance } from 'fastify';
import { batchResponses } from '../../src/http/response-batching.js';

/** A Fastify app with the batching hook and its log lines at warn and above. */
function appWithLog(): { app: FastifyInstance; problems: Record<string, unknown>[] } {
  const problems: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      problems.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const app = Fastify({ logger: { level: 'warn', stream } });
  batchResponses(app);
  return { app, problems };
}

async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  return `http://127.0.0.1:${address.port}`;
}

describe('responses of one event-loop turn written together', () => {
  it('holds a finished response until the end of the turn, then writes it', async () => {
    const { app } = appWithLog();
    const seen: { endedAtOnce?: boolean; endedAtTurnEnd?: boolean } = {};
    app.get('/one', (_req, reply) => {
      reply.send('body');
      seen.endedAtOnce = reply.raw.writableEnded;
      setImmediate(() => (seen.endedAtTurnEnd = reply.raw.writableEnded));
      return reply;
    });
    const url = await listen(app);
    try {
      const res = await fetch(`${url}/one`);
      assert.equal(await res.text(), 'body');
      assert.deepEqual(seen, { endedAtOnce: false, endedAtTurnEnd: true });
    } finally {
      await app.close();
    }
  });

  it('answers many concurrent requests, each with its own body', async () => {
    const { app, problems } = appWithLog();
    app.get('/n/:n', async (req) => `answer ${(req.params as { n: string }).n}`);
    const url = await listen(app);
    try {
      const bodies = await Promise.all(Array.from({ length: 64 }, (_, i) => fetch(`${url}/n/${i}`).then((r) => r.text())));
      assert.deepEqual(bodies, Array.from({ length: 64 }, (_, i) => `answer ${i}`));
      assert.deepEqual(problems, []);
    } finally {
      await app.close();
    }
  });

  it('sends once when an async handler calls send without returning the reply', async () => {
    const { app, problems } = appWithLog();
    app.get('/forgot-return', async (_req, reply) => {
      reply.code(201).send('sent by hand');
    });
    try {
      const res = await app.inject({ url: '/forgot-return' });
      assert.equal(res.statusCode, 201);
      assert.equal(res.body, 'sent by hand');
      // Fastify's second send (the handler resolved while the reply was held) is dropped silently.
      assert.deepEqual(problems, []);
    } finally {
      await app.close();
    }
  });

  it('still turns a response that cannot be written into an error answer', async () => {
    const { app } = appWithLog();
    app.get('/bad-header', async (_req, reply) => {
      reply.header('x-broken', 'line\nbreak');
      return 'never written';
    });
    try {
      const res = await app.inject({ url: '/bad-header' });
      assert.equal(res.statusCode, 500);
      assert.ok(!res.body.includes('never written'));
    } finally {
      await app.close();
    }
  });
});
