// Caller id ownership (004 §2.2, 003 §4.5, 002 §3.6: numbers are for the tenant's own use only):
// the number presented to the carrier must be the seat's bound number or one of the tenant's pool.
import type { Seat, Tenant } from '../config/types.js';
import { normalizeNumber } from '../numbers/normalize.js';

export type CallerIdOutcome =
  | { kind: 'owned'; callerId: string }
  /** Nothing usable presented (empty, or the seat's SIP username): the seat's default is used. */
  | { kind: 'default'; callerId: string }
  | { kind: 'replaced'; callerId: string; presented: string }
  | { kind: 'not-owned'; presented: string };

interface TenantPool { numbers: ReadonlySet<string>; first: string | undefined }

const pools = new WeakMap<Tenant, TenantPool>();
const bound = new WeakMap<Seat, string | null>();

/** National form of a caller id, or the digits as given when it does not normalise. */
function national(number: string): string {
  const n = normalizeNumber(number);
  return n.ok ? n.number.national : number;
}

function pool(tenant: Tenant): TenantPool {
  let p = pools.get(tenant);
  if (!p) {
    const numbers = new Set(tenant.callerIdPool.map(national));
    p = { numbers, first: numbers.values().next().value };
    pools.set(tenant, p);
  }
  return p;
}

function boundNumber(seat: Seat): string | null {
  let n = bound.get(seat);
  if (n === undefined) {
    n = seat.callerId !== undefined ? national(seat.callerId) : null;
    bound.set(seat, n);
  }
  return n;
}

function defaultCallerId(tenant: Tenant, seat: Seat): string | undefined {
  return boundNumber(seat) ?? pool(tenant).first;
}

/**
 * Decides the caller id. `force` (emergency calls) always yields a number when one exists:
 * replacement regardless of the tenant's policy, else what the seat presented.
 */
export function resolveCallerId(tenant: Tenant, seat: Seat, presented: string, force = false): CallerIdOutcome {
  const normalized = normalizeNumber(presented);
  if (!normalized.ok || presented === seat.id) {
    const fallback = defaultCallerId(tenant, seat);
    if (fallback !== undefined) return { kind: 'default', callerId: fallback };
    return force ? { kind: 'owned', callerId: presented } : { kind: 'not-owned', presented };
  }
  const number = normalized.number.national;
  if (boundNumber(seat) === number || pool(tenant).numbers.has(number)) return { kind: 'owned', callerId: number };
  if (tenant.callerIdPolicy === 'replace' || force) {
    const fallback = defaultCallerId(tenant, seat);
    if (fallback !== undefined) return { kind: 'replaced', callerId: fallback, presented: number };
    if (force) return { kind: 'owned', callerId: number };
  }
  return { kind: 'not-owned', presented: number };
}
