import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { loadConfig } from '../../src/config.js';
import { mailerFor, OutboxMailer } from '../../src/hexabase/mail/mailer.js';
import { SmtpMailer } from '../../src/hexabase/mail/smtp-mailer.js';
import { backends, startTestApp } from '../support/backends.js';
import { json } from '../support/http.js';
import { hx, twoTenants } from '../support/hexabase.js';

interface Received {
  auth: string[];
  from: string;
  to: string[];
  data: string;
}

/**
 * Just enough of an SMTP server (RFC 5321) to receive what a real client sends: greeting, EHLO
 * (offering AUTH PLAIN), AUTH, MAIL, RCPT, DATA until the lone dot, QUIT. It listens on port 0.
 */
async function smtpSink(): Promise<{ url: string; messages: Received[]; close(): Promise<void> }> {
  const messages: Received[] = [];
  const server = net.createServer((socket) => {
    let buffer = '';
    let inData = false;
    let current: Received = { auth: [], from: '', to: [], data: '' };
    const reply = (line: string) => socket.write(`${line}\r\n`);
    socket.setEncoding('utf8');
    reply('220 sink.test ESMTP');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end < 0) return;
          // Dot-unstuffing (RFC 5321 §4.5.2).
          current.data = buffer.slice(0, end + 2).replace(/^\.\./gm, '.');
          buffer = buffer.slice(end + 5);
          inData = false;
          messages.push(current);
          current = { auth: [], from: '', to: [], data: '' };
          reply('250 2.0.0 queued');
          continue;
        }
        const eol = buffer.indexOf('\r\n');
        if (eol < 0) return;
        const line = buffer.slice(0, eol);
        buffer = buffer.slice(eol + 2);
        const verb = line.split(' ')[0]!.toUpperCase();
        if (verb === 'EHLO') reply('250-sink.test\r\n250 AUTH PLAIN');
        else if (verb === 'HELO') reply('250 sink.test');
        else if (verb === 'AUTH') {
          current.auth.push(Buffer.from(line.split(' ')[2] ?? '', 'base64').toString('utf8'));
          reply('235 2.7.0 accepted');
        } else if (verb === 'MAIL') {
          current.from = /<([^>]*)>/.exec(line)?.[1] ?? '';
          reply('250 2.1.0 ok');
        } else if (verb === 'RCPT') {
          current.to.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
          reply('250 2.1.5 ok');
        } else if (verb === 'DATA') {
          inData = true;
          reply('354 end with <CRLF>.<CRLF>');
        } else if (verb === 'RSET' || verb === 'NOOP') reply('250 ok');
        else if (verb === 'QUIT') {
          reply('221 bye');
          socket.end();
          return;
        } else reply('502 5.5.2 not implemented');
      }
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The header block and the body of a received message. */
function parts(data: string): { headers: string; body: string } {
  const split = data.indexOf('\r\n\r\n');
  return { headers: data.slice(0, split), body: data.slice(split + 4) };
}

describe('mail through SMTP (KURA_SMTP_URL)', () => {
  let sink: Awaited<ReturnType<typeof smtpSink>>;
  before(async () => {
    sink = await smtpSink();
  });
  after(() => sink.close());

  it('delivers recipient, subject and body in a real SMTP exchange, with the URL’s credentials', async () => {
    const port = new URL(sink.url).port;
    // A password with reserved characters is percent-encoded in the URL and arrives decoded.
    const mailer = new SmtpMailer(`smtp://kura:p%40ss%2Fword@127.0.0.1:${port}`, 'Kura <kura@unit.test>');
    await mailer.send({ to: 'carol@example.com', subject: 'Invitation to Alice Inc', text: 'Hello Carol,\n\nopen this link:\nhttps://app.example.com/confirm_email?id=abc\n.leading dot\n' });
    const got = sink.messages.at(-1)!;
    assert.deepEqual(got.auth, ['\0kura\0p@ss/word']);
    assert.equal(got.from, 'kura@unit.test');
    assert.deepEqual(got.to, ['carol@example.com']);
    const { headers, body } = parts(got.data);
    assert.match(headers, /^Subject: Invitation to Alice Inc$/m);
    assert.match(headers, /^To: carol@example\.com$/m);
    assert.match(headers, /^From: Kura <kura@unit\.test>$/m);
    assert.equal(body.replace(/\r\n/g, '\n'), 'Hello Carol,\n\nopen this link:\nhttps://app.example.com/confirm_email?id=abc\n.leading dot\n');
  });

  it('keeps a line break in the subject from adding a header', async () => {
    const mailer = new SmtpMailer(sink.url, 'kura@unit.test');
    await mailer.send({ to: 'carol@example.com', subject: 'Hi\r\nBcc: eve@example.com', text: 'x' });
    const got = sink.messages.at(-1)!;
    assert.deepEqual(got.to, ['carol@example.com']);
    assert.doesNotMatch(parts(got.data).headers, /^Bcc:/im);
  });

  it('is the configured mailer when KURA_SMTP_URL is set, the outbox otherwise', () => {
    assert.ok(mailerFor(loadConfig({ KURA_SMTP_URL: sink.url })) instanceof SmtpMailer);
    assert.ok(mailerFor(loadConfig({})) instanceof OutboxMailer);
  });

  for (const backend of backends) {
    it(`carries a UserInvite mail to the invited address (app on ${backend.name})`, { skip: backend.skip }, async () => {
      const t = await startTestApp(backend, { KURA_SMTP_URL: sink.url, KURA_MAIL_FROM: 'Kura <noreply@unit.test>' });
      try {
        const { alice } = await twoTenants(t);
        const rootId = json(await hx(t, alice, 'GET', '/groups')).group.g_id;
        assert.equal((await hx(t, alice, 'POST', '/users', { email: 'carol@example.com', g_id: rootId, username: 'Carol' })).statusCode, 200);
        const sent = sink.messages.length;
        const invited = await hx(t, alice, 'POST', '/userinvite', { users: [{ email: 'carol@example.com' }], domain: 'app.example.com' });
        assert.deepEqual(json(invited), [{ email: 'carol@example.com', stats: 200 }]);
        assert.equal(sink.messages.length, sent + 1, 'the invitation went out through SMTP');
        const got = sink.messages.at(-1)!;
        assert.deepEqual([got.from, got.to], ['noreply@unit.test', ['carol@example.com']]);
        assert.match(parts(got.data).headers, /^Subject: Invitation to Alice Inc$/m);
        assert.match(parts(got.data).body, /https:\/\/app\.example\.com\/confirm_email\?id=[0-9a-f]{24}/);
      } finally {
        await t.close();
      }
    });
  }
});
