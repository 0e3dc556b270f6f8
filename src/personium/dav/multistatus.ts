import type { DavNode } from '../../store/dav-store.js';
import type { StoredBoxAcl } from '../auth/policy.js';
import type { DeadProperties } from './properties.js';
import { DAV_NS, PERSONIUM_NS } from './xml-tree.js';
import { escapeAttr, escapeText } from '../../core/xml-escape.js';
import { serializeElement } from './xml-writer.js';

/** One resource of a PROPFIND answer. */
export interface PropfindEntry {
  href: string;
  node: DavNode;
  /** The ACL block: own aces first, then each ancestor's marked as inherited. Absent without read-acl. */
  acl?: { base: string; own: StoredBoxAcl | null; inherited: { href: string; acl: StoredBoxAcl }[] };
}

/** What a PROPFIND asks for (RFC 4918 §9.1): everything, the names only, or named properties. */
export type PropfindMode =
  | { kind: 'allprop' }
  | { kind: 'propname' }
  | { kind: 'prop'; names: { ns: string; local: string }[] };

const LIVE = ['creationdate', 'getlastmodified', 'getcontentlength', 'getcontenttype', 'resourcetype', 'acl'] as const;
type Live = (typeof LIVE)[number];

/** Privileges written in `DAV:` (RFC 3744); the rest are Personium's own. */
const DAV_PRIVILEGES = new Set(['all', 'read', 'write', 'read-acl', 'write-acl', 'bind', 'unbind', 'read-properties', 'write-properties', 'write-content']);

/** In-scope namespace declarations below `<multistatus xmlns="DAV:">`. */
const DAV_SCOPE: ReadonlyMap<string, string> = new Map([['', DAV_NS]]);

/** `2017-02-15T01:52:34.635+0000` (personium-core's creationdate format). */
export function creationDate(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

/**
 * The PROPFIND 207 body (apiref 305/307, 290; the seed page's shape). Personium always answers
 * allprop; named properties and propname (RFC 4918) are a kura extra that WebDAV clients use.
 */
export function propfindMultistatus(entries: PropfindEntry[], mode: PropfindMode = { kind: 'allprop' }): string {
  const out: string[] = ['<?xml version="1.0" encoding="utf-8"?><multistatus xmlns="DAV:">'];
  for (const entry of entries) {
    out.push(`<response><href>${escapeText(entry.href)}</href><propstat><prop>`);
    const dead = entry.node.props as DeadProperties;
    const missing: { ns: string; local: string }[] = [];
    if (mode.kind === 'propname') {
      for (const name of LIVE) if (available(entry, name)) out.push(`<${name}/>`);
      for (const value of Object.values(dead)) out.push(serializeElement(value, DAV_SCOPE, false));
    } else {
      const wanted = mode.kind === 'prop' ? mode.names : undefined;
      const want = (ns: string, local: string) => !wanted || wanted.some((w) => w.ns === ns && w.local === local);
      for (const name of LIVE) if (want(DAV_NS, name) && available(entry, name)) out.push(live(entry, name));
      for (const value of Object.values(dead)) if (want(value.ns, value.local)) out.push(serializeElement(value, DAV_SCOPE));
      for (const w of wanted ?? []) {
        const isLive = w.ns === DAV_NS && (LIVE as readonly string[]).includes(w.local) && available(entry, w.local as Live);
        if (!isLive && !dead[`{${w.ns}}${w.local}`]) missing.push(w);
      }
    }
    out.push('</prop><status>HTTP/1.1 200 OK</status></propstat>');
    if (missing.length > 0) {
      out.push('<propstat><prop>');
      for (const m of missing) out.push(serializeElement({ ns: m.ns, local: m.local, attrs: [], children: [] }, DAV_SCOPE));
      out.push('</prop><status>HTTP/1.1 404 Not Found</status></propstat>');
    }
    out.push('</response>');
  }
  out.push('</multistatus>');
  return out.join('');
}

function available(entry: PropfindEntry, name: Live): boolean {
  if (name === 'getcontentlength' || name === 'getcontenttype') return entry.node.kind === 'file';
  if (name === 'acl') return entry.acl !== undefined;
  return true;
}

function live(entry: PropfindEntry, name: Live): string {
  const { node } = entry;
  switch (name) {
    case 'creationdate':
      return `<creationdate>${creationDate(node.created)}</creationdate>`;
    case 'getlastmodified':
      return `<getlastmodified>${new Date(node.updated).toUTCString()}</getlastmodified>`;
    case 'getcontentlength':
      return `<getcontentlength>${node.size}</getcontentlength>`;
    case 'getcontenttype':
      return `<getcontenttype>${escapeText(node.contentType ?? 'application/octet-stream')}</getcontenttype>`;
    case 'resourcetype': {
      if (node.kind === 'file') return '<resourcetype/>';
      const ext = node.kind === 'odata' || node.kind === 'service' || node.kind === 'stream' ? `<p:${node.kind} xmlns:p="${PERSONIUM_NS}"/>` : '';
      return `<resourcetype><collection/>${ext}</resourcetype>`;
    }
    case 'acl':
      return aclXml(entry.acl!);
  }
}

function aclXml(acl: NonNullable<PropfindEntry['acl']>): string {
  const level = acl.own?.requireSchemaAuthz;
  const out: string[] = [`<acl xmlns:p="${PERSONIUM_NS}" xml:base="${escapeAttr(acl.base)}"${level ? ` p:requireSchemaAuthz="${level}"` : ''}`];
  const aces: string[] = [];
  const add = (source: StoredBoxAcl | null, inheritedFrom?: string) => {
    for (const ace of source?.aces ?? []) {
      const principal = ace.principal === 'all' ? '<all/>' : `<href>${escapeText(relativeTo(acl.base, ace.principal.href))}</href>`;
      const privileges = ace.privileges.map((p) => `<privilege>${DAV_PRIVILEGES.has(p) ? `<${p}/>` : `<p:${p}/>`}</privilege>`).join('');
      const inherited = inheritedFrom ? `<inherited><href>${escapeText(inheritedFrom)}</href></inherited>` : '';
      aces.push(`<ace><principal>${principal}</principal><grant>${privileges}</grant>${inherited}</ace>`);
    }
  };
  add(acl.own);
  for (const { href, acl: inherited } of acl.inherited) add(inherited, href);
  out.push(aces.length === 0 ? '/>' : `>${aces.join('')}</acl>`);
  return out.join('');
}

/** A role URL as the ACL shows it: relative to `base` (`role`, `../box2/role`, `../__/role`). */
export function relativeTo(base: string, href: string): string {
  const roleRoot = base.replace(/[^/]+\/$/, '');
  if (href.startsWith(base)) return href.slice(base.length);
  if (href.startsWith(roleRoot)) return `../${href.slice(roleRoot.length)}`;
  return href;
}
