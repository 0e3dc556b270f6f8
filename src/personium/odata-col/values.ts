import type { SimpleType } from './schema-sets.js';

/** apiref 355 / personium-core ODataUtils: the limits of user data values. */
export const MAX_STRING_BYTES = 51_200;
/** 1753-01-01T00:00:00.000Z … 9999-12-31T23:59:59.999Z, the DateTime range personium-core accepts. */
export const MIN_DATE_MS = -6_847_804_800_000;
export const MAX_DATE_MS = 253_402_300_799_999;
const SINGLE_WITH_FRACTION = /^-?[0-9]{1,5}\.[0-9]{1,5}$/;
const DOUBLE_MIN = 2.23e-308;
const DOUBLE_MAX = 1.79e308;
const DATE_WIRE = /^\/Date\((-?\d+)\)\/$/;

export function isValidDate(ms: number): boolean {
  return Number.isInteger(ms) && ms >= MIN_DATE_MS && ms <= MAX_DATE_MS;
}

function isDoubleInRange(n: number): boolean {
  const a = Math.abs(n);
  return n === 0 || (Number.isFinite(n) && a >= DOUBLE_MIN && a <= DOUBLE_MAX);
}

/** Whether `text` is an acceptable DefaultValue for a property of `type` (apiref 355, 336). */
export function isValidDefault(type: SimpleType, text: string): boolean {
  switch (type) {
    case 'Edm.Boolean':
      return text === 'true' || text === 'false';
    case 'Edm.String':
      return Buffer.byteLength(text) <= MAX_STRING_BYTES;
    case 'Edm.Int32':
      return /^-?\d{1,10}$/.test(text) && Number(text) >= -2147483648 && Number(text) <= 2147483647;
    case 'Edm.Single':
      return /^-?\d+(\.\d+)?$/.test(text) && (!text.includes('.') || SINGLE_WITH_FRACTION.test(text)) && Math.abs(Number(text)) <= 3.4028235e38;
    case 'Edm.Double':
      return /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(text) && isDoubleInRange(Number(text));
    case 'Edm.DateTime': {
      if (text === 'SYSUTCDATETIME()') return true;
      const m = DATE_WIRE.exec(text);
      return m !== null && isValidDate(Number(m[1]));
    }
  }
}
