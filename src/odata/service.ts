import { sql, type Expression, type SqlBool } from 'kysely';
import { PersoniumError } from '../core/errors/personium-error.js';
import {
  DuplicateKeyError,
  VersionMismatchError,
  type EntityStore,
  type QueryResult,
  type QuerySpec,
  type Scope,
  type StoredEntity,
} from '../store/entity-store.js';
import type { Dialect } from '../query/compile.js';
import type { EntitySetDescriptor, NavigationDef } from './descriptor.js';
import { readEntityBody, parseJsonObject } from './body.js';
import { checkIfMatch, formatEtag } from './etag.js';
import { entityToJson, entityUri, feedBody, linksBody, singleEntityBody } from './json-writer.js';
import { atomEntryDocument, atomFeedDocument, xmlLinksDocument, type AtomContext, type AtomFeed, type EntityView } from './atom-writer.js';
import { decideFormat, type OutputFormat } from './format.js';
import { canonicalKey, formatKeyPredicate, keyValuesOf, type KeyValue } from './key.js';
import { parseExpand, parseListOptions } from './query-options.js';
import { parseLinkUri, type ODataTarget } from './resource-path.js';
import {
  assertReferencesExist,
  cascadeKeyChange,
  hasReferencingChildren,
  referencedKey,
  relatedWhere,
  repointChild,
  withRelated,
  type Reference,
} from './references.js';

/** What a handler returns; the HTTP adapter writes it. Keeps Fastify out of the engine. */
export interface ODataResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

export interface ODataRequest {
  method: string;
  target: ODataTarget;
  query: Record<string, string | undefined>;
  body?: Buffer | undefined;
  ifMatch?: string | undefined;
  /** Request headers a hook may need (Account's `X-Personium-Credential`); names are lower-case. */
  header?: (name: string) => string | undefined;
}

/** What a hook sees of the write it takes part in: the transaction's store and the request. */
export interface WriteContext {
  store: EntityStore;
  /** Where the service's entities live (the cell of a control object). */
  scope: Scope;
  header(name: string): string | undefined;
  /** What the set's `prepare` hook returned for this request. */
  prepared: unknown;
  /** ODataServiceOptions.caller */
  caller: unknown;
}

/** Per-set rules a service adds on top of the generic engine (e.g. "a Cell with content can't be deleted"). */
export interface EntitySetHooks {
  /** Runs inside the delete transaction; throw to refuse. */
  beforeDelete?(entity: StoredEntity, store: EntityStore): Promise<void>;
  /**
   * Runs before the write transaction starts, for slow work that must not hold it (hashing a
   * password); throw to refuse. The result reaches the other hooks as `ctx.prepared`.
   */
  prepare?(mode: 'create' | 'replace' | 'merge', header: (name: string) => string | undefined): Promise<unknown>;
  /** Runs inside the write transaction before create/replace/merge is stored; may normalise or refuse. */
  beforeWrite?(props: Record<string, unknown>, current: StoredEntity | undefined, ctx: WriteContext): Promise<void> | void;
  /** Runs inside the write transaction after the entity is stored (side tables such as credentials). */
  afterWrite?(entity: StoredEntity, current: StoredEntity | undefined, ctx: WriteContext): Promise<void> | void;
}

const NO_HEADERS = (): undefined => undefined;

export interface ODataServiceOptions {
  store: EntityStore;
  scope: Scope;
  /** Absolute URL the entity URIs start with, e.g. `https://unit/__ctl/`. */
  serviceRoot: string;
  sets: ReadonlyMap<string, EntitySetDescriptor>;
  hooks?: Readonly<Record<string, EntitySetHooks>>;
  /** Narrows what the caller sees of one set (a unit user sees only the cells it owns). */
  restriction?: Restriction;
  /** Passed to hooks as `ctx.caller` (who is writing, e.g. the owner a new Cell gets). */
  caller?: unknown;
  /**
   * `m:type` of properties whose codec writes more than the declared simple type says (user data's
   * ComplexType values and lists); without it the Atom writer infers them from the values.
   */
  shapeOf?: AtomContext['shapeOf'];
}

