// Which FreeSWITCH channels are orphans: the pure decision of the channel reconciler. No I/O and no
// clock: the channel list, what this instance holds, ages and owners come in as arguments.
//
// A channel is kept while a live call (or a call being set up) of this instance holds it, while it
// is younger than the grace period (FreeSWITCH creates a channel before fsmrf hands the endpoint
// over), and while another dialgate instance that is still up owns it. An owner is the outbound
// event-socket address in the channel's X-esl-outbound header (what drachtio-fsmrf sends): several
// instances may share one FreeSWITCH, and each reconciles only its own channels, unless the owner's
// listener is gone (a crashed or restarted instance), for two rounds in a row.

/** Rounds in a row an owner's listener must refuse connections before its channels are orphans. */
export const OWNER_GONE_ROUNDS = 2;

export interface SeenChannel {
  uuid: string;
  /** When this instance first saw it (CHANNEL_CREATE or a listing), epoch ms. */
  firstSeenAt: number;
}

/** Channels that may be orphans: not held here and past the grace period. Owners are looked up next. */
export function orphanCandidates<T extends SeenChannel>(channels: readonly T[], held: ReadonlySet<string>, now: number, graceMs: number): T[] {
  return channels.filter((c) => !held.has(c.uuid) && now - c.firstSeenAt >= graceMs);
}

export type OwnerState = 'self' | 'none' | { other: string; goneRounds: number };

export type Verdict =
  | { orphan: true; why: 'no-owner' | 'own' | 'owner-gone' }
  | { orphan: false; why: 'owner-up' };

/**
 * A candidate's verdict from its owner: no owner (created outside dialgate, e.g. `originate`) or
 * this instance → orphan; another instance → orphan only once its listener has been gone
 * OWNER_GONE_ROUNDS rounds in a row (one refused connection may be a blip).
 */
export function verdict(owner: OwnerState): Verdict {
  if (owner === 'none') return { orphan: true, why: 'no-owner' };
  if (owner === 'self') return { orphan: true, why: 'own' };
  return owner.goneRounds >= OWNER_GONE_ROUNDS ? { orphan: true, why: 'owner-gone' } : { orphan: false, why: 'owner-up' };
}

/** The owner of a channel from its X-esl-outbound value and this instance's own address. */
export function ownerOf(xEslOutbound: string | null, self: string | null, goneRounds: (address: string) => number): OwnerState {
  if (xEslOutbound === null) return 'none';
  if (self !== null && xEslOutbound === self) return 'self';
  return { other: xEslOutbound, goneRounds: goneRounds(xEslOutbound) };
}
