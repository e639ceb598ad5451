// Agents as the ops API and the web phone show them (issue 13): each configured seat with its
// agent state (agents/agent-state.ts, read from the shared store) and whether it is registered.
import { agentState, wrapUpSecondsOf, type AgentState } from '../agents/agent-state.js';
import type { AgentStore } from '../agents/agent-store.js';
import type { ConfigSnapshot } from '../config/types.js';
import type { RegistrarStore } from '../registrar/store.js';

export interface AgentJson {
  seat: string;
  tenant: string;
  name: string;
  state: AgentState;
  /** Epoch ms; null for a seat that never did anything since the store began. */
  since: number | null;
  /** Calls open now. */
  calls: number;
  /** The away flag (also while on a call: after it the seat is away). */
  away: boolean;
  wrapUpUntil: number | null;
  registered: boolean;
}

export interface AgentDeps {
  agents: Pick<AgentStore, 'records' | 'setAway' | 'setAvailable'>;
  registrar: Pick<RegistrarStore, 'lookup'>;
}

/** The configured seats (of one tenant, or the named ones), in config order, with their state now. */
export async function listAgents(
  cfg: ConfigSnapshot, deps: AgentDeps, now: number, only: { tenant?: string; seats?: readonly string[]; registration?: boolean } = {},
): Promise<AgentJson[]> {
  const seats = [...cfg.seats.values()].filter((s) =>
    (only.tenant === undefined || s.tenant === only.tenant) && (only.seats === undefined || only.seats.includes(s.id)));
  const [records, registered] = await Promise.all([
    deps.agents.records(seats.map((s) => s.id)),
    // One lookup per seat; skipped where only the state is wanted (the live-call list).
    only.registration === false ? seats.map(() => false)
      : Promise.all(seats.map((s) => deps.registrar.lookup(s.id, now).then((b) => b.length > 0, () => false))),
  ]);
  return seats.map((s, i) => {
    const v = agentState(records.get(s.id)!, wrapUpSecondsOf(cfg, s.id), now);
    return {
      seat: s.id, tenant: s.tenant, name: s.name ?? s.id, state: v.state, since: v.since, calls: v.calls, away: v.away,
      wrapUpUntil: v.wrapUpUntil ?? null, registered: registered[i]!,
    };
  });
}

/** The states an agent (or an admin) may set; the others follow calls. */
export type SettableState = 'available' | 'away';

export function settableState(v: unknown): SettableState | null {
  return v === 'available' || v === 'away' ? v : null;
}

/** Sets away or available; null when the seat is not configured. */
export async function setAgentState(cfg: ConfigSnapshot, deps: AgentDeps, seat: string, state: SettableState, now: number): Promise<AgentJson | null> {
  if (!cfg.seats.has(seat)) return null;
  if (state === 'away') await deps.agents.setAway(seat, now);
  else await deps.agents.setAvailable(seat, now);
  return (await listAgents(cfg, deps, now, { seats: [seat] }))[0] ?? null;
}