export interface Restriction {
  set: string;
  /** Lists include only what this matches. */
  where: Expression<SqlBool>;
  /** Addressing an entity outside the restriction raises `error` (it exists, but not for this caller). */
  allows(entity: StoredEntity): boolean;
  error: () => Error;
}

/** A fresh object per response (callers add to it); a literal, because spreading a shared one measured slower. */
function jsonHeaders(): Record<string, string> {
  return { 'content-type': 'application/json', dataserviceversion: '2.0' };
}
function atomHeaders(kind: 'feed' | 'entry'): Record<string, string> {
  return { 'content-type': `application/atom+xml;charset=utf-8;type=${kind}`, dataserviceversion: '2.0' };
}

/** The format a response body is written in ($format / Accept, see format.ts). */
function formatOf(req: ODataRequest): OutputFormat {
  return decideFormat(req.query.$format, req.header?.('accept'));
}

/** apiref 405: at most 100 related entities per list entry, 10,000 on a single entity. */
const EXPAND_LIMIT_LIST = 100;
const EXPAND_LIMIT_SINGLE = 10000;
const EXPAND_NAVS_LIST = 2;
const EXPAND_NAVS_SINGLE = 10;

const METHODS_BY_KIND: Record<ODataTarget['kind'], readonly string[]> = {
  collection: ['GET', 'POST'],
  // PATCH is MERGE under its later name: OData V2 clients from npm (and OData V3+) update with it.
  entity: ['GET', 'PUT', 'MERGE', 'PATCH', 'DELETE'],
  navigation: ['GET', 'POST'],
  links: ['GET', 'POST', 'PUT', 'DELETE'],
};

export function allowedMethods(target: ODataTarget): readonly string[] {
  return METHODS_BY_KIND[target.kind];
}

/**
 * The generic OData V2 engine over the entity store: one implementation of CRUD, `$links`,
 * navigation and query options for every entity set (ARCHITECTURE.md idea 1).
 */
export class ODataService {
  private readonly dialect: Dialect;

  constructor(private readonly options: ODataServiceOptions) {
    this.dialect = options.store.dialect;
  }

  async handle(req: ODataRequest): Promise<ODataResponse> {
    const t = req.target;
    if (!allowedMethods(t).includes(req.method)) throw new PersoniumError('PR405-MC-0001');
    switch (t.kind) {
      case 'collection':
        return req.method === 'GET' ? this.list(t.set, req.query, formatOf(req)) : this.create(t.set, req);
      case 'entity':
        if (req.method === 'GET') return this.retrieve(t.set, t.key, req.query, formatOf(req));
        if (req.method === 'DELETE') return this.remove(t.set, t.key, req.ifMatch);
        return this.update(t.set, t.key, req, req.method === 'PUT' ? 'replace' : 'merge');
      case 'navigation':
        return req.method === 'GET'
          ? this.listNavigation(t.set, t.key, t.nav, t.target, req.query, formatOf(req))
          : this.createViaNavigation(t.set, t.key, t.nav, t.target, req);
      case 'links':
        return this.links(req, t);
    }
  }

  private get store(): EntityStore {
    return this.options.store;
  }

  private async list(set: EntitySetDescriptor, query: Record<string, string | undefined>, format: OutputFormat): Promise<ODataResponse> {
    const opts = parseListOptions(query, set, this.dialect);
    if (opts.expand.length > EXPAND_NAVS_LIST) throw new PersoniumError('PR400-OD-0039');
    const restriction = this.options.restriction?.set === set.name ? this.options.restriction : undefined;
    const where = restriction ? (opts.where ? and(opts.where, restriction.where) : restriction.where) : opts.where;
    const result = await this.store.query(this.options.scope, set.name, {
      where,
      orderBy: opts.orderBy,
      top: opts.top,
      skip: opts.skip,
      count: opts.count,
    });
    const views = await Promise.all(
      result.entities.map((e) => this.view(set, e, opts.select, opts.expand, EXPAND_LIMIT_LIST)),
    );
    return this.feed(format, { title: set.name, href: set.name, entries: views, count: result.count });
  }

