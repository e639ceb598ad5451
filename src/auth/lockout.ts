// Brute-force lockout for digest authentication, shared by all instances through Redis, built so
// that a stranger cannot lock an agent out (a lockout is otherwise a denial of service: five bad
// REGISTERs with a seat's name from anywhere would silence that agent for 15 minutes).
//
// Three subjects, each a sliding window of failures (zset) and a lock key:
// - user@source: the common case, a phone with a wrong password, or a guesser aiming at one seat
//   from one address. Locked after a few failures.
// - source: one address guessing many seats. Locked after more failures (a call centre puts dozens
//   of seats behind one NAT address), and each new lock of the same source lasts twice as long
//   as the last one (backoff, up to a day).
// - user: a seat guessed from many addresses. Locked only far above what a few packets reach, and
//   never for a source that authenticated as that seat recently (the agent's own phone).
// Each Lua script touches one hash tag ({src:…}, {us:…}, {user:…}): it runs unchanged on Redis
// Cluster. Unknown usernames are tracked exactly like real ones. Times are compared with the
// injected `now`; Redis TTLs only garbage-collect.
import { createHash, randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';
import { LuaScript } from '../ledger/lua/script.js';
import { acceptNonce, acceptNonceLua, type NonceUse } from './replay.js';

export interface LockoutOptions {
  prefix?: string;
  /** Failures for one seat from one source within the window. Default 5. */
  maxFailuresPerUserSource?: number;
  /** Failures from one source, all seats together. Default 20. */
  maxFailuresPerSource?: number;
  /** Failures for one seat from all sources. Default 1000: far above a stranger's few packets. */
  maxFailuresPerUser?: number;
  /** Sliding window for counting failures. Default 10 minutes. */
  windowMs?: number;
  /** First lock; a source's later locks double, up to maxLockMs. Default 15 minutes. */
  lockMs?: number;
  /** Longest source lock (backoff cap). Default 24 hours. */
  maxLockMs?: number;
  /** A source that authenticated as a seat within this time is never locked out by the seat's lock. Default 7 days. */
  trustMs?: number;
}

/** How often one process rewrites a (seat, source) trust entry that is days long. */
const TRUST_REFRESH_MS = 3_600_000;

export type LockScope = 'source' | 'user-source' | 'user';

export type LockState =
  | { locked: false; failuresPending?: boolean }
  | { locked: true; scope: LockScope; until: number; retryAfterSeconds: number };

export interface Lockout {
  /**
   * Before verifying credentials: a locked subject gets the same 403 as a wrong password.
   * `failuresPending: false` says the seat has no failures counted from this source, so a success
   * need not clear them. With `nonce`, the digest's nonce-count is accepted in the same read (one
   * script call on a single Redis): `nonceFresh` is ReplayGuard.accept's answer.
   */
  check(user: string, source: string, now: number, nonce?: NonceUse): Promise<LockState & { nonceFresh?: boolean }>;
  /** After a failed verification (wrong password or unknown user). Returns the state after it. */
  recordFailure(user: string, source: string, now: number): Promise<LockState>;
  /**
   * After a successful verification: clears the seat's failures from that source and trusts the
   * source for the seat. The source's own count is left alone, so an attacker holding one valid
   * account cannot reset the counter of the address it guesses from.
   */
  recordSuccess(user: string, source: string, now: number, failuresPending?: boolean): Promise<void>;
}

// KEYS: fails zset, lock key, strikes key, pending marker (seat-from-source only). ARGV: now, windowMs, max, lockMs, member,
// maxLockMs, backoff (0/1). Returns the lock's end (0 when not locked). The marker, a plain string
// living as long as the window, lets check() see pending failures in the same MGET as the locks.
const FAILURE = new LuaScript('lockout-failure', `
local now = tonumber(ARGV[1])
local until_ = tonumber(redis.call('GET', KEYS[2]) or '0')
if until_ > now then return until_ end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('ZADD', KEYS[1], now, ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if KEYS[4] then redis.call('SET', KEYS[4], '1', 'PX', ARGV[2]) end
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then return 0 end
local lock = tonumber(ARGV[4])
if ARGV[7] == '1' then
  local strikes = redis.call('INCR', KEYS[3])
  redis.call('PEXPIRE', KEYS[3], ARGV[6])
  lock = math.min(lock * 2 ^ (strikes - 1), tonumber(ARGV[6]))
end
redis.call('SET', KEYS[2], now + lock, 'PX', lock)
redis.call('DEL', KEYS[1])
return now + lock
`);

// KEYS: the seat's trusted sources (zset). ARGV: now, source, trustMs. One script call, not a
// MULTI of three commands (five requests to Redis).
const TRUST = new LuaScript('lockout-trust', `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[3]))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`);

// KEYS: the three locks and the pending marker (check's MGET), the nonce key. ARGV: nc, ttlMs.
// Returns the four values and 1/0 for the nonce-count. Keys of several hash slots: single Redis only.
const LOCKS_AND_NONCE = new LuaScript('lockout-read-nonce', `${acceptNonceLua('KEYS[5]', 'ARGV[1]', 'ARGV[2]')}
local out = redis.call('MGET', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
out[5] = fresh
return out
`);

export function createLockout(redis: Redis | Cluster, opts: LockoutOptions = {}): Lockout {
  const prefix = opts.prefix ?? 'dialgate:lockout';
  const limits: Record<LockScope, number> = {
    'user-source': opts.maxFailuresPerUserSource ?? 5,
    source: opts.maxFailuresPerSource ?? 20,
    user: opts.maxFailuresPerUser ?? 1000,
  };
  const windowMs = opts.windowMs ?? 10 * 60_000;
  const lockMs = opts.lockMs ?? 15 * 60_000;
  const maxLockMs = opts.maxLockMs ?? 24 * 3_600_000;
  const trustMs = opts.trustMs ?? 7 * 24 * 3_600_000;

  const keys = (scope: LockScope, user: string, source: string) => {
    const tag = scope === 'source' ? `src:${subjectId(source)}`
      : scope === 'user' ? `user:${subjectId(user)}` : `us:${subjectId(`${user}@${source}`)}`;
    const base = `${prefix}:{${tag}}`;
    return { fails: `${base}:f`, pending: `${base}:fp`, lock: `${base}:l`, strikes: `${base}:s`, trusted: `${base}:ok` };
  };

  const state = (scope: LockScope, until: number, now: number): LockState =>
    until > now
      ? { locked: true, scope, until, retryAfterSeconds: Math.ceil((until - now) / 1000) }
      : { locked: false };

  async function fail(scope: LockScope, user: string, source: string, now: number): Promise<LockState> {
    const k = keys(scope, user, source);
    const member = `${now}:${randomBytes(6).toString('hex')}`;
    const until = await FAILURE.run(redis, scope === 'user-source' ? [k.fails, k.lock, k.strikes, k.pending] : [k.fails, k.lock, k.strikes],
      [now, windowMs, limits[scope], lockMs, member, maxLockMs, scope === 'source' ? '1' : '0']);
    return state(scope, Number(until), now);
  }

  /**
   * The three locks and the seat-from-source failure marker, and the nonce-count's answer when
   * given. On one Redis server that is one MGET, or one script with the nonce (one command on
   * every call); on Cluster the keys live in different slots, so one GET each and the nonce's own.
   */
  const readLocks = async (user: string, source: string, nonce?: NonceUse): Promise<[Array<string | null>, boolean | undefined]> => {
    const names = [keys('source', user, source).lock, keys('user-source', user, source).lock,
      keys('user', user, source).lock, keys('user-source', user, source).pending];
    if ((redis as { isCluster?: boolean }).isCluster) {
      return Promise.all([Promise.all(names.map((n) => redis.get(n))), nonce ? acceptNonce(redis, nonce) : undefined]);
    }
    if (!nonce) return [await redis.mget(names), undefined];
    const out = (await LOCKS_AND_NONCE.run(redis, [...names, nonce.key], [nonce.nc, nonce.ttlMs])) as Array<string | number | null>;
    return [out.slice(0, 4).map((v) => (v === null || v === undefined ? null : String(v))), out[4] === 1];
  };

  /** The seat's lock does not apply to a source it recently authenticated from. */
  const trusted = async (user: string, source: string, now: number) => {
    const at = await redis.zscore(keys('user', user, source).trusted, source);
    return at !== null && now - Number(at) < trustMs;
  };

  const first = (states: LockState[]): LockState => states.find((s) => s.locked) ?? { locked: false };
  /** user + source → when this process last wrote the source's trust for the seat. */
  const trustedAt = new Map<string, number>();

  return {
    async check(user, source, now, nonce) {
      const [[src, us, u, pending], nonceFresh] = await readLocks(user, source, nonce);
      const byUser = state('user', Number(u ?? 0), now);
      const result = first([
        state('source', Number(src ?? 0), now),
        state('user-source', Number(us ?? 0), now),
        byUser.locked && !(await trusted(user, source, now)) ? byUser : { locked: false },
      ]);
      const fresh = nonceFresh === undefined ? {} : { nonceFresh };
      return result.locked ? { ...result, ...fresh } : { locked: false, failuresPending: pending !== null, ...fresh };
    },
    async recordFailure(user, source, now) {
      const states = await Promise.all((['source', 'user-source', 'user'] as const).map((s) => fail(s, user, source, now)));
      if (states[2]!.locked && (await trusted(user, source, now))) states[2] = { locked: false };
      return first(states);
    },
    async recordSuccess(user, source, now, failuresPending = true) {
      const k = keys('user', user, source);
      const us = keys('user-source', user, source);
      const clear = failuresPending ? redis.del(us.fails, us.pending) : Promise.resolve(0);
      // Trust lasts trustMs (days); refreshing it more than once per TRUST_REFRESH_MS from one
      // process changes nothing but costs five commands on every call.
      const memo = `${user}\n${source}`;
      const at = trustedAt.get(memo);
      if (at !== undefined && now - at >= 0 && now - at < TRUST_REFRESH_MS) { await clear; return; }
      if (trustedAt.size >= 100_000) trustedAt.clear();
      trustedAt.set(memo, now);
      await Promise.all([clear, TRUST.run(redis, [k.trusted], [now, source, trustMs])])
        .catch((err: unknown) => { trustedAt.delete(memo); throw err; });
    },
  };
}

/**
 * A key-safe id: usernames come straight off the wire, so braces (hash tags) are escaped and
 * long garbage is hashed to bound key size.
 */
function subjectId(id: string): string {
  const enc = encodeURIComponent(id);
  return enc.length <= 96 ? enc : `h:${createHash('sha256').update(id, 'utf8').digest('hex')}`;
}
