// Agent state in Redis, shared by every app instance (issue 13). Under one hash tag:
// - one hash holds every seat's record (agent-state.ts AgentRecord) as JSON, without its open calls;
// - each seat's open calls are a sorted set (call id by expiry) and a hash (call id → start).
// So a change (call start or end, away, available) is one Lua script call: one round trip, atomic
// against another instance changing the same seat, and its cost does not grow with the seat's
// open calls. (The calls used to live in the record's JSON: a seat with thousands of calls open,
// a dialer behind one account, then cost Redis ~10 ms per call start or end, and everything else
// waiting on Redis timed out.) The states of a 400 group's seats are one script call.
// The state itself is computed by agent-state.ts from the record and the running config.
import type { Cluster, Redis } from 'ioredis';
import { LuaScript } from '../ledger/lua/script.js';
import { EMPTY_RECORD, type AgentRecord } from './agent-state.js';

const TAG = 'dialgate:agents:{agents}';
export const agentKeys = {
  /** hash seat → AgentRecord JSON (its `calls` kept apart, below) */
  records: `${TAG}:records`,
  /** sorted set: the seat's open calls, call id → expiry (epoch ms) */
  calls: (seat: string) => `${TAG}:calls:${seat}`,
  /** hash: the seat's open calls, call id → start (epoch ms) */
  starts: (seat: string) => `${TAG}:starts:${seat}`,
};

/** What a call session reports: one Redis round trip per event. */
export interface AgentEvents {
  /** The seat is on this call from `at`; `until` bounds it if its end is never reported (crash). */
  onCallStart(seat: string, callId: string, at: number, until: number): Promise<void>;
  /** The call ended at `at`; `talked` = it was answered (wrap-up follows). */
  onCallEnd(seat: string, callId: string, at: number, talked: boolean): Promise<void>;
}

// Mirrors applyEvent (agent-state.ts). KEYS: the records hash, the seat's calls and starts.
// ARGV: seat, kind (start|end|away|available), at, callId, until (start) or talked 0/1 (end).
// Returns 1: a reader wants the open calls too, which records() reads along (away and available).
// A record written before the calls moved out still holds them: they move out at its next event.
// Absent fields are null on the TypeScript side.
const EVENT = new LuaScript('agent-event', `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local rec = raw and cjson.decode(raw) or {}
if type(rec.calls) == 'table' then
  for id, c in pairs(rec.calls) do
    redis.call('ZADD', KEYS[2], c[2], id)
    redis.call('HSET', KEYS[3], id, c[1])
  end
  rec.calls = nil
  redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(rec))
end
local kind, at = ARGV[2], tonumber(ARGV[3])
if kind == 'start' then
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', at)) do
    redis.call('ZREM', KEYS[2], id)
    redis.call('HDEL', KEYS[3], id)
  end
  redis.call('ZADD', KEYS[2], tonumber(ARGV[5]), ARGV[4])
  redis.call('HSET', KEYS[3], ARGV[4], at)
  if not raw then redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(rec)) end
  return 1
elseif kind == 'end' then
  if redis.call('ZREM', KEYS[2], ARGV[4]) == 0 then return 1 end
  redis.call('HDEL', KEYS[3], ARGV[4])
  rec.lastEnd = at
  rec.talked = ARGV[5] == '1'
elseif kind == 'away' then
  if type(rec.away) == 'number' then return 1 end
  rec.away = at
elseif kind == 'available' then
  rec.away = nil
  rec.readyAt = at
else
  return redis.error_reply('unknown agent event ' .. kind)
end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(rec))
return 1
`);

// KEYS: the records hash, then each seat's calls and starts. ARGV: the seats.
// Per seat: { record JSON or false, {id, expiry, ...}, {id, start, ...} }.
const READ = new LuaScript('agent-read', `
local out = {}
for i, seat in ipairs(ARGV) do
  local ids = redis.call('ZRANGE', KEYS[2 * i], 0, -1, 'WITHSCORES')
  out[i] = { redis.call('HGET', KEYS[1], seat), ids, #ids > 0 and redis.call('HGETALL', KEYS[2 * i + 1]) or {} }
end
return out
`);

