import { randomBytes } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { EntityStore } from '../../store/entity-store.js';
import type { PropertyIndexes } from '../../store/property-indexes.js';
import { HexabaseError } from '../errors.js';
import { ID_PATTERN, newId } from '../ids.js';
import { entitiesWhere } from '../model.js';
import { HISTORY_SET, ITEM_SET, type DatastoreContext, type DatastoreResolver } from '../items/context.js';
import { AUTONUM_SET, FILE_SET, UNIQUE_SET, counterScope, mayRun, retryRaces, type ItemFiles } from '../items/items.js';
import { BatchWriter, type Counts } from './batch.js';
import { mapHeader, readOptions, type Column, type ImportOptions } from './columns.js';
import { CsvFile, type CsvRow } from './csv-source.js';
import { HEARTBEAT_MS, MAX_ERRORS, type Job, type JobError, type JobStore } from './jobs.js';
import { RowReader, type RowValues } from './rows.js';
import { receiveForm } from './upload.js';

export const IMPORT_JOB = 'hx.import-items';

/** Rows per transaction: a few milliseconds of database time, so other requests wait little. */
const BATCH_ROWS = 1000;
/** Rows deleted per transaction when replace_all empties a datastore. */
const CLEAR_ROWS = 5000;
/** How often a checking pass (which writes nothing else) records its progress. */
const PROGRESS_MS = 1000;

export interface ItemImportsDeps {
  store: EntityStore;
  resolver: DatastoreResolver;
  jobs: JobStore;
  /** Where uploads wait for their job (a directory of the data dir; emptied at start-up). */
  dir: string;
  /** The largest file accepted (KURA_FILE_LIMIT). */
  maxBytes: number;
  /** Key fields get the property index searchable fields have (a key lookup per batch). */
  indexes?: PropertyIndexes | undefined;
  /** Attachments of items an import deletes go with them. */
  files?: ItemFiles | undefined;
}

/** A queued job's inputs; kept in memory by the process that runs it (jobs are not resumed). */
interface Work {
  jobId: string;
  userId: string;
  ctx: DatastoreContext;
  options: ImportOptions;
  columns: Column[];
  csv: CsvFile;
  detail: Record<string, unknown>;
}

/**
 * ImportItems and GetImportResults (items-import/). The upload is streamed to a temp file, its
 * form and header are checked (a refusal there is a 400 and changes nothing), and the answer
 * `{temp_datastore_id, stream_id}` goes out at once; the import then runs as a persisted job
 * (jobs.ts), one at a time per server, in transactions of BATCH_ROWS rows:
 *
 * - each row is a create, an update (the key field's value names a stored item) or a delete
 *   (`_delete_`), with CreateItem's and UpdateItem's value rules, required and unique checks
 *   (rows.ts, batch.ts); a row that fails them is reported with its line and skipped, unless
 *   `all_or_nothing` (kura) asks for a first pass that checks every row and imports nothing if any
 *   fails. That pass and the writing pass are separate: a row that a concurrent write makes
 *   invalid in between is reported, and the rows before it stay.
 * - `replace_all` empties the datastore (items, histories, unique values, attachments) first, in
 *   transactions of CLEAR_ROWS; `append` adds every row as a new item; `overwrite_autonumber`
 *   restarts the auto numbers at 1 (without it an auto-number cell keeps its value and an empty
 *   one draws the next number).
 * - `validate` is accepted and changes nothing: kura always converts and checks values, since an
 *   unconverted value could not be searched or sorted.
 * - items carry `created_by` / `updated_by` "IMPORT"; each item an import updates gets an
 *   `ImportItems` history listing the changes, items it creates get none (batch.ts says why).
 */
export class ItemImports {
  private queue: Promise<void> = Promise.resolve();
  /** Where a job that failed on the server's side is logged (the upload plugin sets Fastify's logger). */
  log: (err: unknown, jobId: string) => void = () => undefined;

  constructor(private readonly deps: ItemImportsDeps) {}

