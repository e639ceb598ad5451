// Crash recovery (issue 4 §6). When an app instance dies mid-call its reservations stay in Redis
// with their last heartbeat. Any instance (or the restarted one) finds them through the live
// index (each account's own, found through the registry of accounts with calls) and settles them
// by this rule:
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
// even a double attempt debits once. The index is a hint only, every decision is re-checked on
// the reservation itself. The global index of earlier versions is still read (calls that were up
// across an upgrade).
import { randomUUID } from 'node:crypto';
import { accountKeys, parseLiveMember } from './keys.js';
import type { Ledger } from './ledger.js';
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

/** Stale index entries: each registered account's own index, then the legacy global one. */
async function staleEntries(ledger: Ledger, before: number, limit: number): Promise<{ acct: string; callId: string; legacy?: string }[]> {
  const out: { acct: string; callId: string; legacy?: string }[] = [];
  const accounts = (await ledger.redis.smembers(ledger.liveAccountsKey)).sort();
  for (const acct of accounts) {
    if (out.length >= limit) break;
    let key: string;
    try { key = accountKeys(acct).live; } catch { continue; } // a foreign member: not an account id
    const ids = await ledger.redis.zrangebyscore(key, '-inf', before, 'LIMIT', 0, limit - out.length);
    for (const callId of ids) out.push({ acct, callId });
  }
  if (out.length < limit) {
    for (const m of await ledger.redis.zrangebyscore(ledger.liveIndexKey, '-inf', before, 'LIMIT', 0, limit - out.length)) {
      const id = parseLiveMember(m);
      if (!id) { await ledger.redis.zrem(ledger.liveIndexKey, m); continue; }
      out.push({ ...id, legacy: m });
    }
  }
  return out;
}

export async function recoverOrphans(ledger: Ledger, now: number, rateFn: RateFn, opts: RecoverOptions = {}): Promise<RecoveryOutcome[]> {
  const staleMs = opts.staleMs ?? ledger.staleMs;
  const entries = await staleEntries(ledger, now - staleMs, opts.limit ?? 1000);
  // A claim token per run: two runs of one instance must not both think they own a call.
  const claimer = `${ledger.instanceId}:${randomUUID()}`;
  const out: RecoveryOutcome[] = [];
  for (const { acct, callId, legacy } of entries) {
    const dropEntry = () => (legacy ? ledger.redis.zrem(ledger.liveIndexKey, legacy) : ledger.redis.zrem(accountKeys(acct).live, callId));
    if (opts.skip?.(acct, callId)) { out.push({ account: acct, callId, outcome: 'live' }); continue; }
    const c = await CLAIM.json<{ state: 'GONE' | 'LIVE' | 'CLAIMED' | 'MINE'; reservation?: Omit<Reservation, 'account' | 'callId'> }>(
      ledger.redis, [accountKeys(acct).reservations], [callId, now, staleMs, claimer, opts.claimTtlMs ?? 60_000]);
    if (c.state === 'GONE') {
      // Settled meanwhile, or a denied reserve whose index entry outlived it.
      await dropEntry();
      out.push({ account: acct, callId, outcome: 'gone' });
      continue;
    }
    if (c.state === 'LIVE') { out.push({ account: acct, callId, outcome: 'live' }); continue; }
    if (c.state === 'CLAIMED' || !c.reservation) { out.push({ account: acct, callId, outcome: 'claimed' }); continue; }
    const reservation: Reservation = { account: acct, callId, ...c.reservation };
    const billableMs = billableMsOf(reservation, ledger.heartbeatMs, now);
    const cost = billableMs > 0 ? await rateFn(reservation, billableMs) : 0;
    const settlement = await ledger.settleAs('recovered', acct, callId, cost, `recovered:${ledger.instanceId}`, now);
    if (legacy) await dropEntry();
    // alreadySettled: the owning app settled it between our claim and now — its result stands.
    const outcome = settlement.alreadySettled ? 'gone' : cost > 0 ? 'settled' : 'released';
    out.push({ account: acct, callId, outcome, billableMs, cost, settlement, reservation });
  }
  return out;
}
