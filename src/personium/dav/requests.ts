import { Readable } from 'node:stream';
import { PersoniumError } from '../../core/errors/personium-error.js';
import type { DavKind, DavNode } from '../../store/dav-store.js';
import type { PropfindMode } from './multistatus.js';
import { isValidResourceName, splitPath } from './names.js';
import { DAV_NS, PERSONIUM_NS, elements, onlyElements, parseXml } from './xml-tree.js';

/** What DavService answers; the route writes it. */
export interface DavResponse {
  status: number;
  headers: Record<string, string | number>;
  body?: string | Buffer | Readable;
}

/*
 * The request-level rules of WebDAV that need no storage: ranges, ETags, Destination, request
 * bodies. Kept apart from DavService so each can be read (and tested) on its own.
 */

/** The nodes of a subtree ordered so that every parent comes before its children. */
export function parentsFirst(top: DavNode, nodes: DavNode[]): DavNode[] {
  const byParent = new Map<string, DavNode[]>();
  for (const n of nodes) byParent.set(n.parentId, [...(byParent.get(n.parentId) ?? []), n]);
  const out: DavNode[] = [top];
  for (let i = 0; i < out.length; i++) out.push(...(byParent.get(out[i]!.id) ?? []));
  return out;
}

export type ByteRange = { start: number; end: number };

/** `bytes=a-b,c-,-n` → ranges within `size`; undefined when absent or malformed (then the whole body). */
export function parseRange(header: string | undefined, size: number): ByteRange[] | 'unsatisfiable' | undefined {
  if (!header) return undefined;
  const m = /^bytes=(.+)$/i.exec(header.trim());
  if (!m) return undefined;
  const ranges: ByteRange[] = [];
  for (const part of m[1]!.split(',')) {
    const r = /^\s*(\d*)-(\d*)\s*$/.exec(part);
    if (!r || (r[1] === '' && r[2] === '')) return undefined;
    if (r[1] === '') {
      const n = Number(r[2]);
      if (n === 0) continue;
      ranges.push({ start: Math.max(0, size - n), end: size - 1 });
    } else {
      const start = Number(r[1]);
      const end = r[2] === '' ? size - 1 : Math.min(Number(r[2]), size - 1);
      if (r[2] !== '' && Number(r[2]) < start) return undefined;
      if (start >= size) continue;
      ranges.push({ start, end });
    }
    if (ranges.length > 64) return undefined; // a flood of tiny ranges is not worth serving piecemeal
  }
  if (ranges.length === 0) return 'unsatisfiable';
  return ranges;
}

export function ifRangeHolds(ifRange: string | undefined, node: DavNode): boolean {
  if (ifRange === undefined) return true;
  if (ifRange.startsWith('"') || ifRange.startsWith('W/')) return ifRange === etagOf(node);
  return ifRange === new Date(node.updated).toUTCString();
}

/** A DAV ETag is strong: `"version-updated"` (personium-core), unlike OData's weak one. */
export function etagOf(node: DavNode): string {
  return `"${node.version}-${node.updated}"`;
}

export function etagMatches(header: string | undefined, node: DavNode): boolean {
  if (!header) return false;
  const tag = etagOf(node);
  return header.split(',').some((h) => {
    const t = h.trim();
    return t === tag || t === `W/${tag}`;
  });
}

export function assertIfMatch(header: string | undefined, node: DavNode): void {
  if (header === undefined || header.trim() === '*') return;
  if (!etagMatches(header, node)) throw new PersoniumError('PR412-DV-0001');
}

export function urlOf(base: string, segments: string[]): string {
  return segments.length === 0 ? base : `${base}/${segments.map(encodeURIComponent).join('/')}`;
}

