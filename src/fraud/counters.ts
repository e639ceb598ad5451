// Toll-fraud counters (issue 16 B), shared by every instance in Redis: new calls per second,
// attempts per callee per local day, and settled spend per hour and per local day. All keys of a
// tenant share the hash tag {fraud:<tenant>}, so each script touches one Cluster slot; every key
// expires. The decision itself is the policy core's (decideOutbound reads a FraudView); here the
// counters are read, admitted atomically (the pure check may have raced other instances, as with
// port slots), and spend is added once per reservation.
import { LuaScript, type RedisClient } from '../ledger/lua/script.js';
import type { Money } from '../config/types.js';
import type { FraudView } from '../policy/types.js';
import { localDate } from '../time/zone.js';

const HOUR_MS = 3_600_000;
/** Counters outlive their window a little (a day key covers any zone's day and a late settlement). */
const DAY_TTL_S = 2 * 24 * 3600;

export interface FraudLimits {
  maxCallsPerSecond?: number;
  maxAttemptsPerCalleePerDay?: number;
  maxSpendPerHour?: Money;
  maxSpendPerDay?: Money;
}

/** A spend cap crossed by one settlement: alerted once, by whichever instance crossed it. */
export interface SpendCapCrossed {
  tenant: string;
  cap: 'hour' | 'day';
  limit: Money;
  spent: Money;
  time: number;
}

function keys(tenant: string, now: number, zone: string): { cps: string; callee: string; spend: string; seen: string; hour: string; day: string } {
  const tag = `{fraud:${tenant}}`;
  const day = localDate(zone, now);
  return {
    cps: `dialgate:${tag}:cps:${Math.floor(now / 1000)}`,
    callee: `dialgate:${tag}:callee:${day}`,
    spend: `dialgate:${tag}:spend`,
    seen: `dialgate:${tag}:settled:${day}`,
    // Hours are whole in every zone dialgate serves (Asia/Shanghai): the epoch hour is the local hour.
    hour: `h:${Math.floor(now / HOUR_MS)}`,
    day: `d:${day}`,
  };
}

// KEYS: cps, callee hash. ARGV: callee, cps limit (0 = none), callee limit (0 = none), day ttl.
// Refuses without counting when a cap is reached; else counts the attempt on both.
const ADMIT = new LuaScript('fraud-admit', `
local cps = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[2]) > 0 and cps >= tonumber(ARGV[2]) then return {'cps', cps} end
local n = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if tonumber(ARGV[3]) > 0 and n >= tonumber(ARGV[3]) then return {'callee', n} end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], 2)
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[4]))
return {'ok', n + 1}
`);

// KEYS: spend hash, settled-set. ARGV: reservation id, cost, hour field, day field, hour cap, day cap, ttl.
// Idempotent per reservation; returns the new totals and which caps this settlement crossed.
const ADD_SPEND = new LuaScript('fraud-add-spend', `
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return {-1, -1, 0, 0} end
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[7]))
local cost = tonumber(ARGV[2])
local h = redis.call('HINCRBY', KEYS[1], ARGV[3], cost)
local d = redis.call('HINCRBY', KEYS[1], ARGV[4], cost)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[7]))
local hc, dc = tonumber(ARGV[5]), tonumber(ARGV[6])
local crossedH = (hc > 0 and h - cost < hc and h >= hc) and 1 or 0
local crossedD = (dc > 0 and d - cost < dc and d >= dc) and 1 or 0
return {h, d, crossedH, crossedD}
`);

export class FraudCounters {
  constructor(private readonly redis: RedisClient) {}

  /** What the decision sees: this second's calls, today's attempts to `callee`, spend so far. */
  async view(tenant: string, callee: string | null, now: number, zone: string): Promise<FraudView> {
    const k = keys(tenant, now, zone);
    const [cps, attempts, spend] = await Promise.all([
      this.redis.get(k.cps),
      callee ? this.redis.hget(k.callee, callee) : Promise.resolve(null),
      this.redis.hmget(k.spend, k.hour, k.day),
    ]);
    return {
      callsThisSecond: Number(cps ?? 0),
      calleeAttemptsToday: Number(attempts ?? 0),
      spentThisHour: Number(spend[0] ?? 0),
      spentToday: Number(spend[1] ?? 0),
    };
  }

  /** Counts an allowed attempt unless a cap filled up meanwhile (then which one). */
  async admit(tenant: string, callee: string, now: number, zone: string, l: FraudLimits): Promise<{ ok: true } | { ok: false; cap: 'cps' | 'callee'; count: number }> {
    const k = keys(tenant, now, zone);
    const r = (await ADMIT.run(this.redis, [k.cps, k.callee], [callee, l.maxCallsPerSecond ?? 0, l.maxAttemptsPerCalleePerDay ?? 0, DAY_TTL_S])) as [string, number];
    return r[0] === 'ok' ? { ok: true } : { ok: false, cap: r[0] as 'cps' | 'callee', count: Number(r[1]) };
  }

  /** Adds a settled cost (once per reservation); the caps this settlement crossed. */
  async addSpend(tenant: string, reservationId: string, cost: Money, now: number, zone: string, l: FraudLimits): Promise<SpendCapCrossed[]> {
    if (cost <= 0) return [];
    const k = keys(tenant, now, zone);
    const r = (await ADD_SPEND.run(this.redis, [k.spend, k.seen], [
      reservationId, cost, k.hour, k.day, l.maxSpendPerHour ?? 0, l.maxSpendPerDay ?? 0, DAY_TTL_S,
    ])) as [number, number, number, number];
    const out: SpendCapCrossed[] = [];
    if (r[2] === 1) out.push({ tenant, cap: 'hour', limit: l.maxSpendPerHour!, spent: Number(r[0]), time: now });
    if (r[3] === 1) out.push({ tenant, cap: 'day', limit: l.maxSpendPerDay!, spent: Number(r[1]), time: now });
    return out;
  }
}
