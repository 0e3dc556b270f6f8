import { Readable } from 'node:stream';
import busboy from 'busboy';
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
