import { STATUS_CODES } from 'node:http';
import { multipartType, writeMultipart, type MimePart } from './multipart.js';

/*
 * The response side of OData V2 `$batch` (apiref 368): one part per query operation or change
 * set, in request order, each operation's answer an embedded HTTP response
 * (`HTTP/1.1 201 Created`, headers, a blank line, the body).
 */

/** One operation's answer, as the engine or the error renderer produced it (header names lower-case). */
export interface OperationResponse {
  status: number;
  headers: Record<string, string>;
  body?: string | undefined;
  /** The request part's Content-ID, echoed. */
  contentId?: string | undefined;
}

export type BatchResult =
  | { kind: 'operation'; response: OperationResponse }
  | { kind: 'changeset'; boundary: string; responses: OperationResponse[] };

/** The batch response body; change sets answer with the change-set boundary the request used (as personium-core). */
export function writeBatchResponse(boundary: string, results: readonly BatchResult[]): string {
  return writeMultipart(
    boundary,
    results.map((result) =>
      result.kind === 'operation'
        ? httpPart(result.response)
        : {
            headers: [['Content-Type', multipartType(result.boundary)]],
            body: writeMultipart(result.boundary, result.responses.map(httpPart)),
          },
    ),
  );
}

function httpPart(res: OperationResponse): MimePart {
  const headers: Array<[string, string]> = [
    ['Content-Type', 'application/http'],
    ['Content-Transfer-Encoding', 'binary'],
  ];
  if (res.contentId !== undefined) headers.push(['Content-ID', res.contentId]);
  let message = `HTTP/1.1 ${res.status} ${STATUS_CODES[res.status] ?? 'Unknown'}\r\n`;
  for (const [name, value] of Object.entries(res.headers)) message += `${headerName(name)}: ${value}\r\n`;
  if (res.body !== undefined) message += `Content-Length: ${Buffer.byteLength(res.body)}\r\n`;
  message += `\r\n${res.body ?? ''}`;
  return { headers, body: message };
}

/** The spelling OData clients print and some match on (`DataServiceVersion`, `ETag`). */
const NAMES: Record<string, string> = { dataserviceversion: 'DataServiceVersion', etag: 'ETag' };

function headerName(lower: string): string {
  return NAMES[lower] ?? lower.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
}
