import { HexabaseError } from '../errors.js';
import { ID_PATTERN } from '../ids.js';
import type { DatastoreDef, FieldDef } from '../applications/datastores.js';

/**
 * Item values between the wire and the store (docs/design/hexabase-items.md). One canonical form
 * per dataType is stored, keyed by internal field id, so a renamed display id or option label never
 * rewrites items and searches compare like with like:
 * text/textarea/autonum → string; number → number; date/datetime → epoch milliseconds;
 * select/radio → option_id; checkbox → option_id[]; users → user id[]; file → file id[];
 * dslookup → the referenced item's i_id. The status lives on the item (`status_id`), not in a field.
 */

export type Canonical = string | number | string[];

const TEXT_MAX = 10_000;
const TEXTAREA_MAX = 1_000_000;
const LIST_MAX = 1000;

/** What a write needs to know beyond the definition: checks that read the store. */
export interface ValueChecks {
  /** The user ids of `ids` that are members of the item's workspace. */
  members(ids: string[]): Promise<Set<string>>;
  /** Whether `id` is an item of the looked-up datastore `datastoreId`. */
  lookupExists(datastoreId: string, id: string): Promise<boolean>;
  /** The file ids of `ids` uploaded for this item and field. */
  files(ids: string[], fieldId: string): Promise<Set<string>>;
}

/** A field by internal id or display id. */
export function fieldByRef(def: DatastoreDef, ref: string): FieldDef | undefined {
  return def.fields.find((f) => f.field_id === ref) ?? def.fields.find((f) => f.display_id === ref);
}

/**
 * The `item` object (or `changes` list) of a write → field id → canonical value (null = blank).
 * Unknown fields, and fields no client writes (status, autonum), are refused: a typo must not
 * vanish silently.
 */
export function readChanges(def: DatastoreDef, body: Record<string, unknown>): Map<FieldDef, unknown> {
  const out = new Map<FieldDef, unknown>();
  const put = (ref: unknown, value: unknown) => {
    if (typeof ref !== 'string') throw new HexabaseError('INVALID_PARAMS', 'a field id is a string');
    const field = fieldByRef(def, ref);
    if (!field) throw new HexabaseError('INVALID_PARAMS', `no field ${ref} in this datastore`);
    if (field.dataType === 'status') throw new HexabaseError('INVALID_VALUE', `${ref}: the status changes through actions`);
    if (field.dataType === 'autonum') throw new HexabaseError('INVALID_VALUE', `${ref}: auto numbers are assigned by the server`);
    if (out.has(field)) throw new HexabaseError('INVALID_PARAMS', `field ${ref} is given twice`);
    out.set(field, value);
  };
  if (body.item !== undefined && body.item !== null) {
    if (typeof body.item !== 'object' || Array.isArray(body.item)) throw new HexabaseError('INVALID_PARAMS', 'item is an object of field values');
    for (const [ref, value] of Object.entries(body.item as Record<string, unknown>)) put(ref, value);
  }
  if (body.changes !== undefined && body.changes !== null) {
    if (!Array.isArray(body.changes) || body.changes.length > 1000) throw new HexabaseError('INVALID_PARAMS', 'changes is a list of {id, value}');
    for (const change of body.changes) {
      if (typeof change !== 'object' || change === null) throw new HexabaseError('INVALID_PARAMS', 'changes is a list of {id, value}');
      const { id, value } = change as Record<string, unknown>;
      put(id, value);
    }
  }
  return out;
}

function invalid(field: FieldDef, what: string): HexabaseError {
  return new HexabaseError('INVALID_VALUE', `${field.display_id}: ${what}`);
}

function blank(value: unknown): boolean {
  return value === null || value === undefined || value === '' || (Array.isArray(value) && value.length === 0);
}

function idList(field: FieldDef, value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value];
  if (list.length > LIST_MAX || !list.every((v): v is string => typeof v === 'string')) throw invalid(field, 'expects a list of ids');
  return [...new Set(list)];
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** An ISO-8601 date or date-time (UTC when it names no offset) → epoch milliseconds, or NaN. */
export function parseInstant(text: string): number {
  if (!ISO_DATE.test(text)) return NaN;
  const withZone = /T/.test(text) && !/(Z|[+-]\d{2}:?\d{2})$/.test(text) ? `${text}Z` : text;
  return Date.parse(withZone);
}

