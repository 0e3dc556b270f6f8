import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import { call, cellNames, json } from '../support/http.js';
import { EntityStore } from '../../src/store/entity-store.js';
import { findCell } from '../../src/personium/unit/cells.js';

for (const backend of backends) {
  describe(`Unit-level Cell API (apiref 100–105) on ${backend.name}`, { skip: backend.skip }, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(backend);
    });
    after(() => t.close());

    it('creates a cell: 201 with Location, ETag and the JSON-verbose body (apiref 100)', async () => {
      const res = await call(t, { method: 'POST', url: '/__ctl/Cell', body: { Name: 'alpha' } });
      assert.equal(res.statusCode, 201);
      assert.equal(res.headers.location, "http://unit.test/__ctl/Cell('alpha')");
      assert.match(String(res.headers.etag), /^W\/"1-\d+"$/);
      assert.equal(res.headers.dataserviceversion, '2.0');
      assert.equal(res.headers['access-control-allow-origin'], '*');
      const d = json(res).d.results;
      assert.equal(d.Name, 'alpha');
      assert.equal(d.__metadata.type, 'UnitCtl.Cell');
      assert.equal(d.__metadata.uri, "http://unit.test/__ctl/Cell('alpha')");
      assert.equal(d.__metadata.etag, res.headers.etag);
      assert.match(d.__published, /^\/Date\(\d+\)\/$/);
      assert.equal(d.__published, d.__updated);
    });

    it('refuses a duplicate name with 409 PR409-OD-0003 and keeps one cell', async () => {
      const res = await call(t, { method: 'POST', url: '/__ctl/Cell', body: { Name: 'alpha' } });
      assert.equal(res.statusCode, 409);
      assert.equal(json(res).code, 'PR409-OD-0003');
      assert.deepEqual((await cellNames(t)).filter((n) => n === 'alpha'), ['alpha']);
    });

    const badBodies: [string, unknown, number, string][] = [
      ['empty name', { Name: '' }, 400, 'PR400-OD-0006'],
      ['leading hyphen', { Name: '-abc' }, 400, 'PR400-OD-0006'],
      ['upper case', { Name: 'ABC' }, 400, 'PR400-OD-0006'],
      ['underscore', { Name: 'a_b' }, 400, 'PR400-OD-0006'],
      ['space', { Name: 'a b' }, 400, 'PR400-OD-0006'],
      ['control character', { Name: 'a\u0000b' }, 400, 'PR400-OD-0006'],
      ['129 characters', { Name: 'a'.repeat(129) }, 400, 'PR400-OD-0006'],
      ['number instead of string', { Name: 12 }, 400, 'PR400-OD-0006'],
      ['null name', { Name: null }, 400, 'PR400-OD-0006'],
      ['missing name', {}, 400, 'PR400-OD-0009'],
      ['unknown property', { Name: 'ok-name', Owner: 'x' }, 400, 'PR400-OD-0006'],
      ['malformed JSON', '{"Name": "x"', 400, 'PR400-OD-0001'],
      ['JSON array', '[{"Name":"x"}]', 400, 'PR400-OD-0001'],
      ['JSON string', '"x"', 400, 'PR400-OD-0001'],
      ['empty body', '', 400, 'PR400-OD-0001'],
    ];
    for (const [name, body, status, code] of badBodies) {
      it(`create with ${name} → ${status} ${code}, nothing created`, async () => {
        const before = await cellNames(t);
        const res = await call(t, { method: 'POST', url: '/__ctl/Cell', body });
        assert.equal(res.statusCode, status);
        assert.equal(json(res).code, code);
        assert.equal(json(res).message.lang, 'en');
        assert.equal(typeof json(res).message.value, 'string');
        assert.deepEqual(await cellNames(t), before);
      });
    }

    it('accepts 128-character names and names with digits and hyphens', async () => {
      for (const name of ['a'.repeat(128), '0cell', 'c-1-2']) {
        const res = await call(t, { method: 'POST', url: '/__ctl/Cell', body: { Name: name } });
        assert.equal(res.statusCode, 201, name);
      }
    });

    it('refuses a body over the size limit with 413 and creates nothing', async () => {
      const before = await cellNames(t);
      const res = await call(t, {
        method: 'POST',
        url: '/__ctl/Cell',
        body: JSON.stringify({ Name: 'huge', pad: 'x'.repeat(2 * 1024 * 1024) }),
      });
      assert.equal(res.statusCode, 413);
      assert.equal(json(res).code, 'PR400-OD-0007');
      assert.deepEqual(await cellNames(t), before);
    });

    it('retrieves by both key forms (apiref 102) with the ETag header', async () => {
      for (const url of ["/__ctl/Cell('alpha')", "/__ctl/Cell(Name='alpha')", '/__ctl/Cell(%27alpha%27)']) {
        const res = await call(t, { url });
        assert.equal(res.statusCode, 200, url);
        assert.equal(json(res).d.results.Name, 'alpha');
        assert.equal(res.headers.etag, json(res).d.results.__metadata.etag);
      }
    });

    it('answers 404 PR404-OD-0002 for a missing cell and 400 PR400-OD-0004 for broken keys', async () => {
      const missing = await call(t, { url: "/__ctl/Cell('nobody')" });
      assert.equal(missing.statusCode, 404);
      assert.equal(json(missing).code, 'PR404-OD-0002');
      for (const url of ["/__ctl/Cell('alpha)", '/__ctl/Cell(alpha)', "/__ctl/Cell(Nam='alpha')", "/__ctl/Cell('a'x)"]) {
        const res = await call(t, { url });
        assert.equal(res.statusCode, 400, url);
        assert.equal(json(res).code, 'PR400-OD-0004', url);
      }
    });

    it('answers 400 for malformed percent-encoding in the URL', async () => {
      const res = await call(t, { url: '/__ctl/Cell(%E0%A4%A)' });
      assert.equal(res.statusCode, 400);
      assert.equal(json(res).code, 'PR400-OD-0007');
    });

    it('answers 404 PR404-OD-0001 for an unknown entity set', async () => {
      const res = await call(t, { url: '/__ctl/Box' });
      assert.equal(res.statusCode, 404);
      assert.equal(json(res).code, 'PR404-OD-0001');
    });

    it('answers 405 for a method the resource does not support', async () => {
      const res = await call(t, { method: 'DELETE', url: '/__ctl/Cell' });
      assert.equal(res.statusCode, 405);
      assert.equal(json(res).code, 'PR405-MC-0001');
    });

    describe('list (apiref 101) with query options (apiref 400–407)', () => {
      before(async () => {
        for (const name of ['list-b', 'list-a', 'list-c', 'other-1']) {
          const res = await call(t, { method: 'POST', url: '/__ctl/Cell', body: { Name: name } });
          assert.equal(res.statusCode, 201);
        }
      });

      it('$filter eq, startswith, and/or with grouping', async () => {
        const names = async (filter: string) => {
          const res = await call(t, { url: `/__ctl/Cell?$filter=${encodeURIComponent(filter)}&$orderby=Name` });
          assert.equal(res.statusCode, 200, filter);
          return json(res).d.results.map((c: { Name: string }) => c.Name);
        };
        assert.deepEqual(await names("Name eq 'list-a'"), ['list-a']);
        assert.deepEqual(await names("startswith(Name,'list-')"), ['list-a', 'list-b', 'list-c']);
        assert.deepEqual(await names("Name eq 'list-a' or (Name ge 'list-c' and Name lt 'list-d')"), ['list-a', 'list-c']);
        assert.deepEqual(await names("Name ne 'list-a' and startswith(Name,'list')"), ['list-b', 'list-c']);
      });

      it('$orderby desc, $top, $skip and $inlinecount=allpages', async () => {
        const res = await call(t, {
          url: `/__ctl/Cell?$filter=${encodeURIComponent("startswith(Name,'list-')")}&$orderby=Name%20desc&$top=2&$skip=1&$inlinecount=allpages`,
        });
        assert.equal(res.statusCode, 200);
        const d = json(res).d;
        assert.deepEqual(d.results.map((c: { Name: string }) => c.Name), ['list-b', 'list-a']);
        assert.equal(d.__count, '3');
      });

      it('$select keeps only the named properties and the metadata', async () => {
        const res = await call(t, { url: "/__ctl/Cell?$select=__published&$filter=Name%20eq%20'list-a'" });
        const [cell] = json(res).d.results;
        assert.equal(cell.Name, undefined);
        assert.ok(cell.__metadata.uri.endsWith("Cell('list-a')"));
        assert.match(cell.__published, /^\/Date/);
      });

      it('$filter on __published compares datetimes', async () => {
        const res = await call(t, { url: `/__ctl/Cell?$filter=${encodeURIComponent("__published gt datetime'2000-01-01T00:00:00'")}&$inlinecount=allpages&$top=0` });
        assert.equal(res.statusCode, 200);
        assert.equal(json(res).d.__count, String((await cellNames(t)).length));
      });

      const badQueries: [string, string][] = [
        ["$filter=Name eq 'a", 'unterminated string'],
        ["$filter=(Name eq 'a'", 'unbalanced parenthesis'],
        ["$filter=Name eq 'a')", 'extra parenthesis'],
        ["$filter=endswith(Name,'a')", 'unknown function'],
        ["$filter=Name like 'a'", 'unknown operator'],
        ["$filter=Name eq 'a' garbage", 'trailing garbage'],
        ["$filter=Nope eq 'a'", 'unknown property'],
        ['$filter=' + '('.repeat(5000) + "Name eq 'a'" + ')'.repeat(5000), 'deep nesting'],
        ['$top=abc', 'non-integer $top'],
        ['$top=10001', '$top over the limit'],
        ['$skip=-1', 'negative $skip'],
        ['$inlinecount=some', 'bad $inlinecount'],
        ['$format=csv', 'bad $format'],
        ['$orderby=Name sideways', 'bad $orderby direction'],
        ['$expand=_Nope', 'unknown $expand'],
      ];
      for (const [query, why] of badQueries) {
        it(`${why} → 400 with a PR400 code`, async () => {
          const res = await call(t, { url: `/__ctl/Cell?${query.replace(/ /g, '%20').replace(/'/g, '%27')}` });
          assert.equal(res.statusCode, 400, res.body);
          assert.match(json(res).code, /^PR400-OD-00\d\d$/);
        });
      }

      it("treats `Name eq 'a'' or 1=1'` as one string literal, not an injection", async () => {
        const before = await cellNames(t);
        const res = await call(t, { url: `/__ctl/Cell?$filter=${encodeURIComponent("Name eq 'a'' or 1=1'")}` });
        assert.equal(res.statusCode, 200);
        assert.deepEqual(json(res).d.results, []);
        const drop = await call(t, { url: `/__ctl/Cell?$filter=${encodeURIComponent("Name eq 'x'');DROP TABLE entities;--'")}` });
        assert.equal(drop.statusCode, 200);
        assert.deepEqual(await cellNames(t), before);
      });
    });

    describe('update (apiref 103), MERGE and If-Match', () => {
      it('renames with PUT: 204 with a new ETag; old name gone', async () => {
        await call(t, { method: 'POST', url: '/__ctl/Cell', body: { Name: 'to-rename' } });
        const res = await call(t, { method: 'PUT', url: "/__ctl/Cell('to-rename')", body: { Name: 'renamed' } });
        assert.equal(res.statusCode, 204);
        assert.match(String(res.headers.etag), /^W\/"2-\d+"$/);
        assert.equal((await call(t, { url: "/__ctl/Cell('to-rename')" })).statusCode, 404);
        const got = await call(t, { url: "/__ctl/Cell('renamed')" });
        assert.equal(got.headers.etag, res.headers.etag);
      });

      it('refuses a stale If-Match with 412 PR412-OD-0002 and changes nothing', async () => {
        const res = await call(t, {
          method: 'PUT',
          url: "/__ctl/Cell('renamed')",
          headers: { 'if-match': 'W/"1-1"' },
          body: { Name: 'renamed-again' },
        });
        assert.equal(res.statusCode, 412);
        assert.equal(json(res).code, 'PR412-OD-0002');
        assert.equal((await call(t, { url: "/__ctl/Cell('renamed')" })).statusCode, 200);
      });

      it('accepts the current ETag (weak or strong form) and *', async () => {
        const etag = String((await call(t, { url: "/__ctl/Cell('renamed')" })).headers.etag);
        const strong = etag.replace(/^W\//, '');
        const res = await call(t, { method: 'PUT', url: "/__ctl/Cell('renamed')", headers: { 'if-match': strong }, body: { Name: 'renamed' } });
        assert.equal(res.statusCode, 204);
        const star = await call(t, { method: 'MERGE', url: "/__ctl/Cell('renamed')", headers: { 'if-match': '*' }, body: {} });
        assert.equal(star.statusCode, 204);
      });

      it('refuses a rename onto an existing name with 409 and keeps both', async () => {
        const res = await call(t, { method: 'PUT', url: "/__ctl/Cell('renamed')", body: { Name: 'alpha' } });
        assert.equal(res.statusCode, 409);
        assert.equal((await call(t, { url: "/__ctl/Cell('renamed')" })).statusCode, 200);
      });

      it('refuses an invalid new name with 400 and keeps the cell', async () => {
        const res = await call(t, { method: 'PUT', url: "/__ctl/Cell('renamed')", body: { Name: 'Bad Name' } });
        assert.equal(res.statusCode, 400);
        assert.equal((await call(t, { url: "/__ctl/Cell('renamed')" })).statusCode, 200);
      });
    });

    describe('delete (apiref 104) and recursive delete (apiref 105)', () => {
      it('deletes an empty cell: 204, then 404', async () => {
        await call(t, { method: 'POST', url: '/__ctl/Cell', body: { Name: 'doomed' } });
        const res = await call(t, { method: 'DELETE', url: "/__ctl/Cell('doomed')" });
        assert.equal(res.statusCode, 204);
        assert.equal((await call(t, { url: "/__ctl/Cell('doomed')" })).statusCode, 404);
      });

      it('refuses to delete a cell that holds data (409) and deletes it recursively with the header', async () => {
        await call(t, { method: 'POST', url: '/__ctl/Cell', body: { Name: 'full' } });
        // Seed cell content through the real store: the control-object API arrives with issue 3.
        const store = new EntityStore(t.app.database.db, t.app.database.dialect);
        const cell = (await findCell(store, 'full'))!;
        const scope = { cellId: cell.id, boxId: '', nodeId: '' };
        const account = await store.insert(scope, 'Account', 'me', { Name: 'me' });
        const role = await store.insert(scope, 'Role', '["r",null]', { Name: 'r' });
        await store.link(cell.id, 'Account-Role', account.id, role.id);

        const refused = await call(t, { method: 'DELETE', url: "/__ctl/Cell('full')" });
        assert.equal(refused.statusCode, 409);
        assert.equal(json(refused).code, 'PR409-OD-0001');

        const noHeader = await call(t, { method: 'DELETE', url: '/full/' });
        assert.equal(noHeader.statusCode, 412);
        const falseHeader = await call(t, { method: 'DELETE', url: '/full/', headers: { 'x-personium-recursive': 'false' } });
        assert.equal(falseHeader.statusCode, 412);
        assert.ok(await store.getById(account.id), 'content survives refused deletes');

        const anonymous = await call(t, { method: 'DELETE', url: '/full/', as: 'anonymous', headers: { 'x-personium-recursive': 'true' } });
        assert.equal(anonymous.statusCode, 401);

        const res = await call(t, { method: 'DELETE', url: '/full/', headers: { 'x-personium-recursive': 'true' } });
        assert.equal(res.statusCode, 204);
        assert.equal((await call(t, { url: "/__ctl/Cell('full')" })).statusCode, 404);
        assert.equal(await store.getById(account.id), undefined);
        assert.equal(await store.cellHasContent(cell.id), false);
      });

      it('recursive delete of a missing cell → 404', async () => {
        const res = await call(t, { method: 'DELETE', url: '/ghost/', headers: { 'x-personium-recursive': 'true' } });
        assert.equal(res.statusCode, 404);
      });
    });

    describe('authentication at unit level', () => {
      const cases: [string, Record<string, string>, number, string][] = [
        ['no token', {}, 401, 'PR401-AU-0001'],
        ['a bearer token kura never issued', { authorization: 'Bearer not-the-master' }, 401, 'PR401-AU-0006'],
        ['basic credentials', { authorization: 'Basic dXNlcjpwYXNz' }, 401, 'PR401-AU-0003'],
      ];
      for (const [name, headers, status, code] of cases) {
        it(`${name} → ${status} ${code}, nothing created`, async () => {
          const before = await cellNames(t);
          const res = await call(t, { method: 'POST', url: '/__ctl/Cell', as: 'anonymous', headers, body: { Name: 'intruder' } });
          assert.equal(res.statusCode, status);
          assert.equal(json(res).code, code);
          if (status === 401) assert.match(String(res.headers['www-authenticate']), /^Bearer realm=/);
          assert.deepEqual(await cellNames(t), before);
        });
      }
    });
  });
}