  private async retrieve(
    set: EntitySetDescriptor,
    key: KeyValue[],
    query: Record<string, string | undefined>,
    format: OutputFormat,
  ): Promise<ODataResponse> {
    const entity = await this.mustGet(set, key);
    const expand = parseExpand(query.$expand, set);
    if (expand.length > EXPAND_NAVS_SINGLE) throw new PersoniumError('PR400-OD-0039');
    const select = query.$select !== undefined ? parseListOptions({ $select: query.$select }, set, this.dialect).select : undefined;
    const view = expand.length === 0 ? { set, entity, select, expanded: [] } : await this.view(set, entity, select, expand, EXPAND_LIMIT_SINGLE);
    return this.entry(format, 200, view, { etag: formatEtag(entity.version, entity.updated) });
  }

  private async create(set: EntitySetDescriptor, req: ODataRequest): Promise<ODataResponse> {
    // Decided first: a bad $format must refuse the request before anything is written.
    const format = formatOf(req);
    const props = readEntityBody(set, parseJsonObject(req.body), 'create');
    const prepared = await this.prepare(set, 'create', req);
    const entity = await this.store.withTransaction((store) => this.insertChecked(set, props, store, req, prepared));
    return this.created(set, entity, format);
  }

  private prepare(set: EntitySetDescriptor, mode: 'create' | 'replace' | 'merge', req: ODataRequest): Promise<unknown> {
    const prepare = this.options.hooks?.[set.name]?.prepare;
    return prepare ? prepare(mode, req.header ?? NO_HEADERS) : Promise.resolve(undefined);
  }

  /** Insert with every rule: hooks, references to existing parents, side tables. */
  private async insertChecked(
    set: EntitySetDescriptor,
    props: Record<string, unknown>,
    store: EntityStore,
    req: ODataRequest,
    prepared: unknown,
  ): Promise<StoredEntity> {
    const hooks = this.options.hooks?.[set.name];
    const ctx: WriteContext = { store, scope: this.options.scope, header: req.header ?? NO_HEADERS, prepared, caller: this.options.caller };
    await hooks?.beforeWrite?.(props, undefined, ctx);
    await assertReferencesExist(store, this.options.scope, set, this.options.sets, props);
    const entity = await this.insert(set, props, store);
    await hooks?.afterWrite?.(entity, undefined, ctx);
    return entity;
  }

  private async update(
    set: EntitySetDescriptor,
    key: KeyValue[],
    req: ODataRequest,
    mode: 'replace' | 'merge',
  ): Promise<ODataResponse> {
    const raw = parseJsonObject(req.body);
    // Checked before any work, unless a structured value must first be merged into the stored one.
    const early = mode === 'merge' && mergesMembers(set, raw) ? undefined : readEntityBody(set, raw, mode);
    const hooks = this.options.hooks?.[set.name];
    const prepared = await this.prepare(set, mode, req);
    return this.store.withTransaction(async (store) => {
      const current = await this.mustGet(set, key, store);
      checkIfMatch(req.ifMatch, current.version, current.updated);
      const sent = early ?? readEntityBody(set, withMergedMembers(set, raw, current.props), mode);
      // Server-owned `__` properties (a Cell's owner) are invisible to clients and survive a PUT.
      const props = mode === 'merge' ? { ...current.props, ...sent } : { ...serverOwned(current.props), ...sent };
      const ctx: WriteContext = { store, scope: this.options.scope, header: req.header ?? NO_HEADERS, prepared, caller: this.options.caller };
      await hooks?.beforeWrite?.(props, current, ctx);
      await assertReferencesExist(store, this.options.scope, set, this.options.sets, props);
      try {
        const next = await store.update(current, { key: canonicalKey(keyValuesOf(set, props)), props }, current.version);
        await cascadeKeyChange(store, this.options.scope, set, this.options.sets, current, props);
        await hooks?.afterWrite?.(next, current, ctx);
        return { status: 204, headers: { dataserviceversion: '2.0', etag: formatEtag(next.version, next.updated) } };
      } catch (err) {
        throw translateStoreError(err);
      }
    });
  }

