import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import { assertCode, call, json, mkcolOData } from '../support/http.js';
import { createAccount, createCell, ctlPost, passwordGrant, token } from '../support/auth.js';

const COL = '/c/box1/col';
const META = `${COL}/$metadata`;
const BATCH = `${COL}/$batch`;
const B = 'batch_36522ad7-fc75-4b56-8c71-56071383e77b';

// --- building request bodies (CRLF unless a test says otherwise) ---------------------------------

interface Op {
  method: string;
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** One embedded request, as the content of an `application/http` part. */
function request({ method, path, body, headers = {} }: Op): string {
  const lines = [`${method} ${path} HTTP/1.1`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  if (body !== undefined) lines.push('Content-Type: application/json', '', typeof body === 'string' ? body : JSON.stringify(body));
  return lines.join('\r\n');
}

const single = (op: Op) => `Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n${request(op)}`;

function changeset(boundary: string, ops: Op[]): string {
  const parts = ops.map((op) => `--${boundary}\r\n${single(op)}\r\n`).join('');
  return `Content-Type: multipart/mixed; boundary=${boundary}\r\n\r\n${parts}--${boundary}--`;
}

const batchBody = (parts: string[], boundary = B) => `${parts.map((p) => `--${boundary}\r\n${p}\r\n`).join('')}--${boundary}--\r\n`;

function batch(t: TestApp, body: string, opts: { boundary?: string; as?: string; contentType?: string } = {}) {
  return call(t, {
    method: 'POST',
    url: BATCH,
    headers: { 'content-type': opts.contentType ?? `multipart/mixed; boundary=${opts.boundary ?? B}` },
    body,
    ...(opts.as ? { as: opts.as } : {}),
  });
}

// --- reading responses: a parser of the test's own, so the server's is not checked against itself --

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The part's own MIME headers. */
  part: Record<string, string>;
}
type Item = Answer | { changeset: string; answers: Answer[] };

function headerMap(block: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of block.split('\r\n').filter((l) => l !== '')) {
    const i = line.indexOf(':');
    out[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
  }
  return out;
}

function readMultipart(body: string, boundary: string): string[] {
  assert.ok(body.startsWith(`--${boundary}\r\n`), body.slice(0, 200));
  assert.ok(body.endsWith(`\r\n--${boundary}--\r\n`), body.slice(-200));
  return body.slice(`--${boundary}\r\n`.length, -`\r\n--${boundary}--\r\n`.length).split(`\r\n--${boundary}\r\n`);
}

function readItems(body: string, boundary: string): Item[] {
  return readMultipart(body, boundary).map((raw) => {
    const cut = raw.indexOf('\r\n\r\n');
    const part = headerMap(raw.slice(0, cut));
    const content = raw.slice(cut + 4);
    const inner = /^multipart\/mixed; boundary=(.+)$/.exec(part['content-type'] ?? '');
    if (inner) return { changeset: inner[1]!, answers: readMultipart(content, inner[1]!).map((r) => answer(r)) };
    return answer(raw);
  });
}

function answer(raw: string): Answer {
  const cut = raw.indexOf('\r\n\r\n');
  const part = headerMap(raw.slice(0, cut));
  assert.equal(part['content-type'], 'application/http');
  const message = raw.slice(cut + 4);
  const end = message.indexOf('\r\n\r\n');
  const [statusLine, ...headerLines] = message.slice(0, end).split('\r\n');
  const m = /^HTTP\/1\.1 (\d{3}) [A-Za-z -]+$/.exec(statusLine!);
  assert.ok(m, statusLine);
  return { status: Number(m[1]), headers: headerMap(headerLines.join('\r\n')), body: message.slice(end + 4), part };
}

const statuses = (items: Item[]) => items.map((i) => ('changeset' in i ? i.answers.map((a) => a.status) : i.status));
const errorCode = (a: Item) => {
  assert.ok(!('changeset' in a), 'a failed change set answers with one application/http part');
  return JSON.parse(a.body).code as string;
};

async function ok(t: TestApp, body: string, boundary = B): Promise<Item[]> {
  const res = await batch(t, body, { boundary });
  assert.equal(res.statusCode, 202, res.body);
  return readItems(res.body, boundary);
}

const ids = async (t: TestApp, set = 'Sales') =>
  json(await call(t, { url: `${COL}/${set}?$top=10000&$select=__id` })).d.results.map((r: { __id: string }) => r.__id).sort();

for (const backend of backends) {
  describe(`OData $batch (apiref 368) on ${backend.name}`, { skip: backend.skip }, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(backend);
      await createCell(t, 'c');
      await ctlPost(t, 'c', 'Box', { Name: 'box1' });
      await mkcolOData(t, COL);
      const schema: [string, unknown][] = [
        ['EntityType', { Name: 'Sales' }],
        ['EntityType', { Name: 'Customer' }],
        ['EntityType', { Name: 'Bulk' }],
        ['Property', { Name: 'title', '_EntityType.Name': 'Sales', Type: 'Edm.String', Nullable: false }],
        ['Property', { Name: 'amount', '_EntityType.Name': 'Sales', Type: 'Edm.Int32' }],
        ['AssociationEnd', { Name: 'c', '_EntityType.Name': 'Customer', Multiplicity: '0..1' }],
        ['AssociationEnd', { Name: 's', '_EntityType.Name': 'Sales', Multiplicity: '*' }],
      ];
      for (const [set, body] of schema) assert.equal((await call(t, { method: 'POST', url: `${META}/${set}`, body })).statusCode, 201, JSON.stringify(body));
      const linked = await call(t, {
        method: 'POST',
        url: `${META}/AssociationEnd(Name='c',_EntityType.Name='Customer')/$links/_AssociationEnd`,
        body: { uri: `http://unit.test${META}/AssociationEnd(Name='s',_EntityType.Name='Sales')` },
      });
      assert.equal(linked.statusCode, 204, linked.body);
    });
    after(() => t.close());

