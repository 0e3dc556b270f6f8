import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { HexabaseError } from '../errors.js';

/** A multipart form whose file part went to a temp file: its text parts and where the file is. */
export interface ReceivedForm {
  fields: Map<string, string>;
  file: { path: string; size: number; filename: string } | undefined;
}

/** Text parts are flags, a field id and a file name. */
const TEXT_PART_MAX = 8 * 1024;
const PARTS_MAX = 32;

const invalid = (message: string, status?: number) => new HexabaseError('INVALID_PARAMS', message, status);

/**
 * Reads a multipart/form-data request as it streams in: text parts are kept, the first part named
 * `file` is written to a new file in `dir` (never held in memory), other file parts are skipped.
 * A file over `maxBytes` is refused with 413. On any failure the rest of the body is read and
 * dropped and the temp file removed before the promise rejects.
 */
export async function receiveForm(contentType: string | undefined, body: Readable | undefined, dir: string, maxBytes: number): Promise<ReceivedForm> {
  if (!body || !/^multipart\/form-data\s*;/i.test(contentType ?? '')) {
    body?.resume();
    throw invalid('the body must be multipart/form-data');
  }
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: { 'content-type': contentType }, defParamCharset: 'utf8', limits: { fieldSize: TEXT_PART_MAX, parts: PARTS_MAX, fields: PARTS_MAX, files: PARTS_MAX } });
  } catch (err) {
    body.resume();
    throw invalid(`the body must be multipart/form-data: ${(err as Error).message}`);
  }
  await fsp.mkdir(dir, { recursive: true });
  return new Promise<ReceivedForm>((resolve, reject) => {
    const fields = new Map<string, string>();
    let stored: Promise<ReceivedForm['file']> | undefined;
    let tempPath: string | undefined;
    let failed = false;

    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      body.unpipe(parser);
      parser.destroy();
      body.resume();
      // The temp file goes once its writer has stopped (a destroyed parser ends the file part).
      stored?.then(removeTemp, removeTemp)?.catch(() => undefined);
      reject(err);
    };
    const removeTemp = () => (tempPath ? fsp.rm(tempPath, { force: true }) : undefined);

    parser.on('field', (name, value, info) => {
      if (failed) return;
      if (info.nameTruncated || info.valueTruncated) return fail(invalid(`the form part ${name.slice(0, 100)} is too long`));
      if (!fields.has(name)) fields.set(name, value);
    });
    parser.on('file', (name, stream, info) => {
      if (failed || name !== 'file' || stored) {
        stream.resume();
        return;
      }
      tempPath = path.join(dir, `${randomUUID()}.upload`);
      const target = tempPath;
      let size = 0;
      const limit = new Transform({
        transform(chunk: Buffer, _enc, done) {
          size += chunk.length;
          if (size > maxBytes) done(invalid(`the file is larger than ${maxBytes} bytes`, 413));
          else done(null, chunk);
        },
      });
      stored = pipeline(stream, limit, fs.createWriteStream(target, { flags: 'wx', mode: 0o600 })).then(() => ({ path: target, size, filename: info.filename ?? '' }));
      stored.catch((err: unknown) => {
        stream.resume();
        fail(err instanceof HexabaseError ? err : invalid('the file part broke off'));
      });
    });
    for (const limit of ['partsLimit', 'filesLimit', 'fieldsLimit'] as const) {
      parser.on(limit, () => fail(invalid(`the form has more than ${PARTS_MAX} parts`)));
    }
    parser.on('error', (err: Error) => fail(invalid(`malformed multipart body: ${err.message}`)));
    parser.on('close', () => {
      if (failed) return;
      if (!stored) return resolve({ fields, file: undefined });
      stored.then((file) => {
        if (failed) return void removeTemp()?.catch(() => undefined);
        resolve({ fields, file });
      }, () => undefined);
    });
    body.on('error', () => fail(invalid('the request body broke off')));
    body.on('close', () => {
      if (!body.readableEnded) fail(invalid('the request body broke off'));
    });
    body.pipe(parser);
  });
}
