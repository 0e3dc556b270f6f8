import { randomUUID } from 'node:crypto';
import type { EntityStore, StoredEntity } from '../../store/entity-store.js';
import { HexabaseError } from '../errors.js';
import { newId } from '../ids.js';
import { HX_SCOPE, HX_SETS, reserve } from '../model.js';
import { type Body, optionalText, requireDisplayId, requireText } from '../validate.js';
import type { Applications } from './applications.js';


export const DATA_TYPES = ['text', 'textarea', 'number', 'date', 'datetime', 'select', 'radio', 'checkbox', 'status', 'autonum', 'file', 'users', 'dslookup'] as const;
export type DataType = (typeof DATA_TYPES)[number];
const WITH_OPTIONS: ReadonlySet<string> = new Set(['select', 'radio', 'checkbox']);
const FIELDS_MAX = 400;
const OPTIONS_MAX = 1000;
const STATUSES_MAX = 100;
const ACTIONS_MAX = 100;

export interface OptionDef {
  option_id: string;
  display_id: string;
  value: string;
  sort_id: number;
  enabled: boolean;
}

export interface FieldDef {
  field_id: string;
  display_id: string;
  name: string;
  dataType: DataType;
  as_title: boolean;
  search: boolean;
  show_list: boolean;
  unique: boolean;
  required: boolean;
  /** Searched by GlobalSearch (text, textarea and autonum fields). */
  full_text?: boolean;
  options?: OptionDef[];
  prefix?: string;
  dslookup_datastore_id?: string;
}

export interface StatusDef {
  s_id: string;
  display_id: string;
  name: string;
  sort_id: number;
}

export interface ActionDef {
  a_id: string;
  display_id: string;
  name: string;
  crud_type: '1' | '2' | '3' | '4';
  from_status_id: string | null;
  next_status_id: string | null;
  display_order: number;
  description?: string;
  /** Internal ids of the application roles that may run it; empty = every role of the application. */
  roles?: string[];
  /** Per field id: whether the action shows and may change the field, and must leave it filled. */
  field_settings?: Record<string, FieldSetting>;
}

export interface FieldSetting {
  show: boolean;
  update: boolean;
  mandatory: boolean;
}

export interface DatastoreDef {
  fields: FieldDef[];
  statuses: StatusDef[];
  actions: ActionDef[];
}

/**
 * Datastores of an application (kura's definition endpoints, issue 6 — Hexabase defines them in its
 * GUI): typed fields, statuses and actions, kept as one document per datastore. A redefinition keeps
 * the internal ids of fields, options, statuses and actions whose display ids stay, so stored item
 * values keep their meaning.
 */
export class Datastores {
  constructor(
    private readonly store: EntityStore,
    private readonly applications: Applications,
  ) {}

  /** `POST /api/v0/applications/:app-id/datastores` → `{datastore_id}` */
  async create(userId: string, appRef: string, body: Body): Promise<{ datastore_id: string }> {
    const app = await this.applications.editable(userId, appRef);
    const name = requireText(body.name, 'name');
    const displayId = requireDisplayId(body.display_id);
    const id = newId();
    await this.store.withTransaction(async (trx) => {
      const siblings = await this.datastoresOf(app.key, trx);
      const def = readDefinition(body, undefined, siblings, await this.applications.rolesOf(app, trx));
      await reserveDisplayId(trx, app.key, displayId, id);
      await trx.insert(HX_SCOPE, HX_SETS.datastore, id, { p_id: app.key, w_id: app.props.w_id, name, display_id: displayId, ...def });
    });
    return { datastore_id: id };
  }

