// Agent state in Redis, shared by every app instance (issue 13). One hash holds every seat's
// record (agent-state.ts AgentRecord) as JSON under one hash tag, so:
// - a change (call start or end, away, available) is one Lua script call: one round trip, atomic
//   against another instance changing the same seat;
// - the states of a 400 group's seats are one HMGET, and `dialgate status` one HGETALL.
// The state itself is computed by agent-state.ts from the record and the running config.
import type { Cluster, Redis } from 'ioredis';
import { LuaScript } from '../ledger/lua/script.js';
import { EMPTY_RECORD, type AgentRecord } from './agent-state.js';

export const agentKeys = {
  /** hash seat → AgentRecord JSON */
  records: 'dialgate:agents:{agents}:records',
};

/** What a call session reports: one Redis round trip per event. */
export interface AgentEvents {
  /** The seat is on this call from `at`; `until` bounds it if its end is never reported (crash). */
  onCallStart(seat: string, callId: string, at: number, until: number): Promise<void>;
  /** The call ended at `at`; `talked` = it was answered (wrap-up follows). */
  onCallEnd(seat: string, callId: string, at: number, talked: boolean): Promise<void>;
}

// Mirrors applyEvent (agent-state.ts). KEYS[1]: the records hash.
// ARGV: seat, kind (start|end|away|available), at, callId, until (start) or talked 0/1 (end).
// Returns the record after the event (JSON) for away and available; 1 for a call's start or end,
// whose caller does not read it (a seat's record grows with its open calls: shipping and parsing
// it back on every call start and end cost more than the rest of the event).
// Absent fields are null on the TypeScript side.
const EVENT = new LuaScript('agent-event', `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local rec = raw and cjson.decode(raw) or {}
if type(rec.calls) ~= 'table' then rec.calls = {} end
local kind, at = ARGV[2], tonumber(ARGV[3])
if kind == 'start' then
  for id, c in pairs(rec.calls) do
    if c[2] <= at then rec.calls[id] = nil end
  end
  rec.calls[ARGV[4]] = { at, tonumber(ARGV[5]) }
elseif kind == 'end' then
  if rec.calls[ARGV[4]] == nil then return 1 end
  rec.calls[ARGV[4]] = nil
  rec.lastEnd = at
  rec.talked = ARGV[5] == '1'
elseif kind == 'away' then
  if type(rec.away) == 'number' then return raw end
  rec.away = at
elseif kind == 'available' then
  rec.away = nil
  rec.readyAt = at
else
  return redis.error_reply('unknown agent event ' .. kind)
end
local out = cjson.encode(rec)
redis.call('HSET', KEYS[1], ARGV[1], out)
if kind == 'start' or kind == 'end' then return 1 end
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

  private async event(seat: string, kind: 'away' | 'available', at: number): Promise<AgentRecord> {
    return parseRecord(String(await EVENT.run(this.redis, [agentKeys.records], [seat, kind, at, '', ''])));
  }

  async onCallStart(seat: string, callId: string, at: number, until: number): Promise<void> {
    await EVENT.run(this.redis, [agentKeys.records], [seat, 'start', at, callId, until]);
  }

  async onCallEnd(seat: string, callId: string, at: number, talked: boolean): Promise<void> {
    await EVENT.run(this.redis, [agentKeys.records], [seat, 'end', at, callId, talked ? '1' : '0']);
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
    const raw = await this.redis.hmget(agentKeys.records, ...seats);
    return new Map(seats.map((s, i) => [s, parseRecord(raw[i])]));
  }

  /** Every stored record (status listings). */
  async all(): Promise<Map<string, AgentRecord>> {
    const raw = await this.redis.hgetall(agentKeys.records);
    return new Map(Object.entries(raw).map(([s, v]) => [s, parseRecord(v)]));
  }
}
