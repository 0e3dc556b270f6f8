import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { promisify } from 'node:util';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import { call } from '../support/http.js';
import { createCell, ctlPost, freePort } from '../support/auth.js';

const run = promisify(execFile);

function hasLitmus(): boolean {
  try {
    execFileSync('litmus', ['--version'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    // litmus --version exits non-zero on some builds; a missing binary is ENOENT.
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

const skip = hasLitmus() ? false : 'litmus is not installed (Debian package `litmus`): WebDAV compliance suite skipped';

/**
 * The WebDAV compliance suite litmus against a box whose ACL opens everything to everyone.
 * `basic` and `props` must pass completely; `copymove` and `locks` are run and reported
 * (Personium has neither COPY nor LOCK; kura's COPY is an extra and collections are never
 * overwritten, as in Personium — see README).
 */
describe('litmus WebDAV compliance', { skip }, () => {
  let t: TestApp;
  let base: string;
  let cwd: string;
  before(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}/`;
    t = await startTestApp(backends[0]!, { KURA_UNIT_URL: base });
    await t.app.http.listen({ port, host: '127.0.0.1' });
    await createCell(t, 'lit');
    await ctlPost(t, 'lit', 'Box', { Name: 'box' });
    const acl = '<D:acl xmlns:D="DAV:"><D:ace><D:principal><D:all/></D:principal><D:grant><D:privilege><D:all/></D:privilege></D:grant></D:ace></D:acl>';
    assert.equal((await call(t, { method: 'ACL', url: '/lit/box', body: acl })).statusCode, 200);
    cwd = fs.mkdtempSync(`${os.tmpdir()}/kura-litmus-`);
  });
  after(async () => {
    await t.close();
    fs.rmSync(cwd, { recursive: true, force: true });
  });

  async function suite(name: string): Promise<{ passed: number; failed: number; output: string }> {
    assert.equal((await call(t, { method: 'MKCOL', url: `/lit/box/${name}` })).statusCode, 201);
    const { stdout } = await run('litmus', [`${base}lit/box/${name}/`], { cwd, env: { ...process.env, TESTS: name }, timeout: 120_000 }).catch(
      (err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }),
    );
    const m = /summary for `\w+': of (\d+) tests run: (\d+) passed, (\d+) failed/.exec(stdout);
    assert.ok(m, stdout);
    return { passed: Number(m[2]), failed: Number(m[3]), output: stdout };
  }

  for (const name of ['basic', 'props']) {
    it(`${name}: every test passes`, async () => {
      const result = await suite(name);
      assert.equal(result.failed, 0, result.output);
    });
  }

  for (const name of ['copymove', 'locks']) {
    it(`${name}: runs (results reported, not required)`, async (ctx) => {
      const result = await suite(name);
      ctx.diagnostic(`litmus ${name}: ${result.passed} passed, ${result.failed} failed`);
    });
  }
});
