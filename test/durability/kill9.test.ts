import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { allocateStorage, backends, MASTER_TOKEN } from '../support/backends.js';
import { spawnServer, type SpawnedServer } from '../support/spawn-server.js';

const auth = { authorization: `Bearer ${MASTER_TOKEN}` };
const WRITERS = 16;
/** Enough acknowledged writes that the kill lands in a busy stream, not an idle server. */
const ACKS_BEFORE_KILL = 300;

/**
 * ARCHITECTURE.md, Durability: a 201 means the Cell is on disk. Writers stream creates; the
 * server is killed with SIGKILL (no shutdown hook runs) while requests are still in flight; a
 * new server on the same data finds every Cell it acknowledged.
 */
for (const backend of backends) {
  describe(`an acknowledged write survives kill -9 on ${backend.name}`, { skip: backend.skip }, () => {
    it('finds every Cell answered 201 after a restart', async () => {
      const storage = allocateStorage(backend);
      const env = { ...storage.env, KURA_MASTER_TOKEN: MASTER_TOKEN, KURA_UNIT_URL: 'http://unit.test/' };
      let server: SpawnedServer | undefined;
      try {
        server = await spawnServer(env);
        const acknowledged: string[] = [];
        let unanswered = 0;
        let killed = false;

        const writer = async (w: number) => {
          for (let n = 0; !killed; n++) {
            const name = `w${w}-${n}`;
            try {
              const res = await fetch(`${server!.url}__ctl/Cell`, {
                method: 'POST',
                headers: { ...auth, 'content-type': 'application/json' },
                body: JSON.stringify({ Name: name }),
              });
              await res.text();
              if (res.status === 201) acknowledged.push(name);
              else assert.fail(`unexpected ${res.status} while streaming writes`);
            } catch (err) {
              // A connection cut by the kill: the write may or may not have landed, and was not acknowledged.
              if (!killed) throw err;
              unanswered++;
            }
          }
        };
        const writers = Array.from({ length: WRITERS }, (_, w) => writer(w));

        while (acknowledged.length < ACKS_BEFORE_KILL) await new Promise((r) => setTimeout(r, 5));
        killed = true;
        server.child.kill('SIGKILL');
        assert.equal(await server.exited, 'SIGKILL');
        await Promise.all(writers);
        const ackedAtKill = acknowledged.length;
        assert.ok(ackedAtKill >= ACKS_BEFORE_KILL);

        server = await spawnServer(env);
        const status = await fetch(`${server.url}__status`);
        assert.equal(status.status, 200);
        await status.text();

        const list = await fetch(`${server.url}__ctl/Cell?$top=10000&$select=Name`, { headers: auth });
        assert.equal(list.status, 200);
        const stored = new Set(((await list.json()) as any).d.results.map((c: { Name: string }) => c.Name));
        const lost = acknowledged.filter((name) => !stored.has(name));
        assert.deepEqual(lost, [], `acknowledged but lost after kill -9 (${unanswered} requests were cut)`);

        // Each one is retrievable by key as well, not only listed.
        for (const name of acknowledged.slice(-20)) {
          const one: Response = await fetch(`${server.url}__ctl/Cell('${name}')`, { headers: auth });
          assert.equal(one.status, 200, name);
          await one.text();
        }
      } finally {
        if (server && server.child.exitCode === null && server.child.signalCode === null) {
          server.child.kill('SIGTERM');
          await server.exited;
        }
        await storage.release();
      }
    });
  });
}
