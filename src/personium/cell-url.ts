import type { CellUrlMode } from '../config.js';

/** A cell's root URL (apiref 005): `{unit}/{cell}/` in path mode, `{cell}.{unit host}/` in subdomain mode. */
export function cellUrl(unitUrl: string, mode: CellUrlMode, cellName: string): string {
  if (mode === 'path') return `${unitUrl}${cellName}/`;
  const u = new URL(unitUrl);
  return `${u.protocol}//${cellName}.${u.host}${u.pathname}`;
}
