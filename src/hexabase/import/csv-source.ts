import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { parse, type CsvError, type Info } from 'csv-parse';
import iconv from 'iconv-lite';
import { HexabaseError } from '../errors.js';

/**
 * The `encoding` form field (a kura addition: Excel in Japan writes Shift_JIS) → iconv-lite's
 * codec. Shift_JIS is read as CP932, the Windows superset Excel actually writes (NEC and IBM
 * extensions such as ① and ㈱).
 */
const ENCODINGS: Record<string, string> = {
  'utf-8': 'utf8',
  utf8: 'utf8',
  shift_jis: 'cp932',
  'shift-jis': 'cp932',
  sjis: 'cp932',
  cp932: 'cp932',
  'windows-31j': 'cp932',
};

export function readEncoding(value: string | undefined): string {
  const name = (value ?? '').trim().toLowerCase();
  if (name === '') return 'utf8';
  const codec = ENCODINGS[name];
  if (!codec) throw new HexabaseError('INVALID_PARAMS', `encoding is utf-8 or shift_jis (also sjis, cp932), not ${value!.slice(0, 40)}`);
  return codec;
}

/** A record of the file, or why one could not be read; `end` is the line it ends on. */
export type CsvRow = { end: number; cells: string[] } | { end: number; error: string };

/** The longest record, in characters: a textarea holds up to a million, and a few of them fit. */
const MAX_RECORD_CHARS = 8 * 1024 * 1024;

/** What iconv-lite writes for bytes that are not text in the file's encoding. */
export const UNDECODABLE = '\uFFFD';

/** The line a row starts on (the header is line 1): quoted cells may span lines. */
export function startLine(row: CsvRow): number {
  if ('error' in row) return row.end;
  let breaks = 0;
  for (const cell of row.cells) for (let i = cell.indexOf('\n'); i !== -1; i = cell.indexOf('\n', i + 1)) breaks++;
  return row.end - breaks;
}

/**
 * A CSV file on disk, decoded and parsed as a stream (never read whole): RFC 4180 quoting, any
 * line ending, a BOM dropped. A record that is not valid CSV (a stray quote) is reported as an
 * error row and parsing goes on; rows whose cells are all empty (Excel leaves them) are skipped.
 */
export class CsvFile {
  /** Bytes of the file read so far (progress). */
  bytesRead = 0;

  constructor(
    readonly path: string,
    private readonly codec: string,
  ) {}

  /** The header's cells: INVALID_PARAMS for a file without one. */
  async header(): Promise<string[]> {
    for await (const batch of this.batches(1, false)) {
      const row = batch[0]!;
      if ('error' in row) throw new HexabaseError('INVALID_PARAMS', `the header line is not valid CSV: ${row.error}`);
      return row.cells;
    }
    throw new HexabaseError('INVALID_PARAMS', 'the file is empty: its first line names the columns');
  }

  /** The records after the header, `size` at a time. */
  async *rows(size: number): AsyncGenerator<CsvRow[]> {
    yield* this.batches(size, true);
  }

  private async *batches(size: number, skipHeader: boolean): AsyncGenerator<CsvRow[]> {
    this.bytesRead = 0;
    const source = fs.createReadStream(this.path, { highWaterMark: 256 * 1024 });
    source.on('data', (chunk) => (this.bytesRead += chunk.length));
    const skipped: CsvRow[] = [];
    const parser = parse({
      info: true,
      bom: true,
      relax_column_count: true,
      skip_empty_lines: true,
      skip_records_with_error: true,
      max_record_size: MAX_RECORD_CHARS,
    });
    parser.on('skip', (err: CsvError) => skipped.push({ end: Number((err as CsvError & { lines?: number }).lines ?? 0), error: err.message }));
    let failure: unknown;
    const flowing = pipeline(source, iconv.decodeStream(this.codec), parser).catch((err: unknown) => (failure ??= err));
    let header = skipHeader;
    let batch: CsvRow[] = [];
    try {
      for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: Info }>) {
        if (skipped.length > 0) batch.push(...skipped.splice(0));
        if (record.every((cell) => cell === '')) continue;
        if (header) {
          header = false;
          continue;
        }
        batch.push({ end: info.lines, cells: record });
        if (batch.length >= size) {
          yield batch;
          batch = [];
        }
      }
      await flowing;
      if (failure && !isPrematureClose(failure)) throw failure;
      batch.push(...skipped.splice(0));
      if (batch.length > 0) yield batch;
    } finally {
      source.destroy();
      parser.destroy();
    }
  }
}

function isPrematureClose(err: unknown): boolean {
  return (err as { code?: string }).code === 'ERR_STREAM_PREMATURE_CLOSE';
}
