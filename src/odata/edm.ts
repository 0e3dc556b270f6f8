import type { EdmType } from '../query/compile.js';

/**
 * Conversion between JSON-verbose wire values and stored values for each EDM simple type.
 * Stored values are plain JSON: DateTime as epoch milliseconds so it sorts and compares as a number.
 */
interface EdmCodec {
  /** Wire value → stored value; undefined means "not a value of this type". */
  read(value: unknown): unknown;
  write(stored: unknown): unknown;
}

const DATE_WIRE = /^\/Date\((-?\d+)\)\/$/;
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

const identity = (v: unknown) => v;

export const edmCodecs: Record<EdmType, EdmCodec> = {
  'Edm.String': { read: (v) => (typeof v === 'string' ? v : undefined), write: identity },
  'Edm.Boolean': { read: (v) => (typeof v === 'boolean' ? v : undefined), write: identity },
  'Edm.Int32': {
    read: (v) => (Number.isInteger(v) && (v as number) >= INT32_MIN && (v as number) <= INT32_MAX ? v : undefined),
    write: identity,
  },
  'Edm.Int64': { read: (v) => (Number.isSafeInteger(v) ? v : undefined), write: identity },
  'Edm.Single': { read: (v) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined), write: identity },
  'Edm.Double': { read: (v) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined), write: identity },
  'Edm.DateTime': {
    read: (v) => {
      if (typeof v !== 'string') return undefined;
      // Personium's special value: the server's current time (apiref 355).
      if (v === 'SYSUTCDATETIME()') return Date.now();
      const m = DATE_WIRE.exec(v);
      return m ? Number(m[1]) : undefined;
    },
    write: (stored) => (typeof stored === 'number' ? `/Date(${stored})/` : stored),
  },
};

export function formatDate(ms: number): string {
  return `/Date(${ms})/`;
}
