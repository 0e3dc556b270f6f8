import type { EntityStore } from '../../store/entity-store.js';
import type { FieldDef } from '../applications/datastores.js';
import { HexabaseError } from '../errors.js';
import { ID_PATTERN } from '../ids.js';
import { HX_LINKS, HX_SCOPE, HX_SETS } from '../model.js';
import { ITEM_SET, type DatastoreContext } from '../items/context.js';
import { canonicalValue, readChanges, uniqueKey, type Canonical, type ValueChecks } from '../items/values.js';
import type { Column, ImportOptions } from './columns.js';
import { startLine, UNDECODABLE, type CsvRow } from './csv-source.js';
import type { JobError } from './jobs.js';

/** One CSV row as values: what the row asks for, before anything is looked up by key. */
export interface RowValues {
  line: number;
  /** Field id → canonical value (null: the cell is empty), for the field columns of the file. */
  values: Map<string, Canonical | null>;
  /** The s_id the row names, if any. */
  statusId: string | undefined;
  del: boolean;
  /** Auto-number values the row gives (field id → text). */
  autonums: Map<string, string>;
  /** The key value (as an equality string and as stored), when there is a key field and the cell is not empty. */
  key: { text: string; value: Canonical } | undefined;
}

/** Fields whose value is a list: a CSV cell holds them comma-separated (ItemList's CSV writes them so). */
const LIST_TYPES: ReadonlySet<string> = new Set(['checkbox', 'users', 'file']);

/**
 * Cells → values with CreateItem's rules: the cells of field columns go through the same
 * readChanges and canonicalValue as a JSON body (items/values.ts), so a value an item write
 * refuses an import refuses too, with the same message. Checks that read the store (users of the
 * workspace, looked-up items) are asked once per distinct id for the whole import.
 */
export class RowReader {
  private readonly checks: ValueChecks;

  constructor(
    private readonly ctx: DatastoreContext,
    private readonly columns: Column[],
    private readonly options: ImportOptions,
    store: EntityStore,
  ) {
    this.checks = memoizedChecks(ctx, store);
  }

  async read(row: CsvRow): Promise<RowValues | JobError> {
    const line = startLine(row);
    if ('error' in row) return { line, description: `not valid CSV: ${row.error}` };
    const { cells } = row;
    if (cells.length !== this.columns.length) return { line, description: `the row has ${cells.length} columns, the header ${this.columns.length}` };
    try {
      return await this.convert(line, cells);
    } catch (err) {
      if (err instanceof HexabaseError) return { line, description: err.message };
      throw err;
    }
  }

  private async convert(line: number, cells: string[]): Promise<RowValues> {
    const item: Record<string, unknown> = {};
    const out: RowValues = { line, values: new Map(), statusId: undefined, del: false, autonums: new Map(), key: undefined };
    let itemId: string | undefined;
    for (let i = 0; i < cells.length; i++) {
      const cell = cells[i]!;
      if (cell.includes(UNDECODABLE)) throw new HexabaseError('INVALID_VALUE', `column ${i + 1} holds bytes that are not text in the file's encoding`);
      const column = this.columns[i]!;
      switch (column.kind) {
        case 'field':
          item[column.field.field_id] = LIST_TYPES.has(column.field.dataType) ? listCell(cell) : cell;
          break;
        case 'autonum':
          if (cell.trim() !== '') out.autonums.set(column.field.field_id, cell.trim());
          break;
        case 'status':
          out.statusId = this.status(cell.trim());
          break;
        case 'delete':
          out.del = deleteFlag(cell);
          break;
        case 'item_id':
          itemId = cell.trim();
          break;
        case 'group':
          break;
      }
    }
    for (const [field, value] of readChanges(this.ctx.def, { item })) out.values.set(field.field_id, await canonicalValue(field, value, this.checks));
    out.key = this.key(out, itemId);
    return out;
  }

  private key(row: RowValues, itemId: string | undefined): RowValues['key'] {
    const key = this.options.keyField;
    if (!key) return undefined;
    let value: Canonical | null | undefined;
    if (key === 'i_id') {
      if (itemId && !ID_PATTERN.test(itemId)) throw new HexabaseError('INVALID_VALUE', `i_id ${itemId.slice(0, 40)} is not an item id`);
      value = itemId || null;
    } else {
      value = key.dataType === 'autonum' ? row.autonums.get(key.field_id) : row.values.get(key.field_id);
    }
    return value === null || value === undefined ? undefined : { text: uniqueKey(value), value };
  }

  /** `_status_` holds the status name (the page: not its id); display ids and s_ids are taken too. */
  private status(name: string): string | undefined {
    if (name === '') return undefined;
    const statuses = this.ctx.def.statuses;
    const found = statuses.find((s) => s.name === name) ?? statuses.find((s) => s.display_id === name) ?? statuses.find((s) => s.s_id === name);
    if (!found) throw new HexabaseError('INVALID_VALUE', `_status_: no status named ${name}`);
    return found.s_id;
  }
}

function listCell(cell: string): string[] {
  return cell
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function deleteFlag(cell: string): boolean {
  const value = cell.trim().toLowerCase();
  if (value === 'true' || value === '1') return true;
  if (value === '' || value === 'false' || value === '0') return false;
  throw new HexabaseError('INVALID_VALUE', `_delete_ is true, 1, false, 0 or empty, not ${cell.slice(0, 40)}`);
}

/**
 * The store-reading checks of values.ts for an import: the same questions CreateItem asks, each
 * distinct id asked once. No file was uploaded for an item that an import creates, so file
 * fields accept no ids.
 */
function memoizedChecks(ctx: DatastoreContext, store: EntityStore): ValueChecks {
  const members = new Map<string, boolean>();
  const lookups = new Map<string, boolean>();
  let workspace: Promise<{ id: string } | undefined> | undefined;
  return {
    async members(ids) {
      const found = new Set<string>();
      for (const id of ids) {
        if (!members.has(id)) {
          const ws = await (workspace ??= store.get(HX_SCOPE, HX_SETS.workspace, String(ctx.app.props.w_id)));
          const user = await store.get(HX_SCOPE, HX_SETS.user, id);
          members.set(id, !!ws && !!user && (await store.hasLink(HX_LINKS.workspaceUser, ws.id, user.id)));
        }
        if (members.get(id)) found.add(id);
      }
      return found;
    },
    async lookupExists(datastoreKey, id) {
      const memo = `${datastoreKey}/${id}`;
      if (!lookups.has(memo)) lookups.set(memo, (await store.get({ ...ctx.scope, nodeId: datastoreKey }, ITEM_SET, id)) !== undefined);
      return lookups.get(memo)!;
    },
    files: async () => new Set<string>(),
  };
}

/** The fields a created item must have (status and auto numbers are the server's). */
export function requiredFields(fields: FieldDef[]): FieldDef[] {
  return fields.filter((f) => f.required && f.dataType !== 'status' && f.dataType !== 'autonum');
}
