import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Thrown when a body grows past the limit while streaming in. */
export class BlobTooLargeError extends Error {}

export interface StoredBlob {
  id: string;
  size: number;
  /** Hex SHA-256 of the content: a strong validator for ETags and a check on reads. */
  sha256: string;
}

/**
 * File bodies on the local file system (ARCHITECTURE.md, Durability): a body streams to a temp
 * file, is fsynced, renamed into place and its directory fsynced before anyone is told it exists.
 * Blobs are immutable and named by a random id, so a replaced file never has a half-written
 * version: the metadata switches to the new blob in one transaction and the old one is removed
 * after that commits. The store never interprets a client path: ids are kura's own.
 */
export class BlobStore {
  private readonly root: string;
  private readonly tmp: string;
  /**
   * Small blobs recently read, by id. Safe to cache without invalidation: a blob never changes
   * (a new body is a new blob); a removed blob is dropped here too.
   */
  private readonly cache = new Map<string, Buffer>();
  private cachedBytes = 0;
  private static readonly CACHE_BYTES = 32 * 1024 * 1024;

  constructor(dataDir: string) {
    this.root = path.join(dataDir, 'blobs');
    this.tmp = path.join(this.root, 'tmp');
    fs.mkdirSync(this.tmp, { recursive: true });
  }

  /** Streams `body` into a new blob; rejects with BlobTooLargeError past `maxBytes` (nothing is left behind). */
  async put(body: Readable, maxBytes: number): Promise<StoredBlob> {
    const id = randomUUID();
    const temp = path.join(this.tmp, `${id}.part`);
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > maxBytes) return done(new BlobTooLargeError(`body larger than ${maxBytes} bytes`));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    const out = fs.createWriteStream(temp, { flags: 'wx', mode: 0o600 });
    try {
      await pipeline(body, meter, out);
      const fd = await fsp.open(temp, 'r+');
      try {
        await fd.sync();
      } finally {
        await fd.close();
      }
      const final = this.pathOf(id);
      await fsp.mkdir(path.dirname(final), { recursive: true });
      await fsp.rename(temp, final);
      await syncDir(path.dirname(final));
    } catch (err) {
      await fsp.rm(temp, { force: true });
      throw err;
    }
    return { id, size, sha256: hash.digest('hex') };
  }

  /** A read stream over the whole blob or the inclusive byte range [start, end]. */
  read(id: string, range?: { start: number; end: number }): fs.ReadStream {
    return fs.createReadStream(this.pathOf(id), range ? { start: range.start, end: range.end } : {});
  }

  /** The whole blob in memory: for small files only (they are kept in a bounded cache). */
  async readAll(id: string): Promise<Buffer> {
    const hit = this.cache.get(id);
    if (hit) {
      this.cache.delete(id);
      this.cache.set(id, hit);
      return hit;
    }
    const data = await fsp.readFile(this.pathOf(id));
    this.cache.set(id, data);
    this.cachedBytes += data.length;
    while (this.cachedBytes > BlobStore.CACHE_BYTES) {
      const [oldest, buf] = this.cache.entries().next().value as [string, Buffer];
      this.cache.delete(oldest);
      this.cachedBytes -= buf.length;
    }
    return data;
  }

  async remove(id: string): Promise<void> {
    const cached = this.cache.get(id);
    if (cached) {
      this.cache.delete(id);
      this.cachedBytes -= cached.length;
    }
    await fsp.rm(this.pathOf(id), { force: true });
  }

  /** Removes many blobs; failures are left for the next sweep rather than failing the caller. */
  async removeAll(ids: Iterable<string>): Promise<void> {
    await Promise.all([...ids].map((id) => this.remove(id).catch(() => undefined)));
  }

  /** Two levels of fan-out keep directories small with millions of files. */
  private pathOf(id: string): string {
    if (!/^[0-9a-f-]{36}$/.test(id)) throw new Error(`not a blob id: ${id}`);
    return path.join(this.root, id.slice(0, 2), id.slice(2, 4), id);
  }
}

async function syncDir(dir: string): Promise<void> {
  const fd = await fsp.open(dir, 'r');
  try {
    await fd.sync();
  } finally {
    await fd.close();
  }
}
