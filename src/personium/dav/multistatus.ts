import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import type { DavNode } from '../../store/dav-store.js';
import type { StoredBoxAcl } from '../auth/policy.js';
import { writeElement, type DeadProperties } from './properties.js';
import { DAV_NS, PERSONIUM_NS } from './xml-tree.js';

const XML_NS = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NS = 'http://www.w3.org/2000/xmlns/';

/** One resource of a PROPFIND answer. */
export interface PropfindEntry {
  href: string;
  node: DavNode;
  /** The ACL block: own aces first, then each ancestor's marked as inherited. Absent without read-acl. */
  acl?: { base: string; own: StoredBoxAcl | null; inherited: { href: string; acl: StoredBoxAcl }[] };
}

/** `2017-02-15T01:52:34.635+0000` (personium-core's creationdate format). */
export function creationDate(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '+0000');
}

/** What a PROPFIND asks for (RFC 4918 §9.1): everything, the names only, or named properties. */
export type PropfindMode =
  | { kind: 'allprop' }
  | { kind: 'propname' }
  | { kind: 'prop'; names: { ns: string; local: string }[] };

const LIVE = ['creationdate', 'getlastmodified', 'getcontentlength', 'getcontenttype', 'resourcetype', 'acl'] as const;

/** The PROPFIND 207 body (apiref 305/307; seed page). Personium always answers allprop; named properties are a kura extra. */
export function propfindMultistatus(entries: PropfindEntry[], mode: PropfindMode = { kind: 'allprop' }): string {
  const doc = create({ version: '1.0', encoding: 'utf-8' });
  const root = doc.ele(DAV_NS, 'multistatus');
  for (const entry of entries) {
    const response = root.ele(DAV_NS, 'response');
    response.ele(DAV_NS, 'href').txt(entry.href);
    const propstat = response.ele(DAV_NS, 'propstat');
    const prop = propstat.ele(DAV_NS, 'prop');
    const { node } = entry;
    const dead = node.props as DeadProperties;
    const live = (name: (typeof LIVE)[number]) => liveAvailable(entry, name);
    if (mode.kind === 'propname') {
      for (const name of LIVE) if (live(name)) prop.ele(DAV_NS, name);
      for (const value of Object.values(dead)) writeElement(prop, value, false);
    } else {
      const wanted = mode.kind === 'prop' ? mode.names : undefined;
      const missing: { ns: string; local: string }[] = [];
      const want = (ns: string, local: string) => !wanted || wanted.some((w) => w.ns === ns && w.local === local);
      for (const name of LIVE) if (want(DAV_NS, name) && live(name)) writeLive(prop, entry, name);
      for (const value of Object.values(dead)) if (want(value.ns, value.local)) writeElement(prop, value);
      for (const w of wanted ?? []) {
        const isLive = w.ns === DAV_NS && (LIVE as readonly string[]).includes(w.local) && live(w.local as (typeof LIVE)[number]);
        if (!isLive && !dead[`{${w.ns}}${w.local}`]) missing.push(w);
      }
      propstat.ele(DAV_NS, 'status').txt('HTTP/1.1 200 OK');
      if (missing.length > 0) {
        const notFound = response.ele(DAV_NS, 'propstat');
        const p404 = notFound.ele(DAV_NS, 'prop');
        for (const m of missing) p404.ele(m.ns || null, m.ns === DAV_NS ? m.local : m.ns ? `ns0:${m.local}` : m.local);
        notFound.ele(DAV_NS, 'status').txt('HTTP/1.1 404 Not Found');
      }
      continue;
    }
    propstat.ele(DAV_NS, 'status').txt('HTTP/1.1 200 OK');
  }
  return doc.end();
}

function liveAvailable(entry: PropfindEntry, name: (typeof LIVE)[number]): boolean {
  if (name === 'getcontentlength' || name === 'getcontenttype') return entry.node.kind === 'file';
  if (name === 'acl') return entry.acl !== undefined;
  return true;
}

function writeLive(prop: XMLBuilder, entry: PropfindEntry, name: (typeof LIVE)[number]): void {
  const { node } = entry;
  switch (name) {
    case 'creationdate':
      prop.ele(DAV_NS, 'creationdate').txt(creationDate(node.created));
      return;
    case 'getlastmodified':
      prop.ele(DAV_NS, 'getlastmodified').txt(new Date(node.updated).toUTCString());
      return;
    case 'getcontentlength':
      prop.ele(DAV_NS, 'getcontentlength').txt(String(node.size));
      return;
    case 'getcontenttype':
      prop.ele(DAV_NS, 'getcontenttype').txt(node.contentType ?? 'application/octet-stream');
      return;
    case 'resourcetype': {
      const type = prop.ele(DAV_NS, 'resourcetype');
      if (node.kind !== 'file') type.ele(DAV_NS, 'collection');
      if (node.kind === 'odata' || node.kind === 'service' || node.kind === 'stream') {
        type.ele(PERSONIUM_NS, `p:${node.kind}`).att(XMLNS_NS, 'xmlns:p', PERSONIUM_NS);
      }
      return;
    }
    case 'acl':
      writeAcl(prop, entry.acl!);
  }
}

function writeAcl(parent: XMLBuilder, acl: NonNullable<PropfindEntry['acl']>): void {
  const el = parent.ele(DAV_NS, 'acl').att(XMLNS_NS, 'xmlns:p', PERSONIUM_NS).att(XML_NS, 'xml:base', acl.base);
  const level = acl.own?.requireSchemaAuthz;
  if (level) el.att(PERSONIUM_NS, 'p:requireSchemaAuthz', level);
  const aces = (source: StoredBoxAcl | null, inheritedFrom?: string) => {
    for (const ace of source?.aces ?? []) {
      const a = el.ele(DAV_NS, 'ace');
      const principal = a.ele(DAV_NS, 'principal');
      if (ace.principal === 'all') principal.ele(DAV_NS, 'all');
      else principal.ele(DAV_NS, 'href').txt(relativeTo(acl.base, ace.principal.href));
      const grant = a.ele(DAV_NS, 'grant');
      for (const p of ace.privileges) {
        const privilege = grant.ele(DAV_NS, 'privilege');
        if (p === 'all' || p === 'read' || p === 'write' || p === 'read-acl' || p === 'write-acl' || p === 'bind' || p === 'unbind' || p === 'read-properties' || p === 'write-properties' || p === 'write-content') {
          privilege.ele(DAV_NS, p);
        } else {
          privilege.ele(PERSONIUM_NS, `p:${p}`);
        }
      }
      if (inheritedFrom) a.ele(DAV_NS, 'inherited').ele(DAV_NS, 'href').txt(inheritedFrom);
    }
  };
  aces(acl.own);
  for (const { href, acl: inherited } of acl.inherited) aces(inherited, href);
}

/** A role URL as the ACL shows it: relative to `base` (`role`, `../box2/role`, `../__/role`). */
export function relativeTo(base: string, href: string): string {
  const roleRoot = base.replace(/[^/]+\/$/, '');
  if (href.startsWith(base)) return href.slice(base.length);
  if (href.startsWith(roleRoot)) return `../${href.slice(roleRoot.length)}`;
  return href;
}
