/**
 * Escaping for every XML kura writes (WebDAV multistatus, EDMX, Atom). Every value and name that
 * reaches an XML document passes through here, so a stored value can never open an element or end
 * an attribute.
 */

/**
 * Characters XML 1.0 cannot carry at all, not even as character references (§2.2): C0 controls
 * other than tab/LF/CR, lone surrogates (the `u` flag makes a valid pair one code point), U+FFFE/F.
 * JSON can hold them, so a stored string may; they become U+FFFD rather than an ill-formed document.
 */
const NOT_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/gu;

function xmlChars(s: string): string {
  return s.replace(NOT_XML_CHAR, '\uFFFD');
}

/**
 * Element content. `>` is escaped too (`]]>` is not allowed in text), and CR as a reference so it
 * survives the parser's line-end normalisation (XML 1.0 §2.11).
 */
export function escapeText(s: string): string {
  return xmlChars(s).replace(/[&<>\r]/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&#13;'));
}

/** A double-quoted attribute value; whitespace as references survives attribute normalisation (§3.3.3). */
export function escapeAttr(s: string): string {
  return xmlChars(s).replace(/[&<>"\t\n\r]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Whether a property name can be written as the local part of `d:{name}`: the ASCII subset of an
 * XML NCName, which covers Personium's names (`__id`, `_Box.Name`, `Addr2`). Personium's schema
 * rule also lets a name start with a digit, which no XML name may.
 */
export function isXmlLocalName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name);
}
