import type { CellUrlMode } from '../config.js';

/** A cell's root URL (apiref 005): `{unit}/{cell}/` in path mode, `{cell}.{unit host}/` in subdomain mode. */
export function cellUrl(unitUrl: string, mode: CellUrlMode, cellName: string): string {
  if (mode === 'path') return `${unitUrl}${cellName}/`;
  const u = new URL(unitUrl);
  return `${u.protocol}//${cellName}.${u.host}${u.pathname}`;
}

/**
 * The name of the cell an absolute URL is the root of, when that cell is on this unit
 * (`{unit}/{cell}/` or `{cell}.{unit host}/` as configured); undefined otherwise.
 */
export function localCellName(unitUrl: string, mode: CellUrlMode, url: string): string | undefined {
  if (mode === 'path') {
    if (!url.startsWith(unitUrl)) return undefined;
    const m = /^([a-z0-9][a-z0-9-]{0,127})\/$/.exec(url.slice(unitUrl.length));
    return m?.[1];
  }
  let u: URL;
  let unit: URL;
  try {
    u = new URL(url);
    unit = new URL(unitUrl);
  } catch {
    return undefined;
  }
  const suffix = `.${unit.host}`;
  if (u.protocol !== unit.protocol || !u.host.endsWith(suffix) || u.pathname !== unit.pathname || u.search || u.hash) return undefined;
  const name = u.host.slice(0, -suffix.length);
  return /^[a-z0-9][a-z0-9-]{0,127}$/.test(name) ? name : undefined;
}

/**
 * Resolves Personium's unit-relative URL forms (`personium-localunit:/cell/…` and
 * `personium-localunit:cell:/…`) to absolute URLs; other URLs are returned unchanged.
 */
export function resolveLocalUnitUrl(unitUrl: string, mode: CellUrlMode, url: string): string {
  const m = /^personium-localunit:(?:\/([^/:]+)\/|([^/:]+):\/)(.*)$/s.exec(url);
  if (!m) return url;
  return `${cellUrl(unitUrl, mode, (m[1] ?? m[2])!)}${m[3]}`;
}

/** `{cellUrl}__role/{box or __}/{role}`: how a role is named across cells (apiref 297 p_roles). */
export function roleUrl(cellRoot: string, boxName: string | null | undefined, roleName: string): string {
  return `${cellRoot}__role/${boxName ?? '__'}/${roleName}`;
}
