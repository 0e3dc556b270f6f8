import { Readable, Transform, pipeline } from 'node:stream';
import { parse } from 'csv-parse';
import { HexabaseError, type HexabaseErrorCode } from '../errors.js';
import { isEmail, PASSWORD_MAX, PASSWORD_MIN } from '../validate.js';

/** Rows one UserImport may hold (each is a transaction of its own; new users with a password cost a hash each). */
export const IMPORT_ROWS_MAX = 1000;
/** Bytes one CSV record may take (the body limit bounds the file; this bounds the parser's buffer). */
const RECORD_BYTES_MAX = 64 * 1024;

/** The header of UserImport.md ("Email, UserName, Password, GroupDisplayIDs, RoleDisplayIDs, IsDelete"). */
const COLUMNS = ['Email', 'UserName', 'Password', 'GroupDisplayIDs', 'RoleDisplayIDs', 'IsDelete'] as const;
type Column = (typeof COLUMNS)[number];

/** One data row of the file, its cells checked on their own (the store is not asked yet). */
export interface UserRow {
  /** The row's number as a spreadsheet shows it: the header is row 1 (blank lines are skipped, not counted). */
  line: number;
  email: string;
  /** Empty when the cell is: the import then uses AddUser's default. */
  username: string;
  /** Empty when the cell is. Taken as it is, spaces included. */
  password: string;
  groups: string[];
  roles: string[];
  isDelete: boolean;
}

/** A row refused by its cells alone. */
export interface RowError {
  line: number;
  email: string;
  code: HexabaseErrorCode;
  description: string;
}

/**
 * Reads a UserImport CSV as a stream (csv-parse): UTF-8 with or without a byte order mark, CRLF
 * or LF, RFC 4180 quoting. A file that cannot be read as a whole (not UTF-8, a quote left open, a
 * header without Email or with a column the page does not name, more than IMPORT_ROWS_MAX rows)
 * is refused with a HexabaseError before any row is used; a row whose own cells are wrong becomes
 * a RowError and the other rows go on. Cells are text and stay text: `=cmd|' /C calc'!A0` is a
 * user name like any other (formula injection is a concern of whoever writes CSV for a spreadsheet).
 */
export async function readUserCsv(source: Buffer | Readable): Promise<{ rows: UserRow[]; errors: RowError[] }> {
  const parser = parse({ bom: true, relax_column_count: true, skip_empty_lines: true, max_record_size: RECORD_BYTES_MAX });
  const input = Buffer.isBuffer(source) ? Readable.from([source]) : source;
  // pipeline destroys every stream on the first error; the iteration below then throws it.
  pipeline(input, strictUtf8(), parser, () => {});
  let header: Map<Column, number> | undefined;
  const rows: UserRow[] = [];
  const errors: RowError[] = [];
  const firstLine = new Map<string, number>();
  let line = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      line++;
      if (!header) {
        header = readHeader(record);
        continue;
      }
      if (line - 1 > IMPORT_ROWS_MAX) throw new HexabaseError('INVALID_VALUE', `the file has more than ${IMPORT_ROWS_MAX} rows`);
      if (record.every((cell) => cell.trim() === '')) continue;
      const row = readRow(record, header, line);
      if ('code' in row) {
        errors.push(row);
        continue;
      }
      const key = row.email.toLowerCase();
      const first = firstLine.get(key);
      if (first !== undefined) {
        errors.push({ line, email: row.email, code: 'INVALID_VALUE', description: `the address is on row ${first} already` });
        continue;
      }
      firstLine.set(key, line);
      rows.push(row);
    }
  } catch (err) {
    if (err instanceof HexabaseError) throw err;
    throw new HexabaseError('INVALID_VALUE', `the file is not CSV that kura can read: ${(err as Error).message}`);
  }
  if (!header) throw new HexabaseError('INVALID_VALUE', `the file has no header row (${COLUMNS.join(',')})`);
  return { rows, errors };
}

function readHeader(record: string[]): Map<Column, number> {
  const header = new Map<Column, number>();
  record.forEach((raw, i) => {
    const name = raw.trim();
    const column = COLUMNS.find((c) => c.toLowerCase() === name.toLowerCase());
    if (!column) throw new HexabaseError('INVALID_VALUE', `unknown column "${name.slice(0, 64)}": the columns are ${COLUMNS.join(', ')}`);
    if (header.has(column)) throw new HexabaseError('INVALID_VALUE', `the column ${column} appears twice`);
    header.set(column, i);
  });
  if (!header.has('Email')) throw new HexabaseError('INVALID_VALUE', 'the header has no Email column');
  return header;
}

function readRow(record: string[], header: Map<Column, number>, line: number): UserRow | RowError {
  const cell = (column: Column) => {
    const i = header.get(column);
    return i === undefined ? '' : (record[i] ?? '');
  };
  const email = cell('Email').trim();
  const refuse = (description: string, code: HexabaseErrorCode = 'INVALID_VALUE'): RowError => ({ line, email, code, description });
  // Fewer cells than columns reads as empty cells; more is a row that does not fit the header.
  if (record.length > header.size) return refuse(`the row has ${record.length} cells, the header ${header.size}`);
  if (email === '') return refuse('Email is required', 'INVALID_PARAMS');
  if (!isEmail(email)) return refuse('Email is not an e-mail address');
  const isDelete = flag(cell('IsDelete'));
  if (isDelete === undefined) return refuse('IsDelete is true, false, 1, 0 or empty');
  const password = cell('Password');
  if (!isDelete && password !== '' && (password.length < PASSWORD_MIN || password.length > PASSWORD_MAX)) {
    return refuse(`Password must have ${PASSWORD_MIN}–${PASSWORD_MAX} characters`);
  }
  return { line, email, username: cell('UserName').trim(), password, groups: list(cell('GroupDisplayIDs')), roles: list(cell('RoleDisplayIDs')), isDelete };
}

/**
 * A list of display ids in one cell. The page names no separator; display ids hold only letters,
 * digits, `_` and `-`, so `;`, `,`, `|` and white space all separate unambiguously (`APP/ROLE`
 * keeps its slash).
 */
function list(text: string): string[] {
  return [...new Set(text.split(/[\s;,|]+/).filter(Boolean))];
}

/** IsDelete: ImportItems' `_delete_` takes true or 1; false, 0 and empty keep the user. */
function flag(text: string): boolean | undefined {
  const value = text.trim().toLowerCase();
  if (value === '' || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  return undefined;
}

/** Passes UTF-8 through as it comes, and fails on the first byte sequence that is not UTF-8 (a Shift_JIS export, say). */
function strictUtf8(): Transform {
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const notUtf8 = () => new HexabaseError('INVALID_VALUE', 'the file is not UTF-8 text (save the CSV as UTF-8)');
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      try {
        decoder.decode(chunk, { stream: true });
      } catch {
        done(notUtf8());
        return;
      }
      done(null, chunk);
    },
    flush(done) {
      try {
        decoder.decode();
      } catch {
        done(notUtf8());
        return;
      }
      done();
    },
  });
}
