// Writes each CDR exactly once: to the Redis stream (system of record, consumed by billing and
// ops) and to daily files in Beijing time, cdr-YYYY-MM-DD.jsonl (query) and .csv (export).
//
// Idempotent by cdrId: a Lua script sets a marker (SET NX EX) and XADDs in one step, so a retried
// write after a crash or a double hang-up path cannot produce a second record. The marker shares
// the stream's hash slot ({<stream>}:seen:<id>), so the script is valid on Redis Cluster. With
// `shards` > 1 the stream is several keys and a CDR goes to the one its cdrId hashes to (with its
// marker), so a busy tenant's CDRs spread over the Cluster's masters.
// A CDR is filed by the Beijing date of its INVITE, so a call crossing midnight stays in the file
// of the day it was placed, and queries by invite time read exactly the files of their days.
// If a file append fails after the stream write, write() rejects (the CDR is safe in the stream);
// retrying is then a no-op, so the files must be rebuilt from the stream for that day.
// Several instances sharing one directory is not supported: give each instance its own directory.
// Redis away: the CDR goes to a local spool (append + fsync, spool.jsonl in the directory) and is
// replayed into the stream, and then the daily files, exactly once by cdrId when Redis is back.
import { appendFile, mkdir, open, readFile, rename, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { isRedisUnavailable } from '../ledger/redis-errors.js';
import { join } from 'node:path';
import type { Cluster, Redis } from 'ioredis';
import { LuaScript } from '../ledger/lua/script.js';
import { ShardedStream } from '../ledger/stream-shards.js';
import { CSV_HEADER, cdrToCsvRow } from './csv.js';
import { validateCdr, type Cdr } from './model.js';
import { BEIJING, zonedDate } from './time.js';

export interface CdrWriterOptions {
  redis: Redis | Cluster;
  /** Directory of the daily files. */
  dir: string;
  stream?: string;
  /** Keys the stream is spread over, by cdrId (1 = the plain key). Default 1. */
  shards?: number;
  /** Approximate stream cap (XADD MAXLEN ~). Default 10,000,000. */
  maxLen?: number;
  /** How long a cdrId is remembered for de-duplication. Default 30 days. */
  markerTtlSeconds?: number;
  timeZone?: string;
  /** Where CDRs wait while Redis is away. Default <dir>/spool.jsonl. */
  spoolFile?: string;
  /** A spooled CDR could not be replayed (its files failed, or the line is torn) and went to spool.jsonl.bad. */
  onReplayFailed?: (err: unknown) => void;
}

// KEYS: stream, marker. ARGV: ttl, maxLen, cdrId, tenant, json.
const WRITE_ONCE = new LuaScript('cdr-write-once', `
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[1]) then return false end
return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'cdrId', ARGV[3], 'tenant', ARGV[4], 'json', ARGV[5])
`);

/** A daily file's handle stays open this long after its last write. */
/**
 * While CDRs arrive faster than one per BUSY_MS, a batch waits this long for more rows: each write
 * costs a check that the file was not moved away and the write itself, both on libuv's thread
 * pool (at 300 calls/s, ~6 rows a write instead of one or two).
 */
const BATCH_WINDOW_MS = 20;
/** Only while busy: a file last written longer ago than this gets its row at once (a quiet line). */
const BUSY_MS = 100;
const HANDLE_IDLE_MS = 5_000;

export function cdrFileName(inviteAt: number, ext: 'jsonl' | 'csv', timeZone = BEIJING): string {
  return `cdr-${zonedDate(inviteAt, timeZone)}.${ext}`;
}

export class CdrWriter {
  private readonly stream: string;
  /** The stream's shards; readers take them all (ShardedStream.range). */
  readonly streams: ShardedStream;
  private readonly maxLen: number;
  private readonly ttl: number;
  private readonly tz: string;
  /** One promise chain per file: appends never interleave and keep their order. */
  private readonly queues = new Map<string, Promise<void>>();
  /** Per file: rows waiting for the next write, and that write. */
  private readonly batches = new Map<string, { rows: string[]; run: Promise<void> }>();
  /**
   * Open append handles of the files being written, closed after HANDLE_IDLE_MS without a write:
   * under load an open/close per batch cost as much as the write itself.
   */
  private readonly handles = new Map<string, { fh: FileHandle; ino: number; dev: number; idle?: NodeJS.Timeout }>();
  /** When each file was last written (for BUSY_MS). */
  private readonly lastWrite = new Map<string, number>();
  /** Files whose header / trailing newline have been checked by this process. */
  private readonly ready = new Set<string>();
  private dirReady = false;
  private readonly spoolFile: string;
  /** CDRs in the spool, not yet in the stream. */
  private spooled = -1;
  private spoolQueue: Promise<void> = Promise.resolve();
  private replaying: Promise<number> | null = null;

  constructor(private readonly opts: CdrWriterOptions) {
    this.stream = opts.stream ?? 'dialgate:cdr';
    this.streams = new ShardedStream(this.stream, opts.shards ?? 1);
    this.maxLen = opts.maxLen ?? 10_000_000;
    this.ttl = opts.markerTtlSeconds ?? 30 * 86_400;
    this.tz = opts.timeZone ?? BEIJING;
    this.spoolFile = opts.spoolFile ?? join(opts.dir, 'spool.jsonl');
  }

  /**
   * 'duplicate' when this cdrId was already written (nothing is written again); 'spooled' when
   * Redis was away and the CDR waits, durable, in the local spool.
   */
  async write(cdr: Cdr): Promise<'written' | 'duplicate' | 'spooled'> {
    validateCdr(cdr);
    const json = JSON.stringify(cdr);
    try {
      return await this.writeStreamAndFiles(cdr, json);
    } catch (err) {
      if (!isRedisUnavailable(err)) throw err;
      await this.spool(json);
      return 'spooled';
    }
  }

  /** CDRs waiting in the spool (for /health and `dialgate status`). */
  async spoolDepth(): Promise<number> {
    if (this.spooled < 0) this.spooled = (await this.readSpool()).length;
    return this.spooled;
  }

  /**
   * Moves spooled CDRs into the stream and the daily files, each once by cdrId; stops at the
   * first Redis failure and keeps the rest. Returns how many are left. Safe to call at any time.
   */
  replaySpool(): Promise<number> {
    if (!this.replaying) {
      // In the spool's own queue: a CDR spooled meanwhile is appended after the rewrite, not lost.
      const run = this.spoolQueue.then(() => this.replayNow());
      this.spoolQueue = run.then(() => undefined, () => undefined);
      this.replaying = run.finally(() => { this.replaying = null; });
    }
    return this.replaying;
  }

  private async replayNow(): Promise<number> {
    const lines = await this.readSpool();
    let done = 0;
    for (const line of lines) {
      try {
        const cdr = JSON.parse(line) as Cdr;
        await this.writeStreamAndFiles(cdr, line);
      } catch (err) {
        if (isRedisUnavailable(err)) break;
        this.opts.onReplayFailed?.(err);
        // A line that is not a CDR (torn write at a crash) cannot be replayed; keep it out of the way.
        await appendFile(`${this.spoolFile}.bad`, `${line}\n`, 'utf8');
      }
      done++;
    }
    if (done > 0) {
      const rest = lines.slice(done);
      const tmp = `${this.spoolFile}.tmp`;
      await writeFile(tmp, rest.map((l) => `${l}\n`).join(''), 'utf8');
      await rename(tmp, this.spoolFile);
    }
    this.spooled = lines.length - done;
    return this.spooled;
  }

  private async readSpool(): Promise<string[]> {
    try {
      return (await readFile(this.spoolFile, 'utf8')).split('\n').filter((l) => l.trim().length > 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  /** Append + fsync: the CDR survives a crash of this process or the machine. */
  private spool(json: string): Promise<void> {
    const task = async () => {
      if (!this.dirReady) { await mkdir(this.opts.dir, { recursive: true }); this.dirReady = true; }
      const fh = await open(this.spoolFile, 'a');
      try {
        await fh.write(`${json}\n`);
        await fh.datasync();
      } finally {
        await fh.close();
      }
      if (this.spooled >= 0) this.spooled++;
    };
    const run = this.spoolQueue.then(task);
    this.spoolQueue = run.catch(() => undefined);
    return run;
  }

  private async writeStreamAndFiles(cdr: Cdr, json: string): Promise<'written' | 'duplicate'> {
    const key = this.streams.keyFor(cdr.cdrId);
    const id = await WRITE_ONCE.run(this.opts.redis, [key, markerKey(key, cdr.cdrId)],
      [this.ttl, this.maxLen, cdr.cdrId, cdr.tenant ?? '', json]);
    if (id === null) return 'duplicate';
    await Promise.all([
      this.append(cdrFileName(cdr.inviteAt, 'jsonl', this.tz), `${json}\n`, ''),
      this.append(cdrFileName(cdr.inviteAt, 'csv', this.tz), cdrToCsvRow(cdr), CSV_HEADER),
    ]);
    return 'written';
  }

  /** Resolves when every queued append has finished and the files are closed (for shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.queues.values()]);
    await Promise.all([...this.handles.keys()].map((path) => this.closeHandle(path)));
  }

  /** Appends through the file's open handle (opened on first use, closed when idle or on error). */
  private async appendRows(path: string, data: string): Promise<void> {
    let h = this.handles.get(path);
    if (!h) {
      const fh = await open(path, 'a');
      const st = await fh.stat();
      h = { fh, ino: st.ino, dev: st.dev };
      this.handles.set(path, h);
    }
    clearTimeout(h.idle);
    try {
      await h.fh.appendFile(data, 'utf8');
    } catch (err) {
      await this.closeHandle(path);
      throw err;
    }
    h.idle = setTimeout(() => void this.closeHandle(path), HANDLE_IDLE_MS);
    h.idle.unref();
  }

  /**
   * The path must still name the file the open handle writes (one stat instead of open + close):
   * a file moved or deleted meanwhile (archived, rotated) is closed here and reopened at its path.
   */
  private async movedAway(path: string): Promise<boolean> {
    const h = this.handles.get(path);
    if (!h) return false;
    const st = await stat(path).catch(() => null);
    if (st && st.ino === h.ino && st.dev === h.dev) return false;
    await this.closeHandle(path);
    return true;
  }

  private async closeHandle(path: string): Promise<void> {
    const h = this.handles.get(path);
    if (!h) return;
    this.handles.delete(path);
    clearTimeout(h.idle);
    await h.fh.close().catch(() => undefined);
  }

  /**
   * Appends in order, one file at a time. Rows arriving while the file's previous write is in
   * flight, or (when busy) within BATCH_WINDOW_MS of the first row of a batch, go in one write;
   * each caller's promise settles with the write that carried its row. (The CDR is in the Redis
   * stream before it is appended here.)
   */
  private append(name: string, data: string, header: string): Promise<void> {
    const path = join(this.opts.dir, name);
    const waiting = this.batches.get(path);
    if (waiting) {
      waiting.rows.push(data);
      return waiting.run;
    }
    const rows = [data];
    const task = async () => {
      this.batches.delete(path); // rows from now on go to the next write
      if (!this.dirReady) { await mkdir(this.opts.dir, { recursive: true }); this.dirReady = true; }
      if (await this.movedAway(path)) this.ready.delete(path); // a new file: header again
      let prefix = '';
      if (!this.ready.has(path)) {
        prefix = await this.startOf(path, header);
        this.ready.add(path);
      }
      await this.appendRows(path, prefix + rows.join(''));
      this.lastWrite.set(path, Date.now());
    };
    const prev = this.queues.get(path) ?? Promise.resolve();
    // Busy (the file was written a moment ago): wait for more rows; otherwise write at once.
    const busy = Date.now() - (this.lastWrite.get(path) ?? 0) < BUSY_MS;
    const run = (busy ? prev.then(() => new Promise<void>((resolve) => setTimeout(resolve, BATCH_WINDOW_MS))) : prev).then(task);
    this.batches.set(path, { rows, run });
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
