// What the outbound decision needs from Redis: the tenant account's available money (balance minus
// live reservations) and standing (arrears, closure: 001 §6), and the tenant's and trunks' calls in progress. Live calls and
// `dialgate explain` read it through this one function, so both see the same state.
import type { ConfigSnapshot, Tenant } from '../config/types.js';
import { slotKey, type ConcurrencySlots } from '../ledger/concurrency.js';
import type { Ledger } from '../ledger/ledger.js';
import type { LedgerView } from '../policy/types.js';
import { normalizeNumber } from '../numbers/normalize.js';
import { findRoute } from '../policy/routing.js';

export interface LedgerViewRead extends LedgerView {
  /** The tenant has no ledger account (then available is 0, as a live call sees it). */
  missingAccount: boolean;
}

/** The view when Redis cannot be read: the decision refuses all but emergency calls. */
export const UNAVAILABLE_VIEW: LedgerViewRead = { available: 0, tenantActiveCalls: 0, trunkActiveCalls: new Map(), missingAccount: false, unavailable: true };

/**
 * `to`, the dialled number, limits the trunk counts to the trunks of the route the decision will
 * take (the decision reads no other); without it, or for a number no route takes, every trunk's.
 */
export async function readLedgerView(ledger: Ledger, slots: ConcurrencySlots, cfg: ConfigSnapshot, tenant: Tenant | undefined, to?: string): Promise<LedgerViewRead> {
  try {
    return await readView(ledger, slots, cfg, tenant, to);
  } catch {
    return UNAVAILABLE_VIEW;
  }
}

function trunksToCount(cfg: ConfigSnapshot, tenant: Tenant | undefined, to: string | undefined): string[] {
  if (to !== undefined && tenant) {
    const n = normalizeNumber(to);
    const route = n.ok ? findRoute(cfg.routes, n.number, tenant.id) : undefined;
    if (route) return [...new Set(route.trunks.map((t) => t.trunk))];
  }
  return [...cfg.trunks.keys()];
}

async function readView(ledger: Ledger, slots: ConcurrencySlots, cfg: ConfigSnapshot, tenant: Tenant | undefined, to: string | undefined): Promise<LedgerViewRead> {
  const trunkIds = trunksToCount(cfg, tenant, to);
  // The account and the tenant's and the trunks' counts in one script call (one each on Cluster).
  const keys = [...(tenant ? [slotKey('tenant', tenant.id)] : []), ...trunkIds.map((id) => slotKey('trunk', id))];
  const [account, counts] = tenant ? await ledger.accountAndSlotCounts(tenant.account, slots, keys) : [null, await slots.countMany(keys)];
  const tenantActive = tenant ? counts[0]! : 0;
  const trunkCounts = tenant ? counts.slice(1) : counts;
  return {
    available: account?.available ?? 0,
    tenantActiveCalls: tenantActive,
    trunkActiveCalls: new Map(trunkIds.map((id, i) => [id, trunkCounts[i] ?? 0])),
    missingAccount: !!tenant && !account,
    ...(account ? { standing: { status: account.status, arrears: account.arrears, arrearsSince: account.arrearsSince } } : {}),
  };
}
