import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createApp, type KuraApp } from '../../src/app.js';
import { loadConfig, type KuraConfig } from '../../src/config.js';

export interface Backend {
  name: 'sqlite' | 'postgres';
  /** A reason to skip, printed by the runner; false when the backend is available. */
  skip: string | false;
}

const pgUrl = process.env.KURA_TEST_DATABASE_URL;

/** Every storage-touching suite runs once per backend (STYLE.md item 1). */
export const backends: Backend[] = [
  { name: 'sqlite', skip: false },
  { name: 'postgres', skip: pgUrl ? false : 'KURA_TEST_DATABASE_URL not set: PostgreSQL variant skipped' },
];

export const MASTER_TOKEN = 'test-master-token';

export interface TestApp {
  app: KuraApp;
  config: KuraConfig;
  dataDir: string;
  close(): Promise<void>;
}

/** A real kura app over a fresh temp data dir (and, on PostgreSQL, a fresh schema dropped on close). */
export async function startTestApp(backend: Backend, env: Record<string, string> = {}): Promise<TestApp> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-test-'));
  const schema = backend.name === 'postgres' ? `kura_test_${randomBytes(6).toString('hex')}` : undefined;
  const config = loadConfig({
    KURA_DATA_DIR: dataDir,
    KURA_MASTER_TOKEN: MASTER_TOKEN,
    KURA_UNIT_URL: 'http://unit.test/',
    KURA_LOG_LEVEL: 'silent',
    ...(backend.name === 'postgres' ? { KURA_DATABASE_URL: pgUrl! } : {}),
    ...env,
  });
  const app = await createApp({ config, ...(schema ? { pgSchema: schema } : {}) });
  return {
    app,
    config,
    dataDir,
    async close() {
      await app.close();
      if (schema) await dropSchema(schema);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}
