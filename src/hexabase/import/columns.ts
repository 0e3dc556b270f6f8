import type { DatastoreDef, FieldDef } from '../applications/datastores.js';
import { HexabaseError } from '../errors.js';
import { readEncoding } from './csv-source.js';

/**
 * What the ImportItems form asks for (items-import/ImportItems.md), read and checked before the
 * job is queued, so a request refused as a whole changes nothing.
 */
export interface ImportOptions {
  filename: string;
  /** The field whose value finds the item a row updates or deletes, or `i_id` for the item id itself. */
  keyField: FieldDef | 'i_id' | undefined;
  replaceAll: boolean;
  append: boolean;
  overwriteAutonumber: boolean;
  /** kura: `false` (the default) imports the valid rows and reports the others; `true` imports nothing if any row is invalid. */
  allOrNothing: boolean;
  /** iconv-lite codec of the `encoding` field (kura; UTF-8 by default). */
  codec: string;
}

/** Key fields: values that name one item and compare exactly. */
const KEY_TYPES: ReadonlySet<string> = new Set(['text', 'number', 'autonum', 'date', 'datetime']);

const invalid = (message: string) => new HexabaseError('INVALID_PARAMS', message);

export function readOptions(fields: Map<string, string>, def: DatastoreDef, fileName: string): ImportOptions {
  const filename = (fields.get('filename') ?? '').trim() || fileName.trim();
  if (!filename) throw invalid('filename is required');
  const keyRef = (fields.get('key_field_displayid') ?? '').trim();
  let keyField: ImportOptions['keyField'];
  if (keyRef === 'i_id') keyField = 'i_id';
  else if (keyRef !== '') {
    keyField = fieldNamed(def, keyRef);
    if (!keyField) throw invalid(`key_field_displayid: no field ${keyRef} in this datastore`);
    if (!KEY_TYPES.has(keyField.dataType)) throw invalid(`key_field_displayid: a ${keyField.dataType} field cannot be a key (text, number, autonum, date or datetime)`);
  }
  const options: ImportOptions = {
    filename,
    keyField,
    replaceAll: flag(fields, 'replace_all'),
    append: flag(fields, 'append'),
    overwriteAutonumber: flag(fields, 'overwrite_autonumber'),
    allOrNothing: flag(fields, 'all_or_nothing'),
    codec: readEncoding(fields.get('encoding')),
  };
  // `validate` is read for its syntax only: kura always converts and checks values (see import-items.ts).
  flag(fields, 'validate');
  if (options.append && options.replaceAll) throw invalid('replace_all empties the datastore and append keeps it: give one of them');
  if (options.append && keyField) throw invalid('append adds every row as a new item and key_field_displayid updates by key: give one of them');
  return options;
}

function flag(fields: Map<string, string>, name: string): boolean {
  const value = (fields.get(name) ?? '').trim().toLowerCase();
  if (value === '' || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  throw invalid(`${name} is true or false`);
}

/** What a CSV column holds. */
export type Column =
  /** A field written the way CreateItem / UpdateItem write it (values.ts). */
  | { kind: 'field'; field: FieldDef }
  /** An auto-number field: its value is kept when given (or is the key), drawn when blank. */
  | { kind: 'autonum'; field: FieldDef }
  /** `_status_` or the status field itself: a status name. */
  | { kind: 'status' }
  /** `_delete_`: `true` or `1` deletes the item the key names. */
  | { kind: 'delete' }
  /** `_group_id_`: accepted and ignored (kura has no access keys yet). */
  | { kind: 'group' }
  /** `i_id` (ItemList's CSV has it first): the key when key_field_displayid is `i_id`, else ignored. */
  | { kind: 'item_id' };

const SPECIAL: Record<string, Column> = {
  _status_: { kind: 'status' },
  _delete_: { kind: 'delete' },
  _group_id_: { kind: 'group' },
  i_id: { kind: 'item_id' },
};

/** A field by display id, internal id or (the header ItemList's CSV writes) its name, if only one has it. */
function fieldNamed(def: DatastoreDef, ref: string): FieldDef | undefined {
  const byId = def.fields.find((f) => f.display_id === ref) ?? def.fields.find((f) => f.field_id === ref);
  if (byId) return byId;
  const named = def.fields.filter((f) => f.name === ref);
  if (named.length > 1) throw invalid(`column ${ref}: ${named.length} fields have that name; use their display ids`);
  return named[0];
}

/**
 * The header row → one Column per cell. Unknown, empty and repeated columns are refused (400):
 * a misspelt header would otherwise drop a whole column of data without a word.
 */
export function mapHeader(header: string[], def: DatastoreDef, options: ImportOptions): Column[] {
  const seen = new Set<string>();
  const columns = header.map((raw, i): Column => {
    const name = raw.trim();
    if (name === '') throw invalid(`column ${i + 1} of the header has no name`);
    if (name.includes('\uFFFD')) throw invalid(`column ${i + 1} of the header is not ${options.codec === 'utf8' ? 'UTF-8' : 'Shift_JIS'} text: send the encoding of the file (encoding=shift_jis for Excel's CSV)`);
    const special = SPECIAL[name];
    const field = special ? undefined : fieldNamed(def, name);
    if (!special && !field) throw invalid(`column ${name}: no field of this datastore has that display id or name`);
    const column: Column = special ?? (field!.dataType === 'status' ? { kind: 'status' } : field!.dataType === 'autonum' ? { kind: 'autonum', field: field! } : { kind: 'field', field: field! });
    const identity = 'field' in column ? column.field.field_id : column.kind;
    if (seen.has(identity)) throw invalid(`column ${name} repeats another column`);
    seen.add(identity);
    return column;
  });
  const key = options.keyField;
  if (key === 'i_id' && !seen.has('item_id')) throw invalid('key_field_displayid is i_id but the file has no i_id column');
  if (key && key !== 'i_id' && !seen.has(key.field_id)) throw invalid(`key_field_displayid: the file has no column for ${key.display_id}`);
  if (seen.has('delete') && !key) throw invalid('a _delete_ column needs key_field_displayid to find the items it deletes');
  return columns;
}
