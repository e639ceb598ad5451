// Access log, 001 §4(十七): keep who accessed, when, and from which address.
// Every REGISTER/INVITE authentication outcome becomes one pino line and one entry in a capped
// Redis stream. Fields are copied from a whitelist, so credentials (Authorization values, HA1s,
// nonces, passwords) cannot reach the log even if a caller passes a request object by mistake.
import type { Cluster, Redis } from 'ioredis';
import type { Logger } from 'pino';
import { BEIJING, zonedIso } from '../cdr/time.js';
import { LuaScript } from '../ledger/lua/script.js';
import { ShardedStream } from '../ledger/stream-shards.js';

export type AccessOutcome =
  | 'challenged' // no or stale credentials: 401/407 sent
  | 'accepted'
  | 'rejected' // wrong password, unknown user, bad nonce ...: the reason says which
  | 'locked'; // refused by the brute-force lockout without checking credentials

export interface AccessEvent {
  at: number; // epoch ms
  method: string;
  /** Username the peer claimed (may not exist); null when no credentials were sent. */
  user: string | null;
  tenant?: string | null;
  ip: string;
  port?: number;
  transport?: string;
  outcome: AccessOutcome;
  /** A reason code such as bad-response, unknown-user, stale-nonce, lock-ip. */
  reason?: string;
  callId?: string;
  userAgent?: string;
}

export interface AccessLogOptions {
  stream?: string;
  /** Approximate cap (XADD MAXLEN ~). Default 1,000,000 entries. */
  maxLen?: number;
  timeZone?: string;
  /** Keys the stream is spread over (a batch goes to the next one in turn; 1 = the plain key). */
  shards?: number;
}

export interface AccessLog {
  /** Never rejects: a Redis failure is logged, the pino line is still written. */
  record(event: AccessEvent): Promise<void>;
}

export type AccessRecord = Record<string, string | number>;

// KEYS: stream. ARGV: maxLen, then per entry: its field count n, then n field/value pairs.
const XADD_MANY = new LuaScript('access-xadd-many', `
local i = 2
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(ARGV, i + 1, i + 2 * n))
  i = i + 1 + 2 * n
end
return 1
`);

/** Entries written in one script call at most (a flood is cut into writes of this size). */
const BATCH_MAX = 200;
/**
 * Entries are gathered this long before they go to Redis in one script call: two per call, so at
 * 300 calls/s one write carries ~6 instead of one or two (a script call per entry costs Redis and
 * this process more than the entry). The pino line of a refusal is written at once.
 */
const BATCH_WINDOW_MS = 10;

export function createAccessLog(redis: Redis | Cluster, logger: Logger, opts: AccessLogOptions = {}): AccessLog {
  const streams = new ShardedStream(opts.stream ?? 'dialgate:access', opts.shards ?? 1);
  let turn = 0;
  const maxLen = opts.maxLen ?? 1_000_000;
  const tz = opts.timeZone ?? BEIJING;
  // Entries of the same BATCH_WINDOW_MS go to Redis in one script call; each caller's promise
  // settles with the write that carried its entry.
  let pending: { args: (string | number)[]; count: number; done: Promise<void> } | null = null;
  const flush = async (batch: { args: (string | number)[]; count: number }): Promise<void> => {
    const stream = streams.keys[turn++ % streams.keys.length]!;
    try {
      await XADD_MANY.run(redis, [stream], [maxLen, ...batch.args]);
    } catch (err) {
      logger.error({ err, stream, entries: batch.count }, 'access log: stream write failed');
    }
  };
  return {
    record(event) {
      // The stream is the audit record; the log repeats only what an operator must see (refusals).
      // Accepted and challenged requests are routine (two per call) and go to debug.
      const level = event.outcome === 'accepted' || event.outcome === 'challenged' ? 'debug' : 'warn';
      const rec = toRecord(event, tz);
      if (logger.isLevelEnabled(level)) logger[level]({ access: rec }, `access ${rec.method} ${rec.outcome}`);
      const fields = Object.entries(rec);
      if (!pending || pending.count >= BATCH_MAX) {
        const batch = { args: [] as (string | number)[], count: 0, done: Promise.resolve() };
        batch.done = new Promise<void>((resolve) => setTimeout(resolve, BATCH_WINDOW_MS)).then(() => {
          if (pending === batch) pending = null;
          return flush(batch);
        });
        pending = batch;
      }
      pending.args.push(fields.length, ...fields.flat());
      pending.count++;
      return pending.done;
    },
  };
}

/** The whitelisted, bounded, printable form of an event (exported for tests and the HTTP API). */
export function toRecord(e: AccessEvent, timeZone = BEIJING): AccessRecord {
  const rec: AccessRecord = {
    at: e.at,
    time: zonedIso(e.at, timeZone),
    method: clean(e.method, 16),
    user: e.user === null ? '' : clean(e.user, 64),
    ip: clean(e.ip, 64),
    outcome: clean(e.outcome, 16),
  };
  if (e.tenant) rec.tenant = clean(e.tenant, 64);
  if (e.port !== undefined && Number.isInteger(e.port)) rec.port = e.port;
  if (e.transport) rec.transport = clean(e.transport, 8);
  // Reasons are codes; anything else (e.g. a header value passed by mistake) is dropped.
  if (e.reason && /^[a-z0-9-]{1,32}$/.test(e.reason)) rec.reason = e.reason;
  if (e.callId) rec.callId = clean(e.callId, 128);
  if (e.userAgent) rec.userAgent = clean(e.userAgent, 128);
  return rec;
}

/** Strip control characters (log injection) and cap the length of peer-supplied text. */
function clean(v: unknown, max: number): string {
  return String(v).replace(/[\x00-\x1f\x7f]/g, '?').slice(0, max);
}
