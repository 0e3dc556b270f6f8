import { Readable } from 'node:stream';
import busboy, { type FileInfo } from 'busboy';
import { HexabaseError } from '../errors.js';

/** A multipart/form-data body as plain values: its text fields and its files, by field name. */
export interface FormData {
  fields: Record<string, string>;
  files: Record<string, { filename: string; mimeType: string; data: Buffer }>;
}

/** What one form may hold: a few fields and one file, whose size the body limit already bounds. */
const LIMITS = { fields: 20, files: 1, parts: 21, fieldSize: 64 * 1024, fieldNameSize: 100 };

/**
 * Reads a multipart/form-data body that kura has buffered (every Hexabase body arrives as bytes,
 * within KURA_BODY_LIMIT). The pages write `application/form-data` (UserImport.md), which is not
 * a media type: a form with files is multipart/form-data (RFC 7578), and only that is read.
 */
export function readFormData(contentType: string | undefined, body: unknown): Promise<FormData> {
  if (!/^multipart\/form-data\s*;/i.test(contentType ?? '')) {
    return Promise.reject(new HexabaseError('INVALID_PARAMS', 'the body must be multipart/form-data'));
  }
  const bytes = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
  let parser: busboy.Busboy;
  try {
    parser = busboy({ headers: { 'content-type': contentType }, limits: LIMITS, defParamCharset: 'utf8' });
  } catch (err) {
    return Promise.reject(new HexabaseError('INVALID_PARAMS', `the body must be multipart/form-data: ${(err as Error).message}`));
  }
  return new Promise((resolve, reject) => {
    // Without a prototype, a part named `__proto__` is a name like any other.
    const form: FormData = { fields: Object.create(null), files: Object.create(null) };
    // The first refusal settles the promise; what busboy reports after it changes nothing.
    const refuse = (message: string) => reject(new HexabaseError('INVALID_PARAMS', message));
    parser.on('field', (name, value, info) => {
      if (info.nameTruncated || info.valueTruncated) refuse(`the form field ${name.slice(0, 100)} is too long`);
      else form.fields[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      // A body cut short fails the file's stream as well as the parser: without this listener
      // that error would be uncaught and end the process. The parser's 'error' refuses the form.
      stream.on('error', () => {});
      stream.on('end', () => {
        form.files[name] = { filename: info.filename ?? '', mimeType: info.mimeType, data: Buffer.concat(chunks) };
      });
    });
    for (const limit of ['partsLimit', 'filesLimit', 'fieldsLimit'] as const) {
      parser.on(limit, () => refuse(`a form holds at most ${LIMITS.fields} fields and ${LIMITS.files} file`));
    }
    parser.on('error', (err: Error) => refuse(`malformed multipart body: ${err.message}`));
    parser.on('close', () => resolve(form));
    Readable.from([bytes]).pipe(parser);
  });
}

/** A form streamed in: its text parts, and what was made of its first part named `file`. */
export interface StreamedForm<F> {
  fields: Map<string, string>;
  file: F | undefined;
}

/** Text parts of a streamed form are ids, flags and a file name: a few KiB each is plenty. */
const STREAMED_TEXT_PART_MAX = 8 * 1024;
const STREAMED_PARTS_MAX = 32;

/**
 * Reads a multipart/form-data request as it streams in (uploads larger than any body limit): text
 * parts are kept, the first part named `file` goes to `store` (never held in memory), other file
 * parts are skipped. `store` gets the text parts seen so far, cleans up after its own failure and
 * rejects with the error the client should see; `discard` removes a stored file when the form fails
 * after it. On any failure the rest of the body is read and dropped before the promise rejects.
 */
export async function receiveStreamedForm<F>(
  contentType: string | undefined,
  body: Readable | undefined,
  store: (stream: Readable, info: FileInfo, fields: ReadonlyMap<string, string>) => Promise<F>,
  discard: (file: F) => Promise<unknown>,
): Promise<StreamedForm<F>> {
  const invalid = (message: string) => new HexabaseError('INVALID_PARAMS', message);
  if (!body || !/^multipart\/form-data\s*;/i.test(contentType ?? '')) {
    body?.resume();
    throw invalid('the body must be multipart/form-data');
  }
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { 'content-type': contentType },
      defParamCharset: 'utf8',
      limits: { fieldSize: STREAMED_TEXT_PART_MAX, parts: STREAMED_PARTS_MAX, fields: STREAMED_PARTS_MAX, files: STREAMED_PARTS_MAX },
    });
  } catch (err) {
    body.resume();
    throw invalid(`the body must be multipart/form-data: ${(err as Error).message}`);
  }
  return new Promise<StreamedForm<F>>((resolve, reject) => {
    const fields = new Map<string, string>();
    let stored: Promise<F> | undefined;
    let failed = false;

    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      body.unpipe(parser);
      // Ends the file part, if one is streaming, so that `store` settles.
      parser.destroy();
      body.resume();
      stored?.then(discard, () => undefined).catch(() => undefined);
      reject(err);
    };

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
      stored = store(stream, info, fields);
      stored.catch((err: unknown) => {
        stream.resume();
        fail(err);
      });
    });
    for (const limit of ['partsLimit', 'filesLimit', 'fieldsLimit'] as const) {
      parser.on(limit, () => fail(invalid(`the form has more than ${STREAMED_PARTS_MAX} parts`)));
    }
    parser.on('error', (err: Error) => fail(invalid(`malformed multipart body: ${err.message}`)));
    parser.on('close', () => {
      if (failed) return;
      if (!stored) return resolve({ fields, file: undefined });
      stored.then((file) => {
        if (failed) return void discard(file).catch(() => undefined);
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