    it('runs query operations and change sets in order, answering 202 multipart/mixed with the request boundary', async () => {
      const res = await batch(
        t,
        batchBody([
          changeset('changeset_1', [
            { method: 'POST', path: 'Sales', body: { __id: 'a', title: 'A' } },
            { method: 'POST', path: 'Sales', body: { __id: 'b', title: 'B', amount: 1 } },
            { method: 'POST', path: 'Customer', body: { __id: 'cu' } },
          ]),
          single({ method: 'GET', path: "Sales('a')" }),
          changeset('changeset_2', [
            { method: 'PUT', path: "Sales('a')", body: { title: 'A2' }, headers: { 'If-Match': '*' } },
            { method: 'MERGE', path: "Sales('b')", body: { amount: 5 } },
            { method: 'POST', path: "Customer('cu')/_Sales", body: { __id: 'n', title: 'via nav' } },
          ]),
          single({ method: 'GET', path: 'Sales?$orderby=__id%20desc&$top=2&$select=title' }),
          single({ method: 'GET', path: "Sales('missing')" }),
          changeset('changeset_3', [
            // A linked entity can't be deleted (409): unlink first, in the same change set.
            { method: 'DELETE', path: "Sales('n')/$links/_Customer('cu')" },
            { method: 'DELETE', path: "Sales('n')" },
          ]),
        ]),
      );
      assert.equal(res.statusCode, 202, res.body);
      assert.equal(res.headers['content-type'], `multipart/mixed; boundary=${B}`);
      assert.equal(res.headers.dataserviceversion, '2.0');
      const items = readItems(res.body, B);
      assert.deepEqual(statuses(items), [[201, 201, 201], 200, [204, 204, 201], 200, 404, [204, 204]]);

      const [created, got, updated, list, missing] = items as [Item, Answer, Item, Answer, Answer];
      assert.ok('changeset' in created && 'changeset' in updated);
      assert.equal(created.changeset, 'changeset_1', 'a change set answers with its request boundary');
      const first = created.answers[0]!;
      assert.equal(first.headers.location, `http://unit.test${COL}/Sales('a')`);
      assert.match(first.headers.etag!, /^W\/"1-\d+"$/);
      assert.equal(first.headers.dataserviceversion, '2.0');
      assert.equal(Number(first.headers['content-length']), Buffer.byteLength(first.body));
      assert.equal(JSON.parse(first.body).d.results.title, 'A');
      assert.equal(JSON.parse(got.body).d.results.title, 'A', 'the GET sees the change set committed before it');
      assert.match(updated.answers[0]!.headers.etag!, /^W\/"2-\d+"$/);
      assert.equal(updated.answers[2]!.headers.location, `http://unit.test${COL}/Sales('n')`);
      // After the second change set: a (A2), b (5), n; the list asks for the last two ids.
      assert.deepEqual(JSON.parse(list.body).d.results.map((r: { title: string }) => r.title), ['via nav', 'B']);
      assert.equal(JSON.parse(missing.body).code, 'PR404-OD-0002');

      const a = json(await call(t, { url: `${COL}/Sales('a')` })).d.results;
      const b = json(await call(t, { url: `${COL}/Sales('b')` })).d.results;
      assert.deepEqual([a.title, a.amount, b.title, b.amount], ['A2', null, 'B', 5]);
      assert.deepEqual(await ids(t), ['a', 'b']);
      assert.deepEqual(await ids(t, 'Customer'), ['cu']);
    });

