import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type SQLite from 'better-sqlite3';

/** Frames in the WAL that start a checkpoint: SQLite's own autocheckpoint default. */
const FRAMES = 1000;
/**
 * The main connection still checkpoints by itself past this many frames: a safety net should the
 * worker stop or fall behind, never reached while it keeps up.
 */
const FALLBACK_FRAMES = 10 * FRAMES;

export interface CheckpointerOptions {
  /** Group commits before the worker starts: a database written a few times needs no thread of its own. */
  startAfterCommits?: number;
  pollMs?: number;
}

/**
 * Moves SQLite's WAL checkpoints off the event loop.
 *
 * SQLite checkpoints inside the COMMIT that pushes the WAL past 1000 frames: it copies the frames
 * into the database file and fsyncs both files, on the thread that committed — measured at 6 % of a
 * stream of WebDAV PUTs, every request stalled behind two fsyncs a few times a second. Here the
 * main connection's threshold is raised to a fallback and a worker thread with its own connection
 * runs PASSIVE checkpoints at the usual threshold; WAL mode lets it copy while the main connection
 * reads and writes, and the WAL still restarts from its beginning once a checkpoint has caught up.
 * Durability is unchanged: a checkpoint only copies frames already committed to the WAL.
 */
export class Checkpointer {
  private worker: Worker | undefined;
  private commits = 0;
  private stopped = false;
  /** Checkpoints the worker has run (observable, for tests). */
  checkpoints = 0;

  constructor(
    private readonly main: SQLite.Database,
    private readonly options: CheckpointerOptions = {},
  ) {
    main.pragma(`wal_autocheckpoint = ${FALLBACK_FRAMES}`);
  }

  /** Told after each group commit; starts the worker once the database is being written steadily. */
  committed(): void {
    if (this.worker || this.stopped || ++this.commits < (this.options.startAfterCommits ?? 64)) return;
    const data: WorkerData = { sqlite: BETTER_SQLITE3, file: this.main.name, frames: FRAMES, pollMs: this.options.pollMs ?? 50, idleAfter: 4 };
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: data });
    worker.unref();
    worker.on('message', (message) => {
      if (message === 'checkpointed') this.checkpoints++;
    });
    // Should the worker fail (an I/O error), the main connection checkpoints as SQLite does by default.
    worker.on('error', () => this.fallBack());
    this.worker = worker;
  }

  /** Ends the worker's connection before the main one closes (the last to close cleans the WAL up). */
  async stop(): Promise<void> {
    this.stopped = true;
    const worker = this.worker;
    if (!worker) return;
    this.worker = undefined;
    await new Promise<void>((resolve) => {
      worker.once('exit', () => resolve());
      worker.on('message', (message) => {
        if (message === 'stopped') void worker.terminate();
      });
      worker.postMessage('stop');
    });
  }

  private fallBack(): void {
    this.worker = undefined;
    this.stopped = true;
    if (this.main.open) this.main.pragma(`wal_autocheckpoint = ${FRAMES}`);
  }
}

interface WorkerData {
  /** better-sqlite3's entry file: an eval'd worker resolves modules from the working directory, not from here. */
  sqlite: string;
  file: string;
  /** Checkpoint once this many frames wait in the WAL. */
  frames: number;
  /** How often the WAL-index is looked at, in milliseconds. */
  pollMs: number;
  /** Polls without a new frame after which the rest of the WAL is copied too. */
  idleAfter: number;
}

const BETTER_SQLITE3 = createRequire(import.meta.url).resolve('better-sqlite3');

/**
 * The worker's program, as source: it must load both from dist/ and under tsx in tests, and Node 20
 * does not run `--import` loaders for a worker's own file, so a .ts worker module could not start.
 *
 * It watches the WAL-index (sqlite.org/walformat.html §2.1: mxFrame is the u32 at byte 16 of the
 * header, nBackfill the u32 at byte 96, in the host's byte order) — a pread, not a checkpoint — and
 * runs a PASSIVE checkpoint, which copies what no reader still needs and never waits for or blocks
 * the writer, once `frames` frames wait — or, when writes have paused, whatever waits, so readers
 * stop searching the WAL. A torn read of the index only hastens or delays one checkpoint. With
 * synchronous=FULL the checkpoint syncs the WAL before copying and the database file after.
 */
const WORKER_SOURCE = `
const fs = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const { sqlite, file, frames, pollMs, idleAfter } = workerData;
const db = new (require(sqlite))(file);
db.pragma('synchronous = FULL');
const header = Buffer.alloc(100);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
function pending() {
  let fd;
  try { fd = fs.openSync(file + '-shm', 'r'); } catch { return 0; }
  try { if (fs.readSync(fd, header, 0, 100, 0) < 100) return 0; } finally { fs.closeSync(fd); }
  return littleEndian ? header.readUInt32LE(16) - header.readUInt32LE(96) : header.readUInt32BE(16) - header.readUInt32BE(96);
}
let quietPolls = 0;
let lastPending = 0;
const timer = setInterval(() => {
  const now = pending();
  quietPolls = now === lastPending ? quietPolls + 1 : 0;
  lastPending = now;
  // Enough frames, or a few frames and no writes for a while (idleAfter polls): then the WAL is
  // copied completely, and readers skip it altogether instead of searching it for every page.
  if (now < frames && !(now > 0 && quietPolls >= idleAfter)) return;
  // Frames written during a checkpoint are left for the next; a few short rounds usually catch
  // up completely between two commits, which is what lets the next writer restart the WAL from
  // its beginning (otherwise it keeps growing while writes never pause).
  for (let round = 0; round < 4; round++) {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    if (result.busy || result.checkpointed >= result.log) break;
  }
  lastPending = pending();
  quietPolls = 0;
  parentPort.postMessage('checkpointed');
}, pollMs);
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort.postMessage('stopped');
});
`;
