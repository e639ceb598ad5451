// Reservation scripts. Invariant they keep: account.reserved = Σ live reservation grants ≤ balance,
// so settling any reservation can never take the balance below zero (003 §2.2, 002 §2.3).
import { PRELUDE } from './prelude.js';
import { LuaScript } from './script.js';

/**
 * reserve — KEYS: account, reservations, settlement(callId), live; ARGV: callId, min, max, now, instance, meta.
 * Grants min(available, max) when that is ≥ min (and > 0), else denies with the available amount.
 * Idempotent per callId: a retry returns the existing grant; a settled callId is never re-reserved.
 * Status, arrears (001 §6) and validity are checked here, so a suspended, indebted or expired
 * account can't start a call.
 */
export const RESERVE = new LuaScript('reserve', PRELUDE + `
local a, r, s, l = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local callId, minG, maxG, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
if redis.call('EXISTS', a) == 0 then return out({ err = 'NO_ACCOUNT' }) end
local f = redis.call('HMGET', a, 'status', 'validFrom', 'validUntil', 'balance', 'reserved', 'arrears')
local available = num(f[4]) - num(f[5])
local cur = redis.call('HGET', r, callId)
if cur then
  local v = cjson.decode(cur)
  if v.claimedBy then return out({ ok = false, reason = 'RECOVERED', available = available, total = v.granted }) end
  redis.call('ZADD', l, 'GT', now, callId)
  return out({ ok = true, granted = v.granted, total = v.granted, available = available, existing = true })
end
if redis.call('EXISTS', s) == 1 then return out({ ok = false, reason = 'SETTLED', available = available }) end
local why = gate(f[1], num(f[2]), num(f[3]), now, num(f[6]))
if why then return out({ ok = false, reason = why, available = available }) end
local g = math.min(available, maxG)
if g < minG or g <= 0 then return out({ ok = false, reason = 'INSUFFICIENT_BALANCE', available = available }) end
redis.call('HSET', r, callId, cjson.encode({ granted = g, startedAt = now, lastHeartbeat = now, answeredAt = 0,
  instance = ARGV[5], meta = ARGV[6] }))
redis.call('HINCRBY', a, 'reserved', g)
redis.call('ZADD', l, now, callId)
return out({ ok = true, granted = g, total = g, available = available - g, existing = false })
`);

/**
 * extend — KEYS: account, reservations, live; ARGV: callId, min, max, now.
 * Adds the next chunk to a live reservation by the same rule as reserve, so concurrent calls of one
 * account draw on the balance chunk by chunk and none can overdraw. Also counts as a heartbeat.
 */
export const EXTEND = new LuaScript('extend', PRELUDE + `
local a, r, l = KEYS[1], KEYS[2], KEYS[3]
local callId, minG, maxG, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local cur = redis.call('HGET', r, callId)
if not cur then return out({ ok = false, reason = 'NO_RESERVATION', available = 0 }) end
local v = cjson.decode(cur)
if not v.claimedBy then redis.call('ZADD', l, 'XX', 'GT', now, callId) end
local f = redis.call('HMGET', a, 'status', 'validFrom', 'validUntil', 'balance', 'reserved', 'arrears')
local available = num(f[4]) - num(f[5])
if v.claimedBy then return out({ ok = false, reason = 'RECOVERED', available = available, total = v.granted }) end
local why = gate(f[1], num(f[2]), num(f[3]), now, num(f[6]))
local g = math.min(available, maxG)
if not why and (g < minG or g <= 0) then why = 'INSUFFICIENT_BALANCE' end
if now > v.lastHeartbeat then v.lastHeartbeat = now end
if why then
  redis.call('HSET', r, callId, cjson.encode(v))
  return out({ ok = false, reason = why, available = available, total = v.granted })
end
v.granted = v.granted + g
redis.call('HSET', r, callId, cjson.encode(v))
redis.call('HINCRBY', a, 'reserved', g)
return out({ ok = true, granted = g, total = v.granted, available = available - g, existing = false })
`);

/**
 * heartbeat — KEYS: reservations, live; ARGV: callId, now, answeredAt (0 = not answered).
 * Keeps the last-seen time and the answer time (set once) on the reservation: that is all crash
 * recovery has to bill from. Refuses once recovery has claimed the call (the call must be cut).
 */
export const HEARTBEAT = new LuaScript('heartbeat', PRELUDE + `
local r, l, callId, now, ans = KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local cur = redis.call('HGET', r, callId)
if not cur then return out({ ok = false, reason = 'NO_RESERVATION' }) end
local v = cjson.decode(cur)
if v.claimedBy then return out({ ok = false, reason = 'RECOVERED' }) end
redis.call('ZADD', l, 'XX', 'GT', now, callId)
if now > v.lastHeartbeat then v.lastHeartbeat = now end
if ans > 0 and v.answeredAt == 0 then v.answeredAt = ans end
redis.call('HSET', r, callId, cjson.encode(v))
return out({ ok = true, granted = v.granted, answeredAt = v.answeredAt })
`);

/**
 * claim — KEYS: reservations; ARGV: callId, now, staleMs, instance, claimTtlMs.
 * Marks an orphan (heartbeat older than staleMs) as being recovered by this instance, so two
 * recovering instances don't both rate it; a claim whose holder died expires after claimTtlMs.
 * Correctness does not rest on the claim: settle is idempotent per call.
 */
export const CLAIM = new LuaScript('claim', PRELUDE + `
local r, callId, now, stale = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local cur = redis.call('HGET', r, callId)
if not cur then return out({ state = 'GONE' }) end
local v = cjson.decode(cur)
if v.lastHeartbeat > now - stale and not v.claimedBy then return out({ state = 'LIVE' }) end
if v.claimedBy and v.claimedBy ~= ARGV[4] and (v.claimUntil or 0) > now then return out({ state = 'CLAIMED' }) end
v.claimedBy = ARGV[4]
v.claimUntil = now + tonumber(ARGV[5])
redis.call('HSET', r, callId, cjson.encode(v))
return out({ state = 'MINE', reservation = v })
`);
