import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import { call, json } from '../support/http.js';
import { addMember, API, assertHxError, hx, twoTenants } from '../support/hexabase.js';

interface Part {
  name: string;
  value: string | Buffer;
  /** Makes the part a file. */
  filename?: string;
}

/** A multipart/form-data body (RFC 7578) as a browser sends it. */
function multipart(parts: Part[]): { body: Buffer; contentType: string } {
  const boundary = `----kura-test-${randomBytes(8).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const file = p.filename === undefined ? '' : `; filename="${p.filename}"\r\nContent-Type: text/csv`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"${file}\r\n\r\n`), Buffer.from(p.value), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** The header UserImport.md gives, with its spaces and tabs. */
const HEADER = 'Email, UserName,\tPassword,\tGroupDisplayIDs,\tRoleDisplayIDs,\tIsDelete';
const BOM = '\uFEFF';
/** A file as Excel saves "CSV UTF-8": byte order mark, CRLF. */
const excel = (...lines: string[]) => `${BOM}${lines.join('\r\n')}\r\n`;

for (const backend of backends) {
  describe(`Hexabase UserImport (group-users/UserImport.md) on ${backend.name}`, { skip: backend.skip }, () => {
    let t: TestApp;
    let alice: string;
    let bob: string;
    let carol: string;
    let wsId: string;
    let rootId: string;
    before(async () => {
      t = await startTestApp(backend);
      ({ alice, bob, aliceWorkspace: wsId } = await twoTenants(t));
      for (const [name, display_id, parent] of [['Sales', 'sales', undefined], ['East', 'east', 'sales'], ['Support', 'support', undefined]] as const) {
        const url = parent ? `/groups/${parent}` : `/workspaces/${wsId}/groups`;
        assert.equal((await hx(t, alice, 'POST', url, { name, display_id })).statusCode, 200);
      }
      // Both applications have a role "staff": a bare `staff` is ambiguous.
      for (const [name, display_id, roles] of [['CRM', 'crm', ['managers', 'staff']], ['HR', 'hr', ['staff', 'admins']]] as const) {
        const made = await hx(t, alice, 'POST', '/applications', { name, display_id, roles: roles.map((r) => ({ display_id: r, name: r })) });
        assert.equal(made.statusCode, 200, made.body);
      }
      carol = await addMember(t, alice, 'carol@example.com', 'carol', 'east');
      rootId = json(await hx(t, alice, 'GET', '/groups')).group.g_id;
    });
    after(() => t.close());

    const importCsv = (token: string, csv: string | Buffer, fields: Record<string, string> = { current_workspace_id: wsId, filename: 'users.csv' }) => {
      const { body, contentType } = multipart([...Object.entries(fields).map(([name, value]) => ({ name, value })), { name: 'file', value: csv, filename: 'users.csv' }]);
      return call(t, { method: 'POST', url: `${API}/userimport`, headers: { 'content-type': contentType }, body, as: token });
    };
    const emailsIn = async (group: string) => json(await hx(t, alice, 'GET', `/groups/${group}/users`)).members.map((m: { email: string }) => m.email).sort();
    const member = async (email: string) =>
      json(await hx(t, alice, 'GET', `/users/all/g/${rootId}`)).members.find((m: { email: string }) => m.email === email) as
        | { u_id: string; username: string; confirmed: boolean }
        | undefined;
    const holders = async (app: string, role: string) =>
      json(await hx(t, alice, 'GET', `/applications/${app}/roleusers/${role}`)).role_users.map((u: { email: string }) => u.email).sort();
    const login = (email: string, password: string) => call(t, { method: 'POST', url: `${API}/login`, body: { email, password }, as: 'anonymous' });
    /** Everything an import can change, for "nothing changed" assertions. */
    const snapshot = async () => ({
      all: json(await hx(t, alice, 'GET', `/users/all/g/${rootId}`)).members.map((m: { email: string; confirmed: boolean }) => `${m.email}:${m.confirmed}`).sort(),
      groups: await Promise.all(['sales', 'east', 'support'].map(emailsIn)),
      roles: await Promise.all([['crm', 'managers'], ['crm', 'staff'], ['hr', 'staff'], ['hr', 'admins']].map(([a, r]) => holders(a!, r!))),
    });

    it('imports new and existing users into groups with roles; a password makes a new user one who can log in', async () => {
      const csv = excel(
        HEADER,
        'dave@example.com,Dave,dave-pass-1,sales;east,crm/managers,',
        'erin@example.com,"Erin, ""E"" Smith",,support,,false',
        // Formula-looking cells are text like any other.
        "frank@example.com,=cmd|' /C calc'!A0,,,,0",
        // Bob has his own account (Bob Ltd): he joins, keeping his name and password.
        'bob@example.com,Robert,bob-new-pass,support,hr/admins,',
      );
      const res = await importCsv(alice, csv);
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(json(res), { error: null });

      assert.deepEqual(await emailsIn('sales'), ['dave@example.com']);
      assert.deepEqual(await emailsIn('east'), ['carol@example.com', 'dave@example.com']);
      assert.deepEqual(await emailsIn('support'), ['bob@example.com', 'erin@example.com']);
      // Without groups, a new user joins through the top group.
      assert.deepEqual(await emailsIn(rootId), ['alice@example.com', 'frank@example.com']);
      assert.equal((await member('frank@example.com'))!.username, "=cmd|' /C calc'!A0");
      assert.deepEqual(await member('erin@example.com').then((m) => [m!.username, m!.confirmed]), ['Erin, "E" Smith', false]);
      assert.deepEqual(await member('bob@example.com').then((m) => [m!.username, m!.confirmed]), ['bob', true]);

      const daveLogin = await login('dave@example.com', 'dave-pass-1');
      assert.equal(daveLogin.statusCode, 200, daveLogin.body);
      const dave = json(await hx(t, json(daveLogin).token, 'GET', '/userinfo'));
      assert.deepEqual([dave.username, dave.current_workspace_id, dave.is_ws_admin], ['Dave', wsId, false]);
      assert.deepEqual(dave.user_roles.map((r: { application_id: string; role_id: string }) => `${r.application_id}/${r.role_id}`), ['crm/managers']);
      assert.equal((await member('dave@example.com'))!.confirmed, true);
      assert.equal((await login('bob@example.com', 'bob-password')).statusCode, 200);
      assertHxError(await login('bob@example.com', 'bob-new-pass'), 401, 'NO_PRIVILEGES');
      assert.deepEqual(await holders('hr', 'admins'), ['bob@example.com']);
      // Erin has no password: she is invited the way AddUser's users are.
      assert.deepEqual(json(await hx(t, alice, 'POST', '/userinvite', { users: [{ email: 'erin@example.com' }], domain: 'app.example.com' })), [
        { email: 'erin@example.com', stats: 200 },
      ]);

      // The same file again changes nothing: an import adds what is missing.
      const before = await snapshot();
      assert.deepEqual(json(await importCsv(alice, csv)), { error: null });
      assert.deepEqual(await snapshot(), before);
      // A file with only its header imports nothing, successfully.
      assert.deepEqual(json(await importCsv(alice, 'Email\n')), { error: null });
    });

    it('reports each row it cannot import with its row number, and imports the others', async () => {
      const res = await importCsv(
        alice,
        [
          'Email,GroupDisplayIDs,RoleDisplayIDs,IsDelete,Password',
          'not-an-address,sales,,,',
          'gina@example.com,nosuch,,,',
          'hank@example.com,,staff,,',
          'ivan@example.com,sales,crm/nope,,',
          'jane@example.com,,,maybe,',
          'kate@example.com,,,,short',
          'dave@example.com,east,,,',
          'DAVE@example.com,sales,,,',
          ',sales,,,',
          'lena@example.com,sales,crm/staff,,',
          'mia@example.com,sales,,,,extra',
        ].join('\n'),
      );
      assert.equal(res.statusCode, 200, res.body);
      const body = json(res);
      assert.equal(body.error, '9 of 11 rows were not imported');
      assert.deepEqual(
        body.errors.map((e: { line: number; email: string; error_code: string }) => [e.line, e.email, e.error_code]),
        [
          [2, 'not-an-address', 'INVALID_VALUE'],
          [3, 'gina@example.com', 'NOT_FOUND'],
          [4, 'hank@example.com', 'INVALID_VALUE'],
          [5, 'ivan@example.com', 'NOT_FOUND'],
          [6, 'jane@example.com', 'INVALID_VALUE'],
          [7, 'kate@example.com', 'INVALID_VALUE'],
          [9, 'DAVE@example.com', 'INVALID_VALUE'],
          [10, '', 'INVALID_PARAMS'],
          [12, 'mia@example.com', 'INVALID_VALUE'],
        ],
      );
      for (const e of body.errors) assert.equal(typeof e.description, 'string');
      assert.match(body.errors[2].description, /APP\/staff/);
      // The good rows are in; of a refused row nothing is, not even the user (ivan's group existed).
      assert.deepEqual(await emailsIn('sales'), ['dave@example.com', 'lena@example.com']);
      assert.deepEqual(await holders('crm', 'staff'), ['lena@example.com']);
      for (const email of ['gina', 'hank', 'ivan', 'jane', 'kate', 'mia'].map((n) => `${n}@example.com`)) assert.equal(await member(email), undefined, email);
    });

    it('takes users out of groups, roles and the workspace with IsDelete, never the importer', async () => {
      const res = await importCsv(
        alice,
        excel(
          HEADER,
          'dave@example.com,,,east,,true',
          'lena@example.com,,,,crm/staff,1',
          'frank@example.com,,,,,TRUE',
          'nobody@example.com,,,,,true',
          'alice@example.com,,,,,true',
          // Bob is not in east: there is nothing to do, which is no error.
          'bob@example.com,,,east,,true',
        ),
      );
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(
        json(res).errors.map((e: { line: number; error_code: string }) => [e.line, e.error_code]),
        [
          [5, 'NOT_FOUND'],
          [6, 'INVALID_VALUE'],
        ],
      );
      assert.deepEqual(await emailsIn('east'), ['carol@example.com']);
      assert.deepEqual(await emailsIn('sales'), ['dave@example.com', 'lena@example.com']);
      assert.deepEqual(await holders('crm', 'staff'), []);
      assert.equal(await member('frank@example.com'), undefined);
      assert.ok(await member('alice@example.com'));
      assert.deepEqual(await emailsIn('support'), ['bob@example.com', 'erin@example.com']);
      // Frank's account stays; it is only out of Alice's workspace.
      const again = json(await hx(t, alice, 'POST', '/users', { email: 'frank@example.com', g_id: 'support' }));
      assert.deepEqual([again.exists, again.user_profile.username], [true, "=cmd|' /C calc'!A0"]);
    });

    it('refuses a request as a whole, changing nothing, when it is not an administrator’s or the file cannot be read', async () => {
      const before = await snapshot();
      const good = 'gwen@example.com,Gwen,,sales,,';
      const fields = { current_workspace_id: wsId, filename: 'users.csv' };
      assert.equal((await importCsv('anonymous', excel(HEADER, good))).statusCode, 401);
      assertHxError(await importCsv(carol, excel(HEADER, good)), 403, 'NO_PRIVILEGES');
      // Bob is a member of Alice's workspace now (the first test), not an administrator.
      assertHxError(await importCsv(bob, excel(HEADER, good)), 403, 'NO_PRIVILEGES');
      // Alice cannot import into Bob's workspace, which she does not belong to.
      const bobWs = json(await hx(t, bob, 'GET', '/userinfo')).current_workspace_id as string;
      assert.notEqual(bobWs, wsId);
      assertHxError(await importCsv(alice, excel(HEADER, good), { current_workspace_id: bobWs, filename: 'users.csv' }), 404, 'NOT_FOUND');
      assertHxError(await hx(t, alice, 'POST', '/userimport', { current_workspace_id: wsId, filename: 'users.csv', file: good }), 400, 'INVALID_PARAMS');
      assertHxError(await importCsv(alice, excel(HEADER, good), { filename: 'users.csv' }), 400, 'INVALID_PARAMS');
      const noFile = multipart([{ name: 'current_workspace_id', value: wsId }, { name: 'filename', value: 'users.csv' }]);
      assertHxError(await call(t, { method: 'POST', url: `${API}/userimport`, headers: { 'content-type': noFile.contentType }, body: noFile.body, as: alice }), 400, 'INVALID_PARAMS');
      const twoFiles = multipart([
        { name: 'current_workspace_id', value: wsId },
        { name: 'filename', value: 'users.csv' },
        { name: 'file', value: excel(HEADER, good), filename: 'users.csv' },
        { name: 'file2', value: excel(HEADER, good), filename: 'more.csv' },
      ]);
      assertHxError(await call(t, { method: 'POST', url: `${API}/userimport`, headers: { 'content-type': twoFiles.contentType }, body: twoFiles.body, as: alice }), 400, 'INVALID_PARAMS');
      const truncated = multipart([{ name: 'current_workspace_id', value: wsId }, { name: 'file', value: excel(HEADER, good), filename: 'users.csv' }]);
      assertHxError(
        await call(t, { method: 'POST', url: `${API}/userimport`, headers: { 'content-type': truncated.contentType }, body: truncated.body.subarray(0, -20), as: alice }),
        400,
        'INVALID_PARAMS',
      );
      for (const [why, csv] of [
        ['empty file', ''],
        ['unknown column', excel('Email,Nickname', 'gwen@example.com,gw')],
        ['no Email column', excel('UserName,GroupDisplayIDs', 'Gwen,sales')],
        ['a column twice', excel('Email,email', 'gwen@example.com,gwen@example.com')],
        // Valid rows before a quote left open at the end are not imported either.
        ['quote left open', excel(HEADER, good, 'hugo@example.com,"Hugo,,,,')],
        ['not UTF-8 (Shift_JIS)', Buffer.concat([Buffer.from(`${HEADER}\r\ngwen@example.com,`), Buffer.from([0x83, 0x4f, 0x83, 0x45]), Buffer.from(',,sales,,\r\n')])],
        ['too many rows', excel(HEADER, ...Array.from({ length: 1001 }, (_, i) => `user${i}@example.com,,,sales,,`))],
      ] as const) {
        const res = await importCsv(alice, csv, fields);
        assert.equal(res.statusCode, 400, `${why}: ${res.body}`);
        assert.equal(json(res).error_code, 'INVALID_VALUE', why);
      }
      // Larger than KURA_BODY_LIMIT (1 MiB by default).
      const huge = excel(HEADER, `${'x'.repeat(1024 * 1024)}@example.com,,,,,`);
      assert.equal((await importCsv(alice, huge)).statusCode, 413);
      assert.deepEqual(await snapshot(), before);
    });
  });
}
