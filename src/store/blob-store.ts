import { createHash, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Thrown when a body grows past the limit while streaming in. */
export class BlobTooLargeError extends Error {}

export interface StoredBlob {
  id: string;
  size: number;
  /** Hex SHA-256 of the content: a strong validator for ETags and a check on reads. */
  sha256: string;
  /** The body itself, when it is small enough to be kept in the database (the id then says so). */
  inline?: Buffer;
}

/** Ids of bodies kept in a database row rather than a file start with this. */
const INLINE_PREFIX = 'db:';

export function isInlineBlob(id: string): boolean {
  return id.startsWith(INLINE_PREFIX);
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

  /**
   * Streams `body` into a new blob; rejects with BlobTooLargeError past `maxBytes` (nothing is left
   * behind). A body of at most `inlineMax` bytes never touches the disk: it comes back in `inline`,
   * for the caller to keep in its database row (SQLite's own measurements put blobs under ~100 KB
   * faster in the database than in files; here it saves two fsyncs and six file-system round trips
   * per small PUT, and the body commits atomically with its metadata).
   */
  async put(body: Readable, maxBytes: number, inlineMax = -1): Promise<StoredBlob> {
    const hash = createHash('sha256');
    let size = 0;
    const take = (chunk: Buffer | string): Buffer => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += bytes.length;
      if (size > maxBytes) throw new BlobTooLargeError(`body larger than ${maxBytes} bytes`);
      hash.update(bytes);
      return bytes;
    };
    const chunks = body[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
    const head: Buffer[] = [];
    while (size <= inlineMax) {
      const next = await chunks.next();
      if (next.done) return { id: `${INLINE_PREFIX}${randomUUID()}`, size, sha256: hash.digest('hex'), inline: Buffer.concat(head, size) };
      head.push(take(next.value));
    }
    const rest = Readable.from(
      (async function* () {
        yield* head;
        for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield take(next.value);
      })(),
      { objectMode: false },
    );
    const id = randomUUID();
    const temp = path.join(this.tmp, `${id}.part`);
    const out = fs.createWriteStream(temp, { flags: 'wx', mode: 0o600 });
    try {
      await pipeline(rest, out);
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

  /**
   * The whole blob in memory: for small files only (they are kept in a bounded cache). A body kept
   * in a database row is read with `fromRow`, which answers undefined if the row no longer holds it.
   */
  async readAll(id: string, fromRow?: () => Promise<Buffer | undefined>): Promise<Buffer | undefined> {
    const hit = this.cache.get(id);
    if (hit) {
      this.cache.delete(id);
      this.cache.set(id, hit);
      return hit;
    }
    const data = isInlineBlob(id) ? await fromRow?.() : await fsp.readFile(this.pathOf(id));
    if (data === undefined) return undefined;
    this.cache.set(id, data);
    this.cachedBytes += data.length;
    while (this.cachedBytes > BlobStore.CACHE_BYTES) {
      const [oldest, buf] = this.cache.entries().next().value as [string, Buffer];
      this.cache.delete(oldest);
      this.cachedBytes -= buf.length;
    }
    return data;
  }

  /** Forgets a blob; a file's body is deleted, a row's body went with its row. */
  async remove(id: string): Promise<void> {
    const cached = this.cache.get(id);
    if (cached) {
      this.cache.delete(id);
      this.cachedBytes -= cached.length;
    }
    if (isInlineBlob(id)) return;
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
