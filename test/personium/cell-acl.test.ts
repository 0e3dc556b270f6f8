import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { backends, startTestApp, type TestApp } from '../support/backends.js';
import { call, json } from '../support/http.js';
import { createAccount, createCell, ctlPost, passwordGrant, token } from '../support/auth.js';

const C = 'http://unit.test/c/';

function acl(aces: string, attrs = ''): string {
  return `<?xml version="1.0" encoding="utf-8"?>
<D:acl xmlns:D="DAV:" xmlns:p="urn:x-personium:xmlns"${attrs}>${aces}</D:acl>`;
}
const ace = (principal: string, ...privileges: string[]) =>
  `<D:ace><D:principal>${principal}</D:principal><D:grant>${privileges.map((p) => `<D:privilege>${p}</D:privilege>`).join('')}</D:grant></D:ace>`;

for (const backend of backends) {
  describe(`Cell-level ACL (apiref 289, 006) on ${backend.name}`, { skip: backend.skip }, () => {
    let t: TestApp;
    let staff: string;
    before(async () => {
      t = await startTestApp(backend);
      await createCell(t, 'c');
      await createAccount(t, 'c', 'sam', 'sam-pw-12');
      await ctlPost(t, 'c', 'Role', { Name: 'staff' });
      await ctlPost(t, 'c', 'Box', { Name: 'box1' });
      await ctlPost(t, 'c', 'Role', { Name: 'boxed', '_Box.Name': 'box1' });
      await ctlPost(t, 'c', "Role('staff')/$links/_Account", { uri: `${C}__ctl/Account('sam')` }, 204);
      staff = (await token(t, 'c', passwordGrant('sam', 'sam-pw-12'))).access_token;
    });
    after(() => t.close());

    it('grants a role what the ACL names, with the privilege hierarchy (social includes social-read)', async () => {
      const res = await call(t, { method: 'ACL', url: '/c/', body: acl(ace('<D:href>staff</D:href>', '<p:social/>')) });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal((await call(t, { url: '/c/__ctl/Relation', as: staff })).statusCode, 200);
      assert.equal((await call(t, { method: 'POST', url: '/c/__ctl/ExtCell', as: staff, body: { Url: 'https://x.example/y/' } })).statusCode, 201);
      assert.equal((await call(t, { url: '/c/__ctl/Account', as: staff })).statusCode, 403);
    });

    it('resolves hrefs against xml:base, relative paths included, and root includes everything', async () => {
      const body = acl(ace('<D:href>../box1/boxed</D:href>', '<p:box-read/>') + ace(`<D:href>${C}__role/__/staff</D:href>`, '<p:root/>'), ` xml:base="${C}__role/__/"`);
      assert.equal((await call(t, { method: 'ACL', url: '/c', body })).statusCode, 200);
      assert.equal((await call(t, { url: '/c/__ctl/Account', as: staff })).statusCode, 200);
      assert.equal((await call(t, { method: 'ACL', url: '/c/', as: staff, body })).statusCode, 200);
    });

    it('all opens a privilege to everyone, callers without a token included', async () => {
      assert.equal((await call(t, { url: '/c/__ctl/Box', as: 'anonymous' })).statusCode, 401);
      assert.equal((await call(t, { method: 'ACL', url: '/c/', body: acl(ace('<D:all/>', '<p:box-read/>')) })).statusCode, 200);
      assert.equal((await call(t, { url: '/c/__ctl/Box', as: 'anonymous' })).statusCode, 200);
      assert.equal((await call(t, { method: 'POST', url: '/c/__ctl/Box', as: 'anonymous', body: { Name: 'nope' } })).statusCode, 401);
      // The ACL replaces the previous one: staff lost root.
      assert.equal((await call(t, { url: '/c/__ctl/Account', as: staff })).statusCode, 403);
      assert.equal((await call(t, { method: 'ACL', url: '/c/', as: staff, body: acl('') })).statusCode, 403);
    });

    it('PROPFIND on the cell shows its properties, and its ACL to those who may read it (apiref 290)', async () => {
      const body = acl(ace('<D:href>staff</D:href>', '<p:propfind/>') + ace('<D:href>../box1/boxed</D:href>', '<p:box-read/>'));
      assert.equal((await call(t, { method: 'ACL', url: '/c/', body })).statusCode, 200);
      const admin = await call(t, { method: 'PROPFIND', url: '/c/', headers: { depth: '0' } });
      assert.equal(admin.statusCode, 207, admin.body);
      assert.match(admin.body, /<href>http:\/\/unit\.test\/c\/<\/href>/);
      assert.match(admin.body, /<p:cellstatus xmlns:p="urn:x-personium:xmlns">normal<\/p:cellstatus>/);
      assert.match(admin.body, /<acl xmlns:p="urn:x-personium:xmlns" xml:base="http:\/\/unit\.test\/c\/__role\/__\/">/);
      assert.match(admin.body, /<href>staff<\/href><\/principal><grant><privilege><p:propfind\/>/);
      assert.match(admin.body, /<href>\.\.\/box1\/boxed<\/href>/);
      const member = await call(t, { method: 'PROPFIND', url: '/c/', as: staff, headers: { depth: '0' } });
      assert.equal(member.statusCode, 207);
      assert.ok(!member.body.includes('<acl'));
      assert.equal((await call(t, { method: 'PROPFIND', url: '/c/', as: 'anonymous', headers: { depth: '0' } })).statusCode, 401);
      assert.equal((await call(t, { method: 'PROPFIND', url: '/c/', headers: { depth: 'infinity' } })).statusCode, 403);
    });

    const hostile: [string, string, string][] = [
      ['malformed XML', '<D:acl xmlns:D="DAV:"><D:ace>', 'PR400-DV-0001'],
      ['an empty body', '', 'PR400-DV-0001'],
      ['an external entity', `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><D:acl xmlns:D="DAV:">&x;</D:acl>`, 'PR400-DV-0006'],
      ['an entity expansion bomb', `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><D:acl xmlns:D="DAV:">&b;</D:acl>`, 'PR400-DV-0006'],
      ['an unknown privilege', acl(ace('<D:all/>', '<p:everything/>')), 'PR400-DV-0006'],
      ['deny', acl('<D:ace><D:principal><D:all/></D:principal><D:deny><D:privilege><p:auth/></D:privilege></D:deny></D:ace>'), 'PR400-DV-0006'],
      ['a role of another cell', acl(ace('<D:href>http://unit.test/other/__role/__/r</D:href>', '<p:auth/>')), 'PR400-DV-0006'],
      ['another root element', '<D:propfind xmlns:D="DAV:"/>', 'PR400-DV-0006'],
    ];
    for (const [what, body, code] of hostile) {
      it(`refuses ${what} with 400 ${code} and keeps the ACL`, async () => {
        const before = await call(t, { url: '/c/__ctl/Box', as: 'anonymous' });
        const res = await call(t, { method: 'ACL', url: '/c/', body });
        assert.equal(res.statusCode, 400, res.body);
        assert.equal(json(res).code, code);
        assert.equal((await call(t, { url: '/c/__ctl/Box', as: 'anonymous' })).statusCode, before.statusCode);
      });
    }
  });
}