/** A stored value as a record; anything unreadable counts as a fresh seat (never blocks a call). */
export function parseRecord(raw: string | null | undefined): AgentRecord {
  if (!raw) return EMPTY_RECORD;
  try {
    const v = JSON.parse(raw) as Partial<AgentRecord> & { calls?: unknown };
    const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
    const calls: AgentRecord['calls'] = {};
    if (v.calls && typeof v.calls === 'object' && !Array.isArray(v.calls)) {
      for (const [id, c] of Object.entries(v.calls as Record<string, unknown>)) {
        if (Array.isArray(c) && num(c[0]) !== null && num(c[1]) !== null) calls[id] = [c[0] as number, c[1] as number];
      }
    }
    return { calls, lastEnd: num(v.lastEnd), talked: v.talked === true, away: num(v.away), readyAt: num(v.readyAt) };
  } catch {
    return EMPTY_RECORD;
  }
}

export class AgentStore implements AgentEvents {
  constructor(private readonly redis: Redis | Cluster) {}

  private static keys(seat: string): string[] {
    return [agentKeys.records, agentKeys.calls(seat), agentKeys.starts(seat)];
  }

  /** Away and available: the record as it is after the event (its open calls read along). */
  private async event(seat: string, kind: 'away' | 'available', at: number): Promise<AgentRecord> {
    await EVENT.run(this.redis, AgentStore.keys(seat), [seat, kind, at, '', '']);
    return (await this.records([seat])).get(seat)!;
  }

  async onCallStart(seat: string, callId: string, at: number, until: number): Promise<void> {
    await EVENT.run(this.redis, AgentStore.keys(seat), [seat, 'start', at, callId, until]);
  }

  async onCallEnd(seat: string, callId: string, at: number, talked: boolean): Promise<void> {
    await EVENT.run(this.redis, AgentStore.keys(seat), [seat, 'end', at, callId, talked ? '1' : '0']);
  }

  /** Set by the agent (web phone) or an admin; kept through calls until cleared. */
  setAway(seat: string, at: number): Promise<AgentRecord> {
    return this.event(seat, 'away', at);
  }

  /** Clears away, and ends a wrap-up early (the agent is ready for the next call). */
  setAvailable(seat: string, at: number): Promise<AgentRecord> {
    return this.event(seat, 'available', at);
  }

  /** The records of these seats (fresh records for seats never seen), in one round trip. */
  async records(seats: readonly string[]): Promise<Map<string, AgentRecord>> {
    if (seats.length === 0) return new Map();
    const keys = [agentKeys.records, ...seats.flatMap((s) => [agentKeys.calls(s), agentKeys.starts(s)])];
    const rows = (await READ.run(this.redis, keys, seats)) as [string | null, string[], string[]][];
    return new Map(seats.map((s, i) => [s, withCalls(parseRecord(rows[i]?.[0]), rows[i]?.[1] ?? [], rows[i]?.[2] ?? [])]));
  }

  /** Every stored record (status listings). */
  async all(): Promise<Map<string, AgentRecord>> {
    return this.records(await this.redis.hkeys(agentKeys.records));
  }
}

/** The record with the open calls kept apart from it (flat ZRANGE WITHSCORES and HGETALL lists). */
function withCalls(rec: AgentRecord, expiries: readonly string[], starts: readonly string[]): AgentRecord {
  if (expiries.length === 0) return rec;
  const startOf = new Map<string, number>();
  for (let i = 0; i + 1 < starts.length; i += 2) startOf.set(starts[i]!, Number(starts[i + 1]));
  const calls = { ...rec.calls };
  for (let i = 0; i + 1 < expiries.length; i += 2) {
    const id = expiries[i]!;
    const until = Number(expiries[i + 1]);
    calls[id] = [startOf.get(id) ?? until, until];
  }
  return { ...rec, calls };
}