  private async remove(set: EntitySetDescriptor, key: KeyValue[], ifMatch: string | undefined): Promise<ODataResponse> {
    return this.store.withTransaction(async (store) => {
      const current = await this.mustGet(set, key, store);
      checkIfMatch(ifMatch, current.version, current.updated);
      await this.options.hooks?.[set.name]?.beforeDelete?.(current, store);
      // apiref 205 etc.: an entity still linked to others can't be deleted.
      const linked = !set.deleteUnlinks && (await store.hasAnyLink(current.id));
      if (linked || (await hasReferencingChildren(store, this.options.scope, set, current))) {
        throw new PersoniumError('PR409-OD-0001');
      }
      await store.delete(current, current.version);
      return { status: 204, headers: { dataserviceversion: '2.0' } };
    });
  }

  private async listNavigation(
    set: EntitySetDescriptor,
    key: KeyValue[],
    nav: NavigationDef,
    target: EntitySetDescriptor,
    query: Record<string, string | undefined>,
    format: OutputFormat,
  ): Promise<ODataResponse> {
    const { opts, result } = await this.queryLinked(set, key, nav, target, query);
    const views = result.entities.map((entity) => ({ set: target, entity, select: opts.select }));
    const href = `${set.name}${formatKeyPredicate(set, key)}/${nav.name}`;
    return this.feed(format, { title: nav.name, href, entries: views, count: result.count });
  }

  /** The entities one source reaches through a navigation property, with list options applied. */
  private async queryLinked(
    set: EntitySetDescriptor,
    key: KeyValue[],
    nav: NavigationDef,
    target: EntitySetDescriptor,
    query: Record<string, string | undefined>,
  ) {
    const source = await this.mustGet(set, key);
    const opts = parseListOptions(query, target, this.dialect);
    const result = await this.queryRelated(source, nav, target, opts);
    return { opts, result };
  }

  /** The entities `source` reaches through `nav`, whichever way the association is stored. */
  private queryRelated(
    source: StoredEntity,
    nav: NavigationDef,
    target: EntitySetDescriptor,
    spec: QuerySpec,
    store = this.store,
  ): Promise<QueryResult> {
    if (nav.reference) {
      const where = relatedWhere(nav as NavigationDef & { reference: Reference }, source, store);
      return store.query(this.options.scope, target.name, withRelated(spec, where));
    }
    return store.query(this.options.scope, target.name, {
      ...spec,
      linkedTo: { id: source.id, name: nav.association, direction: nav.side },
    });
  }

  /** apiref 210: create an entity and link it to the source in one step, atomically. */
  private async createViaNavigation(
    set: EntitySetDescriptor,
    key: KeyValue[],
    nav: NavigationDef,
    target: EntitySetDescriptor,
    req: ODataRequest,
  ): Promise<ODataResponse> {
    const format = formatOf(req);
    const props = readEntityBody(target, parseJsonObject(req.body), 'create');
    const prepared = await this.prepare(target, 'create', req);
    const entity = await this.store.withTransaction(async (store) => {
      const source = await this.mustGet(set, key, store);
      const ref = nav.reference;
      if (ref?.role === 'parent') {
        // The new child points at the source through its own properties (apiref 265: POST Box('b')/_Role).
        ref.childProps.forEach((p, i) => (props[p] = source.props[ref.parentKeys[i]!] ?? null));
        return this.insertChecked(target, props, store, req, prepared);
      }
      if (ref && referencedKey(ref, source.props)) throw new PersoniumError('PR409-OD-0002');
      const created = await this.insertChecked(target, props, store, req, prepared);
      await this.addLink(store, set, source, nav, created);
      return created;
    });
    return this.created(target, entity, format);
  }

