import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HexabaseError } from '../errors.js';
import { receiveStreamedForm, type StreamedForm } from '../http/form-data.js';

/** A multipart form whose file part went to a temp file: its text parts and where the file is. */
export type ReceivedForm = StreamedForm<{ path: string; size: number; filename: string }>;

const invalid = (message: string, status?: number) => new HexabaseError('INVALID_PARAMS', message, status);

/**
 * ImportItems' upload: the form's `file` part is written to a new file in `dir`; a file over
 * `maxBytes` is refused with 413, and a failed form leaves no temp file behind.
 */
export async function receiveForm(contentType: string | undefined, body: Readable | undefined, dir: string, maxBytes: number): Promise<ReceivedForm> {
  await fsp.mkdir(dir, { recursive: true });
  return receiveStreamedForm(
    contentType,
    body,
    async (stream, info) => {
      const target = path.join(dir, `${randomUUID()}.upload`);
      let size = 0;
      const limit = new Transform({
        transform(chunk: Buffer, _enc, done) {
          size += chunk.length;
          if (size > maxBytes) done(invalid(`the file is larger than ${maxBytes} bytes`, 413));
          else done(null, chunk);
        },
      });
      try {
        await pipeline(stream, limit, fs.createWriteStream(target, { flags: 'wx', mode: 0o600 }));
      } catch (err) {
        await fsp.rm(target, { force: true }).catch(() => undefined);
        throw err instanceof HexabaseError ? err : invalid('the file part broke off');
      }
      return { path: target, size, filename: info.filename ?? '' };
    },
    (file) => fsp.rm(file.path, { force: true }),
  );
}