  /** At start-up: jobs a stopped server left are failed (jobs.ts), their uploads removed. */
  async prepare(): Promise<void> {
    const running = await this.deps.jobs.sweep();
    await fsp.mkdir(this.deps.dir, { recursive: true });
    for (const name of await fsp.readdir(this.deps.dir)) {
      if (!running.has(name.split('.')[0]!)) await fsp.rm(path.join(this.deps.dir, name), { force: true });
    }
  }

  /** ImportItems: `POST /api/v0/applications/:app-id/datastores/:datastore-id/import`. */
  async start(userId: string, appRef: string, datastoreRef: string, contentType: string | undefined, body: Readable | undefined) {
    const ctx = await this.deps.resolver.resolve(userId, appRef, datastoreRef);
    checkPrivileges(ctx);
    const jobId = newId();
    const form = await receiveForm(contentType, body, this.deps.dir, this.deps.maxBytes);
    const upload = form.file;
    try {
      if (!upload) throw new HexabaseError('INVALID_PARAMS', 'file is required (a form part named file, with a filename)');
      const stored = path.join(this.deps.dir, `${jobId}.csv`);
      await fsp.rename(upload.path, stored);
      upload.path = stored;
      const options = readOptions(form.fields, ctx.def, upload.filename);
      const csv = new CsvFile(upload.path, options.codec);
      const header = await csv.header();
      const columns = mapHeader(header, ctx.def, options);
      if (options.keyField && options.keyField !== 'i_id') await this.deps.indexes?.ensure([options.keyField.field_id]);
      const streamId = randomBytes(48).toString('base64url');
      const detail: Record<string, unknown> = {
        stream_id: streamId,
        filename: options.filename,
        size: upload.size,
        options: {
          key_field_displayid: options.keyField === 'i_id' ? 'i_id' : (options.keyField?.display_id ?? null),
          replace_all: options.replaceAll,
          append: options.append,
          overwrite_autonumber: options.overwriteAutonumber,
          all_or_nothing: options.allOrNothing,
          encoding: options.codec === 'utf8' ? 'utf-8' : 'shift_jis',
        },
        warnings: warnings(columns, options),
      };
      await this.deps.jobs.create({ id: jobId, kind: IMPORT_JOB, ownerId: userId, target: ctx.datastore.key, detail });
      const work: Work = { jobId, userId, ctx, options, columns, csv, detail };
      this.queue = this.queue.then(() => this.run(work));
      return { temp_datastore_id: jobId, stream_id: streamId };
    } catch (err) {
      if (upload) await fsp.rm(upload.path, { force: true });
      throw err;
    }
  }

  /**
   * GetImportResults: `GET /api/v0/datastores/:datastore-id/import/:temp-datastore-id`, for anyone
   * who may see the datastore. The page shows nothing on success and `{errors: [{description,
   * line}]}` on errors; kura answers the errors the same way and adds where the job stands
   * (`status` queued/running/done/failed, `processed` rows, `total` once known, counts).
   */
  async results(userId: string, datastoreRef: string, jobId: string) {
    const ctx = await this.deps.resolver.resolve(userId, undefined, datastoreRef);
    const job = ID_PATTERN.test(jobId) ? await this.deps.jobs.get(jobId) : undefined;
    if (!job || job.kind !== IMPORT_JOB || job.target !== ctx.datastore.key) throw new HexabaseError('NOT_FOUND', `no import ${jobId} of this datastore`);
    return answer(job);
  }

