import fsp from 'node:fs/promises';

/**
 * Makes SQLite's write-ahead log durable from libuv's thread pool instead of the event loop.
 *
 * With `synchronous=FULL` SQLite fsyncs the WAL inside COMMIT, and better-sqlite3 runs COMMIT on
 * the main thread: every commit stopped all request handling for the length of an fsync (~2 ms
 * here, a third of a PUT's cost). Group commits instead run with `synchronous=NORMAL` — the frames
 * are written but not synced — and are acknowledged only after `flushed()`, an fsync of the WAL
 * file started after their COMMIT returned. That is the same guarantee (the acknowledged
 * transaction's frames are on disk, and SQLite recovers committed frames from the WAL after a
 * crash), while the event loop keeps serving and the next batch already runs during the fsync.
 * fsync is per file, so syncing through a descriptor of our own covers SQLite's writes.
 */
export class WalSync {
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  /** fsyncs finished so far (observable, so tests can see acknowledgements wait for one). */
  completed = 0;

  constructor(private readonly walFile: string) {}

  /** Resolves once everything written to the WAL before this call is on disk. */
  flushed(): Promise<void> {
    if (!this.running) {
      this.running = this.sync().finally(() => (this.running = undefined));
      return this.running;
    }
    // The fsync under way may have started before the caller's frames were written: one more
    // after it serves everyone who asked meanwhile.
    this.next ??= this.running.then(() => {
      this.next = undefined;
      return this.flushed();
    });
    return this.next;
  }

  private async sync(): Promise<void> {
    let file: fsp.FileHandle;
    try {
      file = await fsp.open(this.walFile, 'r');
    } catch (err) {
      // No WAL yet: nothing was ever written.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    try {
      await file.sync();
      this.completed++;
    } finally {
      await file.close();
    }
  }
}
