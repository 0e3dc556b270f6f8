import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startTestApp } from '../support/backends.js';
import { call, cellNames } from '../support/http.js';

/**
 * Concurrent writes share commits on SQLite (src/store/group-commit.ts); each request must still
 * succeed or fail on its own, exactly as if it had committed alone.
 */
for (const backend of backends) {
  describe(`concurrent writes on ${backend.name}`, { skip: backend.skip }, () => {
    it('answers each create on its own: duplicates refused, the rest stored', async () => {
      const t = await startTestApp(backend);
      try {
        const names = Array.from({ length: 40 }, (_, i) => (i % 4 === 0 ? 'same' : `own-${i}`));
        const answers = await Promise.all(
          names.map((Name) => call(t, { method: 'POST', url: '/__ctl/Cell', body: { Name } })),
        );
        const statusOf = (name: string) => answers.filter((_, i) => names[i] === name).map((r) => r.statusCode);
        assert.deepEqual(statusOf('same').sort(), [201, ...Array(9).fill(409)]);
        for (const name of names.filter((n) => n !== 'same')) assert.deepEqual(statusOf(name), [201], name);
        assert.deepEqual((await cellNames(t)).sort(), [...new Set(names)].sort());
      } finally {
        await t.close();
      }
    });

    it('keeps a failed request out of a batch without undoing its neighbours', async () => {
      const t = await startTestApp(backend);
      try {
        await call(t, { method: 'POST', url: '/__ctl/Cell', body: { Name: 'full' } });
        await call(t, { method: 'POST', url: '/__ctl/Cell', body: { Name: 'keeper' } });
        await call(t, { method: 'POST', url: '/__ctl/Cell', body: { Name: 'stable' } });
        const answers = await Promise.all([
          call(t, { method: 'POST', url: '/__ctl/Cell', body: { Name: 'fresh-1' } }),
          // A duplicate of a name nobody else touches (renaming 'keeper' would race with it).
          call(t, { method: 'POST', url: '/__ctl/Cell', body: { Name: 'stable' } }),
          call(t, { method: 'PUT', url: "/__ctl/Cell('keeper')", body: { Name: 'renamed' } }),
          call(t, { method: 'POST', url: '/__ctl/Cell', body: { Name: 'renamed' } }),
          call(t, { method: 'DELETE', url: "/__ctl/Cell('full')" }),
          call(t, { method: 'POST', url: '/__ctl/Cell', body: { Name: 'fresh-2' } }),
        ]);
        const [fresh1, duplicate, rename, clash, del, fresh2] = answers.map((r) => r.statusCode);
        assert.equal(fresh1, 201);
        assert.equal(duplicate, 409);
        assert.equal(del, 204);
        assert.equal(fresh2, 201);
        // The rename and the create of the same name race: exactly one of them wins.
        assert.ok((rename === 204) !== (clash === 201), `rename ${rename}, create ${clash}`);
        assert.ok([204, 409].includes(rename!) && [201, 409].includes(clash!), `rename ${rename}, create ${clash}`);
        const names = await cellNames(t);
        assert.ok(names.includes('fresh-1') && names.includes('fresh-2') && names.includes('renamed'));
        assert.ok(!names.includes('full'));
      } finally {
        await t.close();
      }
    });
  });
}
