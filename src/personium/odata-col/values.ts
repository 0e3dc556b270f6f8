import type { ValueCodec } from '../../odata/descriptor.js';
import type { SimpleType } from './schema-sets.js';

/**
 * Personium's rules for values of the simple types (apiref 355, 364; personium-core's JSON parser
 * and ODataUtils), in one place: user data values are read by `simpleCodec`, and a Property's
 * DefaultValue text is valid when it parses to a value the same codec accepts.
 */

/** The largest Edm.String value, in bytes. */
export const MAX_STRING_BYTES = 51_200;
/** 1753-01-01T00:00:00.000Z … 9999-12-31T23:59:59.999Z, the DateTime range personium-core accepts. */
const MIN_DATE_MS = -6_847_804_800_000;
const MAX_DATE_MS = 253_402_300_799_999;
const DATE_WIRE = /^\/Date\((-?\d+)\)\/$/;
/** Edm.Single with a fraction: at most five digits on either side of the point. */
const SINGLE_FRACTION = /^-?\d{1,5}\.\d{1,5}$/;
/** How a DefaultValue of each numeric or boolean type must be spelled before it is parsed. */
const DEFAULT_SYNTAX: Partial<Record<SimpleType, RegExp>> = {
  'Edm.Boolean': /^(true|false)$/,
  'Edm.Int32': /^-?\d{1,10}$/,
  'Edm.Single': /^-?\d+(\.\d+)?$/,
  'Edm.Double': /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/,
};

function isValidDate(ms: number): boolean {
  return Number.isInteger(ms) && ms >= MIN_DATE_MS && ms <= MAX_DATE_MS;
}

const refuse = undefined;

/** Personium's value rules per simple type (apiref 355, 364; personium-core's JSON parser). */
export function simpleCodec(type: SimpleType): ValueCodec {
  switch (type) {
    case 'Edm.String':
      return {
        // apiref 364: numbers and booleans sent to a String property are stored as their text.
        read: (v) => {
          const text = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : refuse;
          return text !== undefined && Buffer.byteLength(text) <= MAX_STRING_BYTES ? text : refuse;
        },
        write: (v) => v,
      };
    case 'Edm.Boolean':
      return { read: (v) => (typeof v === 'boolean' ? v : refuse), write: (v) => v };
    case 'Edm.Int32':
      return { read: (v) => (Number.isInteger(v) && (v as number) >= -2147483648 && (v as number) <= 2147483647 ? v : refuse), write: (v) => v };
    case 'Edm.Single':
      return {
        read: (v) => (typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= 3.4028235e38 && (Number.isInteger(v) || SINGLE_FRACTION.test(String(v))) ? v : refuse),
        write: (v) => v,
      };
    case 'Edm.Double':
      return {
        read: (v) => (typeof v === 'number' && Number.isFinite(v) && (v === 0 || (Math.abs(v) >= 2.23e-308 && Math.abs(v) <= 1.79e308)) ? v : refuse),
        write: (v) => v,
      };
    case 'Edm.DateTime':
      return {
        read: (v) => {
          if (v === 'SYSUTCDATETIME()') return Date.now();
          const m = typeof v === 'string' ? DATE_WIRE.exec(v) : null;
          return m && isValidDate(Number(m[1])) ? Number(m[1]) : refuse;
        },
        write: (v) => (typeof v === 'number' ? `/Date(${v})/` : v),
      };
  }
}

/** A DefaultValue's text as a value (SYSUTCDATETIME() is the time of the write). */
export function parseDefault(type: SimpleType, text: string): unknown {
  switch (type) {
    case 'Edm.String':
      return text;
    case 'Edm.Boolean':
      return text === 'true';
    case 'Edm.Int32':
    case 'Edm.Single':
    case 'Edm.Double':
      return Number(text);
    case 'Edm.DateTime':
      return text === 'SYSUTCDATETIME()' ? Date.now() : Number(DATE_WIRE.exec(text)![1]);
  }
}

/** Whether `text` is an acceptable DefaultValue for a property of `type` (apiref 355, 336). */
export function isValidDefault(type: SimpleType, text: string): boolean {
  const syntax = DEFAULT_SYNTAX[type];
  if (syntax && !syntax.test(text)) return false;
  if (type === 'Edm.DateTime' && text !== 'SYSUTCDATETIME()' && !DATE_WIRE.test(text)) return false;
  // DateTime defaults are given in their wire form, which the codec reads itself.
  const value = type === 'Edm.DateTime' ? text : parseDefault(type, text);
  return simpleCodec(type).read(value) !== undefined;
}
