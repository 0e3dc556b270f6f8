import type { EntitySetDescriptor } from '../../odata/descriptor.js';

/** apiref 100: 1–128 of lower-case alphanumerics and `-`, not starting with `-`. */
export const CELL_NAME = /^[a-z0-9][a-z0-9-]{0,127}$/;

export const cellSet: EntitySetDescriptor = {
  name: 'Cell',
  typeName: 'UnitCtl.Cell',
  keys: ['Name'],
  properties: [
    { name: 'Name', type: 'Edm.String', nullable: false, format: (v) => typeof v === 'string' && CELL_NAME.test(v) },
  ],
  navigations: [],
};

export const unitSets: ReadonlyMap<string, EntitySetDescriptor> = new Map([[cellSet.name, cellSet]]);
