import { describeFields } from '../applications/datastores.js';
import { HexabaseError } from '../errors.js';
import type { DatastoreContext } from './context.js';
import { mayRun } from './items.js';

/**
 * GetInputFields (item-actions/GetInputFields.md): an action, the fields of its datastore and what
 * the action lets its user do with each (kura's definitions set these per action in
 * `field_settings`; a field without a setting is shown and writable, not mandatory).
 */
export function actionFields(ctx: DatastoreContext, actionRef: string) {
  const action = ctx.def.actions.find((a) => a.a_id === actionRef) ?? ctx.def.actions.find((a) => a.display_id === actionRef);
  if (!action || !mayRun(ctx, action)) {
    throw new HexabaseError('NOT_FOUND', `action_id not found. ${actionRef}`, 404, { description: `action_id not found. ${actionRef}`, error: 'NOT_FOUND' });
  }
  const settings: Record<string, unknown> = {};
  for (const field of ctx.def.fields) {
    const own = action.field_settings?.[field.field_id];
    settings[field.field_id] = {
      action_id: own ? action.a_id : '',
      field_id: field.field_id,
      show: own?.show ?? true,
      update: own?.update ?? true,
      mandatory: own?.mandatory ?? false,
    };
  }
  return {
    action: { action_id: action.a_id, display_order: action.display_order, description: action.description ?? '', crud_type: action.crud_type, next_status_id: action.next_status_id ?? '' },
    action_fields: describeFields(ctx.def.fields),
    action_field_settings: settings,
  };
}