    it('applies a change set all or nothing: a failing operation leaves nothing of it, other parts apply', async () => {
      const before = await ids(t);
      const items = await ok(
        t,
        batchBody([
          changeset('cs_ok', [{ method: 'POST', path: 'Sales', body: { __id: 'x1', title: 'kept' } }]),
          changeset('cs_dup', [
            { method: 'POST', path: 'Sales', body: { __id: 'y1', title: 'rolled back', fresh: 1 } },
            { method: 'DELETE', path: "Sales('b')" },
            { method: 'POST', path: 'Sales', body: { __id: 'a', title: 'duplicate __id' }, headers: {} },
            { method: 'POST', path: 'Sales', body: { __id: 'y2', title: 'never run' } },
          ]),
          single({ method: 'GET', path: "Sales('y1')" }),
          changeset('cs_type', [
            { method: 'PUT', path: "Sales('a')", body: { title: 'changed' } },
            { method: 'POST', path: 'Sales', body: { __id: 'z1', title: 'z', amount: 'seven' } },
          ]),
          single({ method: 'POST', path: 'Sales', body: { __id: 'w1', title: 'outside any change set' } }),
        ]),
      );
      assert.deepEqual(statuses(items), [[201], 409, 404, 400, 201]);
      assert.equal(errorCode(items[1]!), 'PR409-OD-0003');
      assert.deepEqual(JSON.parse((items[1] as Answer).body).message, { lang: 'en', value: 'The entity already exists.' });
      assert.equal(errorCode(items[3]!), 'PR400-OD-0006');

      assert.deepEqual(await ids(t), [...before, 'w1', 'x1'].sort(), 'y1 and z1 are gone, b is still there');
      assert.equal(json(await call(t, { url: `${COL}/Sales('a')` })).d.results.title, 'A2', 'the PUT was rolled back');
      // The dynamic property the rolled-back POST introduced was rolled back with it.
      assert.doesNotMatch((await call(t, { url: META })).body, /Name="fresh"/);
    });

    it('records a dynamic property once inside a change set and types later values by it', async () => {
      const items = await ok(
        t,
        batchBody([
          changeset('cs_dyn', [
            { method: 'POST', path: 'Sales', body: { __id: 'd1', title: 'd', size: 1 } },
            { method: 'POST', path: 'Sales', body: { __id: 'd2', title: 'd', size: 2 } },
            { method: 'MERGE', path: "Sales('d1')", body: { size: 3, colour: 'red' } },
          ]),
          changeset('cs_dyn_bad', [{ method: 'POST', path: 'Sales', body: { __id: 'd3', title: 'd', size: 'large' } }]),
        ]),
      );
      assert.deepEqual(statuses(items), [[201, 201, 204], 400]);
      assert.match((await call(t, { url: META })).body, /<Property Name="size" Type="Edm.Double" Nullable="true" p:IsDeclared="false">/);
      assert.deepEqual(
        json(await call(t, { url: `${COL}/Sales?$filter=${encodeURIComponent("title eq 'd'")}&$orderby=__id` })).d.results.map((r: { size: number }) => r.size),
        [3, 2],
      );
    });