/** The segments of a Destination inside the same box, or undefined when it points elsewhere. */
export function destinationSegments(destination: string, boxUrl: string): string[] | undefined {
  let url: URL;
  let box: URL;
  try {
    url = new URL(destination);
    box = new URL(boxUrl);
  } catch {
    return undefined;
  }
  if (url.origin !== box.origin || url.search || url.hash) return undefined;
  // The URL parser would quietly resolve `..` and `.`: a Destination that needs it is refused instead.
  const rawPath = destination.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '').replace(/[?#].*$/, '');
  if (rawPath.split('/').some((s) => s === '.' || s === '..' || /^(%2e|\.){1,2}$/i.test(s))) return undefined;
  const boxPath = box.pathname.replace(/\/$/, '');
  if (url.pathname !== boxPath && !url.pathname.startsWith(`${boxPath}/`)) return undefined;
  try {
    const segments = splitPath(url.pathname.slice(boxPath.length + 1));
    // Intermediate names must be names too (the last one is checked with its own error code).
    return segments.slice(0, -1).every(isValidResourceName) ? segments : undefined;
  } catch {
    return undefined;
  }
}

/** The kind an extended MKCOL body asks for (apiref 306), or the 403 answer Personium gives otherwise. */
export function mkcolKind(text: string): DavKind | DavResponse {
  const root = parseXml(text);
  const refuse = (): DavResponse => ({
    status: 403,
    headers: { 'content-type': 'application/xml; charset=utf-8' },
    body: `<?xml version="1.0" encoding="utf-8"?><D:mkcol-response xmlns:D="DAV:"><D:propstat><D:status>HTTP/1.1 403 Forbidden</D:status><D:error><D:valid-resourcetype/></D:error></D:propstat></D:mkcol-response>`,
  });
  if (root.ns !== DAV_NS || root.local !== 'mkcol' || !onlyElements(root)) return refuse();
  const set = elements(root).find((e) => e.ns === DAV_NS && e.local === 'set');
  const prop = set && elements(set).find((e) => e.ns === DAV_NS && e.local === 'prop');
  const type = prop && elements(prop).find((e) => e.ns === DAV_NS && e.local === 'resourcetype');
  if (!type) return refuse();
  const parts = elements(type);
  if (!parts.some((e) => e.ns === DAV_NS && e.local === 'collection')) return refuse();
  const extensions = parts.filter((e) => !(e.ns === DAV_NS && e.local === 'collection'));
  if (extensions.length === 0) return 'col';
  if (extensions.length > 1) return refuse();
  const [ext] = extensions as [typeof parts[number]];
  if (ext.ns === PERSONIUM_NS && (ext.local === 'odata' || ext.local === 'service' || ext.local === 'stream')) return ext.local;
  return refuse();
}

/** An empty body is allprop (apiref 305); otherwise `allprop`, `propname` or `prop` (RFC 4918 §14.20). */
export function propfindMode(text: string): PropfindMode {
  if (text.trim() === '') return { kind: 'allprop' };
  const root = parseXml(text);
  if (root.ns !== DAV_NS || root.local !== 'propfind') throw new PersoniumError('PR400-DV-0006');
  const [first] = elements(root);
  if (!first || first.ns !== DAV_NS) throw new PersoniumError('PR400-DV-0006');
  if (first.local === 'allprop') return { kind: 'allprop' };
  if (first.local === 'propname') return { kind: 'propname' };
  if (first.local === 'prop') return { kind: 'prop', names: elements(first).map((e) => ({ ns: e.ns, local: e.local })) };
  throw new PersoniumError('PR400-DV-0006');
}

export async function readText(body: Readable | undefined, limit: number): Promise<string> {
  return (await readBytes(body, limit)).toString('utf8');
}

/** A whole request body of at most `limit` bytes (413 beyond). */
export async function readBytes(body: Readable | undefined, limit: number): Promise<Buffer> {
  if (!body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      throw new PersoniumError('PR400-OD-0007', ['request body too large'], { status: 413 });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function emptyStream(): Readable {
  return Readable.from([]);
}

export function errorJson(code: 'PR416-DV-0001'): string {
  const e = new PersoniumError(code);
  return JSON.stringify({ code: e.code, message: { lang: 'en', value: e.message } });
}

