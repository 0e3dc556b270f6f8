/*
 * MIME multipart bodies (RFC 2046 §5.1) and the header blocks inside them, as OData V2 `$batch`
 * carries them: read whole, line by line. Lines may end in CRLF (the RFC) or a bare LF (what
 * hand-written batches and personium-core's samples use); both are read alike.
 */

/** A body this module can't read; the caller maps it to its dialect's error. */
export class MultipartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MultipartError';
  }
}

export interface HeaderBlock {
  /** Header names lower-cased; a repeated header keeps its first value. */
  headers: Map<string, string>;
  /** Everything after the blank line that ends the headers ('' when there is none). */
  body: string;
}

/** RFC 2046 §5.1.1: 1–70 characters of `bchars`, not ending with a space. */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;
/** RFC 2045 §5.1: a parameter value holding one of these (or a space) must be quoted. */
const NEEDS_QUOTES = /[()<>@,;:\\"/[\]?= ]/;

/** The boundary of a `multipart/mixed` Content-Type; undefined for another type or a missing/invalid boundary. */
export function boundaryOf(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const [type, ...params] = contentType.split(';');
  if (type!.trim().toLowerCase() !== 'multipart/mixed') return undefined;
  for (const param of params) {
    const m = /^\s*boundary\s*=\s*(?:"([^"]*)"|(\S+))\s*$/i.exec(param);
    const value = m && (m[1] ?? m[2]);
    if (value) return BOUNDARY.test(value) ? value : undefined;
  }
  return undefined;
}

/** `multipart/mixed; boundary=…`, quoting the boundary where RFC 2045 requires it. */
export function multipartType(boundary: string): string {
  return `multipart/mixed; boundary=${NEEDS_QUOTES.test(boundary) ? `"${boundary}"` : boundary}`;
}

interface Line {
  start: number;
  /** Where the line's content ends (its CR LF or LF excluded). */
  end: number;
  /** Where the next line starts. */
  next: number;
}

function* linesOf(text: string, from = 0): Generator<Line> {
  let pos = from;
  while (pos <= text.length) {
    const nl = text.indexOf('\n', pos);
    if (nl === -1) {
      yield { start: pos, end: text.length, next: text.length + 1 };
      return;
    }
    yield { start: pos, end: nl > pos && text[nl - 1] === '\r' ? nl - 1 : nl, next: nl + 1 };
    pos = nl + 1;
  }
}

/**
 * The parts of a multipart body, each as the text between two delimiter lines (the line break
 * before a delimiter belongs to the delimiter, RFC 2046 §5.1.1). The preamble and the epilogue
 * are ignored, as the RFC says; a body without its close delimiter is refused, so a truncated
 * upload is never taken for a shorter batch.
 */
export function splitMultipart(text: string, boundary: string): string[] {
  const dash = `--${boundary}`;
  const parts: string[] = [];
  let partStart: number | undefined;
  let previousEnd = 0;
  for (const line of linesOf(text)) {
    const kind = delimiterKind(text.slice(line.start, line.end), dash);
    if (kind !== undefined) {
      if (partStart !== undefined) parts.push(partStart <= previousEnd ? text.slice(partStart, previousEnd) : '');
      if (kind === 'close') {
        if (partStart === undefined) throw new MultipartError('close delimiter before any part');
        return parts;
      }
      partStart = line.next;
    }
    previousEnd = line.end;
  }
  throw new MultipartError(partStart === undefined ? 'no delimiter line' : 'no close delimiter');
}

/** A delimiter line may carry trailing white space (RFC 2046 §5.1.1, "transport padding"). */
function delimiterKind(line: string, dash: string): 'part' | 'close' | undefined {
  if (!line.startsWith(dash)) return undefined;
  const rest = line.slice(dash.length);
  if (rest.trim() === '') return 'part';
  if (rest.startsWith('--') && rest.slice(2).trim() === '') return 'close';
  return undefined;
}

/**
 * Header lines up to the first blank line, then the body. A header line continued on the next
 * line (starting with white space) is joined to it; a line that is not `Name: value` is refused.
 * Without a blank line everything is headers and the body is empty (personium-core's samples end
 * a GET right after its headers).
 */
export function parseHeaderBlock(text: string, from = 0): HeaderBlock {
  const headers = new Map<string, string>();
  /** The header a continuation line extends (undefined after a repeated header, whose value is dropped). */
  let last: string | undefined;
  let first = true;
  for (const line of linesOf(text, from)) {
    const content = text.slice(line.start, line.end);
    if (content === '') return { headers, body: line.next > text.length ? '' : text.slice(line.next) };
    if (/^[ \t]/.test(content)) {
      if (first) throw new MultipartError('continuation line without a header');
      if (last !== undefined) headers.set(last, `${headers.get(last)} ${content.trim()}`);
      continue;
    }
    first = false;
    const colon = content.indexOf(':');
    const name = colon > 0 ? content.slice(0, colon).trim().toLowerCase() : '';
    if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(name)) throw new MultipartError('malformed header line');
    last = headers.has(name) ? undefined : name;
    if (last !== undefined) headers.set(name, content.slice(colon + 1).trim());
  }
  return { headers, body: '' };
}

/**
 * The first non-blank line of `text` and where the rest starts (an embedded HTTP message's
 * request or status line); undefined when there is none.
 */
export function firstLine(text: string): { line: string; rest: number } | undefined {
  for (const line of linesOf(text)) {
    const content = text.slice(line.start, line.end);
    if (content.trim() !== '') return { line: content, rest: Math.min(line.next, text.length) };
  }
  return undefined;
}

export interface MimePart {
  headers: ReadonlyArray<readonly [string, string]>;
  body: string;
}

/** A multipart body with CRLF line breaks throughout, as RFC 2046 asks of a sender. */
export function writeMultipart(boundary: string, parts: readonly MimePart[]): string {
  let out = '';
  for (const part of parts) {
    out += `--${boundary}\r\n`;
    for (const [name, value] of part.headers) out += `${name}: ${value}\r\n`;
    out += `\r\n${part.body}\r\n`;
  }
  return `${out}--${boundary}--\r\n`;
}
