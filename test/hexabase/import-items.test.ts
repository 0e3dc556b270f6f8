import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import iconv from 'iconv-lite';
import { createApp } from '../../src/app.js';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import { call, json } from '../support/http.js';
import { API, assertHxError, hx, twoTenants } from '../support/hexabase.js';

// items-import/ImportItems.md and GetImportResults.md.

const CUSTOMERS = {
  name: 'Customers',
  display_id: 'customers',
  fields: [
    { display_id: 'no', name: 'No.', dataType: 'autonum', prefix: 'C-' },
    { display_id: 'name', name: '氏名', dataType: 'text', as_title: true, required: true, search: true },
    { display_id: 'code', name: 'Code', dataType: 'text', unique: true, search: true },
    { display_id: 'points', name: 'Points', dataType: 'number' },
    { display_id: 'prio', name: 'Priority', dataType: 'select', options: [{ display_id: 'hi', value: 'High' }, { display_id: 'lo', value: 'Low' }] },
    { display_id: 'tags', name: 'Tags', dataType: 'checkbox', options: [{ display_id: 'a', value: 'Alpha' }, { display_id: 'b', value: 'Beta' }] },
    { display_id: 'state', name: 'State', dataType: 'status' },
  ],
  statuses: [{ display_id: 'open', name: 'Open' }, { display_id: 'closed', name: 'Closed' }],
};

const BULK = {
  name: 'Bulk',
  display_id: 'bulk',
  fields: [
    { display_id: 'title', name: 'Title', dataType: 'text', as_title: true, required: true, search: true },
    { display_id: 'amount', name: 'Amount', dataType: 'number', search: true },
    { display_id: 'note', name: 'Note', dataType: 'text' },
  ],
};

const DS = '/applications/work/datastores/customers';

type Part = string | { filename: string; data: Buffer | string };