  private async run(work: Work): Promise<void> {
    const { jobs } = this.deps;
    const heartbeat = setInterval(() => void jobs.update(work.jobId, {}).catch(() => undefined), HEARTBEAT_MS);
    heartbeat.unref();
    let state = start();
    const report = (phase: string, s: RunState) => ({ ...progress(s), detail: { ...work.detail, phase, bytes: work.csv.bytesRead, ...s.counts } });
    try {
      await jobs.update(work.jobId, { status: 'running', detail: { ...work.detail, phase: work.options.allOrNothing ? 'checking' : 'importing' } });
      const reader = new RowReader(work.ctx, work.columns, work.options, this.deps.store);
      if (work.options.allOrNothing) {
        state = await this.checkAll(work, reader, (s) => jobs.update(work.jobId, report('checking', s)));
        if (state.errorCount > 0) {
          await jobs.update(work.jobId, { status: 'done', total: state.processed, ...report('checked', { ...state, counts: zero() }) });
          return;
        }
        await jobs.update(work.jobId, { total: state.processed });
        state = start();
      }
      await this.prepareTarget(work);
      const writer = new BatchWriter(work.ctx, work.options);
      const commit = async (rows: number, read: Converted) => {
        const { gone, next } = await retryRaces(() =>
          this.deps.store.withTransaction(async (trx) => {
            writer.reset();
            const plan = await writer.check(read.rows, trx);
            const gone = await writer.write(plan, trx, { userId: work.userId, jobId: work.jobId });
            const next = advance(state, rows, [...read.errors, ...plan.errors], plan.counts);
            // The progress commits with the rows it counts.
            await jobs.update(work.jobId, report('importing', next), trx);
            return { gone, next };
          }),
        );
        state = next;
        if (this.deps.files) for (const key of gone) await this.deps.files.removeForItem(key);
      };
      // The next batch is parsed and converted while the last one's commit waits for the disk.
      let committing: Promise<void> = Promise.resolve();
      for await (const batch of work.csv.rows(BATCH_ROWS)) {
        const read = await this.convert(reader, batch);
        await committing;
        committing = commit(batch.length, read);
        committing.catch(() => undefined); // awaited with the next batch or after the last
      }
      await committing;
      await jobs.update(work.jobId, { status: 'done', total: state.processed, ...report('done', state) });
    } catch (err) {
      const description = failure(err);
      if (description === undefined) this.log(err, work.jobId);
      state = advance(state, 0, [{ line: 0, description: description ?? `the import stopped on a server error (logged with job ${work.jobId})` }], zero());
      await jobs.update(work.jobId, { status: 'failed', ...report('failed', state) }).catch((e: unknown) => this.log(e, work.jobId));
    } finally {
      clearInterval(heartbeat);
      await fsp.rm(work.csv.path, { force: true }).catch(() => undefined);
    }
  }

  /** all_or_nothing's first pass: every row checked, nothing written. */
  private async checkAll(work: Work, reader: RowReader, report: (s: RunState) => Promise<void>): Promise<RunState> {
    const checker = new BatchWriter(work.ctx, work.options, work.options.replaceAll);
    let state = start();
    let reported = Date.now();
    for await (const batch of work.csv.rows(BATCH_ROWS)) {
      const read = await this.convert(reader, batch);
      const plan = await checker.check(read.rows, this.deps.store);
      checker.compact();
      state = advance(state, batch.length, [...read.errors, ...plan.errors], zero());
      if (Date.now() - reported > PROGRESS_MS) {
        reported = Date.now();
        await report(state);
      }
    }
    return state;
  }

  private async convert(reader: RowReader, batch: CsvRow[]): Promise<Converted> {
    const rows: RowValues[] = [];
    const errors: JobError[] = [];
    for (const row of batch) {
      const read = await reader.read(row);
      if ('description' in read) errors.push(read);
      else rows.push(read);
    }
    return { rows, errors };
  }

  /** replace_all and overwrite_autonumber, before the first row is written. */
  private async prepareTarget(work: Work): Promise<void> {
    const { store } = this.deps;
    const { ctx, options } = work;
    if (options.replaceAll) {
      await this.deps.jobs.update(work.jobId, { detail: { ...work.detail, phase: 'emptying the datastore' } });
      const hasFiles = ctx.def.fields.some((f) => f.dataType === 'file');
      const withFiles = hasFiles ? new Set((await entitiesWhere(store, FILE_SET, 'd_id', ctx.datastore.key)).map((f) => String(f.props.i_id))) : new Set<string>();
      const sets: Array<[{ cellId: string; boxId: string; nodeId?: string }, string]> = [
        [ctx.scope, ITEM_SET],
        [{ cellId: ctx.scope.cellId, boxId: ctx.datastore.key }, HISTORY_SET],
        [counterScope(ctx, 'unique'), UNIQUE_SET],
      ];
      for (const [where, set] of sets) {
        while ((await store.withTransaction((trx) => trx.deleteSet(where, set, CLEAR_ROWS))) > 0);
      }
      if (this.deps.files) for (const key of withFiles) await this.deps.files.removeForItem(key);
    }
    if (options.overwriteAutonumber) {
      await store.withTransaction(async (trx) => {
        for (const field of ctx.def.fields) {
          if (field.dataType !== 'autonum') continue;
          const counter = await trx.get(counterScope(ctx, 'autonum'), AUTONUM_SET, `${field.field_id}/`);
          if (counter) await trx.delete(counter);
        }
      });
    }
  }
}