  private async links(req: ODataRequest, t: Extract<ODataTarget, { kind: 'links' }>): Promise<ODataResponse> {
    const { set, key, nav, target, targetKey } = t;
    const serviceRoot = this.options.serviceRoot;
    if (req.method === 'GET') {
      if (targetKey) throw new PersoniumError('PR405-MC-0001');
      const format = formatOf(req);
      const { result } = await this.queryLinked(set, key, nav, target, req.query);
      const uris = result.entities.map((e) => entityUri(serviceRoot, target, e));
      if (format === 'atom') {
        const headers = { 'content-type': 'application/xml;charset=utf-8', dataserviceversion: '2.0' };
        return { status: 200, headers, body: xmlLinksDocument(uris, result.count) };
      }
      return { status: 200, headers: jsonHeaders(), body: linksBody(uris, result.count) };
    }
    if (req.method === 'POST') {
      // apiref 206: the link target comes from the body; a key in the URL is an error.
      if (targetKey) throw new PersoniumError('PR400-OD-0010');
      const toKey = parseLinkUri(parseJsonObject(req.body).uri, serviceRoot, target);
      await this.store.withTransaction(async (store) => {
        const source = await this.mustGet(set, key, store);
        const other = await this.mustGetLinkTarget(target, toKey, store);
        await this.addLink(store, set, source, nav, other);
      });
      return { status: 204, headers: { dataserviceversion: '2.0' } };
    }
    if (!targetKey) throw new PersoniumError('PR400-OD-0011');
    if (req.method === 'DELETE') {
      await this.store.withTransaction(async (store) => {
        const source = await this.mustGet(set, key, store);
        const other = await this.mustGet(target, targetKey, store);
        await this.removeLink(store, set, source, nav, other);
      });
      return { status: 204, headers: { dataserviceversion: '2.0' } };
    }
    // PUT (apiref 208): move the link from the entity in the URL to the one in the body.
    const toKey = parseLinkUri(parseJsonObject(req.body).uri, serviceRoot, target);
    await this.store.withTransaction(async (store) => {
      const source = await this.mustGet(set, key, store);
      const old = await this.mustGet(target, targetKey, store);
      const replacement = await this.mustGetLinkTarget(target, toKey, store);
      const current = await this.removeLink(store, set, source, nav, old);
      await this.addLink(store, set, current, nav, replacement);
    });
    return { status: 204, headers: { dataserviceversion: '2.0' } };
  }

  /** Removes one link; 404 when the two are not linked. Returns the source as it is afterwards. */
  private async removeLink(
    store: EntityStore,
    set: EntitySetDescriptor,
    source: StoredEntity,
    nav: NavigationDef,
    other: StoredEntity,
  ): Promise<StoredEntity> {
    const ref = nav.reference;
    if (ref) {
      const [parent, child] = ref.role === 'parent' ? [source, other] : [other, source];
      const pointsAt = referencedKey(ref, child.props);
      const parentKey = ref.parentKeys.map((k) => (parent.props[k] ?? null) as KeyValue);
      if (!pointsAt || canonicalKey(pointsAt) !== canonicalKey(parentKey)) throw new PersoniumError('PR404-OD-0002');
      const childSet = this.options.sets.get(ref.role === 'parent' ? nav.target : set.name)!;
      // An ExtRole can't exist without its Relation: the reference is required, so it can only be moved.
      const firstProp = ref.childProps[0]!;
      if (childSet.properties.find((p) => p.name === firstProp)?.nullable === false) {
        throw new PersoniumError('PR400-OD-0009', [firstProp]);
      }
      try {
        const updated = await repointChild(store, childSet, child, ref, null);
        return ref.role === 'parent' ? source : updated;
      } catch (err) {
        throw translateStoreError(err);
      }
    }
    const [from, to] = nav.side === 'from' ? [source, other] : [other, source];
    if (!(await store.unlink(nav.association, from.id, to.id))) throw new PersoniumError('PR404-OD-0002');
    return source;
  }