/** A multipart/form-data body (RFC 7578) as a client would send it. */
function multipart(parts: Record<string, Part>): { payload: Buffer; contentType: string } {
  const boundary = `----kura${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const [name, part] of Object.entries(parts)) {
    if (typeof part === 'string') {
      chunks.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${name}"\r\n\r\n${part}\r\n`));
    } else {
      chunks.push(Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${name}"; filename="${part.filename}"\r\ncontent-type: text/csv\r\n\r\n`));
      chunks.push(Buffer.isBuffer(part.data) ? part.data : Buffer.from(part.data));
      chunks.push(Buffer.from('\r\n'));
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { payload: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

for (const backend of backends) {
  describe(`Hexabase CSV import (ImportItems, GetImportResults) on ${backend.name}`, { skip: backend.skip }, () => {
    let t: TestApp;
    let alice: string;
    let bob: string;
    let customersId: string;
    let bulkId: string;

    const upload = (token: string, parts: Record<string, Part>, path = `${DS}/import`) => {
      const { payload, contentType } = multipart(parts);
      return call(t, { method: 'POST', url: `${API}${path}`, as: token, headers: { 'content-type': contentType }, body: payload });
    };
    const csvFile = (text: string | Buffer) => ({ filename: 'import.csv', data: text });

    /** Polls GetImportResults until the job has finished. */
    const results = async (datastoreId: string, tempId: string, token = alice) => {
      for (let i = 0; i < 3000; i++) {
        const res = await hx(t, token, 'GET', `/datastores/${datastoreId}/import/${tempId}`);
        assert.equal(res.statusCode, 200, res.body);
        const body = json(res);
        if (body.status === 'done' || body.status === 'failed') return body;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error('the import did not finish');
    };

    /** Imports into Customers and waits for the outcome. */
    const importCustomers = async (csv: string | Buffer, extra: Record<string, string> = {}) => {
      const res = await upload(alice, { filename: 'import.csv', file: csvFile(csv), ...extra });
      assert.equal(res.statusCode, 200, res.body);
      const body = json(res);
      assert.match(body.temp_datastore_id, /^[0-9a-f]{24}$/);
      assert.equal(typeof body.stream_id, 'string');
      return results(customersId, body.temp_datastore_id);
    };

    const items = async (ds = DS) => json(await hx(t, alice, 'POST', `${ds}/items/search`, { use_display_id: true, per_page: 0, sort_fields: [{ id: 'name', order: 'asc' }] })).items as Array<Record<string, string>>;
    const count = async (ds = DS) => json(await hx(t, alice, 'POST', `${ds}/items/search`, { return_count_only: true })).totalItems as number;

    before(async () => {
      t = await startTestApp(backend);
      ({ alice, bob } = await twoTenants(t));
      assert.equal((await hx(t, alice, 'POST', '/applications', { name: 'Work', display_id: 'work' })).statusCode, 200);
      const made = await hx(t, alice, 'POST', '/applications/work/datastores', CUSTOMERS);
      assert.equal(made.statusCode, 200, made.body);
      customersId = json(made).datastore_id;
      bulkId = json(await hx(t, alice, 'POST', '/applications/work/datastores', BULK)).datastore_id;
    });
    after(() => t.close());

    it('creates items from rows: field display ids and names as headers, options, statuses, auto numbers, created_by IMPORT', async () => {
      const outcome = await importCustomers('name,code,Points,prio,tags,_status_\r\nAcme,C1,5,hi,"a,b",Closed\r\nBeta,C2,,Low,,\r\n');
      assert.equal(outcome.status, 'done');
      assert.equal(outcome.errors, undefined);
      assert.equal(outcome.processed, 2);
      assert.equal(outcome.total, 2);
      assert.equal(outcome.created, 2);
      const [acme, beta] = await items();
      assert.equal(acme!.name, 'Acme');
      assert.equal(acme!.points, '5');
      assert.equal(acme!.prio, 'High');
      assert.equal(acme!.tags, 'Alpha,Beta');
      assert.equal(acme!.state, 'Closed');
      assert.equal(acme!.created_by, 'IMPORT');
      assert.equal(acme!.title, 'Acme');
      assert.equal(beta!.prio, 'Low');
      assert.equal(beta!.state, 'Open');
      assert.equal(beta!.points, undefined);
      assert.deepEqual([acme!.no, beta!.no].sort(), ['C-1', 'C-2']);
      // Created items start without histories (import-items.ts says why).
      assert.equal(json(await hx(t, alice, 'GET', `${DS}/items/histories/${acme!.i_id}`)).histories.length, 0);
    });

    it('updates by key_field_displayid, creates unknown keys and deletes with _delete_', async () => {
      const outcome = await importCustomers('code,name,points,_delete_\nC1,Acme Corp,7,0\nC2,,,1\nC3,Gamma,1,\n', { key_field_displayid: 'code' });
      assert.equal(outcome.status, 'done', JSON.stringify(outcome));
      assert.deepEqual([outcome.created, outcome.updated, outcome.deleted], [1, 1, 1]);
      const list = await items();
      assert.deepEqual(list.map((i) => [i.name, i.code, i.points]), [['Acme Corp', 'C1', '7'], ['Gamma', 'C3', '1']]);
      const acme = list[0]!;
      assert.equal(acme.prio, 'High', 'columns the file leaves out keep their values');
      assert.equal(acme.rev_no, '2');
      assert.equal(acme.updated_by, 'IMPORT');
      const histories = json(await hx(t, alice, 'GET', `${DS}/items/histories/${acme.i_id}`)).histories;
      assert.equal(histories.length, 1);
      assert.equal(histories[0].action_name, 'ImportItems');
      // The deleted item's unique code is free again.
      const again = await importCustomers('name,code\nDelta,C2\n');
      assert.equal(again.errors, undefined, JSON.stringify(again));
      assert.equal(await count(), 3);
    });

    it('reads a Shift_JIS file with encoding=shift_jis, and refuses it as UTF-8', async () => {
      const sjis = iconv.encode('氏名,code,_status_\r\n山田商店,J1,Open\r\n①株式会社,J2,\r\n', 'Shift_JIS');
      const outcome = await importCustomers(sjis, { encoding: 'shift_jis' });
      assert.equal(outcome.status, 'done');
      assert.equal(outcome.errors, undefined, JSON.stringify(outcome));
      const names = (await items()).map((i) => i.name);
      assert.ok(names.includes('山田商店'));
      assert.ok(names.includes('①株式会社'));
      const before = await count();
      assertHxError(await upload(alice, { filename: 'sjis.csv', file: csvFile(sjis) }), 400, 'INVALID_PARAMS');
      assert.equal(await count(), before);
    });

    it('reports broken rows with their line numbers and imports the valid ones', async () => {
      const before = await count();
      const csv = [
        'name,code,points,prio',
        'Ok One,B1,1,hi', // line 2
        'Too,Many,1,hi,extra', // line 3: wrong number of columns
        'Bad Option,B3,1,medium', // line 4: no such option
        ',B4,1,lo', // line 5: name is required
        '"Multi', // lines 6-7: a cell spanning two lines
        'line",B5,x,lo', //   with a bad number
        'Taken,B1,2,lo', // line 8: unique code taken by line 2
        'Ok Two,B6,2,lo', // line 9
      ].join('\n');
      const outcome = await importCustomers(`${csv}\n`);
      assert.equal(outcome.status, 'done');
      assert.equal(outcome.created, 2);
      assert.deepEqual(
        outcome.errors.map((e: { line: number }) => e.line),
        [3, 4, 5, 6, 8],
        JSON.stringify(outcome.errors),
      );
      for (const e of outcome.errors) assert.equal(typeof e.description, 'string');
      assert.match(outcome.errors[1].description, /prio: medium is none of its options/);
      assert.match(outcome.errors[2].description, /name is required/);
      assert.match(outcome.errors[4].description, /taken/);
      assert.equal(await count(), before + 2);
    });

    it('imports nothing when all_or_nothing is true and a row is invalid', async () => {
      const before = await count();
      const outcome = await importCustomers('name,code\nFine,N1\nAlso fine,N2\n,N3\n', { all_or_nothing: 'true' });
      assert.equal(outcome.status, 'done');
      assert.deepEqual(outcome.errors, [{ description: 'name is required', line: 4 }]);
      assert.equal(outcome.created, 0);
      assert.equal(await count(), before);
      const ok = await importCustomers('name,code\nFine,N1\nAlso fine,N2\n', { all_or_nothing: 'true' });
      assert.equal(ok.errors, undefined);
      assert.equal(await count(), before + 2);
    });

    it('stores formula-looking cells as plain text', async () => {
      const formulas = ["=cmd|' /C calc'!A0", '+1+1', '-2+3', '@SUM(A1:A2)', '=HYPERLINK("http://x.example/","y")'];
      const csv = `name,code\n${formulas.map((f, i) => `"${f.replace(/"/g, '""')}",F${i}`).join('\n')}\n`;
      const outcome = await importCustomers(csv);
      assert.equal(outcome.errors, undefined, JSON.stringify(outcome));
      const names = (await items()).map((i) => i.name);
      for (const f of formulas) assert.ok(names.includes(f), f);
    });

    it('replace_all empties the datastore first; overwrite_autonumber restarts the numbers', async () => {
      assert.ok((await count()) > 3);
      const outcome = await importCustomers('name,code\nOnly,R1\nSecond,R2\n', { replace_all: 'true', overwrite_autonumber: 'true' });
      assert.equal(outcome.status, 'done');
      assert.equal(outcome.errors, undefined);
      const list = await items();
      assert.deepEqual(list.map((i) => [i.name, i.no]), [['Only', 'C-1'], ['Second', 'C-2']]);
      // Unique values of the removed items are free again.
      const reuse = await importCustomers('name,code\nAcme again,C1\n');
      assert.equal(reuse.errors, undefined, JSON.stringify(reuse));
      assert.equal(await count(), 3);
    });

    it('updates by i_id (key_field_displayid=i_id) and notes the columns it ignores', async () => {
      const [first] = await items();
      const outcome = await importCustomers(`i_id,name,_group_id_\n${first!.i_id},Renamed,g1\n`, { key_field_displayid: 'i_id' });
      assert.equal(outcome.updated, 1, JSON.stringify(outcome));
      assert.deepEqual(outcome.warnings.map((w: { line: number }) => w.line), [1]);
      assert.match(outcome.warnings[0].description, /_group_id_/);
      assert.ok((await items()).some((i) => i.name === 'Renamed' && i.i_id === first!.i_id));
    });

    it('refuses requests it cannot run with 400 and changes nothing', async () => {
      const before = await count();
      const refused: Array<[string, Record<string, Part>]> = [
        ['no file', { filename: 'x.csv' }],
        ['unknown column', { filename: 'x.csv', file: csvFile('name,nosuch\na,b\n') }],
        ['repeated column', { filename: 'x.csv', file: csvFile('name,name\na,b\n') }],
        ['empty file', { filename: 'x.csv', file: csvFile('') }],
        ['bad encoding', { filename: 'x.csv', file: csvFile('name\na\n'), encoding: 'ebcdic' }],
        ['bad flag', { filename: 'x.csv', file: csvFile('name\na\n'), replace_all: 'maybe' }],
        ['unknown key field', { filename: 'x.csv', file: csvFile('name\na\n'), key_field_displayid: 'nosuch' }],
        ['key not in the file', { filename: 'x.csv', file: csvFile('name\na\n'), key_field_displayid: 'code' }],
        ['_delete_ without key', { filename: 'x.csv', file: csvFile('name,_delete_\na,1\n') }],
        ['append and key', { filename: 'x.csv', file: csvFile('name,code\na,b\n'), key_field_displayid: 'code', append: 'true' }],
      ];
      for (const [name, parts] of refused) {
        const res = await upload(alice, parts);
        assert.equal(res.statusCode, 400, `${name}: ${res.body}`);
        assert.equal(json(res).error_code, 'INVALID_PARAMS', name);
      }
      const notMultipart = await call(t, { method: 'POST', url: `${API}${DS}/import`, as: alice, headers: { 'content-type': 'application/json' }, body: { file: 'name\na\n' } });
      assertHxError(notMultipart, 400, 'INVALID_PARAMS');
      const broken = await call(t, { method: 'POST', url: `${API}${DS}/import`, as: alice, headers: { 'content-type': 'multipart/form-data; boundary=zzz' }, body: '--zzz\r\ncontent-disposition: form-data; name="file"; filename="a.csv"\r\n\r\nname\na' });
      assert.equal(broken.statusCode, 400, broken.body);
      assert.equal(await count(), before);
    });

    it('is not there for another tenant, nor for an unknown job', async () => {
      assertHxError(await upload(bob, { filename: 'x.csv', file: csvFile('name\nx\n') }), 404, 'NOT_FOUND');
      const mine = json(await upload(alice, { filename: 'x.csv', file: csvFile('name,code\nVisible,V1\n') }));
      await results(customersId, mine.temp_datastore_id);
      assertHxError(await hx(t, bob, 'GET', `/datastores/${customersId}/import/${mine.temp_datastore_id}`), 404, 'NOT_FOUND');
      assertHxError(await hx(t, alice, 'GET', `/datastores/${customersId}/import/${'0'.repeat(24)}`), 404, 'NOT_FOUND');
      assertHxError(await hx(t, alice, 'GET', `/datastores/${bulkId}/import/${mine.temp_datastore_id}`), 404, 'NOT_FOUND');
      assertHxError(await call(t, { method: 'POST', url: `${API}${DS}/import`, as: 'anonymous', headers: { 'content-type': 'text/csv' }, body: 'x' }), 401, 'NO_PRIVILEGES');
    });

    it(
      'fails a job the server was running when it stopped (jobs are not resumed)',
      { skip: backend.name === 'postgres' ? 'PostgreSQL fails an abandoned job once its heartbeat is 30 s old (jobs.ts): too slow for a test' : false },
      async () => {
        const lines = ['title,amount'];
        for (let i = 0; i < 50_000; i++) lines.push(`r${i},${i}`);
        const own = await startTestApp(backend);
        try {
          const { alice: owner } = await twoTenants(own);
          await hx(own, owner, 'POST', '/applications', { name: 'Work', display_id: 'work' });
          const ds = json(await hx(own, owner, 'POST', '/applications/work/datastores', BULK)).datastore_id;
          const { payload, contentType } = multipart({ filename: 'big.csv', file: csvFile(`${lines.join('\n')}\n`) });
          const res = await call(own, { method: 'POST', url: `${API}/applications/work/datastores/bulk/import`, as: owner, headers: { 'content-type': contentType }, body: payload });
          assert.equal(res.statusCode, 200, res.body);
          await own.app.close();
          const restarted = { ...own, app: await createApp({ config: own.config }) };
          try {
            const outcome = json(await hx(restarted, owner, 'GET', `/datastores/${ds}/import/${json(res).temp_datastore_id}`));
            assert.equal(outcome.status, 'failed', JSON.stringify(outcome));
            assert.match(outcome.errors.at(-1).description, /the server stopped/);
            assert.equal(outcome.errors.at(-1).line, 0);
          } finally {
            await restarted.app.close();
          }
        } finally {
          await own.close();
        }
      },
    );

    // 100,000 rows: a few seconds on SQLite; PostgreSQL runs it too (measured ~10 s here).
    it('imports a 100,000-row file', { timeout: 120_000 }, async (ctx) => {
      const rows = 100_000;
      const lines = ['title,amount,note'];
      for (let i = 0; i < rows; i++) lines.push(`row ${i},${i},"note, ${i % 97}"`);
      const res = await upload(alice, { filename: 'big.csv', file: csvFile(`${lines.join('\n')}\n`) }, '/applications/work/datastores/bulk/import');
      assert.equal(res.statusCode, 200, res.body);
      const started = Date.now();
      const outcome = await results(bulkId, json(res).temp_datastore_id);
      const seconds = (Date.now() - started) / 1000;
      assert.equal(outcome.status, 'done', JSON.stringify(outcome));
      assert.equal(outcome.errors, undefined);
      assert.equal(outcome.created, rows);
      assert.equal(await count('/applications/work/datastores/bulk'), rows);
      const found = json(await hx(t, alice, 'POST', '/applications/work/datastores/bulk/items/search', { use_display_id: true, conditions: [{ id: 'title', search_value: ['row 99999'] }] }));
      assert.equal(found.items[0].amount, '99999');
      assert.equal(found.items[0].note, `note, ${99_999 % 97}`);
      ctx.diagnostic(`${backend.name}: 100,000 rows imported in ${seconds.toFixed(1)} s (${Math.round(rows / seconds)} rows/s)`);
    });
  });
}
