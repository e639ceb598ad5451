// Crash recovery (issue 4 §6). When an app instance dies mid-call its reservations stay in Redis
// with their last heartbeat. Any instance (or the restarted one) finds them through the live
// index and settles them by this rule:
//
//   answered (answeredAt > 0):  billableMs = min(lastHeartbeat + heartbeatMs, now) − answeredAt
//                               cost = rateFn(call, billableMs), debited up to the reservation
//                               (the excess is reported as shortfall, never overdrawn);
//   never answered:             released, nothing debited.
//
// The call is known to have lasted until its last heartbeat and may have lasted at most one more
// heartbeat interval, so we bill to the end of that interval (the caller cut calls at the paid
// boundary anyway, which the reservation caps). Exactly once: a per-call claim keeps two
// recovering instances from rating the same call, and settle itself is idempotent per callId, so
// even a double attempt debits once. The live index is a global key (another Cluster slot than
// the accounts): it is a hint only, every decision is re-checked on the account's own keys.
import { randomUUID } from 'node:crypto';
import { parseLiveMember } from './keys.js';
import type { Ledger } from './ledger.js';
import { accountKeys } from './keys.js';
import { CLAIM } from './lua/reserve.js';
import type { Money, Reservation, SettleResult } from './types.js';

/** Prices an orphaned call; injected by the caller (the pure rating function + the tariff). */
export type RateFn = (call: Reservation, billableMs: number) => Money | Promise<Money>;

export interface RecoverOptions {
  /** Override the ledger's staleMs. */
  staleMs?: number;
  /** At most this many candidates per run. */
  limit?: number;
  /** How long a claim protects a call from other recovering instances. Default 60 s. */
  claimTtlMs?: number;
  /** Calls this instance is still settling (a deferred settlement after a Redis outage): not orphans. */
  skip?: (account: string, callId: string) => boolean;
}

export interface RecoveryOutcome {
  account: string;
  callId: string;
  /** settled/released by this run; skipped: still live, claimed by another instance, or gone. */
  outcome: 'settled' | 'released' | 'live' | 'claimed' | 'gone';
  billableMs?: number;
  cost?: Money;
  settlement?: SettleResult;
  reservation?: Reservation;
}

/** The documented rule, exported for CDR completion and tests. */
export function billableMsOf(r: Pick<Reservation, 'answeredAt' | 'lastHeartbeat'>, heartbeatMs: number, now: number): number {
  if (!r.answeredAt) return 0;
  return Math.max(0, Math.min(r.lastHeartbeat + heartbeatMs, now) - r.answeredAt);
}

export async function recoverOrphans(ledger: Ledger, now: number, rateFn: RateFn, opts: RecoverOptions = {}): Promise<RecoveryOutcome[]> {
  const staleMs = opts.staleMs ?? ledger.staleMs;
  const members = await ledger.redis.zrangebyscore(ledger.liveIndexKey, '-inf', now - staleMs, 'LIMIT', 0, opts.limit ?? 1000);
  // A claim token per run: two runs of one instance must not both think they own a call.
  const claimer = `${ledger.instanceId}:${randomUUID()}`;
  const out: RecoveryOutcome[] = [];
  for (const m of members) {
    const id = parseLiveMember(m);
    if (!id) { await ledger.redis.zrem(ledger.liveIndexKey, m); continue; }
    const { acct, callId } = id;
    if (opts.skip?.(acct, callId)) { out.push({ account: acct, callId, outcome: 'live' }); continue; }
    const c = await CLAIM.json<{ state: 'GONE' | 'LIVE' | 'CLAIMED' | 'MINE'; reservation?: Omit<Reservation, 'account' | 'callId'> }>(
      ledger.redis, [accountKeys(acct).reservations], [callId, now, staleMs, claimer, opts.claimTtlMs ?? 60_000]);
    if (c.state === 'GONE') {
      // Settled meanwhile, or a denied reserve whose index entry outlived it.
      await ledger.redis.zrem(ledger.liveIndexKey, m);
      out.push({ account: acct, callId, outcome: 'gone' });
      continue;
    }
    if (c.state === 'LIVE') { out.push({ account: acct, callId, outcome: 'live' }); continue; }
    if (c.state === 'CLAIMED' || !c.reservation) { out.push({ account: acct, callId, outcome: 'claimed' }); continue; }
    const reservation: Reservation = { account: acct, callId, ...c.reservation };
    const billableMs = billableMsOf(reservation, ledger.heartbeatMs, now);
    const cost = billableMs > 0 ? await rateFn(reservation, billableMs) : 0;
    const settlement = await ledger.settleAs('recovered', acct, callId, cost, `recovered:${ledger.instanceId}`, now);
    // alreadySettled: the owning app settled it between our claim and now — its result stands.
    const outcome = settlement.alreadySettled ? 'gone' : cost > 0 ? 'settled' : 'released';
    out.push({ account: acct, callId, outcome, billableMs, cost, settlement, reservation });
  }
  return out;
}
