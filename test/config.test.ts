import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ConfigError, loadConfig } from '../src/config.js';

describe('configuration from KURA_* (ARCHITECTURE.md, Configuration)', () => {
  it('has working defaults: port 8080, ./data, SQLite, path cell URLs, master token disabled', () => {
    const c = loadConfig({});
    assert.equal(c.port, 8080);
    assert.equal(c.dataDir, path.resolve('./data'));
    assert.equal(c.unitUrl, 'http://localhost:8080/');
    assert.equal(c.databaseUrl, undefined);
    assert.equal(c.cellUrlMode, 'path');
    assert.equal(c.masterToken, undefined);
  });

  it('normalises the unit URL to end with a slash', () => {
    assert.equal(loadConfig({ KURA_UNIT_URL: 'https://unit.example' }).unitUrl, 'https://unit.example/');
    assert.equal(loadConfig({ KURA_UNIT_URL: 'https://unit.example/base' }).unitUrl, 'https://unit.example/base/');
  });

  it('names every bad value at once', () => {
    try {
      loadConfig({
        KURA_PORT: 'eighty',
        KURA_UNIT_URL: 'ftp://x/',
        KURA_CELL_URL_MODE: 'dns',
        KURA_DATABASE_URL: 'mysql://x',
        KURA_MASTER_TOKEN: 'short',
        KURA_LOG_LEVEL: 'loud',
      });
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.problems.length, 6);
      for (const name of ['KURA_PORT', 'KURA_UNIT_URL', 'KURA_CELL_URL_MODE', 'KURA_DATABASE_URL', 'KURA_MASTER_TOKEN', 'KURA_LOG_LEVEL']) {
        assert.ok(err.message.includes(name), name);
      }
    }
  });

  it('refuses out-of-range ports and accepts 0 (ephemeral)', () => {
    assert.throws(() => loadConfig({ KURA_PORT: '70000' }), ConfigError);
    assert.equal(loadConfig({ KURA_PORT: '0' }).port, 0);
  });

  it('never prints a database password in its complaint', () => {
    assert.throws(
      () => loadConfig({ KURA_DATABASE_URL: 'mysql://user:secret@db/x' }),
      (err: unknown) => err instanceof ConfigError && !err.message.includes('secret'),
    );
  });

  it('sends mail to the outbox unless KURA_SMTP_URL is set; From defaults to kura@{unit host}', () => {
    assert.deepEqual(loadConfig({}).mail, { smtpUrl: undefined, from: 'kura@localhost' });
    assert.equal(loadConfig({ KURA_UNIT_URL: 'https://unit.example/' }).mail.from, 'kura@unit.example');
    const c = loadConfig({ KURA_SMTP_URL: 'smtps://kura:secret@mail.example:465?pool=true', KURA_MAIL_FROM: 'Kura <noreply@unit.example>' });
    assert.deepEqual(c.mail, { smtpUrl: 'smtps://kura:secret@mail.example:465?pool=true', from: 'Kura <noreply@unit.example>' });
  });

  it('refuses a malformed KURA_SMTP_URL or KURA_MAIL_FROM, without printing the SMTP password', () => {
    for (const bad of [
      'mail.example:587',
      'http://mail.example/',
      'smtp://',
      'smtp://kura:secret@mail.example:587/inbox',
      'smtp://kura:secret@mail.example:99999',
      'smtp://kura:sec/ret@mail.example',
    ]) {
      assert.throws(
        () => loadConfig({ KURA_SMTP_URL: bad }),
        (err: unknown) => err instanceof ConfigError && err.problems.length === 1 && err.message.includes('KURA_SMTP_URL') && !/secret|sec\/ret/.test(err.message),
        bad,
      );
    }
    for (const bad of ['kura', 'Kura <kura@x', 'kura@x\r\nBcc: eve@example.com', 'two words@example.com']) {
      assert.throws(() => loadConfig({ KURA_MAIL_FROM: bad }), (err: unknown) => err instanceof ConfigError && err.message.includes('KURA_MAIL_FROM'), bad);
    }
  });
});
