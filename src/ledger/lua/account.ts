import { LuaScript } from './script.js';

/** create — KEYS: account; ARGV: field, value, ... Creates the account hash only if absent (1/0). */
export const CREATE = new LuaScript('create', `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`);
