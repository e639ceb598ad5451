// Lua helpers shared by the ledger scripts (prepended to each script's source).
// Numbers: Redis Lua numbers are doubles; all money and times stay far below 2^53 and below
// cjson's 14 significant digits (1e14 units = 10 billion yuan; epoch ms has 13 digits).
export const PRELUDE = `
local function num(v) return tonumber(v) or 0 end
local function int(n) return string.format('%d', n) end
local function out(t) return cjson.encode(t) end
-- 0 - x, not -x: -0 would reach Redis as "-0", which HINCRBY rejects.
local function neg(x) return 0 - x end

-- One ledger history entry; amount is signed (credit > 0, debit < 0).
local function hist(key, id, typ, amount, bal, now, note, arrears)
  if arrears and arrears > 0 then
    redis.call('XADD', key, '*', 'id', id, 'type', typ, 'amount', int(amount), 'balanceAfter', int(bal),
      'time', int(now), 'note', note or '', 'arrears', int(arrears))
  else
    redis.call('XADD', key, '*', 'id', id, 'type', typ, 'amount', int(amount), 'balanceAfter', int(bal),
      'time', int(now), 'note', note or '')
  end
end

-- 003 §2.2: "low" when balance < 10% of the prepaid total or < one month of fees. The alert fires
-- once per crossing: alertArmed goes 1 -> 0 when it fires and back to 1 only once the balance is
-- above both thresholds again (e.g. after a top-up). Returns the alert or nil.
local function lowCheck(akey, acct, bal, now)
  local f = redis.call('HMGET', akey, 'prepaidTotal', 'monthlyFees', 'alertArmed')
  local pt, mf, armed = num(f[1]), num(f[2]), f[3]
  local belowPct, belowFees = bal * 10 < pt, bal < mf
  if belowPct or belowFees then
    if armed ~= '0' then
      redis.call('HSET', akey, 'alertArmed', '0')
      return { account = acct, balance = bal, prepaidTotal = pt, monthlyFees = mf, time = now,
        reason = belowPct and 'BELOW_10_PERCENT' or 'BELOW_MONTHLY_FEES' }
    end
  elseif armed == '0' then
    redis.call('HSET', akey, 'alertArmed', '1')
  end
  return nil
end

-- Why an account may not reserve now (nil = it may): status, arrears, then validity (003 §7,
-- 002 §2.3). 001 §6(一) 欠费停机: an account that owes arrears is suspended until they are paid.
local function gate(status, vf, vu, now, arrears)
  if status ~= 'active' then return string.upper(status or 'closed') end
  if arrears > 0 then return 'SUSPENDED' end
  if vu > 0 and now >= vu then return 'EXPIRED' end
  if vf > 0 and now < vf then return 'NOT_YET_VALID' end
  return nil
end
`;
