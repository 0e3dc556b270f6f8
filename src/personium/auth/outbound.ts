import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

export class OutboundError extends Error {}

export interface OutboundOptions {
  /** Let requests reach private, loopback and link-local addresses (a unit federating on a LAN). */
  allowPrivate: boolean;
  /** Host names that are always allowed whatever they resolve to (the unit's own). */
  trustedHosts: string[];
  timeoutMs?: number;
  maxBytes?: number;
}

/**
 * The one HTTP client for URLs that come from users (another unit's `__certs`, relayed pages):
 * http(s) only, bounded in time and size, and — unless configured otherwise — never towards
 * private, loopback or link-local addresses. The address check runs inside the socket's DNS
 * lookup, so the address that was checked is the address connected to (no DNS rebinding).
 */
export class OutboundClient {
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly trusted: Set<string>;

  constructor(private readonly options: OutboundOptions) {
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.maxBytes = options.maxBytes ?? 256 * 1024;
    this.trusted = new Set(options.trustedHosts.map((h) => h.toLowerCase()));
  }

  async getJson(target: string): Promise<unknown> {
    const body = await this.get(target, 'application/json');
    try {
      return JSON.parse(body.toString('utf8'));
    } catch {
      throw new OutboundError(`${target} did not answer JSON`);
    }
  }

  get(target: string, accept: string): Promise<Buffer> {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      return Promise.reject(new OutboundError(`not a URL: ${target}`));
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return Promise.reject(new OutboundError(`scheme ${url.protocol} refused`));
    }
    const checkAddresses = !this.options.allowPrivate && !this.trusted.has(url.host.toLowerCase());
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    if (checkAddresses && ipaddr.isValid(literal) && !isPublic(literal)) {
      return Promise.reject(new OutboundError(`address ${literal} refused`));
    }
    const lookup: LookupFunction = (hostname, opts, callback) => {
      dns.lookup(hostname, { ...opts, all: true }, (err, addresses) => {
        if (err) return callback(err, '', 0);
        const list = addresses as dns.LookupAddress[];
        const allowed = checkAddresses ? list.filter((a) => isPublic(a.address)) : list;
        if (allowed.length === 0) return callback(new OutboundError(`${hostname} resolves to no allowed address`), '', 0);
        if ((opts as { all?: boolean }).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, allowed);
        callback(null, allowed[0]!.address, allowed[0]!.family);
      });
    };
    const client = url.protocol === 'https:' ? https : http;
    return new Promise<Buffer>((resolve, reject) => {
      const req = client.get(url, { headers: { accept }, lookup, timeout: this.timeoutMs }, (res) => {
        if ((res.statusCode ?? 0) >= 300) {
          res.resume();
          return reject(new OutboundError(`${target} answered ${res.statusCode}`));
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > this.maxBytes) {
            req.destroy(new OutboundError(`${target} answered more than ${this.maxBytes} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve(Buffer.concat(chunks)));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new OutboundError(`${target} timed out`)));
      req.on('error', (err) => reject(err instanceof OutboundError ? err : new OutboundError(err.message)));
    });
  }
}

function isPublic(address: string): boolean {
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  return parsed.range() === 'unicast';
}
