// Settlement script (issue 4 §5): debit exactly the rated cost, release the rest, once per call.
import { PRELUDE } from './prelude.js';
import { LuaScript } from './script.js';

/**
 * settle — KEYS: account, reservations, settlement(callId), history, usage(month), live;
 * ARGV: account id, callId, cost, cdrRef, now, settlementTtlMs, kind (settle|release|recovered).
 * - debits min(cost, reservation) and reports the rest as shortfall: reservations are ≤ balance,
 *   so the balance never goes below zero;
 * - the whole reservation leaves account.reserved and the reservations hash;
 * - the result is stored under the call's settlement key first thing, so a second settle (or a
 *   release racing a settle, or two recovering instances) returns the first result, changing nothing;
 * - call debits add to the month's usage counter (002 §2.4 monthly minimum);
 * - once the period has been forfeited (003 §7), money this call releases is forfeited too;
 * - a debit may fire the low-balance alert (003 §2.2).
 */
export const SETTLE = new LuaScript('settle', PRELUDE + `
local a, r, s, h, u, l = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local acct, callId, cost, cdrRef, now = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5])
-- the call leaves recovery's index whatever happens next (settled now or long ago)
redis.call('ZREM', l, callId)
local prev = redis.call('GET', s)
if prev then
  local p = cjson.decode(prev)
  p.alreadySettled = true
  return out({ result = p })
end
if redis.call('EXISTS', a) == 0 then return out({ err = 'NO_ACCOUNT' }) end
local cur = redis.call('HGET', r, callId)
local granted, recovered = 0, ARGV[7] == 'recovered'
if cur then granted = cjson.decode(cur).granted end
local debit = math.min(cost, granted)
local bal = redis.call('HINCRBY', a, 'balance', neg(debit))
local reserved = redis.call('HINCRBY', a, 'reserved', neg(granted))
if cur then redis.call('HDEL', r, callId) end
if debit > 0 then
  redis.call('HINCRBY', a, 'debits', debit)
  hist(h, 'call:' .. callId, 'call', neg(debit), bal, now, cdrRef)
  redis.call('INCRBY', u, debit)
  redis.call('PEXPIRE', u, 400 * 86400000)
end
local f = redis.call('HMGET', a, 'forfeitedFor', 'validUntil')
if f[1] and f[1] == f[2] and bal - reserved > 0 then
  local extra = bal - reserved
  bal = redis.call('HINCRBY', a, 'balance', neg(extra))
  redis.call('HINCRBY', a, 'debits', extra)
  hist(h, 'forfeit:' .. f[2] .. ':' .. callId, 'forfeit', neg(extra), bal, now, 'released after expiry (003 §7)')
end
local res = { debited = debit, balanceAfter = bal, shortfall = cost - debit, released = granted - debit,
  cdrRef = cdrRef, kind = ARGV[7], recovered = recovered, noReservation = (cur == false), settledAt = now }
redis.call('SET', s, cjson.encode(res), 'PX', ARGV[6])
local alert = nil
if debit > 0 then alert = lowCheck(a, acct, bal, now) end
res.alreadySettled = false
return out({ result = res, alert = alert })
`);