  /** `PUT /api/v0/applications/:app-id/datastores/:datastore-id`: a whole new definition (same body). */
  async update(userId: string, appRef: string, datastoreRef: string, body: Body): Promise<null> {
    const app = await this.applications.editable(userId, appRef);
    await this.store.withTransaction(async (trx) => {
      const siblings = await this.datastoresOf(app.key, trx);
      const current = find(siblings, datastoreRef);
      if (!current) throw new HexabaseError('NOT_FOUND', 'no such datastore');
      const name = body.name === undefined ? String(current.props.name) : requireText(body.name, 'name');
      const displayId = body.display_id === undefined ? String(current.props.display_id) : requireDisplayId(body.display_id);
      const def = readDefinition(body, current.props as unknown as DatastoreDef, siblings.filter((s) => s.id !== current.id), await this.applications.rolesOf(app, trx));
      if (displayId !== current.props.display_id) {
        const old = await trx.get(HX_SCOPE, HX_SETS.datastoreDisplayId, `${app.key}/${String(current.props.display_id)}`);
        if (old) await trx.delete(old);
        await reserveDisplayId(trx, app.key, displayId, current.key);
      }
      await trx.update(current, { key: current.key, props: { ...current.props, name, display_id: displayId, ...def } });
    });
    return null;
  }

  /** `DELETE /api/v0/applications/:app-id/datastores/:datastore-id` */
  async remove(userId: string, appRef: string, datastoreRef: string): Promise<null> {
    const app = await this.applications.editable(userId, appRef);
    await this.store.withTransaction(async (trx) => {
      const siblings = await this.datastoresOf(app.key, trx);
      const current = find(siblings, datastoreRef);
      if (!current) throw new HexabaseError('NOT_FOUND', 'no such datastore');
      const lookedUpBy = siblings.find((s) => s.id !== current.id && (s.props.fields as FieldDef[]).some((f) => f.dslookup_datastore_id === current.key));
      if (lookedUpBy) throw new HexabaseError('INVALID_PARAMS', `datastore ${String(lookedUpBy.props.display_id)} looks items up in it`);
      const reserved = await trx.get(HX_SCOPE, HX_SETS.datastoreDisplayId, `${app.key}/${String(current.props.display_id)}`);
      if (reserved) await trx.delete(reserved);
      await trx.delete(current);
    });
    return null;
  }

  /** GetDatastoreFields: fields and their layout, keyed by internal field id. */
  async fields(userId: string, appRef: string, datastoreRef: string) {
    const app = await this.applications.visible(userId, appRef);
    const ds = find(await this.datastoresOf(app.key), datastoreRef);
    if (!ds) throw new HexabaseError('NOT_FOUND', `fields for d_id: ${datastoreRef} is not found`);
    const defs = ds.props.fields as FieldDef[];
    const layout: Record<string, unknown> = {};
    defs.forEach((f, i) => {
      // One field per row, full width: kura keeps no GUI layout of its own.
      layout[f.field_id] = { field_id: f.field_id, sizeX: f.dataType === 'status' ? 0 : 12, sizeY: f.dataType === 'status' ? 0 : 1, col: 0, row: f.dataType === 'status' ? 0 : i };
    });
    const fields = describeFields(defs);
    return { fields, field_layout: layout };
  }

  private datastoresOf(appKey: string, store: EntityStore = this.store): Promise<StoredEntity[]> {
    return this.applications.datastoresOf(appKey, store);
  }
}

/** The field descriptions of GetDatastoreFields (and GetInputFields' `action_fields`), keyed by field id. */
export function describeFields(defs: FieldDef[]): Record<string, Record<string, unknown>> {
  const fields: Record<string, Record<string, unknown>> = {};
  let titleOrder = 0;
  defs.forEach((f, i) => {
    fields[f.field_id] = {
      field_id: f.field_id,
      name: f.name,
      display_id: f.display_id,
      dataType: f.dataType,
      search: f.search,
      show_list: f.show_list,
      as_title: f.as_title,
      status: f.dataType === 'status',
      fieldIndex: i,
      title_order: f.as_title ? ++titleOrder : 0,
      full_text: f.full_text === true,
      unique: f.unique,
      min_value: '',
      max_value: '',
      ...(f.dslookup_datastore_id ? { dslookup_info: { dslookup_datastore_id: f.dslookup_datastore_id, dslookup_field_id: '' } } : {}),
      ...(f.options ? { options: f.options.map(({ option_id, sort_id, value, enabled, display_id }) => ({ option_id, sort_id, value, enabled, display_id })) } : {}),
    };
  });
  return fields;
}

