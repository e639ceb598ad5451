// Arrears steps that are not money (001 §6): stamping an episode the ledger does not know the
// start of, and closing an account after 30 days in arrears. Money (late fees, payments) goes
// through the entry script; these only change the account's standing, atomically and once.
import { PRELUDE } from './prelude.js';
import { LuaScript } from './script.js';

/**
 * adopt — KEYS: account; ARGV: account id, now.
 * Arrears recorded before episodes were stamped have no arrearsSince: the episode is taken to
 * start now (the first daily close that sees it), with its tenant-suspended alert. No-op otherwise.
 */
export const ADOPT_ARREARS = new LuaScript('arrears-adopt', PRELUDE + `
local a, acct, now = KEYS[1], ARGV[1], tonumber(ARGV[2])
if redis.call('EXISTS', a) == 0 then return out({ err = 'NO_ACCOUNT' }) end
local f = redis.call('HMGET', a, 'arrears', 'arrearsSince', 'tenant')
if num(f[1]) <= 0 or f[2] then return out({ adopted = false }) end
redis.call('HSET', a, 'arrearsSince', int(now))
return out({ adopted = true, alert = { type = 'tenant-suspended', account = acct, tenant = f[3] or '',
  arrears = num(f[1]), since = now, time = now, entry = '' } })
`);

/**
 * close — KEYS: account, history; ARGV: account id, arrearsSince the decision was taken on, now, note.
 * 001 §6(二)5: closes the account (status closed, closedAt) if it is still in the same arrears
 * episode; a payment or a new episode meanwhile leaves it open. A zero-amount 'closure' entry
 * keeps the event in the history (and so in the statement). Closing twice changes nothing and
 * alerts once.
 */
export const CLOSE_FOR_ARREARS = new LuaScript('arrears-close', PRELUDE + `
local a, h, acct, expected, now = KEYS[1], KEYS[2], ARGV[1], ARGV[2], tonumber(ARGV[3])
if redis.call('EXISTS', a) == 0 then return out({ err = 'NO_ACCOUNT' }) end
local f = redis.call('HMGET', a, 'status', 'arrears', 'arrearsSince', 'tenant', 'balance')
if f[1] == 'closed' then return out({ closed = true, changed = false }) end
if num(f[2]) <= 0 or f[3] ~= expected then return out({ closed = false, changed = false }) end
redis.call('HSET', a, 'status', 'closed', 'closedAt', int(now))
hist(h, 'closure:' .. expected, 'closure', 0, num(f[5]), now, ARGV[4])
return out({ closed = true, changed = true, alert = { type = 'tenant-closed', account = acct, tenant = f[4] or '',
  arrears = num(f[2]), since = tonumber(expected), time = now, entry = '' } })
`);