/** A batch's rows as values, and the rows refused already. */
interface Converted {
  rows: RowValues[];
  errors: JobError[];
}

interface RunState {
  processed: number;
  /** The first MAX_ERRORS errors, in line order within each batch. */
  errors: JobError[];
  errorCount: number;
  counts: Counts;
}

const zero = (): Counts => ({ created: 0, updated: 0, deleted: 0 });
const start = (): RunState => ({ processed: 0, errors: [], errorCount: 0, counts: zero() });

/** The state after a batch of `rows` rows (left as it was: a batch that did not commit leaves no trace). */
function advance(state: RunState, rows: number, errors: JobError[], counts: Counts): RunState {
  const room = Math.max(0, MAX_ERRORS - state.errors.length);
  const added = errors.length > 0 ? [...errors].sort((a, b) => a.line - b.line).slice(0, room) : [];
  return {
    processed: state.processed + rows,
    errors: added.length > 0 ? [...state.errors, ...added] : state.errors,
    errorCount: state.errorCount + errors.length,
    counts: { created: state.counts.created + counts.created, updated: state.counts.updated + counts.updated, deleted: state.counts.deleted + counts.deleted },
  };
}

function progress(state: RunState) {
  return { processed: state.processed, errors: state.errors, errorCount: state.errorCount };
}

/** An import creates, updates and deletes items: the caller must be allowed the datastore's actions of those kinds. */
function checkPrivileges(ctx: DatastoreContext): void {
  for (const crud of ['1', '2', '3'] as const) {
    const action = ctx.def.actions.find((a) => a.crud_type === crud);
    if (action && !mayRun(ctx, action)) {
      throw new HexabaseError('NO_PRIVILEGES', `importing needs the ${action.display_id} action of datastore ${String(ctx.datastore.props.display_id)}, which the user may not run`);
    }
  }
}

/** Job-level notes (line 1: the header) on columns the import reads but does not apply. */
function warnings(columns: Column[], options: ImportOptions): JobError[] {
  const out: JobError[] = [];
  if (columns.some((c) => c.kind === 'group')) out.push({ line: 1, description: '_group_id_ is ignored: this server does not keep group access keys on items yet' });
  if (columns.some((c) => c.kind === 'item_id') && options.keyField !== 'i_id') out.push({ line: 1, description: 'the i_id column is ignored (it is the key only with key_field_displayid=i_id)' });
  return out;
}

function answer(job: Job) {
  const detail = job.detail;
  const size = Number(detail.size ?? 0);
  const result: Record<string, unknown> = {
    status: job.status,
    processed: job.processed,
    total: job.total,
    progress: job.status === 'done' ? 100 : size > 0 ? Math.min(99, Math.floor((Number(detail.bytes ?? 0) / size) * 100)) : 0,
    created: Number(detail.created ?? 0),
    updated: Number(detail.updated ?? 0),
    deleted: Number(detail.deleted ?? 0),
  };
  const warnings = detail.warnings as JobError[] | undefined;
  if (warnings && warnings.length > 0) result.warnings = warnings;
  if (job.errorCount > 0) Object.assign(result, { errors: job.errors.map((e) => ({ description: e.description, line: e.line })), error_count: job.errorCount });
  return result;
}

/** What a client may read of why a job stopped: its own file's faults; undefined for the server's (logged, not shown). */
function failure(err: unknown): string | undefined {
  if (err instanceof HexabaseError) return err.message;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('CSV_')) return `the file is not valid CSV: ${(err as Error).message}`;
  return undefined;
}

