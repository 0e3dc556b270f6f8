import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface SpawnedServer {
  child: ChildProcess;
  port: number;
  /** Base URL ending with a slash, e.g. http://127.0.0.1:41234/ */
  url: string;
  /** Resolves with the exit code (or signal name) once the process has gone. */
  exited: Promise<number | string>;
}

/**
 * Starts kura exactly as `npm start` does (`node --import tsx src/main.ts serve`), in its own
 * process, on an ephemeral port, and resolves once its "kura listening" log line names the port.
 * A separate process is what lets a test kill -9 the server mid-write.
 */
export async function spawnServer(env: Record<string, string>, timeoutMs = 20_000): Promise<SpawnedServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'serve'], {
    cwd: repoRoot,
    env: { ...process.env, KURA_PORT: '0', KURA_HOST: '127.0.0.1', KURA_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });

  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`kura did not start within ${timeoutMs} ms; stderr:\n${stderr}`));
    }, timeoutMs);
    const lines = readline.createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      let entry: { msg?: string; port?: unknown };
      try {
        entry = JSON.parse(line);
      } catch {
        return;
      }
      if (entry.msg === 'kura listening' && typeof entry.port === 'number') {
        clearTimeout(timer);
        resolve(entry.port);
      }
    });
    void exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`kura exited (${how}) before listening; stderr:\n${stderr}`));
    });
  });
  return { child, port, url: `http://127.0.0.1:${port}/`, exited };
}
