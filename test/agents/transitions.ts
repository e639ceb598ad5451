// The agent-state transition table, shared by the pure test and the Redis store test (the store's
// Lua script must walk the same table to the same states).
import type { AgentEvent, AgentState } from '../../src/agents/agent-state.js';

export const T0 = Date.UTC(2026, 10, 27, 2, 0, 0); // 10:00 Beijing
const s = (n: number) => T0 + n * 1000;
const H4 = 4 * 3600_000;

/** [seconds after T0, expected state, expected since (seconds after T0) or null] */
export type Check = [number, AgentState, number | null];

export interface Row {
  name: string;
  wrapUp: number;
  /** Events, with checks of the state at that point between them. */
  events: (AgentEvent | Check)[];
  /** Checks after the last event. */
  expect: Check[];
}

export const TABLE: Row[] = [
  { name: 'a seat never seen is available', wrapUp: 30, events: [], expect: [[0, 'available', null]] },
  {
    name: 'call start → on-call; answered call end → wrap-up for wrapUpSeconds → available',
    wrapUp: 30,
    events: [{ kind: 'call-start', callId: 'c1', at: s(0), until: s(0) + H4 }, [10, 'on-call', 0], { kind: 'call-end', callId: 'c1', at: s(60), talked: true }],
    expect: [[60, 'wrap-up', 60], [89, 'wrap-up', 60], [90, 'available', 90]],
  },
  {
    name: 'an unanswered attempt returns straight to available (no wrap-up)',
    wrapUp: 30,
    events: [{ kind: 'call-start', callId: 'c1', at: s(0), until: s(0) + H4 }, { kind: 'call-end', callId: 'c1', at: s(20), talked: false }],
    expect: [[20, 'available', 20]],
  },
  {
    name: 'wrapUpSeconds 0: available at the end',
    wrapUp: 0,
    events: [{ kind: 'call-start', callId: 'c1', at: s(0), until: s(0) + H4 }, { kind: 'call-end', callId: 'c1', at: s(60), talked: true }],
    expect: [[60, 'available', 60]],
  },
  {
    name: 'two calls: on-call until the last one ends',
    wrapUp: 0,
    events: [
      { kind: 'call-start', callId: 'c1', at: s(0), until: s(0) + H4 },
      { kind: 'call-start', callId: 'c2', at: s(5), until: s(5) + H4 },
      { kind: 'call-end', callId: 'c1', at: s(30), talked: true },
    ],
    expect: [[31, 'on-call', 5]],
  },
  {
    name: 'a call end reported twice changes nothing the second time',
    wrapUp: 30,
    events: [
      { kind: 'call-start', callId: 'c1', at: s(0), until: s(0) + H4 },
      { kind: 'call-end', callId: 'c1', at: s(60), talked: true },
      { kind: 'call-end', callId: 'c1', at: s(200), talked: true },
    ],
    expect: [[70, 'wrap-up', 60], [200, 'available', 90]],
  },
  {
    name: 'away persists through a call: on-call during it, away after it',
    wrapUp: 30,
    events: [
      { kind: 'away', at: s(0) },
      [5, 'away', 0],
      { kind: 'call-start', callId: 'c1', at: s(10), until: s(10) + H4 },
      [20, 'on-call', 10],
      { kind: 'call-end', callId: 'c1', at: s(70), talked: true },
    ],
    expect: [[71, 'away', 0], [500, 'away', 0]],
  },
  {
    name: 'away twice keeps the first time; available clears it',
    wrapUp: 0,
    events: [{ kind: 'away', at: s(0) }, { kind: 'away', at: s(50) }, [60, 'away', 0], { kind: 'available', at: s(100) }],
    expect: [[100, 'available', 100]],
  },
  {
    name: '"available" during wrap-up ends it early',
    wrapUp: 120,
    events: [
      { kind: 'call-start', callId: 'c1', at: s(0), until: s(0) + H4 },
      { kind: 'call-end', callId: 'c1', at: s(60), talked: true },
      { kind: 'available', at: s(75) },
    ],
    expect: [[76, 'available', 75]],
  },
  {
    name: 'crash: a call whose end never came stops counting at its expiry',
    wrapUp: 30,
    events: [{ kind: 'call-start', callId: 'c1', at: s(0), until: s(600) }],
    expect: [[599, 'on-call', 0], [600, 'available', 600]],
  },
  {
    name: 'a new call start drops expired calls of a crashed instance',
    wrapUp: 0,
    events: [
      { kind: 'call-start', callId: 'old', at: s(0), until: s(600) },
      { kind: 'call-start', callId: 'c2', at: s(700), until: s(700) + H4 },
      { kind: 'call-end', callId: 'c2', at: s(760), talked: false },
    ],
    expect: [[761, 'available', 760]],
  },
];

export const at = s;
