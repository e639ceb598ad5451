// Writes each CDR exactly once: to the Redis stream (system of record, consumed by billing and
// ops) and to daily files in Beijing time, cdr-YYYY-MM-DD.jsonl (query) and .csv (export).
//
// Idempotent by cdrId: a Lua script sets a marker (SET NX EX) and XADDs in one step, so a retried
// write after a crash or a double hang-up path cannot produce a second record. The marker shares
// the stream's hash slot ({<stream>}:seen:<id>), so the script is valid on Redis Cluster.
// A CDR is filed by the Beijing date of its INVITE, so a call crossing midnight stays in the file
// of the day it was placed, and queries by invite time read exactly the files of their days.
// If a file append fails after the stream write, write() rejects (the CDR is safe in the stream);
// retrying is then a no-op, so the files must be rebuilt from the stream for that day.
// Several instances sharing one directory is not supported: give each instance its own directory.
import { appendFile, mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import { CSV_HEADER, cdrToCsvRow } from './csv.js';
import { validateCdr, type Cdr } from './model.js';
import { BEIJING, zonedDate } from './time.js';

export interface CdrWriterOptions {
  redis: Redis | Cluster;
  /** Directory of the daily files. */
  dir: string;
  stream?: string;
  /** Approximate stream cap (XADD MAXLEN ~). Default 10,000,000. */
  maxLen?: number;
  /** How long a cdrId is remembered for de-duplication. Default 30 days. */
  markerTtlSeconds?: number;
  timeZone?: string;
}

// KEYS: stream, marker. ARGV: ttl, maxLen, cdrId, tenant, json.
const WRITE_ONCE_LUA = `
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then return false end
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'cdrId', ARGV[3], 'tenant', ARGV[4], 'json', ARGV[5])
`;

export function cdrFileName(inviteAt: number, ext: 'jsonl' | 'csv', timeZone = BEIJING): string {
  return `cdr-${zonedDate(inviteAt, timeZone)}.${ext}`;
}

export class CdrWriter {
  private readonly stream: string;
  private readonly maxLen: number;
  private readonly ttl: number;
  private readonly tz: string;
  /** One promise chain per file: appends never interleave and keep their order. */
  private readonly queues = new Map<string, Promise<void>>();
  /** Files whose header / trailing newline have been checked by this process. */
  private readonly ready = new Set<string>();
  private dirReady = false;

  constructor(private readonly opts: CdrWriterOptions) {
    this.stream = opts.stream ?? 'dialgate:cdr';
    this.maxLen = opts.maxLen ?? 10_000_000;
    this.ttl = opts.markerTtlSeconds ?? 30 * 86_400;
    this.tz = opts.timeZone ?? BEIJING;
  }

  /** 'duplicate' when this cdrId was already written (nothing is written again). */
  async write(cdr: Cdr): Promise<'written' | 'duplicate'> {
    validateCdr(cdr);
    const json = JSON.stringify(cdr);
    const id = await this.opts.redis.eval(WRITE_ONCE_LUA, 2, this.stream, markerKey(this.stream, cdr.cdrId),
      this.ttl, this.maxLen, cdr.cdrId, cdr.tenant ?? '', json);
    if (id === null) return 'duplicate';
    await Promise.all([
      this.append(cdrFileName(cdr.inviteAt, 'jsonl', this.tz), `${json}\n`, ''),
      this.append(cdrFileName(cdr.inviteAt, 'csv', this.tz), cdrToCsvRow(cdr), CSV_HEADER),
    ]);
    return 'written';
  }

  /** Resolves when every queued append has finished (for shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.queues.values()]);
  }

  private append(name: string, data: string, header: string): Promise<void> {
    const path = join(this.opts.dir, name);
    const task = async () => {
      if (!this.dirReady) { await mkdir(this.opts.dir, { recursive: true }); this.dirReady = true; }
      let prefix = '';
      if (!this.ready.has(path)) {
        prefix = await this.startOf(path, header);
        this.ready.add(path);
      }
      await appendFile(path, prefix + data, 'utf8');
    };
    const prev = this.queues.get(path) ?? Promise.resolve();
    const run = prev.then(task);
    const tail = run.catch(() => undefined);
    this.queues.set(path, tail);
    void tail.then(() => { if (this.queues.get(path) === tail) this.queues.delete(path); });
    return run;
  }

  /** Header for a new file; a newline if a crash left the last line unterminated. */
  private async startOf(path: string, header: string): Promise<string> {
    let fh;
    try {
      fh = await open(path, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return header;
      throw err;
    }
    try {
      const { size } = await fh.stat();
      if (size === 0) return header;
      const last = Buffer.alloc(1);
      await fh.read(last, 0, 1, size - 1);
      return last[0] === 0x0a ? '' : header.endsWith('\r\n') ? '\r\n' : '\n';
    } finally {
      await fh.close();
    }
  }
}

/** A key in the stream's hash slot: reuse its hash tag, or make the whole stream name the tag. */
export function markerKey(stream: string, cdrId: string): string {
  const open = stream.indexOf('{');
  const close = open >= 0 ? stream.indexOf('}', open + 1) : -1;
  const tagged = close > open + 1;
  return tagged ? `${stream}:seen:${cdrId}` : `{${stream}}:seen:${cdrId}`;
}
