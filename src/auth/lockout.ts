// Brute-force lockout for digest authentication, shared by all instances through Redis.
//
// Each subject (a source IP, or a username) has a sliding window of failure timestamps (zset) and
// a lock key holding the epoch ms it is locked until. Failures are recorded by one Lua script per
// subject, so counting and locking are atomic and each script touches one hash tag
// ({ip:…} / {user:…}): it runs unchanged on Redis Cluster.
//
// Unknown usernames are tracked exactly like real ones (counter and lock), and count against the
// source IP too, so the lockout itself does not reveal which seats exist.
// Times are compared with the injected `now`; Redis TTLs only garbage-collect.
import { createHash, randomBytes } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

export interface LockoutOptions {
  prefix?: string;
  /** Failures against one username within the window before it is locked. Default 5. */
  maxFailuresPerUser?: number;
  /**
   * Failures from one source IP within the window. Default 20: a call centre puts dozens of seats
   * behind one NAT address, and one misconfigured phone must not lock out the whole floor.
   */
  maxFailuresPerIp?: number;
  /** Sliding window for counting failures. Default 10 minutes. */
  windowMs?: number;
  /** How long a lock lasts. Default 15 minutes. */
  lockMs?: number;
}

export type LockState =
  | { locked: false }
  | { locked: true; scope: 'ip' | 'user'; until: number; retryAfterSeconds: number };

export interface Lockout {
  /** Before verifying credentials: a locked subject gets the same 403 as a wrong password. */
  check(user: string, ip: string, now: number): Promise<LockState>;
  /** After a failed verification (wrong password or unknown user). Returns the state after it. */
  recordFailure(user: string, ip: string, now: number): Promise<LockState>;
  /**
   * After a successful verification: clears the user's failure count. The IP count is left alone,
   * so an attacker holding one valid account cannot reset the counter of the address it guesses from.
   */
  recordSuccess(user: string): Promise<void>;
}

// KEYS: fails zset, lock key. ARGV: now, windowMs, max, lockMs, member, lockedUntil.
const FAILURE_LUA = `
local now = tonumber(ARGV[1])
local until_ = tonumber(redis.call('GET', KEYS[2]) or '0')
if until_ > now then return until_ end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('ZADD', KEYS[1], now, ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  redis.call('SET', KEYS[2], ARGV[6], 'PX', ARGV[4])
  redis.call('DEL', KEYS[1])
  return tonumber(ARGV[6])
end
return 0
`;

export function createLockout(redis: Redis | Cluster, opts: LockoutOptions = {}): Lockout {
  const prefix = opts.prefix ?? 'dialgate:lockout';
  const maxUser = opts.maxFailuresPerUser ?? 5;
  const maxIp = opts.maxFailuresPerIp ?? 20;
  const windowMs = opts.windowMs ?? 10 * 60_000;
  const lockMs = opts.lockMs ?? 15 * 60_000;

  const keys = (scope: 'ip' | 'user', id: string) => {
    const base = `${prefix}:{${scope}:${subjectId(id)}}`;
    return { fails: `${base}:f`, lock: `${base}:l` };
  };

  const state = (scope: 'ip' | 'user', until: number, now: number): LockState =>
    until > now
      ? { locked: true, scope, until, retryAfterSeconds: Math.ceil((until - now) / 1000) }
      : { locked: false };

  async function fail(scope: 'ip' | 'user', id: string, max: number, now: number): Promise<LockState> {
    const k = keys(scope, id);
    const member = `${now}:${randomBytes(6).toString('hex')}`;
    const until = await redis.eval(FAILURE_LUA, 2, k.fails, k.lock,
      now, windowMs, max, lockMs, member, String(now + lockMs));
    return state(scope, Number(until), now);
  }

  const lockedUntil = async (scope: 'ip' | 'user', id: string) =>
    Number((await redis.get(keys(scope, id).lock)) ?? 0);

  return {
    async check(user, ip, now) {
      const [ipUntil, userUntil] = await Promise.all([lockedUntil('ip', ip), lockedUntil('user', user)]);
      const byIp = state('ip', ipUntil, now);
      return byIp.locked ? byIp : state('user', userUntil, now);
    },
    async recordFailure(user, ip, now) {
      const [byIp, byUser] = await Promise.all([fail('ip', ip, maxIp, now), fail('user', user, maxUser, now)]);
      return byIp.locked ? byIp : byUser;
    },
    async recordSuccess(user) {
      await redis.del(keys('user', user).fails);
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