/** One written value → its canonical form, or null for "blank"; refusals name the field. */
export async function canonicalValue(field: FieldDef, value: unknown, checks: ValueChecks): Promise<Canonical | null> {
  if (blank(value)) return null;
  switch (field.dataType) {
    case 'text':
    case 'textarea': {
      if (typeof value !== 'string' && typeof value !== 'number') throw invalid(field, 'expects text');
      const text = String(value);
      if (text.length > (field.dataType === 'text' ? TEXT_MAX : TEXTAREA_MAX)) throw invalid(field, 'is too long');
      return text;
    }
    case 'number': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(value) ? Number(value) : NaN;
      if (!Number.isFinite(n)) throw invalid(field, 'expects a number');
      return n;
    }
    case 'date':
    case 'datetime': {
      const ms = typeof value === 'string' ? parseInstant(value) : NaN;
      if (!Number.isFinite(ms)) throw invalid(field, 'expects an ISO-8601 date such as 2024-01-31T15:00:00.000Z');
      return ms;
    }
    case 'select':
    case 'radio': {
      if (typeof value !== 'string') throw invalid(field, 'expects an option id');
      return optionId(field, value);
    }
    case 'checkbox':
      return idList(field, value).map((ref) => optionId(field, ref));
    case 'users': {
      const ids = idList(field, value);
      const known = await checks.members(ids.filter((id) => ID_PATTERN.test(id)));
      const stranger = ids.find((id) => !known.has(id));
      if (stranger !== undefined) throw invalid(field, `${stranger} is no user of this workspace`);
      return ids;
    }
    case 'file': {
      const ids = idList(field, value);
      const known = await checks.files(ids.filter((id) => ID_PATTERN.test(id)), field.field_id);
      const stranger = ids.find((id) => !known.has(id));
      if (stranger !== undefined) throw invalid(field, `${stranger} is no file uploaded for this item and field`);
      return ids;
    }
    case 'dslookup': {
      if (typeof value !== 'string' || !ID_PATTERN.test(value) || !(await checks.lookupExists(field.dslookup_datastore_id!, value))) {
        throw invalid(field, 'expects the i_id of an item of the looked-up datastore');
      }
      return value;
    }
    case 'status':
    case 'autonum':
      throw invalid(field, 'is not written directly');
  }
}

function optionId(field: FieldDef, ref: string): string {
  const options = field.options ?? [];
  const found = options.find((o) => o.option_id === ref) ?? options.find((o) => o.display_id === ref) ?? options.find((o) => o.value === ref);
  if (!found) throw invalid(field, `${ref} is none of its options`);
  return found.option_id;
}

/** `2020-08-16T02:59:45Z`: the ISO form the pages show, without milliseconds. */
export function isoSeconds(ms: number): string {
  const second = Math.floor(ms / 1000);
  let text = isoCache.get(second);
  if (text === undefined) {
    text = new Date(second * 1000).toISOString().replace('.000Z', 'Z');
    if (isoCache.size >= ISO_CACHE_MAX) isoCache.clear();
    isoCache.set(second, text);
  }
  return text;
}

/**
 * Every item of a list shows two timestamps, and items written together share their second: a
 * small memo of formatted seconds saves a Date and two strings per timestamp (3% of an ItemList
 * request's CPU in the profile). Cleared when full rather than kept in LRU order: cheap and bounded.
 */
const isoCache = new Map<number, string>();
const ISO_CACHE_MAX = 4096;

/** How a value sorts into equality keys (unique fields): stable JSON of the canonical value. */
export function uniqueKey(value: Canonical): string {
  return JSON.stringify(Array.isArray(value) ? [...value].sort() : value);
}

export function optionLabels(field: FieldDef, ids: string[]): string[] {
  return ids.map((id) => field.options?.find((o) => o.option_id === id)?.value ?? id);
}

export function optionDisplayIds(field: FieldDef, ids: string[]): string[] {
  return ids.map((id) => field.options?.find((o) => o.option_id === id)?.display_id ?? id);
}