function find(datastores: StoredEntity[], ref: string): StoredEntity | undefined {
  return datastores.find((d) => d.key === ref) ?? datastores.find((d) => d.props.display_id === ref);
}

async function reserveDisplayId(trx: EntityStore, appKey: string, displayId: string, id: string): Promise<void> {
  await reserve(trx, HX_SETS.datastoreDisplayId, `${appKey}/${displayId}`, { d_id: id }, `display_id ${displayId} is taken in this application`);
}

function list(value: unknown, name: string, max: number): Body[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > max) throw new HexabaseError('INVALID_VALUE', `${name} is a list of at most ${max}`);
  return value.map((v, i) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new HexabaseError('INVALID_VALUE', `${name}[${i}] is an object`);
    return v as Body;
  });
}

function unique(ids: string[], name: string): void {
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) throw new HexabaseError('INVALID_VALUE', `${name} ${id} appears twice`);
    seen.add(id);
  }
}

function flag(value: unknown, name: string): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw new HexabaseError('INVALID_VALUE', `${name} is true or false`);
  return value;
}

/** The fields, statuses and actions of a definition body, checked whole; ids of `previous` are kept by display id. */
function readDefinition(body: Body, previous: DatastoreDef | undefined, siblings: StoredEntity[], roles: StoredEntity[]): DatastoreDef {
  const fieldBodies = list(body.fields, 'fields', FIELDS_MAX);
  if (fieldBodies.length === 0) throw new HexabaseError('INVALID_PARAMS', 'fields is required');
  const oldFields = new Map((previous?.fields ?? []).map((f) => [f.display_id, f]));
  const fields = fieldBodies.map((f, i): FieldDef => {
    const at = `fields[${i}]`;
    const displayId = requireDisplayId(f.display_id, `${at}.display_id`);
    const dataType = f.dataType;
    if (typeof dataType !== 'string' || !(DATA_TYPES as readonly string[]).includes(dataType)) {
      throw new HexabaseError('INVALID_VALUE', `${at}.dataType is one of ${DATA_TYPES.join(', ')}`);
    }
    const old = oldFields.get(displayId);
    const def: FieldDef = {
      field_id: old && old.dataType === dataType ? old.field_id : newId(),
      display_id: displayId,
      name: requireText(f.name, `${at}.name`),
      dataType: dataType as DataType,
      as_title: flag(f.as_title, `${at}.as_title`),
      search: flag(f.search, `${at}.search`),
      show_list: flag(f.show_list, `${at}.show_list`),
      unique: flag(f.unique, `${at}.unique`),
      required: flag(f.required, `${at}.required`),
      full_text: flag(f.full_text, `${at}.full_text`),
    };
    if (WITH_OPTIONS.has(dataType)) {
      const options = list(f.options, `${at}.options`, OPTIONS_MAX);
      if (options.length === 0) throw new HexabaseError('INVALID_PARAMS', `${at}.options is required for ${dataType}`);
      const oldOptions = new Map((old?.options ?? []).map((o) => [o.display_id, o]));
      def.options = options.map((o, j) => {
        const optionDisplay = requireDisplayId(o.display_id, `${at}.options[${j}].display_id`);
        return {
          option_id: oldOptions.get(optionDisplay)?.option_id ?? randomUUID(),
          display_id: optionDisplay,
          value: requireText(o.value, `${at}.options[${j}].value`),
          sort_id: j,
          enabled: true,
        };
      });
      unique(def.options.map((o) => o.display_id), `${at}.options display_id`);
    } else if (f.options !== undefined) {
      throw new HexabaseError('INVALID_VALUE', `${at}.options belong to select, radio and checkbox fields`);
    }
    if (dataType === 'autonum') {
      const prefix = optionalText(f.prefix, `${at}.prefix`);
      if (prefix !== undefined) {
        if (prefix.length > 32) throw new HexabaseError('INVALID_VALUE', `${at}.prefix has at most 32 characters`);
        def.prefix = prefix;
      }
    }
    if (dataType === 'dslookup') {
      const ref = requireText(f.dslookup_datastore_id, `${at}.dslookup_datastore_id`);
      const target = find(siblings, ref);
      if (!target) throw new HexabaseError('INVALID_VALUE', `${at}.dslookup_datastore_id names no other datastore of this application`);
      def.dslookup_datastore_id = target.key;
    }
    return def;
  });
  unique(fields.map((f) => f.display_id), 'field display_id');
  if (fields.filter((f) => f.dataType === 'status').length > 1) throw new HexabaseError('INVALID_VALUE', 'a datastore has at most one status field');

  const oldStatuses = new Map((previous?.statuses ?? []).map((s) => [s.display_id, s]));
  const statuses = list(body.statuses, 'statuses', STATUSES_MAX).map((s, i): StatusDef => {
    const displayId = requireDisplayId(s.display_id, `statuses[${i}].display_id`);
    return { s_id: oldStatuses.get(displayId)?.s_id ?? newId(), display_id: displayId, name: requireText(s.name, `statuses[${i}].name`), sort_id: i };
  });
  unique(statuses.map((s) => s.display_id), 'status display_id');
  const statusId = (ref: unknown, name: string): string | null => {
    if (ref === undefined || ref === null || ref === '') return null;
    const found = statuses.find((s) => s.display_id === ref || s.s_id === ref);
    if (!found) throw new HexabaseError('INVALID_VALUE', `${name} names no status of this datastore`);
    return found.s_id;
  };

  const oldActions = new Map((previous?.actions ?? []).map((a) => [a.display_id, a]));
  const actions = list(body.actions, 'actions', ACTIONS_MAX).map((a, i): ActionDef => {
    const displayId = requireDisplayId(a.display_id, `actions[${i}].display_id`);
    const crud = a.crud_type;
    if (crud !== '1' && crud !== '2' && crud !== '3' && crud !== '4') throw new HexabaseError('INVALID_VALUE', `actions[${i}].crud_type is "1", "2", "3" or "4"`);
    const roleKeys = (a.roles === undefined ? [] : Array.isArray(a.roles) ? a.roles : [null]).map((ref) => {
      const role = roles.find((r) => r.key === ref) ?? roles.find((r) => r.props.display_id === ref);
      if (!role) throw new HexabaseError('INVALID_VALUE', `actions[${i}].roles names ${String(ref)}, no role of this application`);
      return role.key;
    });
    const settings: Record<string, FieldSetting> = {};
    for (const [j, setting] of list(a.field_settings, `actions[${i}].field_settings`, FIELDS_MAX).entries()) {
      const at = `actions[${i}].field_settings[${j}]`;
      const ref = requireText(setting.field_id, `${at}.field_id`);
      const field = fields.find((f) => f.display_id === ref || f.field_id === ref);
      if (!field) throw new HexabaseError('INVALID_VALUE', `${at}.field_id names no field of this datastore`);
      const show = setting.show === undefined ? true : flag(setting.show, `${at}.show`);
      settings[field.field_id] = {
        show,
        update: setting.update === undefined ? show : flag(setting.update, `${at}.update`),
        mandatory: flag(setting.mandatory, `${at}.mandatory`),
      };
    }
    return {
      a_id: oldActions.get(displayId)?.a_id ?? newId(),
      display_id: displayId,
      name: requireText(a.name, `actions[${i}].name`),
      crud_type: crud,
      from_status_id: statusId(a.from_status_id, `actions[${i}].from_status_id`),
      next_status_id: statusId(a.next_status_id, `actions[${i}].next_status_id`),
      display_order: i,
      description: optionalText(a.description, `actions[${i}].description`) ?? '',
      roles: [...new Set(roleKeys)],
      field_settings: settings,
    };
  });
  unique(actions.map((a) => a.display_id), 'action display_id');
  return { fields, statuses, actions };
}
