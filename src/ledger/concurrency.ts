// Concurrency slots shared by all app instances: tenant port limits (004 §2.2 purchased ports) and
// trunk capacity. One sorted set per limited resource; callers choose the key, e.g.
// `dialgate:slots:{tenant:t1}` — one key per script, so any key works on Cluster.
// A slot expires ttlMs after its last acquire/refresh, so a crashed instance's calls stop counting.
import { ACQUIRE, COUNT, COUNT_MANY, RELEASE_MANY, REFRESH } from './lua/slots.js';
import type { RedisClient } from './lua/script.js';

export interface SlotResult {
  ok: boolean;
  /** Slots held after the call (including this one when ok). */
  count: number;
}

export function slotKey(kind: 'tenant' | 'trunk', id: string): string {
  return `dialgate:slots:{${kind}:${id}}`;
}

export class ConcurrencySlots {
  constructor(private readonly redis: RedisClient) {}

  /** Takes a slot for callId if fewer than limit are live; idempotent; a retry refreshes the TTL. */
  async acquire(key: string, callId: string, limit: number, ttlMs: number): Promise<SlotResult> {
    if (!Number.isInteger(limit) || limit < 0 || !Number.isInteger(ttlMs) || ttlMs <= 0) {
      throw new Error(`bad slot limit/ttl: ${limit}/${ttlMs}`);
    }
    const r = (await ACQUIRE.run(this.redis, [key], [callId, limit, ttlMs])) as [number, number];
    return { ok: r[0] === 1, count: r[1] };
  }

  /** Keep-alive for a long call; false when the slot had expired (the call should end). */
  async refresh(key: string, callId: string, ttlMs: number): Promise<boolean> {
    return (await REFRESH.run(this.redis, [key], [callId, ttlMs])) === 1;
  }

  async release(key: string, callId: string): Promise<boolean> {
    return (await this.redis.zrem(key, callId)) === 1;
  }

  /**
   * release of each slot: one script call on a single Redis (a call ends holding its tenant's and
   * its trunk's); on Cluster one ZREM per slot (in parallel). Rejects if any release failed.
   */
  async releaseMany(held: readonly { key: string; member: string }[]): Promise<void> {
    if (held.length === 1 || (this.redis as { isCluster?: boolean }).isCluster) {
      await Promise.all(held.map((s) => this.release(s.key, s.member)));
      return;
    }
    if (held.length > 1) await RELEASE_MANY.run(this.redis, held.map((s) => s.key), held.map((s) => s.member));
  }

  async count(key: string): Promise<number> {
    return Number(await COUNT.run(this.redis, [key], []));
  }

  /**
   * count of each key, in order: one script call on a single Redis; on Cluster, where the keys
   * live in different slots, one per key (in parallel).
   */
  async countMany(keys: readonly string[]): Promise<number[]> {
    if (keys.length === 0) return [];
    if (keys.length === 1 || (this.redis as { isCluster?: boolean }).isCluster) return Promise.all(keys.map((k) => this.count(k)));
    return ((await COUNT_MANY.run(this.redis, keys, [])) as unknown[]).map(Number);
  }
}
