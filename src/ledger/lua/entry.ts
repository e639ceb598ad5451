// Ledger entries that are not calls: top-ups, adjustments, charges, expiry forfeits.
import { PRELUDE } from './prelude.js';
import { LuaScript } from './script.js';

/**
 * entry — KEYS: account, entries, history; ARGV: account id, entryId, mode, amount, type, note, now.
 * Idempotent by entryId: the first result is stored in the entries hash and returned on retries
 * (a retried top-up never credits twice). Modes:
 * - credit: balance += amount; then pays arrears first from what is available (001 §6);
 * - adjust: signed; a negative adjustment may not take the balance below the live reservations
 *   (so below zero after settlement) — refused with INSUFFICIENT_BALANCE and not recorded;
 * - charge: debits what is available (balance − reservations), the remainder becomes arrears —
 *   recurring fees and complaint deductions never overdraw.
 * credits − debits = balance is kept as two running totals on the account.
 */
export const ENTRY = new LuaScript('entry', PRELUDE + `
local a, e, h = KEYS[1], KEYS[2], KEYS[3]
local acct, id, mode, amount, typ, note, now =
  ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5], ARGV[6], tonumber(ARGV[7])
if redis.call('EXISTS', a) == 0 then return out({ err = 'NO_ACCOUNT' }) end
local prev = redis.call('HGET', e, id)
if prev then
  local p = cjson.decode(prev)
  p.duplicate = true
  return out({ result = p })
end
local f = redis.call('HMGET', a, 'balance', 'reserved', 'arrears')
local bal, resv, arr = num(f[1]), num(f[2]), num(f[3])
local res
if mode == 'credit' then
  bal = redis.call('HINCRBY', a, 'balance', amount)
  redis.call('HINCRBY', a, 'credits', amount)
  hist(h, id, typ, amount, bal, now, note)
  local pay = math.min(arr, bal - resv)
  if pay > 0 then
    bal = redis.call('HINCRBY', a, 'balance', neg(pay))
    redis.call('HINCRBY', a, 'debits', pay)
    redis.call('HINCRBY', a, 'arrears', neg(pay))
    hist(h, id .. ':arrears', 'arrears', neg(pay), bal, now, 'arrears paid from top-up')
  else
    pay = 0
  end
  res = { type = typ, amount = amount, paid = amount, arrears = 0, arrearsPaid = pay, balanceAfter = bal }
elseif mode == 'adjust' then
  if amount < 0 and bal - resv + amount < 0 then
    return out({ err = 'INSUFFICIENT_BALANCE', available = bal - resv })
  end
  bal = redis.call('HINCRBY', a, 'balance', amount)
  if amount >= 0 then redis.call('HINCRBY', a, 'credits', amount)
  else redis.call('HINCRBY', a, 'debits', neg(amount)) end
  hist(h, id, typ, amount, bal, now, note)
  res = { type = typ, amount = amount, paid = amount, arrears = 0, arrearsPaid = 0, balanceAfter = bal }
else
  local paid = math.min(amount, math.max(0, bal - resv))
  local unpaid = amount - paid
  bal = redis.call('HINCRBY', a, 'balance', neg(paid))
  redis.call('HINCRBY', a, 'debits', paid)
  if unpaid > 0 then redis.call('HINCRBY', a, 'arrears', unpaid) end
  hist(h, id, typ, neg(paid), bal, now, note, unpaid)
  res = { type = typ, amount = neg(amount), paid = neg(paid), arrears = unpaid, arrearsPaid = 0, balanceAfter = bal }
end
redis.call('HSET', e, id, cjson.encode(res))
local alert = lowCheck(a, acct, bal, now)
res.duplicate = false
return out({ result = res, alert = alert })
`);

/**
 * forfeit — KEYS: account, history; ARGV: now.
 * 003 §7 二 / 002 §3.11: once now ≥ validUntil the unused balance is zeroed by a 'forfeit' entry.
 * Money still reserved by live calls stays until they settle; settle forfeits what they release.
 * Idempotent by state: after a forfeit nothing is available, so a second call debits nothing.
 */
export const FORFEIT = new LuaScript('forfeit', PRELUDE + `
local a, h, now = KEYS[1], KEYS[2], tonumber(ARGV[1])
if redis.call('EXISTS', a) == 0 then return out({ err = 'NO_ACCOUNT' }) end
local f = redis.call('HMGET', a, 'validUntil', 'balance', 'reserved', 'forfeitedFor')
local vu, bal = num(f[1]), num(f[2])
if vu == 0 or now < vu then return out({ result = { expired = false, forfeited = 0, balanceAfter = bal } }) end
local amt = bal - num(f[3])
if amt > 0 then
  bal = redis.call('HINCRBY', a, 'balance', neg(amt))
  redis.call('HINCRBY', a, 'debits', amt)
  hist(h, 'forfeit:' .. f[1], 'forfeit', neg(amt), bal, now, 'unused balance zeroed at expiry (003 §7)')
else
  amt = 0
end
redis.call('HSET', a, 'forfeitedFor', f[1])
return out({ result = { expired = true, forfeited = amt, balanceAfter = bal, alreadyForfeited = (f[4] == f[1] and amt == 0) } })
`);
