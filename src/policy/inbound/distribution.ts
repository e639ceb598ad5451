// Distribution strategies (002 §1.3 智能话务分配) as pure functions of the group and the shared
// state the adapter keeps in Redis: a round-robin ticket per group, and per member the end of its
// last call and whether it is on a call now (longest-idle). The result is a list of waves: the
// members of one wave ring together (ring-all: one wave of everyone), the waves one after the other.
// Seats whose agent is not available (on a call, in wrap-up, away: issue 13) are left out under
// every strategy, after the order is drawn, so the others keep their turn (round-robin stays fair).
import type { RouteGroup, RouteMember } from './types.js';
import { seededRandom, seedOf } from '../routing.js';

export interface DistributionState {
  /** Calls this group handed out before this one (round-robin, and the weighted seed). */
  ticket: number;
  /** Epoch ms a member's last call ended; absent = never. */
  lastEnd: ReadonlyMap<string, number>;
  /** Members on a call now. */
  busy: ReadonlySet<string>;
  /** Seat members whose agent is not available (agents/agent-state.ts): never rung. */
  unavailable?: ReadonlySet<string>;
}

export const NO_STATE: DistributionState = { ticket: 0, lastEnd: new Map(), busy: new Set() };

/** Members in order of a weighted draw without replacement (weight 2 = twice as likely first). */
export function weightedOrder(members: readonly RouteMember[], seed: number): RouteMember[] {
  const next = seededRandom(seed);
  const left = [...members];
  const out: RouteMember[] = [];
  let total = left.reduce((s, m) => s + m.weight, 0);
  while (left.length > 0) {
    let pick = next() * total;
    let i = 0;
    while (i < left.length - 1 && pick >= left[i]!.weight) pick -= left[i++]!.weight;
    const [m] = left.splice(i, 1);
    out.push(m!);
    total -= m!.weight;
  }
  return out;
}

/** Round-robin: the member after the one the previous call started with. */
export function roundRobinOrder(members: readonly RouteMember[], ticket: number): RouteMember[] {
  const n = members.length;
  if (n === 0) return [];
  const start = ((ticket % n) + n) % n;
  return [...members.slice(start), ...members.slice(0, start)];
}

/** Longest idle first: never-called members first, members on a call last; ties in config order. */
export function longestIdleOrder(members: readonly RouteMember[], state: Pick<DistributionState, 'lastEnd' | 'busy'>): RouteMember[] {
  return members
    .map((m, i) => ({ m, i, busy: state.busy.has(m.key) ? 1 : 0, end: state.lastEnd.get(m.key) ?? -Infinity }))
    .sort((a, b) => a.busy - b.busy || a.end - b.end || a.i - b.i)
    .map((x) => x.m);
}

/** The waves in which the group's members are rung for this call; empty when nobody can be. */
export function distribute(group: RouteGroup, state: DistributionState, callId: string): RouteMember[][] {
  return order(group, state, callId)
    .map((wave) => wave.filter((m) => !state.unavailable?.has(m.key)))
    .filter((wave) => wave.length > 0);
}

function order(group: RouteGroup, state: DistributionState, callId: string): RouteMember[][] {
  switch (group.strategy) {
    case 'ring-all':
      return group.members.length ? [[...group.members]] : [];
    case 'round-robin':
      return roundRobinOrder(group.members, state.ticket).map((m) => [m]);
    case 'weighted':
      return weightedOrder(group.members, seedOf(`${callId}#${state.ticket}`)).map((m) => [m]);
    case 'longest-idle':
      return longestIdleOrder(group.members, state).map((m) => [m]);
    case 'sequential':
      return group.members.map((m) => [m]);
  }
}
