// An agent's (seat's) state for 400 distribution and the web phone (issue 13), as a pure function
// of what the store keeps and the time now:
//
//   available ──call start──▶ on-call ──last call ends──▶ wrap-up ──wrapUpSeconds──▶ available
//        ▲  │                   ▲                            │ └──"available" (agent)──▶ available
//        │  └─"away" (agent)──▶ away ◀───────────────────────┘ (away persists through calls)
//
// - A seat may hold more than one call (an outbound call while a 400 call is held, two instances):
//   calls are counted by call id, and the seat is on-call while any is open.
// - On-call wins over everything while a call is open; away is a flag the agent (or an admin)
//   sets and clears, and it is still set after the call.
// - Wrap-up follows an answered call only (after-call work); an attempt that never connected
//   returns the seat straight to available. Its end is computed from the stored end time and the
//   configured seconds, so a config reload changes it at once and no timer is needed.
// - Crash safety: each open call carries the time past which no live call can back it (the
//   tenant's longest call plus setup); an entry past it is ignored, like inbound-state's BUSY_TTL.

export type AgentState = 'available' | 'on-call' | 'wrap-up' | 'away';
export const AGENT_STATES: readonly AgentState[] = ['available', 'on-call', 'wrap-up', 'away'];

/** What the store keeps per seat (one JSON value in one Redis hash field). */
export interface AgentRecord {
  /** Open calls: call id → [started, expires] (epoch ms). */
  calls: Record<string, [number, number]>;
  /** When the last call ended, and whether it was answered (wrap-up follows answered calls). */
  lastEnd: number | null;
  talked: boolean;
  /** Set by the agent (or an admin): since when the seat is away; null = not away. */
  away: number | null;
  /** When the agent last said "available" (ends away, and cuts a wrap-up short). */
  readyAt: number | null;
}

export const EMPTY_RECORD: AgentRecord = { calls: {}, lastEnd: null, talked: false, away: null, readyAt: null };

export type AgentEvent =
  | { kind: 'call-start'; callId: string; at: number; until: number }
  | { kind: 'call-end'; callId: string; at: number; talked: boolean }
  | { kind: 'away'; at: number }
  | { kind: 'available'; at: number };

/**
 * The record after an event. The store's Lua script does the same steps in Redis (agent-store.ts);
 * test/agents/agent-store.test.ts runs this module's transition table against both.
 * - a call end for a call not open (ended twice, or its start was lost) changes nothing;
 * - away while away keeps the first time; available clears away and ends a wrap-up.
 */
export function applyEvent(rec: AgentRecord, ev: AgentEvent): AgentRecord {
  switch (ev.kind) {
    case 'call-start': {
      const calls = Object.fromEntries(Object.entries(rec.calls).filter(([, [, until]]) => until > ev.at));
      return { ...rec, calls: { ...calls, [ev.callId]: [ev.at, ev.until] } };
    }
    case 'call-end': {
      if (!(ev.callId in rec.calls)) return rec;
      const { [ev.callId]: _gone, ...calls } = rec.calls;
      return { ...rec, calls, lastEnd: ev.at, talked: ev.talked };
    }
    case 'away':
      return rec.away !== null ? rec : { ...rec, away: ev.at };
    case 'available':
      return { ...rec, away: null, readyAt: ev.at };
  }
}

export interface AgentView {
  state: AgentState;
  /** Since when (epoch ms); null for a seat that never did anything (available since ever). */
  since: number | null;
  /** Calls open now. */
  calls: number;
  /** Whether the away flag is set (shown while on-call: after the call the seat is away). */
  away: boolean;
  /** When a wrap-up ends (only in wrap-up). */
  wrapUpUntil?: number;
}

/** The seat's state now, with `wrapUpSeconds` from the running config (seat, else tenant). */
export function agentState(rec: AgentRecord, wrapUpSeconds: number, now: number): AgentView {
  const open = Object.values(rec.calls).filter(([, until]) => until > now);
  const away = rec.away !== null;
  if (open.length > 0) return { state: 'on-call', since: Math.min(...open.map(([start]) => start)), calls: open.length, away };
  if (rec.away !== null) return { state: 'away', since: rec.away, calls: 0, away };
  let freeAt = rec.lastEnd;
  if (rec.lastEnd !== null && rec.talked && wrapUpSeconds > 0) {
    const planned = rec.lastEnd + wrapUpSeconds * 1000;
    const cut = rec.readyAt !== null && rec.readyAt >= rec.lastEnd ? rec.readyAt : Infinity;
    freeAt = Math.min(planned, cut);
    if (now < freeAt) return { state: 'wrap-up', since: rec.lastEnd, calls: 0, away, wrapUpUntil: planned };
  }
  // A call that expired without its end (crash) frees the seat from its expiry on.
  const expired = Object.values(rec.calls).map(([, until]) => until);
  const since = [freeAt, rec.readyAt, ...expired].filter((t): t is number => t !== null && t <= now);
  return { state: 'available', since: since.length ? Math.max(...since) : null, calls: 0, away };
}

/** Wrap-up seconds of a seat in a config snapshot: the seat's own, else its tenant's, else 0. */
export function wrapUpSecondsOf(cfg: { seats: ReadonlyMap<string, { tenant: string; wrapUpSeconds?: number }>; tenants: ReadonlyMap<string, { wrapUpSeconds?: number }> }, seat: string): number {
  const s = cfg.seats.get(seat);
  return s?.wrapUpSeconds ?? (s ? cfg.tenants.get(s.tenant)?.wrapUpSeconds : undefined) ?? 0;
}
