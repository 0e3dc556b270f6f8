import { ConfigError, loadConfig } from './config.js';
import { createApp } from './app.js';

async function serve(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`kura: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const app = await createApp({ config });
  await app.http.listen({ port: config.port, host: config.host });
  const address = app.http.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  app.http.log.info(
    { port, unitUrl: config.unitUrl, dataDir: config.dataDir, database: app.database.dialect },
    'kura listening',
  );

  const shutdown = (signal: string) => {
    app.http.log.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      (err) => {
        app.http.log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

const command = process.argv[2] ?? 'serve';
if (command === 'serve') {
  serve().catch((err) => {
    process.stderr.write(`kura: failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
} else {
  process.stderr.write(`kura: unknown command "${command}" (try: serve)\n`);
  process.exit(2);
}
