// Shared state of 400 calls in Redis, for every app instance: round-robin tickets per group,
// members' last call end and current calls (longest-idle), and the day's missed-call count per
// number (002 §3.5). Each operation is one Redis command on one key (Cluster-safe); the ones that
// must not race are atomic by construction (INCR hands out distinct tickets and ordinals).
import type { DistributionStrategy } from '../config/types.js';
import type { DistributionState } from '../policy/inbound/distribution.js';
import { localDate } from '../time/zone.js';
import type { RedisClient } from '../ledger/lua/script.js';

const PREFIX = 'dialgate:400';
/** A member counts as busy this long after it answered, unless its call end clears it (crash safety). */
const BUSY_TTL_MS = 4 * 3600_000;
const MISSED_TTL_S = 3 * 86_400;

export const inboundKeys = {
  ticket: (number: string, group: string) => `${PREFIX}:{n:${number}}:rr:${group}`,
  /** hash member key → epoch ms its last call ended */
  lastEnd: `${PREFIX}:{members}:last-end`,
  /** zset member key → epoch ms it answered (members on a call) */
  busy: `${PREFIX}:{members}:busy`,
  /** integer: unanswered calls of the number on a local day (YYYY-MM-DD) */
  missed: (number: string, day: string) => `${PREFIX}:{n:${number}}:missed:${day}`,
};

/** The local calendar day the missed-call count belongs to (resets at local midnight). */
export function missedDay(now: number, zone = 'Asia/Shanghai'): string {
  return localDate(zone, now);
}

export class InboundState {
  constructor(private readonly redis: RedisClient) {}

  /** State for ringing one group now; takes a round-robin ticket when the group needs one. */
  async take(number: string, group: string, strategy: DistributionStrategy, now: number): Promise<DistributionState> {
    const ticket = strategy === 'round-robin' || strategy === 'weighted'
      ? (await this.redis.incr(inboundKeys.ticket(number, group))) - 1 : 0;
    if (strategy !== 'longest-idle') return { ticket, lastEnd: new Map(), busy: new Set() };
    const [ends, busy] = await Promise.all([
      this.redis.hgetall(inboundKeys.lastEnd),
      this.redis.zrangebyscore(inboundKeys.busy, now - BUSY_TTL_MS, '+inf'),
    ]);
    return { ticket, lastEnd: new Map(Object.entries(ends).map(([k, v]) => [k, Number(v)])), busy: new Set(busy) };
  }

  async answered(member: string, now: number): Promise<void> {
    await this.redis.zadd(inboundKeys.busy, now, member);
  }

  async ended(member: string, now: number): Promise<void> {
    await Promise.all([this.redis.zrem(inboundKeys.busy, member), this.redis.hset(inboundKeys.lastEnd, member, String(now))]);
  }

  /** Counts one more unanswered call of the number today; returns its ordinal (1-based). */
  async countMissed(number: string, day: string): Promise<number> {
    const key = inboundKeys.missed(number, day);
    const [[, n]] = (await this.redis.multi().incr(key).expire(key, MISSED_TTL_S).exec()) as [[unknown, number]];
    return Number(n);
  }

  async missedCount(number: string, day: string): Promise<number> {
    return Number((await this.redis.get(inboundKeys.missed(number, day))) ?? 0);
  }
}
