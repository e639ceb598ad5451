// Nonce-count tracking across instances (RFC 7616 §3.4.5): an Authorization header captured
// from one request cannot be sent again. Each authenticated request must carry a nonce-count
// higher than any seen for its nonce; a request without qop (RFC 2069) uses its nonce once.
// One key per nonce (its own hash tag), kept as long as the nonce is valid.
import type { Cluster, Redis } from 'ioredis';
import { LuaScript } from '../ledger/lua/script.js';

// KEYS: nonce key. ARGV: nc, ttlMs. 1 = fresh, 0 = replayed.
const ACCEPT = new LuaScript('nonce-accept', `
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) <= last then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`);

export interface ReplayGuard {
  /** True the first time a (nonce, nc) is presented with a higher nc than before. */
  accept(nonce: string, nc: number, ttlMs: number): Promise<boolean>;
}

export function createReplayGuard(redis: Redis | Cluster, prefix = 'dialgate:nc'): ReplayGuard {
  return {
    async accept(nonce, nc, ttlMs) {
      if (!Number.isSafeInteger(nc) || nc < 1) return false;
      return Number(await ACCEPT.run(redis, [`${prefix}:{${nonce}}`], [nc, Math.max(1, Math.ceil(ttlMs))])) === 1;
    },
  };
}
