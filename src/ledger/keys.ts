// Redis key layout of the ledger. Every key of one account carries the hash tag {acct:ID}, so one
// Lua script may touch all of them on Redis Cluster (DESIGN: "works unchanged on Redis Cluster").
// The only cross-account keys (the registry of accounts with calls, the legacy live-call index,
// the alert stream) are never touched inside a script.
import { localDate } from '../time/zone.js';

export interface AccountKeys {
  /** hash: balance, reserved, status, validFrom, validUntil, prepaidTotal, tenant, monthlyFees,
   *  credits, debits, arrears, alertArmed, forfeitedFor */
  account: string;
  /** hash: callId → JSON reservation */
  reservations: string;
  /** hash: entryId → JSON result of a top-up / adjustment / charge (idempotency) */
  entries: string;
  /** stream: ledger history (id, type, amount, balanceAfter, time, note) */
  history: string;
  /** string: JSON settlement of one call (idempotency of settle/release), with a TTL */
  settlement(callId: string): string;
  /** integer: money debited by calls in one month (YYYY-MM), input of the 400 minimum (002 §2.4) */
  usage(yyyyMm: string): string;
  /** zset: callId → last heartbeat ms of the account's live reservations (crash recovery's index),
   *  kept by the reservation scripts themselves, so index and reservation change together */
  live: string;
}

export function accountKeys(acct: string): AccountKeys {
  if (!acct || /[{}]/.test(acct)) throw new Error(`invalid account id: ${JSON.stringify(acct)}`);
  const tag = `{acct:${acct}}`;
  return {
    account: `${tag}:a`,
    reservations: `${tag}:r`,
    entries: `${tag}:e`,
    history: `${tag}:h`,
    settlement: (callId) => `${tag}:s:${callId}`,
    usage: (yyyyMm) => `${tag}:u:${yyyyMm}`,
    live: `${tag}:l`,
  };
}

/** Set of accounts that have had live reservations: where crash recovery looks (each account's `live`). */
export const LIVE_ACCOUNTS_KEY = 'dialgate:live-accounts';
/**
 * The global live index of versions before the per-account one: member JSON [acct, callId], score =
 * last heartbeat ms. No longer written; recovery still reads it, so calls that were up across an
 * upgrade are settled.
 */
export const LIVE_INDEX_KEY = 'dialgate:live';
/** Global stream of low-balance alerts (003 §2.2). */
export const ALERT_STREAM_KEY = 'dialgate:alerts';

export function liveMember(acct: string, callId: string): string {
  return JSON.stringify([acct, callId]);
}

export function parseLiveMember(m: string): { acct: string; callId: string } | null {
  try {
    const v: unknown = JSON.parse(m);
    if (Array.isArray(v) && typeof v[0] === 'string' && typeof v[1] === 'string') return { acct: v[0], callId: v[1] };
  } catch { /* foreign member: ignored */ }
  return null;
}

/** Calendar month (YYYY-MM) of an instant in Beijing time: the billing month of the contracts. */
export function beijingMonth(ms: number): string {
  return localDate('Asia/Shanghai', ms).slice(0, 7);
}