  /** Adds one link, honouring the multiplicity of both ends of the association. */
  private async addLink(
    store: EntityStore,
    set: EntitySetDescriptor,
    source: StoredEntity,
    nav: NavigationDef,
    other: StoredEntity,
  ): Promise<void> {
    if (nav.reference) {
      const [parent, child] = nav.reference.role === 'parent' ? [source, other] : [other, source];
      const childSet = this.options.sets.get(nav.reference.role === 'parent' ? nav.target : set.name)!;
      if (referencedKey(nav.reference, child.props)) throw new PersoniumError('PR409-OD-0002');
      const parentKey = nav.reference.parentKeys.map((k) => (parent.props[k] ?? null) as KeyValue);
      try {
        await repointChild(store, childSet, child, nav.reference, parentKey);
      } catch (err) {
        throw translateStoreError(err);
      }
      return;
    }
    const [from, to] = nav.side === 'from' ? [source, other] : [other, source];
    const reverse = this.reverseOf(set, nav);
    if (nav.multiplicity !== '*' && (await store.countLinks(nav.association, source.id, nav.side)) > 0) {
      throw new PersoniumError('PR409-OD-0002');
    }
    if (reverse && reverse.multiplicity !== '*' && (await store.countLinks(nav.association, other.id, reverse.side)) > 0) {
      throw new PersoniumError('PR409-OD-0002');
    }
    try {
      await store.link(this.options.scope.cellId, nav.association, from.id, to.id);
    } catch (err) {
      if (err instanceof DuplicateKeyError) throw new PersoniumError('PR409-OD-0002', [], { cause: err });
      throw err;
    }
  }

  private async insert(set: EntitySetDescriptor, props: Record<string, unknown>, store = this.store): Promise<StoredEntity> {
    try {
      return await store.insert(this.options.scope, set.name, canonicalKey(keyValuesOf(set, props)), props);
    } catch (err) {
      throw translateStoreError(err);
    }
  }

  private created(set: EntitySetDescriptor, entity: StoredEntity, format: OutputFormat): ODataResponse {
    return this.entry(format, 201, { set, entity }, {
      location: entityUri(this.options.serviceRoot, set, entity),
      etag: formatEtag(entity.version, entity.updated),
    });
  }

  /** A list response (apiref 101 and the other List pages) in the chosen format. */
  private feed(format: OutputFormat, feed: AtomFeed): ODataResponse {
    if (format === 'atom') return { status: 200, headers: atomHeaders('feed'), body: atomFeedDocument(this.atomContext(), feed) };
    return { status: 200, headers: jsonHeaders(), body: feedBody(feed.entries.map((v) => this.toJson(v)), feed.count) };
  }

  /** A single-entity response (retrieve, create) in the chosen format. */
  private entry(format: OutputFormat, status: number, view: EntityView, headers: Record<string, string>): ODataResponse {
    if (format === 'atom') {
      return { status, headers: Object.assign(atomHeaders('entry'), headers), body: atomEntryDocument(this.atomContext(), view) };
    }
    return { status, headers: Object.assign(jsonHeaders(), headers), body: singleEntityBody(this.toJson(view)) };
  }

  private atomContext(): AtomContext {
    return { serviceRoot: this.options.serviceRoot, shapeOf: this.options.shapeOf };
  }

  /** JSON of an entity; expanded navigation properties replace their `__deferred` (apiref 405). */
  private toJson(view: EntityView): Record<string, unknown> {
    const json = entityToJson(this.options.serviceRoot, view.set, view.entity, view.select);
    for (const { nav, target, entities } of view.expanded ?? []) {
      const items = entities.map((e) => entityToJson(this.options.serviceRoot, target, e));
      json[nav.name] = nav.multiplicity === '*' ? items : (items[0] ?? null);
    }
    return json;
  }

