import type { PersoniumErrorCode } from '../core/errors/personium-error.js';
import type { EdmType } from '../query/compile.js';

/** One declared property of an entity type; ARCHITECTURE.md idea 1. */
export interface PropertyDef {
  name: string;
  type: EdmType;
  /** Defaults to true; a non-nullable property without default is required on create. */
  nullable?: boolean;
  /** Applied on create (and on PUT, which replaces the whole entity) when the client omits the property. */
  defaultValue?: () => unknown;
  /** A format check beyond the type (name rules, URL formats); return false to refuse the value. */
  format?: (value: unknown) => boolean;
  /** The error a failed `format` check raises; PR400-OD-0006 unless a page names another (e.g. PR400-OD-0049). */
  formatError?: PersoniumErrorCode;
  /**
   * Replaces the EDM codec of `type` for values it cannot describe alone (user data: ComplexType
   * values, lists, Personium's ranges). `read` answers undefined for a value it refuses.
   */
  codec?: ValueCodec;
  /** On MERGE, a sent structured value updates only the members it names (apiref 369: ComplexType values). */
  mergeMembers?: boolean;
  /** The type of a member below a structured value (`addr/city` of a ComplexType), for `$filter`. */
  memberType?: (path: string[]) => EdmType | undefined;
}

/** Wire value ↔ stored value. */
export interface ValueCodec {
  read(value: unknown): unknown;
  write(stored: unknown): unknown;
}

export type Multiplicity = '0..1' | '1' | '*';

/** A navigation property: `_Box` on Role, `_Account` on Role, … */
export interface NavigationDef {
  name: string;
  /** Target entity set name within the same service. */
  target: string;
  /** How many targets one source may link to. */
  multiplicity: Multiplicity;
  /** Link-table name shared by both directions of one association. */
  association: string;
  /** Which side of the stored link this set is on; the other direction reads the link backwards. */
  side: 'from' | 'to';
  /**
   * Set when the association is carried by properties instead of the links table: the child
   * entity's `childProps` hold the parent's `parentKeys` (Role's `_Box.Name` names its Box).
   * `role` says which end this navigation property sits on.
   */
  reference?: { role: 'child' | 'parent'; childProps: string[]; parentKeys: string[] };
}

export interface EntitySetDescriptor {
  name: string;
  /** Qualified type written to `__metadata.type`, e.g. `UnitCtl.Cell`. */
  typeName: string;
  /** Key property names in key order; more than one makes a compound key (`Name`, `_Box.Name`). */
  keys: string[];
  properties: PropertyDef[];
  navigations: NavigationDef[];
  /**
   * Deleting removes the entity's links instead of being refused with PR409-OD-0001 (control objects:
   * personium-core deletes an Account or ExtCell linked to Roles). Property-carried children still refuse.
   */
  deleteUnlinks?: boolean;
  /** Whether clients may send properties that are not declared (user data allows it; control objects do not). */
  openType?: boolean;
  /**
   * Of an open type: the undeclared properties seen so far with the type their first value gave
   * them (user data records them in its schema). When present, `$filter` on any other name is an
   * unknown property (PR400-OD-0045); when absent, any name may be addressed.
   */
  dynamicTypes?: ReadonlyMap<string, EdmType>;
  /** Whether `q` (apiref 408) searches the set: only user data is in the full-text index. */
  fullText?: boolean;
}

export function findProperty(set: EntitySetDescriptor, name: string): PropertyDef | undefined {
  return set.properties.find((p) => p.name === name);
}

export function findNavigation(set: EntitySetDescriptor, name: string): NavigationDef | undefined {
  return set.navigations.find((n) => n.name === name);
}
