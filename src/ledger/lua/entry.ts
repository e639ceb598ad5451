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
 *
 * Arrears episodes (001 §6): the charge that takes arrears from 0 to > 0 stamps arrearsSince and
 * returns a tenant-suspended alert; the top-up that pays them back to 0 ends the episode (clears
 * arrearsSince, lateFeeArrears, lateFees). Late fees (type 'latefee') keep their unpaid part in
 * lateFeeArrears, so the next day's fee is reckoned on the fees owed, not on fees (no interest on
 * interest); a partial payment pays the fees owed first and late fees last. The first late fee
 * of an episode returns a late-fee alert. ARGV[8], ARGV[9] (optional): the principal and
 * arrearsSince the late fee was reckoned on — if either changed meanwhile (a payment, a new
 * charge) the entry is refused with STALE and not recorded, so the caller reckons it again.
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
local f = redis.call('HMGET', a, 'balance', 'reserved', 'arrears', 'arrearsSince', 'lateFeeArrears', 'tenant', 'lateFees')
local bal, resv, arr, since, lfa = num(f[1]), num(f[2]), num(f[3]), f[4], num(f[5])
if ARGV[8] and ARGV[8] ~= '' and (arr - lfa ~= tonumber(ARGV[8]) or (since or '') ~= ARGV[9]) then
  return out({ err = 'STALE', principal = arr - lfa, since = since or '' })
end
local res
local arrearsAlerts = {}
if mode == 'credit' then
  bal = redis.call('HINCRBY', a, 'balance', amount)
  redis.call('HINCRBY', a, 'credits', amount)
  hist(h, id, typ, amount, bal, now, note)
  local pay = math.min(arr, bal - resv)
  if pay > 0 then
    bal = redis.call('HINCRBY', a, 'balance', neg(pay))
    redis.call('HINCRBY', a, 'debits', pay)
    local left = redis.call('HINCRBY', a, 'arrears', neg(pay))
    hist(h, id .. ':arrears', 'arrears', neg(pay), bal, now, 'arrears paid from top-up')
    if left <= 0 then
      redis.call('HDEL', a, 'arrearsSince', 'lateFeeArrears', 'lateFees')
    elseif pay > arr - lfa then
      redis.call('HSET', a, 'lateFeeArrears', int(left))
    end
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
  if unpaid > 0 then
    local owed = redis.call('HINCRBY', a, 'arrears', unpaid)
    if not since then
      since = int(now)
      redis.call('HSET', a, 'arrearsSince', since)
      arrearsAlerts[#arrearsAlerts + 1] = { type = 'tenant-suspended', account = acct, tenant = f[6] or '', arrears = owed,
        since = now, time = now, entry = id }
    end
    if typ == 'latefee' then redis.call('HINCRBY', a, 'lateFeeArrears', unpaid) end
  end
  hist(h, id, typ, neg(paid), bal, now, note, unpaid)
  if typ == 'latefee' and since and redis.call('HINCRBY', a, 'lateFees', 1) == 1 then
    arrearsAlerts[#arrearsAlerts + 1] = { type = 'late-fee', account = acct, tenant = f[6] or '', fee = amount,
      arrears = num(redis.call('HGET', a, 'arrears')), since = tonumber(since), time = now, entry = id }
  end
  res = { type = typ, amount = neg(amount), paid = neg(paid), arrears = unpaid, arrearsPaid = 0, balanceAfter = bal }
end
redis.call('HSET', e, id, cjson.encode(res))
local alert = lowCheck(a, acct, bal, now)
res.duplicate = false
if #arrearsAlerts == 0 then arrearsAlerts = nil end
return out({ result = res, alert = alert, arrearsAlerts = arrearsAlerts })
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