  private async mustGet(set: EntitySetDescriptor, key: KeyValue[], store = this.store): Promise<StoredEntity> {
    const entity = await store.get(this.options.scope, set.name, canonicalKey(key));
    if (!entity) throw new PersoniumError('PR404-OD-0002');
    const restriction = this.options.restriction;
    if (restriction?.set === set.name && !restriction.allows(entity)) throw restriction.error();
    return entity;
  }

  /** A link body naming a missing entity is a bad request, not a missing resource (apiref 206). */
  private async mustGetLinkTarget(set: EntitySetDescriptor, key: KeyValue[], store: EntityStore): Promise<StoredEntity> {
    const entity = await store.get(this.options.scope, set.name, canonicalKey(key));
    if (!entity) throw new PersoniumError('PR400-OD-0024', [`${set.name}${formatKeyPredicate(set, key)}`]);
    return entity;
  }

  /** The navigation property of the other end of `nav`'s association, if it has one. */
  private reverseOf(set: EntitySetDescriptor, nav: NavigationDef): NavigationDef | undefined {
    return this.options.sets
      .get(nav.target)
      ?.navigations.find((n) => n.association === nav.association && n.side !== nav.side && n.target === set.name);
  }

  /** An entity with the related entities `$expand` asks for, ready for either writer. */
  private async view(
    set: EntitySetDescriptor,
    entity: StoredEntity,
    select: ReadonlySet<string> | undefined,
    expand: NavigationDef[],
    expandLimit: number,
  ): Promise<EntityView> {
    const expanded: NonNullable<EntityView['expanded']> = [];
    for (const nav of expand) {
      const target = this.options.sets.get(nav.target)!;
      // apiref 405: expanded entities come newest first; across a *:* association, newest link first.
      const manyToMany = nav.multiplicity === '*' && this.reverseOf(set, nav)?.multiplicity === '*';
      const related = await this.queryRelated(entity, nav, target, {
        top: expandLimit,
        skip: 0,
        count: false,
        orderBy: [{ expr: sql.ref('published'), direction: 'desc' }],
        newestLinkFirst: manyToMany,
      });
      expanded.push({ nav, target, entities: related.entities });
    }
    return { set, entity, select, expanded };
  }
}

/** Whether a MERGE body names a property whose sent members update the stored value (apiref 369). */
function mergesMembers(set: EntitySetDescriptor, raw: Record<string, unknown>): boolean {
  return set.properties.some((p) => p.mergeMembers && isPlainObject(raw[p.name]));
}

/** The MERGE body with each structured value laid over the stored one: unnamed members keep their values. */
function withMergedMembers(set: EntitySetDescriptor, raw: Record<string, unknown>, stored: Record<string, unknown>): Record<string, unknown> {
  const out = { ...raw };
  for (const p of set.properties) {
    const sent = raw[p.name];
    if (!p.mergeMembers || !isPlainObject(sent)) continue;
    const before = p.codec ? p.codec.write(stored[p.name] ?? null) : stored[p.name];
    if (isPlainObject(before)) out[p.name] = deepMerge(before, sent);
  }
  return out;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [name, value] of Object.entries(over)) {
    const under = base[name];
    out[name] = isPlainObject(value) && isPlainObject(under) ? deepMerge(under, value) : value;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function and(a: Expression<SqlBool>, b: Expression<SqlBool>): Expression<SqlBool> {
  return sql<SqlBool>`(${a}) and (${b})`;
}

function serverOwned(props: Record<string, unknown>): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(props)) if (name.startsWith('__')) kept[name] = value;
  return kept;
}

function translateStoreError(err: unknown): unknown {
  if (err instanceof DuplicateKeyError) return new PersoniumError('PR409-OD-0003', [], { cause: err });
  if (err instanceof VersionMismatchError) return new PersoniumError('PR412-OD-0002', [], { cause: err });
  return err;
}
