// Nonce-count tracking across instances (RFC 7616 §3.4.5): an Authorization header captured
// from one request cannot be sent again. Each authenticated request must carry a nonce-count
// higher than any seen for its nonce; a request without qop (RFC 2069) uses its nonce once.
// One key per nonce (its own hash tag), kept as long as the nonce is valid.
import type { Cluster, Redis } from 'ioredis';
import { LuaScript } from '../ledger/lua/script.js';

/**
 * The rule in Lua, for this script and for the lockout's read (which takes the nonce-count along
 * on a single Redis): sets local `fresh` to 1 when ARGV[nc] is above the nonce's last count, and
 * records it for ARGV[ttl] ms.
 */
export const acceptNonceLua = (key: string, nc: string, ttl: string): string => `
local fresh = 0
if tonumber(${nc}) > tonumber(redis.call('GET', ${key}) or '0') then
  redis.call('SET', ${key}, ${nc}, 'PX', ${ttl})
  fresh = 1
end`;

// KEYS: nonce key. ARGV: nc, ttlMs. 1 = fresh, 0 = replayed.
const ACCEPT = new LuaScript('nonce-accept', `${acceptNonceLua('KEYS[1]', 'ARGV[1]', 'ARGV[2]')}
return fresh
`);

/** One nonce-count to accept: its key and the values the script takes. */
export interface NonceUse { key: string; nc: number; ttlMs: number }

export interface ReplayGuard {
  /** True the first time a (nonce, nc) is presented with a higher nc than before. */
  accept(nonce: string, nc: number, ttlMs: number): Promise<boolean>;
  /** The (nonce, nc) as another script's read takes it (Lockout.check); null: never fresh. */
  use?(nonce: string, nc: number, ttlMs: number): NonceUse | null;
}

export function createReplayGuard(redis: Redis | Cluster, prefix = 'dialgate:nc'): ReplayGuard {
  const use = (nonce: string, nc: number, ttlMs: number): NonceUse | null =>
    Number.isSafeInteger(nc) && nc >= 1 ? { key: `${prefix}:{${nonce}}`, nc, ttlMs: Math.max(1, Math.ceil(ttlMs)) } : null;
  return {
    use,
    async accept(nonce, nc, ttlMs) {
      const u = use(nonce, nc, ttlMs);
      return u !== null && (await acceptNonce(redis, u));
    },
  };
}

export async function acceptNonce(redis: Redis | Cluster, u: NonceUse): Promise<boolean> {
  return Number(await ACCEPT.run(redis, [u.key], [u.nc, u.ttlMs])) === 1;
}
