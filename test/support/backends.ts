import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createApp, type KuraApp } from '../../src/app.js';
import { loadConfig, type KuraConfig } from '../../src/config.js';
import { openDatabase, type OpenDatabase } from '../../src/store/database.js';

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

/** A fresh place to keep data: a temp data dir and, on PostgreSQL, a schema of its own. */
export interface TestStorage {
  dataDir: string;
  /** KURA_* variables that point a server at this storage. */
  env: Record<string, string>;
  /** Removes the data dir and drops the schema. */
  release(): Promise<void>;
}

export function allocateStorage(backend: Backend): TestStorage {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-test-'));
  const schema = backend.name === 'postgres' ? `kura_test_${randomBytes(6).toString('hex')}` : undefined;
  return {
    dataDir,
    env: {
      KURA_DATA_DIR: dataDir,
      ...(schema ? { KURA_DATABASE_URL: pgUrl!, KURA_DATABASE_SCHEMA: schema } : {}),
    },
    async release() {
      if (schema) await dropSchema(schema);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A real kura app over fresh storage (see allocateStorage), dropped on close. */
export async function startTestApp(backend: Backend, env: Record<string, string> = {}): Promise<TestApp> {
  const storage = allocateStorage(backend);
  const config = loadConfig({
    KURA_MASTER_TOKEN: MASTER_TOKEN,
    KURA_UNIT_URL: 'http://unit.test/',
    KURA_LOG_LEVEL: 'silent',
    // Cheap password hashing: tests create many accounts; the production cost is in the bench.
    KURA_PASSWORD_SCRYPT: '1024,8,1',
    ...storage.env,
    ...env,
  });
  const app = await createApp({ config });
  return {
    app,
    config,
    dataDir: storage.dataDir,
    async close() {
      await app.close();
      await storage.release();
    },
  };
}

/** The store alone, for engine-level tests below HTTP; `release` closes it and drops its storage. */
export async function openTestDatabase(backend: Backend): Promise<{ database: OpenDatabase; release(): Promise<void> }> {
  const storage = allocateStorage(backend);
  const database = await openDatabase({
    dataDir: storage.dataDir,
    databaseUrl: storage.env.KURA_DATABASE_URL,
    pgSchema: storage.env.KURA_DATABASE_SCHEMA,
  });
  return {
    database,
    async release() {
      await database.close();
      await storage.release();
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
