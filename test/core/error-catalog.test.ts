import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { personiumErrors } from '../../src/core/errors/personium-catalog.js';
import { formatMessage, PersoniumError, personiumErrorBody } from '../../src/core/errors/personium-error.js';
import { toPersoniumError } from '../../src/core/errors/to-personium.js';
import { conflict } from '../../src/core/errors/kinds.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const specFile = path.resolve(repoRoot, '../shared/spec/personium/apiref/004_Error_Messages.md');

interface SpecRow {
  code: string;
  status: number;
  oauthError?: string;
  message: string;
}

/** Reads the spec's tables independently of the generator that wrote the catalog. */
function specRows(): SpecRow[] {
  const rows: SpecRow[] = [];
  let auth = false;
  for (const line of fs.readFileSync(specFile, 'utf8').split('\n')) {
    if (line.startsWith('## ')) auth = line.includes('Authentication');
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    const codeCell = auth ? cells[2] : cells[1];
    const code = codeCell && /PR\d{3}-[A-Z]{2}-\d{4}/.exec(codeCell)?.[0];
    if (!code) continue;
    rows.push({
      code,
      status: Number(cells[0]),
      ...(auth ? { oauthError: cells[1] } : {}),
      message: (auth ? cells[3] : cells[2])!,
    });
  }
  return rows;
}

describe('Personium error catalog (apiref 004) equals the spec', () => {
  const rows = specRows();

  it('the spec has codes to compare', () => {
    assert.ok(rows.length > 200, `only ${rows.length} rows parsed`);
  });

  it('every code in the spec is in the catalog with the same status, OAuth error and message', () => {
    for (const row of rows) {
      const entry = (personiumErrors as Record<string, { status: number; oauthError?: string; message: string }>)[row.code];
      assert.ok(entry, `${row.code} missing from the catalog`);
      assert.equal(entry.status, row.status, row.code);
      assert.equal(entry.message, row.message, row.code);
      assert.equal(entry.oauthError, row.oauthError, row.code);
    }
  });

  it('every catalog code is in the spec', () => {
    const documented = new Set(rows.map((r) => r.code));
    for (const code of Object.keys(personiumErrors)) assert.ok(documented.has(code), `${code} is not documented`);
  });

  it('the three digits of each code equal its status', () => {
    for (const [code, entry] of Object.entries(personiumErrors)) {
      assert.equal(Number(code.slice(2, 5)), entry.status, code);
    }
  });
});

describe('Personium errors', () => {
  it('formats parameters and renders doubled quotes as one', () => {
    assert.equal(formatMessage("An unknown property with name ''{0}'' was found.", ['Foo']), "An unknown property with name 'Foo' was found.");
    assert.equal(formatMessage('Query value [{0}]=[{1}] is invalid.', ['$top', 'x']), 'Query value [$top]=[x] is invalid.');
  });

  it('renders the documented body shape, one fresh object per throw', () => {
    const a = new PersoniumError('PR400-OD-0006', ['Name']);
    const b = new PersoniumError('PR400-OD-0006', ['Other']);
    assert.notEqual(a, b);
    assert.equal(a.status, 400);
    assert.deepEqual(personiumErrorBody(a), {
      code: 'PR400-OD-0006',
      message: { lang: 'en', value: 'request body format error. field [Name]' },
    });
  });

  it('carries the OAuth error of token-endpoint codes', () => {
    assert.equal(new PersoniumError('PR400-AN-0017').oauthError, 'invalid_grant');
  });

  it('maps neutral kinds by table and hides unknown failures behind PR500-SV-0000', () => {
    assert.equal(toPersoniumError(conflict()).code, 'PR409-OD-0003');
    const hidden = toPersoniumError(new Error('secret detail'));
    assert.equal(hidden.code, 'PR500-SV-0000');
    assert.equal(hidden.status, 500);
    assert.ok(!hidden.message.includes('secret'));
  });
});
