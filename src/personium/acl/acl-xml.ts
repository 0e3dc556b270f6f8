import { SaxesParser, type SaxesTagNS } from 'saxes';
import { PersoniumError } from '../../core/errors/personium-error.js';

const DAV = 'DAV:';
const PERSONIUM = 'urn:x-personium:xmlns';
const XML = 'http://www.w3.org/XML/1998/namespace';

/** One access control element: who (a role URL, or everyone) gets which privileges. */
export interface Ace {
  principal: 'all' | { href: string };
  privileges: string[];
}

export interface AclDocument {
  aces: Ace[];
  /** `p:requireSchemaAuthz` (none / public / confidential), if set. */
  requireSchemaAuthz?: 'none' | 'public' | 'confidential';
}

const SCHEMA_LEVELS = new Set(['none', 'public', 'confidential']);

/**
 * Parses the body of an ACL request (apiref 006, 289). Namespace-aware (any prefix may stand for
 * `DAV:`), and a document with a DOCTYPE is refused outright, so no entity is ever expanded and
 * nothing external is ever fetched (saxes itself never reads a DTD). Role hrefs are resolved
 * against `xml:base` (default `defaultBase`); `privilegeNs` says in which namespace privileges are.
 */
export function parseAcl(xml: string, defaultBase: string, allowed: ReadonlySet<string>): AclDocument {
  const parser = new SaxesParser({ xmlns: true });
  const stack: string[] = [];
  const doc: AclDocument = { aces: [] };
  let base = defaultBase;
  let ace: { principal?: Ace['principal']; privileges: string[] } | undefined;
  let inPrincipal = false;
  let inGrant = false;
  let inPrivilege = false;
  let href: string | undefined;
  let failure: PersoniumError | undefined;
  const invalid = (why: string) => (failure ??= new PersoniumError('PR400-DV-0006', [], { cause: new Error(why) }));

  parser.on('doctype', () => invalid('DOCTYPE is not accepted'));
  parser.on('opentag', (tag: SaxesTagNS) => {
    const name = `${tag.uri}|${tag.local}`;
    const parent = stack[stack.length - 1];
    stack.push(name);
    if (failure) return;
    if (parent === undefined) {
      if (name !== `${DAV}|acl`) return invalid('root is not DAV:acl');
      for (const attr of Object.values(tag.attributes)) {
        if (attr.uri === XML && attr.local === 'base') base = resolve(attr.value, defaultBase) ?? base;
        if (attr.uri === PERSONIUM && attr.local === 'requireSchemaAuthz') {
          if (!SCHEMA_LEVELS.has(attr.value)) return invalid('bad requireSchemaAuthz');
          doc.requireSchemaAuthz = attr.value as AclDocument['requireSchemaAuthz'];
        }
      }
      return;
    }
    switch (name) {
      case `${DAV}|ace`:
        if (parent !== `${DAV}|acl`) return invalid('ace outside acl');
        ace = { privileges: [] };
        return;
      case `${DAV}|principal`:
        if (parent !== `${DAV}|ace` || !ace || ace.principal) return invalid('misplaced principal');
        inPrincipal = true;
        return;
      case `${DAV}|all`:
        if (inPrincipal && ace) ace.principal = 'all';
        else if (!inPrivilege) return invalid('misplaced all');
        else ace!.privileges.push('all');
        return;
      case `${DAV}|href`:
        if (!inPrincipal) return invalid('misplaced href');
        href = '';
        return;
      case `${DAV}|grant`:
        if (parent !== `${DAV}|ace`) return invalid('misplaced grant');
        inGrant = true;
        return;
      case `${DAV}|privilege`:
        if (!inGrant) return invalid('misplaced privilege');
        inPrivilege = true;
        return;
      case `${DAV}|inherited`:
        return; // apiref 289: output only; ignored when setting.
      default:
        if (parent === `${DAV}|inherited` || stack.includes(`${DAV}|inherited`)) return;
        if (inPrivilege && ace && (tag.uri === PERSONIUM || tag.uri === DAV)) {
          if (!allowed.has(tag.local)) return invalid(`unknown privilege ${tag.local}`);
          ace.privileges.push(tag.local);
          return;
        }
        // deny, invert, protected and anything unknown (apiref 289: not supported).
        return invalid(`unsupported element ${name}`);
    }
  });
  parser.on('text', (text) => {
    if (href !== undefined) href += text;
    else if (!failure && text.trim() !== '' && stack.length > 0) invalid('unexpected text');
  });
  parser.on('closetag', (tag: SaxesTagNS) => {
    stack.pop();
    if (failure) return;
    const name = `${tag.uri}|${tag.local}`;
    if (name === `${DAV}|href` && ace && href !== undefined) {
      const url = resolve(href.trim(), base);
      if (!url) return void invalid('bad href');
      ace.principal = { href: url };
      href = undefined;
    } else if (name === `${DAV}|principal`) inPrincipal = false;
    else if (name === `${DAV}|grant`) inGrant = false;
    else if (name === `${DAV}|privilege`) inPrivilege = false;
    else if (name === `${DAV}|ace` && ace) {
      if (!ace.principal || ace.privileges.length === 0) return void invalid('ace without principal or privilege');
      doc.aces.push({ principal: ace.principal, privileges: ace.privileges });
      ace = undefined;
    }
  });
  try {
    parser.write(xml).close();
  } catch (err) {
    // A refused DOCTYPE is the reason, not the entity reference the parser then trips over.
    throw failure ?? new PersoniumError('PR400-DV-0001', [], { cause: err });
  }
  if (failure) throw failure;
  if (stack.length !== 0) throw new PersoniumError('PR400-DV-0001');
  return doc;
}

function resolve(ref: string, base: string): string | undefined {
  try {
    return new URL(ref, base).href;
  } catch {
    return undefined;
  }
}