    it('takes 1000 operations and refuses 1001 with PR400-OD-0030, changing nothing', async () => {
      const posts = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => ({ method: 'POST', path: 'Bulk', body: { __id: `${prefix}${i}` } }));
      assertCode(await batch(t, batchBody([changeset('cs_many', posts(1001, 'over'))])), 400, 'PR400-OD-0030');
      const split = batchBody([changeset('cs_a', posts(600, 'split')), ...posts(401, 'single').map(single)]);
      assertCode(await batch(t, split), 400, 'PR400-OD-0030');
      assert.deepEqual(await ids(t, 'Bulk'), []);
      const items = await ok(t, batchBody([changeset('cs_max', posts(1000, 'max'))]));
      assert.equal((items[0] as { answers: Answer[] }).answers.length, 1000);
      assert.equal(json(await call(t, { url: `${COL}/Bulk?$top=0&$inlinecount=allpages` })).d.__count, '1000');
    });

    it('refuses malformed batches whole with 400, running none of their operations', async () => {
      const post = single({ method: 'POST', path: 'Sales', body: { __id: 'never', title: 'never' } });
      const postCs = changeset('cs', [{ method: 'POST', path: 'Sales', body: { __id: 'never', title: 'never' } }]);
      const withOp = (op: Op) => batchBody([post, single(op)]);
      const rows: Array<[string, string, string, number, string] | [string, string, string, number, string, string]> = [
        ['no boundary in Content-Type', batchBody([post]), 'multipart/mixed', 400, 'PR400-OD-0021'],
        ['not multipart', batchBody([post]), 'application/json', 400, 'PR400-OD-0021'],
        ['no delimiter at all', request({ method: 'POST', path: 'Sales', body: { title: 'x' } }), '', 400, 'PR400-OD-0023'],
        ['another boundary in the body', batchBody([post], 'other'), '', 400, 'PR400-OD-0023'],
        ['no close delimiter (truncated)', `--${B}\r\n${post}\r\n--${B}\r\n${post}\r\n`, '', 400, 'PR400-OD-0023'],
        ['change set without close delimiter', batchBody([post, 'Content-Type: multipart/mixed; boundary=cs\r\n\r\n--cs\r\n' + single({ method: 'DELETE', path: "Sales('a')" })]), '', 400, 'PR400-OD-0023'],
        ['malformed part header', batchBody([post, 'Content-Type application/http\r\n\r\nGET Sales']), '', 400, 'PR400-OD-0023'],
        ['part without Content-Type', batchBody([post, `Content-Transfer-Encoding: binary\r\n\r\nGET Sales`]), '', 400, 'PR400-OD-0021'],
        ['part of another type', batchBody([post, `Content-Type: text/plain\r\n\r\nGET Sales`]), '', 400, 'PR400-OD-0021'],
        ['change set without boundary', batchBody([post, `Content-Type: multipart/mixed\r\n\r\n`]), '', 400, 'PR400-OD-0021'],
        ['base64 part', batchBody([post, `Content-Type: application/http\r\nContent-Transfer-Encoding: base64\r\n\r\nR0VUIFNhbGVz`]), '', 400, 'PR400-OD-0021'],
        ['nested change set', batchBody([post, `Content-Type: multipart/mixed; boundary=outer\r\n\r\n--outer\r\n${changeset('inner', [{ method: 'DELETE', path: "Sales('a')" }])}\r\n--outer--`]), '', 400, 'PR400-OD-0022'],
        ['method not allowed', withOp({ method: 'PATCH', path: "Sales('a')", body: {} }), '', 400, 'PR400-OD-0035', 'PATCH'],
        ['GET inside a change set', batchBody([postCs, changeset('cs2', [{ method: 'GET', path: 'Sales' }])]), '', 400, 'PR400-OD-0035', 'GET'],
        ['POST with a key', withOp({ method: 'POST', path: "Sales('a')", body: {} }), '', 400, 'PR400-OD-0034'],
        ['PUT without a key', withOp({ method: 'PUT', path: 'Sales', body: {} }), '', 400, 'PR400-OD-0034'],
        ['DELETE without a key', withOp({ method: 'DELETE', path: 'Sales' }), '', 400, 'PR400-OD-0034'],
        ['parent segment', withOp({ method: 'DELETE', path: "../col2/Sales('a')" }), '', 400, 'PR400-OD-0034'],
        ['encoded parent segment', withOp({ method: 'GET', path: "Sales('a')/%2e%2e" }), '', 400, 'PR400-OD-0034'],
        ['absolute URL elsewhere', withOp({ method: 'DELETE', path: "http://evil.test/c/box1/col/Sales('a')" }), '', 400, 'PR400-OD-0034'],
        ['absolute path to another collection', withOp({ method: 'DELETE', path: "/c/box1/col2/Sales('a')" }), '', 400, 'PR400-OD-0034'],
        ['schema path', withOp({ method: 'POST', path: '$metadata/EntityType', body: { Name: 'Evil' } }), '', 400, 'PR400-OD-0034'],
        ['nested $batch', withOp({ method: 'POST', path: '$batch', body: '' }), '', 400, 'PR400-OD-0034'],
        ['query on a navigation path', withOp({ method: 'GET', path: "Customer('cu')/_Sales?$top=1" }), '', 400, 'PR400-OD-0034'],
        ['too many path segments', withOp({ method: 'GET', path: "Sales('a')/_Customer/more" }), '', 400, 'PR400-OD-0034'],
        ['unknown HTTP version', batchBody([post, "Content-Type: application/http\r\n\r\nGET Sales('a') HTTP/2"]), '', 400, 'PR400-OD-0034'],
        ['words after the version', batchBody([post, "Content-Type: application/http\r\n\r\nGET Sales('a') HTTP/1.1 more"]), '', 400, 'PR400-OD-0034'],
        ['no request line', batchBody([post, 'Content-Type: application/http\r\n\r\n']), '', 400, 'PR400-OD-0034'],
        ['$top over 10000 in total', batchBody([post, single({ method: 'GET', path: 'Sales?$top=6000' }), single({ method: 'GET', path: 'Bulk?$top=4001' })]), '', 400, 'PR400-OD-0037'],
      ];
      const before = await ids(t);
      for (const [name, body, contentType, status, code, param] of rows) {
        const res = await batch(t, body, contentType ? { contentType } : {});
        assert.equal(res.statusCode, status, `${name}: ${res.body}`);
        assert.equal(json(res).code, code, name);
        if (param) assert.match(json(res).message.value, new RegExp(`\\[${param}\\]`), name);
      }
      assert.deepEqual(await ids(t), before, 'nothing changed');
      assert.equal(json(await call(t, { url: `${COL}/Sales('a')` })).d.results.title, 'A2');
    });

    it('refuses a body over 10 MiB with 413 and other methods with 405', async () => {
      const huge = batchBody([single({ method: 'POST', path: 'Sales', body: { __id: 'huge', title: 'x'.repeat(11 * 1024 * 1024) } })]);
      assertCode(await batch(t, huge), 413, 'PR400-OD-0007');
      assert.equal((await call(t, { url: `${COL}/Sales('huge')` })).statusCode, 404);
      assertCode(await call(t, { url: BATCH }), 405, 'PR405-MC-0001');
      assertCode(await call(t, { method: 'PUT', url: BATCH, body: '' }), 405, 'PR405-MC-0001');
    });

    it("reads LF line endings and personium-core's sample layout (no blank line after a GET, loose headers)", async () => {
      const lf = [
        `--${B}`,
        'Content-Type: application/http',
        'Content-Transfer-Encoding:binary',
        '',
        "GET Sales('a')",
        'Accept: application/json',
        'Content-Length: 0',
        `--${B}`,
        'Content-Type: multipart/mixed; boundary=changeset_lf',
        'Content-Length: 999',
        '',
        '--changeset_lf',
        'Content-Type: application/http',
        'Content-Transfer-Encoding: binary',
        'Content-ID: 7',
        '',
        `POST ${'http://unit.test'}${COL}/Sales HTTP/1.1`,
        'Content-Type: application/json',
        'Content-Length: 3',
        '',
        '{"__id":"lf1",',
        ' "title":"multi-line JSON"}',
        '',
        '--changeset_lf',
        'Content-Type: application/http',
        'Content-Transfer-Encoding: binary',
        '',
        `DELETE ${COL}/Sales('x1')`,
        'If-Match: *',
        '--changeset_lf--',
        `--${B}--`,
      ].join('\n');
      const items = await ok(t, lf);
      assert.deepEqual(statuses(items), [200, [201, 204]]);
      const created = (items[1] as { answers: Answer[] }).answers[0]!;
      assert.equal(created.part['content-id'], '7', 'the Content-ID is echoed');
      assert.equal(JSON.parse(created.body).d.results.title, 'multi-line JSON');
      const now = await ids(t);
      assert.ok(now.includes('lf1') && !now.includes('x1'), now.join());
    });

    it('echoes a boundary that needs quoting, quoted', async () => {
      const boundary = 'batch:with=specials?';
      const res = await batch(t, batchBody([single({ method: 'GET', path: "Sales('a')" })], boundary), { contentType: `multipart/mixed; boundary="${boundary}"` });
      assert.equal(res.statusCode, 202, res.body);
      assert.equal(res.headers['content-type'], `multipart/mixed; boundary="${boundary}"`);
      assert.deepEqual(statuses(readItems(res.body, boundary)), [200]);
    });

    it('decides read and write per operation: a reader gets its GETs and errors for its writes (apiref 368)', async () => {
      await createAccount(t, 'c', 'reader', 'reader-pw-1');
      await ctlPost(t, 'c', 'Role', { Name: 'readers', '_Box.Name': 'box1' });
      await ctlPost(t, 'c', "Role(Name='readers',_Box.Name='box1')/$links/_Account", { uri: "http://unit.test/c/__ctl/Account('reader')" }, 204);
      const acl = '<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"><D:ace><D:principal><D:href>http://unit.test/c/__role/box1/readers</D:href></D:principal><D:grant><D:privilege><D:read/></D:privilege></D:grant></D:ace></D:acl>';
      assert.equal((await call(t, { method: 'ACL', url: COL, body: acl })).statusCode, 200);
      const reader = (await token(t, 'c', passwordGrant('reader', 'reader-pw-1'))).access_token as string;

      const before = await ids(t);
      const body = batchBody([
        single({ method: 'GET', path: "Sales('a')" }),
        changeset('cs_r', [{ method: 'DELETE', path: "Sales('a')" }]),
        single({ method: 'POST', path: 'Sales', body: { __id: 'by-reader', title: 'no' } }),
      ]);
      const res = await batch(t, body, { as: reader });
      assert.equal(res.statusCode, 202, res.body);
      const items = readItems(res.body, B);
      assert.deepEqual(statuses(items), [200, 403, 403]);
      assert.equal(errorCode(items[1]!), 'PR403-AU-0002');
      assert.equal(errorCode(items[2]!), 'PR403-AU-0002');
      assert.deepEqual(await ids(t), before);
      // Neither read nor write: the request itself is refused.
      assertCode(await batch(t, body, { as: 'anonymous' }), 401, 'PR401-AU-0001');
      assert.deepEqual(await ids(t), before);
    });
  });
}
