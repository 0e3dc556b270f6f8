import type { EntitySetDescriptor } from '../../odata/descriptor.js';
import { ODataService, type EntitySetHooks } from '../../odata/service.js';
import type { EntityStore, Scope } from '../../store/entity-store.js';
import { userDataShapes } from './atom-shapes.js';
import type { SchemaModel } from './schema-model.js';
import { userDataHooks, userDataSets } from './user-data.js';

/** What user-data requests of one collection are served with, derived once from its schema. */
export interface UserDataModel {
  schema: SchemaModel;
  sets: ReadonlyMap<string, EntitySetDescriptor>;
  hooks: Readonly<Record<string, EntitySetHooks>>;
  shapeOf: ReturnType<typeof userDataShapes>;
}

export function userDataModel(schema: SchemaModel, schemaAt: Scope): UserDataModel {
  return { schema, sets: userDataSets(schema), hooks: userDataHooks(schema, schemaAt), shapeOf: userDataShapes(schema) };
}

/** The engine over a collection's user data, on `store` (the transaction's, inside a `$batch` change set). */
export function userDataService(model: UserDataModel, store: EntityStore, dataAt: Scope, serviceRoot: string): ODataService {
  return new ODataService({ store, scope: dataAt, serviceRoot, sets: model.sets, hooks: model.hooks, shapeOf: model.shapeOf });
}
