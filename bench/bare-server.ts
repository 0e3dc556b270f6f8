/**
 * The physical limit kura is measured against: node:http + better-sqlite3 with the same
 * durability settings (WAL, synchronous=FULL), no framework, no OData, no JSON documents.
 * Usage: node --import tsx bench/bare-server.ts <dataDir> <token>; prints {"port":N} when listening.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';

const [dataDir = '.', token = 'bench-master-token'] = process.argv.slice(2);
const db = new Database(path.join(dataDir, 'bare.sqlite'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('foreign_keys = ON');
db.exec(`create table if not exists cells (
  id text primary key, name text unique not null, published integer not null, updated integer not null)`);

// The user-data equivalent (issue 5): a table with typed columns and an index on the filtered one.
db.exec(`create table if not exists sales (
  id text primary key, title text not null, amount integer not null, published integer not null, updated integer not null);
  create index if not exists sales_title on sales (title)`);
const insertSale = db.prepare('insert into sales (id, title, amount, published, updated) values (?, ?, ?, ?, ?)');
const saleById = db.prepare('select id, title, amount, published, updated from sales where id = ?');
const salesByTitle = db.prepare('select id, title, amount, published, updated from sales where title = ? order by amount desc limit ?');
type Sale = { id: string; title: string; amount: number; published: number; updated: number };
const saleJson = (r: Sale) => ({
  __metadata: { uri: `http://bare/bench/box/odata/Sales('${r.id}')`, type: 'UserData.Sales' },
  __id: r.id,
  title: r.title,
  amount: r.amount,
  __published: `/Date(${r.published})/`,
  __updated: `/Date(${r.updated})/`,
});

function readJson(req: http.IncomingMessage, done: (body: Record<string, unknown> | undefined) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    try {
      done(JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>);
    } catch {
      done(undefined);
    }
  });
}

function sales(req: http.IncomingMessage, res: http.ServerResponse, url: URL): boolean {
  if (url.pathname === '/bench/box/odata/Sales' && req.method === 'POST') {
    readJson(req, (body) => {
      if (!body || typeof body.title !== 'string' || typeof body.amount !== 'number') return send(res, 400, { code: 'bad body' });
      const now = Date.now();
      const row = { id: typeof body.__id === 'string' ? body.__id : randomUUID().replace(/-/g, ''), title: body.title, amount: body.amount, published: now, updated: now };
      try {
        insertSale.run(row.id, row.title, row.amount, row.published, row.updated);
      } catch {
        return send(res, 409, { code: 'exists' });
      }
      send(res, 201, { d: { results: saleJson(row) } });
    });
    return true;
  }
  if (req.method !== 'GET') return false;
  const one = /^\/bench\/box\/odata\/Sales\('([^']+)'\)$/.exec(url.pathname);
  if (one) {
    const row = saleById.get(one[1]) as Sale | undefined;
    row ? send(res, 200, { d: { results: saleJson(row) } }) : send(res, 404, { code: 'not found' });
    return true;
  }
  if (url.pathname === '/bench/box/odata/Sales') {
    // Only the query the benchmark sends: title eq '…', ordered by amount descending.
    const title = /^title eq '([^']*)'$/.exec(url.searchParams.get('$filter') ?? '')?.[1] ?? '';
    const rows = salesByTitle.all(title, Number(url.searchParams.get('$top') ?? 25)) as Sale[];
    send(res, 200, { d: { results: rows.map(saleJson) } });
    return true;
  }
  return false;
}

// The Hexabase equivalent (issue 6): items with typed columns, an index on the searched one.
db.exec(`create table if not exists items (
  id text primary key, title text not null, amount integer not null, rev_no integer not null, published integer not null, updated integer not null);
  create index if not exists items_title on items (title)`);
const insertItem = db.prepare('insert into items (id, title, amount, rev_no, published, updated) values (?, ?, ?, 1, ?, ?)');
const itemsByTitle = db.prepare('select id, title, amount, rev_no, published, updated from items where title = ? order by published, id limit ?');
const countByTitle = db.prepare('select count(*) as n from items where title = ?');
type Item = { id: string; title: string; amount: number; rev_no: number; published: number; updated: number };
const iso = (ms: number) => new Date(ms).toISOString();

const updateItem = db.prepare('update items set amount = ?, rev_no = rev_no + 1, updated = ? where id = ?');

function items(req: http.IncomingMessage, res: http.ServerResponse, url: URL): boolean {
  if (req.method !== 'POST') return false;
  const withId = /^\/api\/v0\/items\/([0-9a-f]{24})\/new-actions\/[^/]+$/.exec(url.pathname);
  if (url.pathname.endsWith('/items/new') || withId) {
    readJson(req, (body) => {
      const item = body?.item as { title?: unknown; amount?: unknown } | undefined;
      if (!item || typeof item.title !== 'string' || typeof item.amount !== 'number') return send(res, 400, { error: 'bad body', error_code: 'INVALID_PARAMS' });
      const now = Date.now();
      const id = withId?.[1] ?? randomUUID().replace(/-/g, '').slice(0, 24);
      insertItem.run(id, item.title, item.amount, now, now);
      send(res, 200, { error: null, history_id: '', item_id: id });
    });
    return true;
  }
  const action = /\/items\/action\/([0-9a-f]{24})\/[^/]+$/.exec(url.pathname);
  if (action) {
    readJson(req, (body) => {
      const item = body?.item as { amount?: unknown } | undefined;
      if (!item || typeof item.amount !== 'number') return send(res, 400, { error: 'bad body', error_code: 'INVALID_PARAMS' });
      const changed = updateItem.run(item.amount, Date.now(), action[1]);
      changed.changes === 1 ? send(res, 200, null) : send(res, 404, { error: 'not found', error_code: 'NOT_FOUND' });
    });
    return true;
  }
  if (url.pathname.endsWith('/items/search')) {
    readJson(req, (body) => {
      const cond = (body?.conditions as Array<{ search_value: string[] }> | undefined)?.[0];
      const title = cond?.search_value[0] ?? '';
      const rows = itemsByTitle.all(title, Number(body?.per_page ?? 20)) as Item[];
      const total = (countByTitle.get(title) as { n: number }).n;
      send(res, 200, {
        items: rows.map((r) => ({ title: r.title, amount: String(r.amount), created_at: iso(r.published), i_id: r.id, rev_no: String(r.rev_no) })),
        totalItems: total,
      });
    });
    return true;
  }
  return false;
}

const insert = db.prepare('insert into cells (id, name, published, updated) values (?, ?, ?, ?)');
const byName = db.prepare('select id, name, published, updated from cells where name = ?');
const byPrefix = db.prepare('select id, name, published, updated from cells where name >= ? and name < ? order by published limit ?');
const NAME = /^[a-z0-9][a-z0-9-]{0,127}$/;

type Row = { id: string; name: string; published: number; updated: number };
const asJson = (r: Row) => ({ Name: r.name, __published: `/Date(${r.published})/`, __updated: `/Date(${r.updated})/` });

function send(res: http.ServerResponse, status: number, body?: unknown): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

// WebDAV equivalents (issue 4): a 4 KiB file held in memory, durable PUTs, and a stat loop over 1,000 files.
const FILE_4K = Buffer.alloc(4096, 'k');
const davDir = path.join(dataDir, 'dav');
const bigDir = path.join(davDir, 'big');
const putDir = path.join(davDir, 'put');
fs.mkdirSync(bigDir, { recursive: true });
fs.mkdirSync(putDir, { recursive: true });
for (let i = 0; i < 1000; i++) fs.writeFileSync(path.join(bigDir, `f${i}.txt`), FILE_4K);

const xmlEscape = (s: string) => s.replace(/[&<>]/g, (c) => `&#${c.charCodeAt(0)};`);

function durablePut(req: http.IncomingMessage, res: http.ServerResponse, name: string): void {
  const temp = path.join(putDir, `.${randomUUID()}`);
  const out = fs.createWriteStream(temp);
  req.pipe(out);
  out.on('finish', () => {
    const fd = fs.openSync(temp, 'r+');
    fs.fsync(fd, () => {
      fs.closeSync(fd);
      fs.rename(temp, path.join(putDir, name), () => {
        const dir = fs.openSync(putDir, 'r');
        fs.fsync(dir, () => {
          fs.closeSync(dir);
          res.writeHead(201, { etag: `"1-${Date.now()}"` }).end();
        });
      });
    });
  });
}

function statLoop(res: http.ServerResponse): void {
  fs.readdir(bigDir, (err, names) => {
    if (err) return send(res, 500);
    let pending = names.length;
    const parts: string[] = new Array(names.length);
    names.forEach((name, i) => {
      fs.stat(path.join(bigDir, name), (_e, st) => {
        parts[i] = `<response><href>/bench/box/big/${xmlEscape(name)}</href><propstat><prop><creationdate>${st.birthtime.toISOString()}</creationdate><getlastmodified>${st.mtime.toUTCString()}</getlastmodified><getcontentlength>${st.size}</getcontentlength><resourcetype/></prop><status>HTTP/1.1 200 OK</status></propstat></response>`;
        if (--pending === 0) {
          const body = `<?xml version="1.0" encoding="utf-8"?><multistatus xmlns="DAV:">${parts.join('')}</multistatus>`;
          res.writeHead(207, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) }).end(body);
        }
      });
    });
  });
}

const server = http.createServer((req, res) => {
  if (req.headers.authorization !== `Bearer ${token}`) return send(res, 401, { code: 'unauthorized' });
  const url = new URL(req.url ?? '/', 'http://bare/');
  if (url.pathname === '/bench/box/file4k' && req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': FILE_4K.length, etag: '"1-1"' });
    return void res.end(FILE_4K);
  }
  const put = /^\/bench\/box\/put\d+\/([^/]+)$/.exec(url.pathname);
  if (put && req.method === 'PUT') return durablePut(req, res, put[1]!);
  if (url.pathname.startsWith('/bench/box/odata/') && sales(req, res, url)) return;
  if (url.pathname.startsWith('/api/v0/') && items(req, res, url)) return;
  const method = req.headers['x-http-method-override'] ?? req.method;
  if (url.pathname === '/bench/box/big' && method === 'PROPFIND') return statLoop(res);
  if (req.method === 'POST' && url.pathname === '/__ctl/Cell') {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let name: unknown;
      try {
        name = JSON.parse(Buffer.concat(chunks).toString()).Name;
      } catch {
        return send(res, 400, { code: 'bad json' });
      }
      if (typeof name !== 'string' || !NAME.test(name)) return send(res, 400, { code: 'bad name' });
      const now = Date.now();
      const row = { id: randomUUID(), name, published: now, updated: now };
      try {
        insert.run(row.id, row.name, row.published, row.updated);
      } catch {
        return send(res, 409, { code: 'exists' });
      }
      send(res, 201, { d: { results: asJson(row) } });
    });
    return;
  }
  if (req.method === 'GET') {
    const one = /^\/__ctl\/Cell\('([a-z0-9-]+)'\)$/.exec(url.pathname);
    if (one) {
      const row = byName.get(one[1]) as Row | undefined;
      return row ? send(res, 200, { d: { results: asJson(row) } }) : send(res, 404, { code: 'not found' });
    }
    if (url.pathname === '/__ctl/Cell') {
      // Only the filter form the benchmark sends: startswith(Name,'prefix').
      const prefix = /^startswith\(Name,'([a-z0-9-]*)'\)$/.exec(url.searchParams.get('$filter') ?? '')?.[1] ?? '';
      const top = Number(url.searchParams.get('$top') ?? 25);
      // A prefix as an index range: the last character plus one bounds it (ASCII names here).
      const upper = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
      const rows = byPrefix.all(prefix, upper, top) as Row[];
      return send(res, 200, { d: { results: rows.map(asJson) } });
    }
  }
  send(res, 404, { code: 'not found' });
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
});
const stop = () => server.close(() => { db.close(); process.exit(0); });
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
