// Concurrency slot scripts (tenant ports 004 §2.2, trunk capacity). A slot set is a sorted set
// member callId → expiry ms taken from the Redis clock (TIME), so instances with skewed clocks agree.
import { LuaScript } from './script.js';

export const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/**
 * acquire — KEYS: slot set; ARGV: callId, limit, ttlMs. Drops expired slots (a crashed instance's
 * calls stop counting once their TTL passes), then takes a slot if fewer than limit are held.
 * Idempotent per callId: holding a slot already just refreshes its expiry (also the keep-alive).
 * Returns {1, count} or {0, count}.
 */
export const ACQUIRE = new LuaScript('slot-acquire', NOW + `
local k, callId, limit, ttl = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
local held = redis.call('ZSCORE', k, callId)
local n = redis.call('ZCARD', k)
if not held and n >= limit then return { 0, n } end
redis.call('ZADD', k, now + ttl, callId)
if redis.call('PTTL', k) < ttl then redis.call('PEXPIRE', k, ttl) end
if held then return { 1, n } end
return { 1, n + 1 }
`);

/** count — KEYS: slot set. Live slots after dropping expired ones. */
export const COUNT = new LuaScript('slot-count', NOW + `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])
`);

/**
 * count-many — KEYS: slot sets. count for each key, in one round trip (a call's decision reads the
 * tenant's and its route's trunks'). Keys of several hash slots: single Redis only.
 */
export const COUNT_MANY = new LuaScript('slot-count-many', NOW + `
local out = {}
for i, k in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', k, '-inf', now)
  out[i] = redis.call('ZCARD', k)
end
return out
`);

/** release-many — KEYS: slot sets; ARGV: the member to drop from each. Single Redis only. */
export const RELEASE_MANY = new LuaScript('slot-release-many', `
for i, k in ipairs(KEYS) do redis.call('ZREM', k, ARGV[i]) end
return 1
`);

/** refresh — KEYS: slot set; ARGV: callId, ttlMs. Extends a held, unexpired slot only (1/0). */
export const REFRESH = new LuaScript('slot-refresh', NOW + `
local k, callId, ttl = KEYS[1], ARGV[1], tonumber(ARGV[2])
local exp = redis.call('ZSCORE', k, callId)
if not exp or tonumber(exp) <= now then return 0 end
redis.call('ZADD', k, now + ttl, callId)
if redis.call('PTTL', k) < ttl then redis.call('PEXPIRE', k, ttl) end
return 1
`);

/**
 * account-and-counts — KEYS: an account hash, then slot sets. The account's fields (HGETALL's
 * flat list) and count of each slot set: what an outbound decision reads, in one script call.
 * Keys of several hash slots: single Redis only.
 */
export const ACCOUNT_AND_COUNTS = new LuaScript('account-and-counts', NOW + `
local out = { redis.call('HGETALL', KEYS[1]) }
for i = 2, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  out[i] = redis.call('ZCARD', KEYS[i])
end
return out
`);
