import { once } from 'node:events';
import type { ReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { EntityStore, StoredEntity } from '../../store/entity-store.js';
import { BlobTooLargeError, type BlobStore } from '../../store/blob-store.js';
import { PropertyIndexes } from '../../store/property-indexes.js';
import type { Database } from '../../store/schema.js';
import type { Applications } from '../applications/applications.js';
import type { FieldDef } from '../applications/datastores.js';
import { HexabaseError } from '../errors.js';
import { ID_PATTERN, newId } from '../ids.js';
import { HX_SCOPE, entitiesWhere } from '../model.js';
import { receiveStreamedForm } from '../http/form-data.js';

/** One entity per uploaded attachment, keyed by its file id (the item code reads it by that key). */
export const FILE_SET = 'hx.File';

/** The path GetFile answers on, below the server root. */
export const FILE_URL_PREFIX = '/api/v0/files/';

const FILENAME_MAX = 255;

/**
 * A file as GetItemDetails shows it in a file field (research notes §5, the item-details sample).
 * A type rather than an interface, so that it is also a Record<string, unknown> (the renderer's view).
 */
export type FileObject = {
  _id: string;
  contentType: string;
  created_at: string;
  d_id: string;
  datastore_id: string;
  deleted: false;
  field_id: string;
  file_id: string;
  filename: string;
  filepath: string;
  i_id: string;
  item_id: string;
  mediaLink: string;
  name: string;
  p_id: string;
  selfLink: string;
  size: number;
  timeCreated: string;
  updated: string;
  user_id: string;
  w_id: string;
};

/** A stored file ready to be sent: its headers' values and a stream of its bytes. */
export interface FileDownload {
  contentType: string;
  size: number;
  filename: string;
  body: ReadStream;
}

export interface FilesOptions {
  store: EntityStore;
  blobs: BlobStore;
  applications: Applications;
  /** The largest attachment in bytes (the WebDAV file limit, KURA_FILE_LIMIT). */
  maxBytes: number;
}

/** Where an upload goes: resolved from the URL and the form's text parts, access checked. */
interface Target {
  app: StoredEntity;
  datastore: StoredEntity;
  field: FieldDef;
}

const invalid = (message: string, status?: number) => new HexabaseError('INVALID_PARAMS', message, status);
const noSuchFile = () => new HexabaseError('NOT_FOUND', 'no such file');

/**
 * Item attachments (spec: item-files/UploadFile, GetFile, DeleteFile). An upload streams into the
 * blob store — never into memory — and is recorded as an `hx.File` entity; it is attached to the
 * item by a later item write naming its file id (the item code checks that it belongs to the
 * item and field). Whoever may see the application may upload, read and delete its files; to
 * anyone else a file is not there (NOT_FOUND).
 */
export class Files {
  private readonly store: EntityStore;
  private readonly blobs: BlobStore;
  private readonly applications: Applications;
  private readonly maxBytes: number;

  constructor(options: FilesOptions) {
    ({ store: this.store, blobs: this.blobs, applications: this.applications, maxBytes: this.maxBytes } = options);
  }

  /** The index that keeps removeForItem from reading every file (call once at start-up). */
  async prepare(): Promise<void> {
    await new PropertyIndexes(this.store.executor as Kysely<Database>, this.store.dialect).ensure(['i_id']);
  }

  /**
   * UploadFile: `POST /api/v0/items/:item-id/fields/:field-id/attachments`, multipart/form-data
   * with `application_id`, `datastore_id` (internal or display ids), `filename` and `file`.
   * The item need not exist yet (CreateNewItemID → UploadFile → CreateItemWithItemID). When the
   * two ids come before the file part, as in the page's sample, they are checked before a byte is
   * stored; otherwise the file is stored first and removed if the check then fails. A body over
   * the limit is refused with 413 and leaves nothing behind.
   */
  async upload(userId: string, itemId: string, fieldRef: string, contentType: string | undefined, body: Readable | undefined): Promise<{ file_id: string }> {
    if (!ID_PATTERN.test(itemId)) throw invalid('item-id is 24 hexadecimal digits');
    const form = await receiveStreamedForm(
      contentType,
      body,
      async (stream, info, fields) => {
        // When the ids came before the file part (as in the page's sample) they are checked first.
        const early = fields.has('application_id') && fields.has('datastore_id') ? this.target(userId, fieldRef, new Map(fields)) : undefined;
        const target = early ? await early : undefined;
        try {
          const blob = await this.blobs.put(stream, this.maxBytes);
          return { blob, target, mimeType: info.mimeType, partFilename: info.filename };
        } catch (err) {
          throw err instanceof BlobTooLargeError ? invalid(`the file is larger than ${this.maxBytes} bytes`, 413) : err;
        }
      },
      (file) => this.blobs.remove(file.blob.id),
    );
    if (!form.file) throw invalid('the file part is missing (a form part named file, with a filename)');
    const received = { ...form.file, fields: form.fields };
    const { blob } = received;
    try {
      const target = received.target ?? (await this.target(userId, fieldRef, received.fields));
      const filename = checkFilename(received.fields.get('filename') || received.partFilename);
      const id = newId();
      await this.store.insert(HX_SCOPE, FILE_SET, id, {
        i_id: itemId,
        field_id: target.field.field_id,
        d_id: target.datastore.key,
        p_id: target.app.key,
        w_id: String(target.app.props.w_id),
        filename,
        contentType: received.mimeType || 'application/octet-stream',
        size: blob.size,
        sha256: blob.sha256,
        blob: blob.id,
        user_id: userId,
        created_at: new Date().toISOString(),
      });
      return { file_id: id };
    } catch (err) {
      await this.blobs.remove(blob.id).catch(() => undefined);
      throw err;
    }
  }

  /** GetFile: the file's bytes, for a caller who may see its application. */
  async download(userId: string, fileId: string): Promise<FileDownload> {
    const file = await this.visibleFile(userId, fileId);
    const body = this.blobs.read(String(file.props.blob));
    try {
      await once(body, 'open');
    } catch {
      // Deleted between reading its entity and opening its body.
      body.destroy();
      throw noSuchFile();
    }
    return {
      contentType: String(file.props.contentType),
      size: Number(file.props.size),
      filename: String(file.props.filename),
      body,
    };
  }

  /** DeleteFile: a file of that item and field (else NOT_FOUND), with its body. */
  async remove(userId: string, itemId: string, fieldRef: string, fileId: string): Promise<null> {
    const file = await this.visibleFile(userId, fileId);
    if (file.props.i_id !== itemId) throw noSuchFile();
    if (file.props.field_id !== fieldRef) {
      // The field may be named by display id too, as on upload.
      const datastore = await this.datastoreOf(file);
      const field = (datastore?.props.fields as FieldDef[] | undefined)?.find((f) => f.display_id === fieldRef);
      if (!field || field.field_id !== file.props.field_id) throw noSuchFile();
    }
    if (!(await this.store.delete(file))) throw noSuchFile();
    await this.blobs.remove(String(file.props.blob)).catch(() => undefined);
    return null;
  }

  /**
   * The file objects of a file field's value, in the order given, once each; ids of files that
   * are gone (or are no file ids at all) are left out. No access check: the caller shows an item
   * it has already checked.
   */
  async describe(fileIds: string[]): Promise<FileObject[]> {
    const out: FileObject[] = [];
    for (const id of new Set(fileIds)) {
      if (!ID_PATTERN.test(id)) continue;
      const file = await this.store.get(HX_SCOPE, FILE_SET, id);
      if (file) out.push(toFileObject(file));
    }
    return out;
  }

  /** Removes every file uploaded for an item (the item is being deleted), entities then bodies. */
  async removeForItem(itemId: string): Promise<void> {
    const files = await entitiesWhere(this.store, FILE_SET, 'i_id', itemId);
    const removed: string[] = [];
    for (const file of files) if (await this.store.delete(file)) removed.push(String(file.props.blob));
    await this.blobs.removeAll(removed);
  }

  /** The file `fileId` if the caller may see its application and its datastore still exists. */
  private async visibleFile(userId: string, fileId: string): Promise<StoredEntity> {
    const file = ID_PATTERN.test(fileId) ? await this.store.get(HX_SCOPE, FILE_SET, fileId) : undefined;
    if (!file) throw noSuchFile();
    try {
      await this.applications.visible(userId, String(file.props.p_id));
    } catch (err) {
      if (err instanceof HexabaseError && err.code === 'NOT_FOUND') throw noSuchFile();
      throw err;
    }
    if (!(await this.datastoreOf(file))) throw noSuchFile();
    return file;
  }

  private async datastoreOf(file: StoredEntity): Promise<StoredEntity | undefined> {
    const datastores = await this.applications.datastoresOf(String(file.props.p_id));
    return datastores.find((d) => d.key === file.props.d_id);
  }

  /** The application, datastore and file field an upload names, or why it cannot go there. */
  private async target(userId: string, fieldRef: string, fields: Map<string, string>): Promise<Target> {
    const appRef = fields.get('application_id')?.trim();
    const datastoreRef = fields.get('datastore_id')?.trim();
    if (!appRef) throw invalid('application_id is required');
    if (!datastoreRef) throw invalid('datastore_id is required');
    const app = await this.applications.visible(userId, appRef);
    const datastores = await this.applications.datastoresOf(app.key);
    const datastore = datastores.find((d) => d.key === datastoreRef) ?? datastores.find((d) => d.props.display_id === datastoreRef);
    if (!datastore) throw new HexabaseError('NOT_FOUND', 'no such datastore');
    const defs = datastore.props.fields as FieldDef[];
    const field = defs.find((f) => f.field_id === fieldRef) ?? defs.find((f) => f.display_id === fieldRef);
    if (!field) throw invalid(`the datastore has no field ${fieldRef}`);
    if (field.dataType !== 'file') throw invalid(`field ${field.display_id} is no file field (it is ${field.dataType})`);
    return { app, datastore, field };
  }
}

/** The object GetItemDetails shows for a file (paths after the item-details sample: datastore/item/field/name). */
export function toFileObject(file: StoredEntity): FileObject {
  const p = file.props;
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  const filepath = `${str(p.d_id)}/${str(p.i_id)}/${str(p.field_id)}/${str(p.filename)}`;
  const link = `${FILE_URL_PREFIX}${file.key}`;
  return {
    _id: file.key,
    contentType: str(p.contentType),
    created_at: str(p.created_at),
    d_id: str(p.d_id),
    datastore_id: str(p.d_id),
    deleted: false,
    field_id: str(p.field_id),
    file_id: file.key,
    filename: str(p.filename),
    filepath,
    i_id: str(p.i_id),
    item_id: str(p.i_id),
    mediaLink: link,
    name: filepath,
    p_id: str(p.p_id),
    selfLink: link,
    size: Number(p.size ?? 0),
    timeCreated: str(p.created_at),
    updated: str(p.created_at),
    user_id: str(p.user_id),
    w_id: str(p.w_id),
  };
}

/** An attachment name: any text but control characters, at most 255 characters. */
function checkFilename(value: string | undefined): string {
  const name = value?.trim();
  if (!name) throw invalid('filename is required');
  if ([...name].length > FILENAME_MAX) throw invalid(`filename has at most ${FILENAME_MAX} characters`);
  if (/[\u0000-\u001f\u007f]/.test(name)) throw invalid('filename holds a control character');
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(name)) throw invalid('filename is not valid Unicode');
  return name;
}

/**
 * `Content-Disposition: attachment` with the name twice (RFC 6266): an ASCII stand-in for old
 * clients and the exact name as RFC 5987 `filename*` (UTF-8, percent-encoded but for attr-chars).
 */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const encoded = encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
